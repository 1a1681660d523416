"""Gains along time for GPR traces: t-power, SEC (spreading and exponential compensation) and AGC.

Traces are float32 arrays (..., n_samples), time on the last axis; the output has the input's shape, float32.
The time of sample i is t = max(i * dt_s - time_zero_s, 0): samples at or before time zero get the gain of
t = 0 (zero when power > 0). Gain curves are computed in float64 and applied in float64, then rounded.
"""

import numpy as np
from numba import njit, prange

from sensorkit.kernels import validate

_FLOAT32_MAX = float(np.finfo(np.float32).max)


@njit(cache=True)
def _apply_gain_2d(x, gain):
    """out[k, i] = x[k, i] * gain[i]; x (n_traces, n_samples) float32, gain (n_samples,) float64."""
    n_traces, n = x.shape
    out = np.empty_like(x)
    for k in range(n_traces):
        row = x[k]
        orow = out[k]
        for i in range(n):
            orow[i] = np.float32(row[i] * gain[i])
    return out


@njit(cache=True, parallel=True)
def _agc_2d(x, half, epsilon):
    """x / (RMS over the centred window [i - half, i + half], truncated at the ends, + epsilon)."""
    n_traces, n = x.shape
    out = np.empty_like(x)
    for k in prange(n_traces):
        row = x[k]
        orow = out[k]
        s = 0.0  # running sum of squares in the window, float64
        for j in range(min(half, n - 1) + 1):
            v = np.float64(row[j])
            s += v * v
        for i in range(n):
            count = min(n - 1, i + half) - max(0, i - half) + 1
            ms = s / count
            if ms < 0.0:  # rounding of the running sum
                ms = 0.0
            orow[i] = np.float32(row[i] / (np.sqrt(ms) + epsilon))
            if i + half + 1 < n:
                v = np.float64(row[i + half + 1])
                s += v * v
            if i - half >= 0:
                v = np.float64(row[i - half])
                s -= v * v
    return out


def power_exp_gain_curve(n_samples: int, *, dt_s: float, power: float = 0.0, exponent_per_s: float = 0.0,
                         time_zero_s: float = 0.0, reference_time_s: float = 1e-9, max_gain=None) -> np.ndarray:
    """Gain curve g(t) = (t / reference_time_s)**power * exp(exponent_per_s * t), clipped at max_gain.

    t = max(i * dt_s - time_zero_s, 0) for i in range(n_samples); returns (n_samples,) float64.
    The default reference_time_s of 1 ns makes the t-power factor read "t in ns".
    """
    n = validate.int_in_range("n_samples", n_samples, 1, 2**40)
    dt = validate.positive_float("dt_s", dt_s)
    p = validate.float_in_range("power", power, 0.0, 100.0)
    a = validate.float_in_range("exponent_per_s", exponent_per_s, 0.0, np.inf)
    t0 = validate.finite_float("time_zero_s", time_zero_s)
    t_ref = validate.positive_float("reference_time_s", reference_time_s)
    g_max = None if max_gain is None else validate.positive_float("max_gain", max_gain)
    t = np.maximum(np.arange(n) * dt - t0, 0.0)
    with np.errstate(over="ignore"):
        g = (t / t_ref) ** p * np.exp(a * t)
    if g_max is not None:
        g = np.minimum(g, g_max)
    if not np.all(g <= _FLOAT32_MAX):
        i = int(np.argmax(~(g <= _FLOAT32_MAX)))
        raise ValueError(f"gain: exceeds the float32 range at sample {i} (t = {float(t[i])!r} s, "
                         f"gain {float(g[i])!r}); "
                         f"give max_gain or smaller power / exponent_per_s")
    return g


def tpower_gain(traces, *, dt_s: float, power: float, time_zero_s: float = 0.0, reference_time_s: float = 1e-9,
                max_gain=None) -> np.ndarray:
    """Multiply each sample by (t / reference_time_s)**power (optionally clipped at max_gain).

    traces (..., n_samples) -> float32, same shape. With the default reference of 1 ns, power 2 multiplies the
    sample at t = 10 ns by 100.
    """
    x = validate.as_float32_traces(traces)
    gain = power_exp_gain_curve(x.shape[-1], dt_s=dt_s, power=power, time_zero_s=time_zero_s,
                                reference_time_s=reference_time_s, max_gain=max_gain)
    return _apply_gain_2d(validate.as_2d(x), gain).reshape(x.shape)


def sec_gain(traces, *, dt_s: float, exponent_per_s: float, power: float = 1.0, max_gain: float = 1e4,
             time_zero_s: float = 0.0, reference_time_s: float = 1e-9) -> np.ndarray:
    """Spreading and exponential compensation: g(t) = (t / reference_time_s)**power * exp(exponent_per_s * t).

    The gain is clipped at max_gain. exponent_per_s compensates an amplitude attenuation of alpha (Np/m) at
    velocity v (m/s) over the two-way path when exponent_per_s = alpha * v (from dB/m: alpha = dB / 8.686).
    traces (..., n_samples) -> float32, same shape.
    """
    x = validate.as_float32_traces(traces)
    gain = power_exp_gain_curve(x.shape[-1], dt_s=dt_s, power=power, exponent_per_s=exponent_per_s,
                                time_zero_s=time_zero_s, reference_time_s=reference_time_s, max_gain=max_gain)
    return _apply_gain_2d(validate.as_2d(x), gain).reshape(x.shape)


def agc_gain(traces, *, window_samples=None, window_s=None, dt_s=None, epsilon: float = 1e-12) -> np.ndarray:
    """Automatic gain control: each sample divided by (RMS of its trace over a centred window + epsilon).

    The window is given in samples (window_samples) or in seconds (window_s with dt_s, rounded to samples),
    2 <= window <= n_samples; it spans 2 * (window // 2) + 1 samples (an even length is widened by one) and is
    truncated at the trace ends. epsilon (> 0, data units) keeps silent windows finite (they stay zero).
    traces (..., n_samples) -> float32, same shape.
    """
    x = validate.as_float32_traces(traces, min_samples=2)
    w = validate.window_length(window_samples, window_s, dt_s, n_samples=x.shape[-1])
    eps = validate.positive_float("epsilon", epsilon)
    return _agc_2d(validate.as_2d(x), w // 2, eps).reshape(x.shape)
