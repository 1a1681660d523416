"""Argument checks shared by the kernel wrappers.

Each check raises ValueError naming the argument, what was expected and the offending value, so that the
jitted cores never see bad input. Trace arrays follow one rule (see ``as_float32_traces``).
"""

import numbers

import numpy as np


def as_float32_traces(x, name: str = "traces", *, min_samples: int = 1) -> np.ndarray:
    """Return ``x`` as a C-contiguous float32 array shaped (..., n_samples), time on the last axis.

    Conversion rule: integer and floating dtypes are accepted and converted to float32 (integers are exact
    up to 2**24 in magnitude; float64 is rounded to the nearest float32, and values beyond the float32 range
    become infinite and are rejected). bool, complex, object and text arrays are refused. No copy is made when
    ``x`` already is a C-contiguous float32 array. The array needs ndim >= 1, at least ``min_samples``
    samples per trace, at least one trace, and only finite values.
    """
    try:
        a = np.asarray(x)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name}: expected a numeric array (..., n_samples), could not convert: {exc}") from None
    if a.dtype == np.bool_ or not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise ValueError(f"{name}: expected real integer or floating samples (converted to float32), "
                         f"found dtype {a.dtype}")
    if a.ndim < 1:
        raise ValueError(f"{name}: expected an array (..., n_samples) with time on the last axis, found a scalar")
    if a.shape[-1] < min_samples:
        raise ValueError(f"{name}: expected at least {min_samples} samples along the last (time) axis, "
                         f"found shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name}: expected at least one trace, found shape {a.shape}")
    with np.errstate(over="ignore"):  # float64 beyond the float32 range becomes inf, refused just below
        a = np.ascontiguousarray(a, dtype=np.float32)
    check_finite(a, name)
    return a


def check_finite(a: np.ndarray, name: str) -> None:
    """Raise ValueError if ``a`` holds NaN or infinity, giving the count and the first one."""
    bad = ~np.isfinite(a)
    if bad.any():
        first = np.unravel_index(int(np.argmax(bad)), a.shape)
        first = tuple(int(i) for i in first)
        raise ValueError(f"{name}: expected finite values, found {int(bad.sum())} non-finite, "
                         f"the first {a[first]} at index {first}")


def as_2d(a: np.ndarray) -> np.ndarray:
    """View a C-contiguous (..., n_samples) array as (n_traces, n_samples) without copying."""
    return a.reshape(-1, a.shape[-1])


def positive_float(name: str, value) -> float:
    """``value`` as a finite float > 0."""
    v = _real(name, value)
    if not v > 0.0:
        raise ValueError(f"{name}: expected a finite number > 0, found {v!r}")
    return v


def finite_float(name: str, value) -> float:
    """``value`` as a finite float."""
    return _real(name, value)


def float_in_range(name: str, value, lo: float, hi: float, *, lo_open=False, hi_open=False) -> float:
    """``value`` as a finite float in [lo, hi] (ends excluded when ``lo_open`` / ``hi_open``)."""
    v = _real(name, value)
    if (v < lo or (lo_open and v == lo)) or (v > hi or (hi_open and v == hi)):
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        raise ValueError(f"{name}: expected a number in {left}{lo}, {hi}{right}, found {v!r}")
    return v


def int_in_range(name: str, value, lo: int, hi: int) -> int:
    """``value`` as an int in [lo, hi]; bool and non-integral numbers are refused."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name}: expected an integer in [{lo}, {hi}], found {value!r}")
    v = int(value)
    if not lo <= v <= hi:
        raise ValueError(f"{name}: expected an integer in [{lo}, {hi}], found {v}")
    return v


def choice(name: str, value, allowed: tuple) -> str:
    """``value`` if it is one of ``allowed``."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name}: expected one of {', '.join(repr(a) for a in allowed)}, found {value!r}")
    return value


def window_length(window_samples, window_s, dt_s, *, n_samples: int, lo: int = 2, what: str = "samples") -> int:
    """Resolve a window given either in samples or in seconds (with ``dt_s``) to a length in samples.

    Exactly one of ``window_samples`` and ``window_s`` is given; ``window_s`` is converted to
    round(window_s / dt_s) samples. The result must lie in [lo, n_samples].
    """
    if (window_samples is None) == (window_s is None):
        raise ValueError(f"window: expected exactly one of window_samples and window_s, "
                         f"found window_samples={window_samples!r}, window_s={window_s!r}")
    if window_samples is not None:
        return int_in_range("window_samples", window_samples, lo, n_samples)
    if dt_s is None:
        raise ValueError(f"dt_s: expected the sample interval in seconds to convert window_s={window_s!r}, "
                         f"found None")
    w_s = positive_float("window_s", window_s)
    dt = positive_float("dt_s", dt_s)
    n = int(round(w_s / dt))
    if not lo <= n <= n_samples:
        raise ValueError(f"window_s: expected a window of {lo} to {n_samples} {what} "
                         f"({lo * dt!r} s to {n_samples * dt!r} s at dt_s={dt!r}), "
                         f"found {window_s!r} s = {n} {what}")
    return n


def _real(name: str, value) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name}: expected a real number, found {value!r}")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{name}: expected a finite number, found {v!r}")
    return v
