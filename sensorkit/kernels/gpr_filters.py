"""GPR pre-processing along time: dewow, time-zero picking and alignment, band-pass, envelope.

This module is also the one place to import the GPR pre-processing kernels from: it re-exports the
background removal (gpr_background) and the gains (gpr_gains).

Traces are arrays (..., n_samples) with time on the last axis: a line (n_traces, n_samples), a grid
(n_lines, n_traces, n_samples) or an array recording (n_traces, n_channels, n_samples). Input is converted
to float32 by the rule of ``validate.as_float32_traces`` (integers and floats accepted, non-finite refused);
output is a new float32 array of the input's shape, the input is never modified. Contiguous float32 input is
reshaped to (n_traces, n_samples) without copying. Sums run in float64.

The Numba cores run in parallel over traces (prange) where a line costs more than about a millisecond on one
core (dewow, AGC, band-pass, alignment, moving-window and median background); the streaming ones (gains, mean
background, first-break search, envelope magnitude) stay serial: memory-bound, they gain little from threads.
On a host whose cores are busy with other work a parallel region waits for a descheduled thread (8-16 ms a
call seen on a shared 2-core machine): there, and in Dask workers, use NUMBA_NUM_THREADS=1.
"""

import math

import numpy as np
import scipy.fft
import scipy.signal
from numba import njit, prange

from sensorkit.kernels import validate
from sensorkit.kernels.gpr_background import remove_background
from sensorkit.kernels.gpr_gains import agc_gain, power_exp_gain_curve, sec_gain, tpower_gain

__all__ = [
    "agc_gain", "align_time_zero", "bandpass", "bandpass_sos", "dewow", "envelope", "first_break_picks",
    "power_exp_gain_curve", "remove_background", "sec_gain", "tpower_gain",
]


# --- dewow -------------------------------------------------------------------------------------------------

@njit(cache=True, parallel=True)
def _dewow_2d(x, half):
    """x minus its mean over the centred window [i - half, i + half], truncated at the trace ends."""
    n_traces, n = x.shape
    out = np.empty_like(x)
    for k in prange(n_traces):
        row = x[k]
        orow = out[k]
        s = 0.0  # running sum of the window, float64
        for j in range(min(half, n - 1) + 1):
            s += row[j]
        for i in range(n):
            count = min(n - 1, i + half) - max(0, i - half) + 1
            orow[i] = np.float32(row[i] - s / count)
            if i + half + 1 < n:
                s += row[i + half + 1]
            if i - half >= 0:
                s -= row[i - half]
    return out


def dewow(traces, *, window_samples=None, window_s=None, dt_s=None) -> np.ndarray:
    """Remove the "wow" (DC offset and slow drift): subtract from each sample its trace's running mean.

    The window is given in samples (window_samples) or in seconds (window_s with dt_s, rounded to samples),
    2 <= window <= n_samples; it spans 2 * (window // 2) + 1 samples centred on the sample (an even length is
    widened by one) and is truncated at the trace ends. A constant offset is removed everywhere; a linear
    drift is removed exactly except within half a window of the ends. Typical window: about one period of
    the antenna's centre frequency or a little more.
    traces (..., n_samples) -> float32, same shape.
    """
    x = validate.as_float32_traces(traces, min_samples=2)
    w = validate.window_length(window_samples, window_s, dt_s, n_samples=x.shape[-1])
    return _dewow_2d(validate.as_2d(x), w // 2).reshape(x.shape)


# --- envelope ----------------------------------------------------------------------------------------------

@njit(cache=True)
def _hilbert_spectrum_inplace(spec, n):
    """Turn rfft(x) (n_traces, n // 2 + 1) into the spectrum of the Hilbert transform: times -1j, DC and
    Nyquist set to zero."""
    n_traces, m = spec.shape
    for k in range(n_traces):
        spec[k, 0] = 0.0
        for i in range(1, m):
            c = spec[k, i]
            spec[k, i] = complex(c.imag, -c.real)
        if n % 2 == 0 and m > 1:
            spec[k, m - 1] = 0.0


@njit(cache=True)
def _magnitude_2d(re, im):
    """sqrt(re**2 + im**2) in float64, rounded to float32."""
    n_traces, n = re.shape
    out = np.empty_like(re)
    for k in range(n_traces):
        for i in range(n):
            a = np.float64(re[k, i])
            b = np.float64(im[k, i])
            out[k, i] = np.float32(math.sqrt(a * a + b * b))
    return out


def _envelope_2d(x2: np.ndarray) -> np.ndarray:
    n = x2.shape[1]
    spec = scipy.fft.rfft(x2, axis=-1)  # complex64 for float32 input
    _hilbert_spectrum_inplace(spec, n)
    hilbert = scipy.fft.irfft(spec, n=n, axis=-1)
    return _magnitude_2d(x2, hilbert.astype(np.float32, copy=False))


def envelope(traces) -> np.ndarray:
    """Envelope: magnitude of the analytic signal x + i H(x) along time (as |scipy.signal.hilbert(x)|).

    The Hilbert transform is taken with single-precision real FFTs (scipy.fft), so the result agrees with
    the float64 reference to about 1e-6 of the trace's peak. The FFT is circular: energy at one end of a
    trace leaks a little into the other end, as with scipy.signal.hilbert.
    traces (..., n_samples) -> float32, same shape, >= 0.
    """
    x = validate.as_float32_traces(traces)
    return _envelope_2d(validate.as_2d(x)).reshape(x.shape)


# --- time zero ---------------------------------------------------------------------------------------------

@njit(cache=True)
def _first_break_2d(x, threshold, take_abs):
    """First crossing of threshold * max along each trace of |x| (take_abs) or x (already >= 0)."""
    n_traces, n = x.shape
    picks = np.empty(n_traces)
    for k in range(n_traces):
        peak = 0.0
        for i in range(n):
            v = abs(np.float64(x[k, i])) if take_abs else np.float64(x[k, i])
            if v > peak:
                peak = v
        if peak <= 0.0:
            picks[k] = np.nan
            continue
        level = threshold * peak
        prev = 0.0
        for i in range(n):
            v = abs(np.float64(x[k, i])) if take_abs else np.float64(x[k, i])
            if v >= level:
                if i == 0:
                    picks[k] = 0.0
                else:
                    picks[k] = (i - 1) + (level - prev) / (v - prev)
                break
            prev = v
    return picks


def first_break_picks(traces, *, threshold: float = 0.2, method: str = "amplitude") -> np.ndarray:
    """Pick the first break of each trace: where it first reaches ``threshold`` times its own maximum.

    method "amplitude" thresholds |x|; "envelope" thresholds the envelope (insensitive to the wavelet's
    polarity and phase; but the envelope is not causal and rises before a sharp onset: on a 10-samples-a-period
    wavelet it picks 4-6 samples early at threshold 0.1 and within a sample at 0.4-0.5). The pick is
    the crossing, linearly interpolated between the two samples around it, as a fractional sample index.
    Remove DC offsets first (dewow): the maximum and threshold are absolute.
    traces (..., n_samples) -> picks float64 shaped traces.shape[:-1]; NaN for traces that are zero throughout.
    0 < threshold <= 1.
    """
    x = validate.as_float32_traces(traces)
    thr = validate.float_in_range("threshold", threshold, 0.0, 1.0, lo_open=True)
    validate.choice("method", method, ("amplitude", "envelope"))
    x2 = validate.as_2d(x)
    if method == "envelope":
        picks = _first_break_2d(_envelope_2d(x2), thr, False)
    else:
        picks = _first_break_2d(x2, thr, True)
    return picks.reshape(x.shape[:-1])


@njit(cache=True, parallel=True)
def _shift_2d(x, shifts):
    """out[k, j] = x[k, j - shifts[k]], linearly interpolated; zero where j - shift is outside [0, n - 1]."""
    n_traces, n = x.shape
    out = np.empty_like(x)
    for k in prange(n_traces):
        s = shifts[k]
        if np.isnan(s):
            for j in range(n):
                out[k, j] = x[k, j]
            continue
        for j in range(n):
            p = j - s
            if p < 0.0 or p > n - 1:
                out[k, j] = 0.0
                continue
            i0 = int(math.floor(p))
            f = p - i0
            if f == 0.0:
                out[k, j] = x[k, i0]
            else:
                out[k, j] = np.float32((1.0 - f) * x[k, i0] + f * x[k, i0 + 1])
    return out


def align_time_zero(traces, picks, *, target_sample=None, fractional: bool = True) -> np.ndarray:
    """Shift each trace along time so that its pick lands on ``target_sample``.

    picks: time-zero picks in samples (e.g. from first_break_picks), shaped traces.shape[:-1] (or
        broadcastable to it); NaN leaves that trace unchanged.
    target_sample: where the picks go, a sample index in [0, n_samples - 1]; None takes the median of the
        finite picks.
    fractional: True shifts by target - pick exactly, interpolating linearly between samples; False rounds
        the shift to whole samples (samples are moved, not interpolated).
    Samples shifted in from beyond the trace are zero. traces (..., n_samples) -> float32, same shape.
    """
    x = validate.as_float32_traces(traces)
    n = x.shape[-1]
    try:
        p = np.broadcast_to(np.asarray(picks, dtype=np.float64), x.shape[:-1])
    except (ValueError, TypeError):
        found = f"shape {picks.shape}" if hasattr(picks, "shape") else repr(picks)[:80]
        raise ValueError(f"picks: expected real numbers shaped traces.shape[:-1] = {x.shape[:-1]}, "
                         f"found {found}") from None
    if np.isinf(p).any():
        raise ValueError(f"picks: expected finite picks or NaN, found {float(p[np.isinf(p)][0])!r}")
    if target_sample is None:
        finite = p[np.isfinite(p)]
        if finite.size == 0:
            raise ValueError("picks: all picks are NaN, so target_sample=None has no median; give target_sample")
        target = float(np.median(finite))
    else:
        target = validate.float_in_range("target_sample", target_sample, 0.0, n - 1)
    shifts = target - p.reshape(-1)
    if not fractional:
        shifts = np.rint(shifts)
    return _shift_2d(validate.as_2d(x), np.ascontiguousarray(shifts)).reshape(x.shape)


# --- band-pass ---------------------------------------------------------------------------------------------

_BLOCK_TRACES = 32  # traces filtered side by side: the recursion runs in SIMD lanes across traces


@njit(cache=True)
def _sosfilt_block_inplace(sos, zi, y, reverse):
    """Run the second-order sections down the rows of y (m, n_lanes) in place, one trace per column, from
    the last row if reverse (direct form II transposed, float64). The initial state is zi times the first
    row met, as in scipy.signal.sosfiltfilt."""
    n_sec = sos.shape[0]
    m, n_lanes = y.shape
    start = y[m - 1] if reverse else y[0]
    z0 = np.empty((n_sec, n_lanes))
    z1 = np.empty((n_sec, n_lanes))
    for s in range(n_sec):
        for b in range(n_lanes):
            z0[s, b] = zi[s, 0] * start[b]
            z1[s, b] = zi[s, 1] * start[b]
    for idx in range(m):
        v = y[m - 1 - idx] if reverse else y[idx]
        for s in range(n_sec):
            b0, b1, b2, a1, a2 = sos[s, 0], sos[s, 1], sos[s, 2], sos[s, 4], sos[s, 5]
            zs0 = z0[s]
            zs1 = z1[s]
            for b in range(n_lanes):
                vb = v[b]
                o = b0 * vb + zs0[b]
                zs0[b] = b1 * vb - a1 * o + zs1[b]
                zs1[b] = b2 * vb - a2 * o
                v[b] = o


@njit(cache=True, parallel=True)
def _sosfiltfilt_2d(x, sos, zi, padlen):
    """Zero-phase filtering of each trace: odd extension by padlen samples, forward then backward pass.

    Traces go in blocks of _BLOCK_TRACES, transposed to (n_samples + 2 padlen, block) float64."""
    n_traces, n = x.shape
    m = n + 2 * padlen
    out = np.empty_like(x)
    n_blocks = (n_traces + _BLOCK_TRACES - 1) // _BLOCK_TRACES
    for blk in prange(n_blocks):
        k0 = blk * _BLOCK_TRACES
        nb = min(_BLOCK_TRACES, n_traces - k0)
        y = np.zeros((m, _BLOCK_TRACES))  # unused lanes of the last block stay zero
        for b in range(nb):
            k = k0 + b
            first = np.float64(x[k, 0])
            last = np.float64(x[k, n - 1])
            for i in range(padlen):
                y[i, b] = 2.0 * first - x[k, padlen - i]
                y[padlen + n + i, b] = 2.0 * last - x[k, n - 2 - i]
            for i in range(n):
                y[padlen + i, b] = x[k, i]
        _sosfilt_block_inplace(sos, zi, y, False)
        _sosfilt_block_inplace(sos, zi, y, True)
        for b in range(nb):
            for i in range(n):
                out[k0 + b, i] = np.float32(y[padlen + i, b])
    return out


def bandpass_sos(*, dt_s: float, low_hz=None, high_hz=None, order: int = 4) -> np.ndarray:
    """Butterworth second-order sections (n_sections, 6) for bandpass: band-pass when both edges are given,
    high-pass with low_hz only, low-pass with high_hz only. 0 < low_hz < high_hz < 1 / (2 dt_s), 1 <= order <= 10.
    """
    dt = validate.positive_float("dt_s", dt_s)
    nyquist_hz = 0.5 / dt
    order = validate.int_in_range("order", order, 1, 10)
    if low_hz is None and high_hz is None:
        raise ValueError("bandpass: expected low_hz and/or high_hz, found neither")
    lo = None if low_hz is None else validate.float_in_range("low_hz", low_hz, 0.0, nyquist_hz,
                                                             lo_open=True, hi_open=True)
    hi = None if high_hz is None else validate.float_in_range("high_hz", high_hz, 0.0, nyquist_hz,
                                                              lo_open=True, hi_open=True)
    if lo is not None and hi is not None:
        if not lo < hi:
            raise ValueError(f"bandpass: expected low_hz < high_hz, found low_hz={lo!r}, high_hz={hi!r}")
        return scipy.signal.butter(order, [lo, hi], btype="bandpass", fs=1.0 / dt, output="sos")
    if lo is not None:
        return scipy.signal.butter(order, lo, btype="highpass", fs=1.0 / dt, output="sos")
    return scipy.signal.butter(order, hi, btype="lowpass", fs=1.0 / dt, output="sos")


def _sosfiltfilt_padlen(sos: np.ndarray) -> int:
    """Samples of odd extension at each end, as scipy.signal.sosfiltfilt's default."""
    n_taps = 2 * sos.shape[0] + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    return 3 * n_taps


def bandpass(traces, *, dt_s: float, low_hz=None, high_hz=None, order: int = 4) -> np.ndarray:
    """Zero-phase Butterworth band-pass along time (high-pass or low-pass with one edge given).

    The filter of ``bandpass_sos`` is run forward and backward (magnitude response squared, zero phase, -6 dB
    at the edges), with the odd extension of scipy.signal.sosfiltfilt at both ends; the result equals
    sosfiltfilt's to float32 rounding. The recursion runs in Numba on blocks of 32 traces side by side (SIMD
    across traces), blocks in parallel: on one core a 1040 x 512 line takes ~2-3 ms against ~10 ms for
    sosfiltfilt. An FFT-domain taper (rfft, multiply, irfft: ~1.5 ms) is faster but circular: it would wrap
    the strong early direct wave around into the late, weak samples that the gains then amplify.
    Needs n_samples > 3 * (2 * n_sections + 1) (27 samples for order 4 band-pass).
    traces (..., n_samples) -> float32, same shape.
    """
    x = validate.as_float32_traces(traces)
    sos = bandpass_sos(dt_s=dt_s, low_hz=low_hz, high_hz=high_hz, order=order)
    padlen = _sosfiltfilt_padlen(sos)
    if x.shape[-1] <= padlen:
        raise ValueError(f"traces: expected more than {padlen} samples per trace for this filter "
                         f"(order {order}), found {x.shape[-1]}")
    zi = scipy.signal.sosfilt_zi(sos)
    return _sosfiltfilt_2d(validate.as_2d(x), np.ascontiguousarray(sos), np.ascontiguousarray(zi),
                           padlen).reshape(x.shape)
