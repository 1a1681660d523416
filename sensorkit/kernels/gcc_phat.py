"""GCC-PHAT time delay between microphone signals, with sub-sample peak refinement.

Convention: the delay tau (samples) of x relative to x_ref is positive when x lags: x(t) ~ x_ref(t - tau).
The PHAT cross-spectrum G = X conj(X_ref) / |X conj(X_ref)| (bins with no energy set to 0) is transformed back
with n_fft >= 2 n - 1 (no circular wrap), the largest value within +-max_delay_samples is taken, and the peak
is refined on the band-limited correlation r(tau) = (1 / n_fft) sum_k w_k Re{G_k exp(2j pi k tau / n_fft)}
(w_k = 1 at DC and Nyquist, 2 elsewhere) by Newton steps started from a parabola through the three samples
around the peak; the result stays within one sample of the integer peak. Sums run in float64.
"""

import math
from dataclasses import dataclass

import numpy as np
import scipy.fft
from numba import njit, prange

from sensorkit.kernels import validate

__all__ = ["GccPairs", "gcc_phat", "gcc_phat_correlation", "gcc_phat_pairs", "phat_cross_spectra"]

PHAT_EPS = 1e-12  #: relative magnitude (to the largest bin) below which a cross-spectrum bin is set to 0


@dataclass(frozen=True)
class GccPairs:
    """GCC-PHAT of microphone pairs: pairs (n_pairs, 2) int64 (i, j): delays_samples (n_pairs,) float64 of
    channel j relative to channel i (positive when j lags), peaks (n_pairs,) float64 correlation at the peak
    (1.0 for two identical signals up to a delay)."""

    pairs: np.ndarray
    delays_samples: np.ndarray
    peaks: np.ndarray


@njit(cache=True, parallel=True)
def phat_cross_spectra(spectra, pairs, eps_rel):
    """PHAT-weighted cross-spectra: spectra (n_ch, n_bins) complex128, pairs (n_pairs, 2) ->
    G (n_pairs, n_bins) complex128, G = X_j conj(X_i) / |X_j conj(X_i)|, 0 where below eps_rel x max."""
    n_pairs = pairs.shape[0]
    n_bins = spectra.shape[1]
    out = np.zeros((n_pairs, n_bins), dtype=np.complex128)
    for p in prange(n_pairs):
        i = pairs[p, 0]
        j = pairs[p, 1]
        biggest = 0.0
        for k in range(n_bins):
            g = spectra[j, k] * np.conj(spectra[i, k])
            out[p, k] = g
            biggest = max(biggest, abs(g))
        for k in range(n_bins):
            a = abs(out[p, k])
            if a > eps_rel * biggest and a > 0.0:
                out[p, k] = out[p, k] / a
            else:
                out[p, k] = 0.0
    return out


@njit(cache=True)
def _r_and_derivatives(g, n_fft, tau):
    """r(tau), r'(tau), r''(tau) of the band-limited correlation of the one-sided spectrum g.

    exp(j om_k tau) = exp(j w0 tau)^k by a phasor recurrence, restarted from cos/sin every 256 bins."""
    n_bins = g.shape[0]
    r = 0.0
    d1 = 0.0
    d2 = 0.0
    w0 = 2.0 * math.pi / n_fft
    step_c = math.cos(w0 * tau)
    step_s = math.sin(w0 * tau)
    c = 1.0
    s = 0.0
    for k in range(n_bins):
        if k % 256 == 0:
            c = math.cos(w0 * k * tau)
            s = math.sin(w0 * k * tau)
        w = 1.0 if (k == 0 or (n_fft % 2 == 0 and k == n_bins - 1)) else 2.0
        om = w0 * k
        re = g[k].real
        im = g[k].imag
        val = re * c - im * s          # Re{g e^{j om tau}}
        der = -(re * s + im * c) * om  # d/dtau
        r += w * val
        d1 += w * der
        d2 -= w * val * om * om
        c, s = c * step_c - s * step_s, s * step_c + c * step_s
    return r / n_fft, d1 / n_fft, d2 / n_fft


@njit(cache=True, parallel=True)
def _refine_peaks(g, corr, max_lag, n_fft):
    """Integer peak of corr (n_pairs, n_fft) within +-max_lag, then parabola and Newton on r(tau)."""
    n_pairs = g.shape[0]
    delays = np.empty(n_pairs, dtype=np.float64)
    peaks = np.empty(n_pairs, dtype=np.float64)
    for p in prange(n_pairs):
        best = 0
        best_val = corr[p, 0]
        for lag in range(-max_lag, max_lag + 1):
            v = corr[p, lag % n_fft]
            if v > best_val:
                best_val = v
                best = lag
        y0 = corr[p, (best - 1) % n_fft]
        y1 = corr[p, best % n_fft]
        y2 = corr[p, (best + 1) % n_fft]
        den = y0 - 2.0 * y1 + y2
        tau = float(best)
        if den < 0.0:
            tau += min(max(0.5 * (y0 - y2) / den, -0.5), 0.5)
        for _ in range(8):
            r, d1, d2 = _r_and_derivatives(g[p], n_fft, tau)
            if d2 >= 0.0:
                break
            step = -d1 / d2
            nxt = min(max(tau + step, best - 1.0), best + 1.0)
            if abs(nxt - tau) < 1e-9:
                tau = nxt
                break
            tau = nxt
        r, d1, d2 = _r_and_derivatives(g[p], n_fft, tau)
        if r < y1:  # Newton went astray (flat or multimodal top): keep the integer peak
            tau = float(best)
            r = y1
        delays[p] = tau
        peaks[p] = r
    return delays, peaks


def _as_signals(frames, name) -> np.ndarray:
    try:
        a = np.asarray(frames)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name}: expected a numeric array, could not convert: {exc}") from None
    if a.ndim != 2 or a.shape[0] < 2 or a.shape[1] < 1:
        raise ValueError(f"{name}: expected shape (n_frames >= 2, n_channels), found shape {a.shape}")
    if a.dtype == np.bool_ or not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise ValueError(f"{name}: expected real integer or floating samples, found dtype {a.dtype}")
    a = np.ascontiguousarray(a, dtype=np.float32)
    validate.check_finite(a, name)
    return a


def _fft_size(n_frames, n_fft):
    if n_fft is None:
        return scipy.fft.next_fast_len(2 * n_frames - 1, real=True)
    return validate.int_in_range("n_fft", n_fft, 2 * n_frames - 1, 1 << 26)


def _max_lag(max_delay_samples, n_frames):
    if max_delay_samples is None:
        return n_frames - 1
    v = validate.float_in_range("max_delay_samples", max_delay_samples, 0.0, n_frames - 1)
    return int(math.ceil(v))


def gcc_phat_pairs(frames, *, pairs=None, max_delay_samples=None, n_fft=None) -> GccPairs:
    """GCC-PHAT delays of channel pairs of frames (n_frames, n_channels), samples.

    pairs: (n_pairs, 2) channel indices (i, j), default every i < j. max_delay_samples bounds the search
    (the array's largest mic distance / c x fs is enough); default n_frames - 1.
    """
    x = _as_signals(frames, "frames")
    n_frames, n_ch = x.shape
    if pairs is None:
        ii, jj = np.triu_indices(n_ch, 1)
        pairs = np.column_stack([ii, jj])
    pairs = np.asarray(pairs)
    if pairs.ndim != 2 or pairs.shape[1] != 2 or pairs.shape[0] < 1 or not np.issubdtype(pairs.dtype, np.integer):
        raise ValueError(f"pairs: expected integer pairs (n_pairs, 2), found dtype {pairs.dtype} shape {pairs.shape}")
    if pairs.min() < 0 or pairs.max() >= n_ch:
        raise ValueError(f"pairs: expected channel indices in [0, {n_ch - 1}], found {int(pairs.min())} "
                         f"to {int(pairs.max())}")
    pairs = np.ascontiguousarray(pairs, dtype=np.int64)
    n = _fft_size(n_frames, n_fft)
    lag = _max_lag(max_delay_samples, n_frames)
    spectra = scipy.fft.rfft(x.T.astype(np.float64), n=n, axis=-1)
    g = phat_cross_spectra(spectra, pairs, PHAT_EPS)
    corr = scipy.fft.irfft(g, n=n, axis=-1)
    delays, peaks = _refine_peaks(g, corr, lag, n)
    return GccPairs(pairs=pairs, delays_samples=delays, peaks=peaks)


def gcc_phat(x_ref, x, *, max_delay_samples=None, n_fft=None) -> tuple[float, float]:
    """Delay of x relative to x_ref (samples, positive when x lags) and the correlation peak value.

    x_ref, x: 1-D signals of the same length >= 2.
    """
    a = np.asarray(x_ref)
    b = np.asarray(x)
    if a.ndim != 1 or b.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"x_ref, x: expected two 1-D signals of the same length, found shapes {a.shape} "
                         f"and {b.shape}")
    res = gcc_phat_pairs(np.column_stack([a, b]), pairs=[[0, 1]], max_delay_samples=max_delay_samples,
                         n_fft=n_fft)
    return float(res.delays_samples[0]), float(res.peaks[0])


def gcc_phat_correlation(x_ref, x, *, n_fft=None) -> tuple[np.ndarray, np.ndarray]:
    """The GCC-PHAT correlation: lags (n_fft,) int64 from -(n_fft // 2) and r (n_fft,) float64 at them."""
    a = np.asarray(x_ref)
    b = np.asarray(x)
    if a.ndim != 1 or b.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"x_ref, x: expected two 1-D signals of the same length, found shapes {a.shape} "
                         f"and {b.shape}")
    sig = _as_signals(np.column_stack([a, b]), "x_ref, x")
    n = _fft_size(sig.shape[0], n_fft)
    spectra = scipy.fft.rfft(sig.T.astype(np.float64), n=n, axis=-1)
    g = phat_cross_spectra(spectra, np.array([[0, 1]], dtype=np.int64), PHAT_EPS)
    corr = scipy.fft.irfft(g[0], n=n)
    lags = np.arange(n) - n // 2
    return lags, np.roll(corr, n // 2)
