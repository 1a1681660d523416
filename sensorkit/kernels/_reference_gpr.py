"""Plain NumPy/SciPy references of the GPR pre-processing kernels, for equivalence tests and benchmarks.

Written for clarity, vectorised the way a NumPy user would write them, and deliberately by a different route
than the Numba cores (prefix sums instead of running sums, NaN-padded sliding windows instead of sorted
windows, scipy.signal instead of hand-written filters). They take validated float32 arrays (..., n_samples)
and parameters already resolved to samples; they return float32 (picks: float64).
"""

import numpy as np
import scipy.signal
from numpy.lib.stride_tricks import sliding_window_view


def _window_mean_last_axis(x64: np.ndarray, half: int) -> np.ndarray:
    """Mean over the centred window [i - half, i + half] along the last axis, truncated at the ends."""
    n = x64.shape[-1]
    c = np.concatenate([np.zeros(x64.shape[:-1] + (1,)), np.cumsum(x64, axis=-1)], axis=-1)
    i = np.arange(n)
    lo = np.maximum(i - half, 0)
    hi = np.minimum(i + half + 1, n)
    return (c[..., hi] - c[..., lo]) / (hi - lo)


def dewow_reference(x: np.ndarray, window_samples: int) -> np.ndarray:
    """x minus its running mean over a centred window of 2 * (window_samples // 2) + 1 samples."""
    x64 = x.astype(np.float64)
    return (x64 - _window_mean_last_axis(x64, window_samples // 2)).astype(np.float32)


def agc_gain_reference(x: np.ndarray, window_samples: int, epsilon: float) -> np.ndarray:
    """x / (RMS over a centred window of 2 * (window_samples // 2) + 1 samples + epsilon)."""
    x64 = x.astype(np.float64)
    rms = np.sqrt(np.maximum(_window_mean_last_axis(x64 * x64, window_samples // 2), 0.0))
    return (x64 / (rms + epsilon)).astype(np.float32)


def power_exp_gain_curve_reference(n_samples, dt_s, power, exponent_per_s, time_zero_s, reference_time_s,
                                   max_gain):
    """g(t) = min(max_gain, (t / reference_time_s)**power * exp(exponent_per_s * t)), t = max(i dt - t0, 0)."""
    t = np.maximum(np.arange(n_samples) * dt_s - time_zero_s, 0.0)
    g = (t / reference_time_s) ** power * np.exp(exponent_per_s * t)
    if max_gain is not None:
        g = np.minimum(g, max_gain)
    return g


def apply_gain_reference(x: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """x multiplied sample by sample by the gain curve (n_samples,)."""
    return (x.astype(np.float64) * gain).astype(np.float32)


def remove_background_reference(x: np.ndarray, statistic: str, window_traces, trace_axis) -> np.ndarray:
    """x minus the mean or median trace along ``trace_axis`` (None: over all traces), whole or moving window."""
    if trace_axis is None:
        t = x.reshape(-1, x.shape[-1])
        return remove_background_reference(t, statistic, window_traces, 0).reshape(x.shape)
    t = np.moveaxis(x, trace_axis, -2).astype(np.float64)
    if window_traces is None:
        if statistic == "mean":
            bg = t.mean(axis=-2, keepdims=True)
        else:
            bg = np.median(t, axis=-2, keepdims=True)
    else:
        half = window_traces // 2
        pad = [(0, 0)] * t.ndim
        pad[-2] = (half, half)
        padded = np.pad(t, pad, constant_values=np.nan)
        windows = sliding_window_view(padded, 2 * half + 1, axis=-2)  # (..., n_traces, n_samples, window)
        bg = np.nanmean(windows, axis=-1) if statistic == "mean" else np.nanmedian(windows, axis=-1)
    out = (t - bg).astype(np.float32)
    return np.ascontiguousarray(np.moveaxis(out, -2, trace_axis))


def envelope_reference(x: np.ndarray) -> np.ndarray:
    """|scipy.signal.hilbert(x)| along the last axis, computed in float64."""
    return np.abs(scipy.signal.hilbert(x.astype(np.float64), axis=-1)).astype(np.float32)


def bandpass_reference(x: np.ndarray, sos: np.ndarray) -> np.ndarray:
    """scipy.signal.sosfiltfilt along the last axis (odd padding, default pad length), in float64."""
    return scipy.signal.sosfiltfilt(sos, x.astype(np.float64), axis=-1).astype(np.float32)


def first_break_picks_reference(x: np.ndarray, threshold: float, method: str) -> np.ndarray:
    """First sample where |x| (or the envelope) reaches threshold * its trace maximum, linearly interpolated.

    Returns float64 picks shaped x.shape[:-1]; NaN for traces that are zero throughout.
    """
    a = np.abs(x.astype(np.float64)) if method == "amplitude" else envelope_reference(x).astype(np.float64)
    level = threshold * a.max(axis=-1, keepdims=True)
    above = a >= level
    i = np.argmax(above, axis=-1)
    prev = np.take_along_axis(a, np.maximum(i - 1, 0)[..., None], axis=-1)[..., 0]
    cur = np.take_along_axis(a, i[..., None], axis=-1)[..., 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = (level[..., 0] - prev) / (cur - prev)
    picks = np.where(i == 0, 0.0, i - 1 + frac)
    return np.where(level[..., 0] > 0, picks, np.nan)


def shift_traces_reference(x: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Each trace delayed by its shift in samples (out[j] = x[j - shift]), linear interpolation, zeros outside.

    ``shifts`` is shaped x.shape[:-1]; NaN leaves the trace unchanged.
    """
    n = x.shape[-1]
    x2 = x.reshape(-1, n).astype(np.float64)
    s = np.nan_to_num(shifts.reshape(-1, 1).astype(np.float64), nan=0.0)
    p = np.arange(n) - s  # (n_traces, n_samples): where each output sample is read from
    i0 = np.floor(p).astype(np.int64)
    f = p - i0
    left = np.take_along_axis(x2, np.clip(i0, 0, n - 1), axis=-1)
    right = np.take_along_axis(x2, np.clip(i0 + 1, 0, n - 1), axis=-1)
    out = np.where((p >= 0) & (p <= n - 1), (1.0 - f) * left + f * right, 0.0)
    return out.astype(np.float32).reshape(x.shape)
