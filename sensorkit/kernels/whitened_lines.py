"""Spatially whitened line power: how far each STFT bin stands above the bins beside it, after the array has
taken out whatever the neighbouring bins hold from any direction.

For bin k of block t (M microphones), over the last n_average blocks up to t:
    R_l = covariance of the line's bins k - line_half_bins .. k + line_half_bins,
    R_n = covariance of its noise bins k +- noise_inner_bins..noise_outer_bins, diagonally loaded by ``loading``
          times its mean eigenvalue (trace / M),
    lambda(t, k) = the largest eigenvalue of R_n^-1 R_l (generalised: of L^-1 R_l L^-H, R_n = L L^H),
the most power, over the noise power, that any beam w can take from the line's bins: max_w w^H R_l w / w^H R_n w.
A tone from one direction gains the array's coherent gain over noise that is white across the microphones, and
noise that is directional or common to them (a road, an engine's broadband, coherent wind), present in the
noise bins too, is whitened away, without a search over directions. Noise alone gives lambda near 1 (a bias
and a spread set by M and the snapshots, see ``sensorkit.pipelines.drone``, which calibrates its comb on it).

Why: on drones-field clips (the 8-microphone ring) a drone's harmonic at -10 to -5 dB in-band SNR stood above
the per-bin 1 % false-alarm level of the noise-only clips in 13 % of the blocks in the channel-mean power
ratio and in 32 % in lambda (at 0.1 %: 0.4 % and 13 %); the lines' direction (sensorkit.kernels.line_contrast)
comes from the same covariances steered.

``whitened_line_power`` is the Numba kernel (per block: the window's covariance per bin in complex128, prefix
sums over bins, per bin a complex Cholesky, the whitening by two triangular solves, the top eigenvalue by power
iteration from the column of the largest diagonal; blocks in parallel); ``whitened_line_power_reference`` in
sensorkit.kernels.acoustic_reference is the plain NumPy version (eigvalsh).
"""

import numpy as np
import scipy.stats
from numba import njit, prange

from sensorkit.kernels import validate
from sensorkit.kernels.harmonic import _tail_quantile, harmonic_comb, spectral_noise_floor
from sensorkit.kernels.stft import stft

__all__ = ["POWER_ITERATIONS", "whitened_comb_null", "whitened_line_power"]

POWER_ITERATIONS = 40  #: at most; the power iteration stops once the Rayleigh quotient moves by < 1e-7 relative
NULL_CACHE_VERSION = 1  #: bump when the null simulation changes


@njit(cache=True)
def _top_eigenvalue(w, v, u, n_iter):
    """Largest eigenvalue of the Hermitian positive semi-definite w (M, M): power iteration from the column of
    the largest diagonal, the Rayleigh quotient as the estimate. v, u: (M,) complex128 work vectors."""
    m = w.shape[0]
    j = 0
    for i in range(1, m):
        if w[i, i].real > w[j, j].real:
            j = i
    if w[j, j].real <= 0.0:
        return 0.0
    for i in range(m):
        v[i] = w[i, j]
    lam = 0.0
    for _ in range(n_iter):
        norm = 0.0
        for i in range(m):
            norm += v[i].real * v[i].real + v[i].imag * v[i].imag
        if norm <= 0.0:
            return lam
        scale = 1.0 / np.sqrt(norm)
        for i in range(m):
            v[i] *= scale
        q = 0.0
        for i in range(m):
            acc = 0j
            for c in range(m):
                acc += w[i, c] * v[c]
            u[i] = acc
            q += (np.conj(v[i]) * acc).real
        done = abs(q - lam) <= 1e-7 * abs(q)
        lam = q
        if done:
            break
        for i in range(m):
            v[i] = u[i]
    return lam


@njit(cache=True)
def _cholesky_in_place(a) -> bool:
    """a (M, M) Hermitian positive definite -> its lower Cholesky factor in the lower triangle (the upper is
    zeroed); False when a pivot is not positive."""
    m = a.shape[0]
    for j in range(m):
        d = a[j, j].real
        for c in range(j):
            d -= a[j, c].real * a[j, c].real + a[j, c].imag * a[j, c].imag
        if d <= 0.0:
            return False
        d = np.sqrt(d)
        a[j, j] = d
        for i in range(j + 1, m):
            acc = a[i, j]
            for c in range(j):
                acc -= a[i, c] * np.conj(a[j, c])
            a[i, j] = acc / d
        for c in range(j + 1, m):
            a[j, c] = 0.0
    return True


@njit(cache=True)
def _forward_solve_in_place(low, b):
    """b (M, M) <- low^-1 b, low lower triangular (M, M)."""
    m = low.shape[0]
    for col in range(b.shape[1]):
        for i in range(m):
            acc = b[i, col]
            for c in range(i):
                acc -= low[i, c] * b[c, col]
            b[i, col] = acc / low[i, i]


@njit(cache=True, parallel=True)
def _whitened(x, first, n_average, line_half, inner, outer, loading, n_iter, out):
    """out[t - first, k] = lambda (module docstring) for the blocks t = first .. n_blocks - 1 of x (M, n_blocks,
    n_bins) complex; bins whose noise bins' trace is 0 give 0."""
    m, n_blocks, n_bins = x.shape
    for tt in prange(n_blocks - first):
        t = first + tt
        t0 = max(0, t - n_average + 1)
        prefix = np.zeros((n_bins + 1, m, m), dtype=np.complex128)
        for k in range(n_bins):
            for i in range(m):
                for j in range(i, m):
                    acc = 0j
                    for s in range(t0, t + 1):
                        acc += np.complex128(x[i, s, k]) * np.conj(np.complex128(x[j, s, k]))
                    prefix[k + 1, i, j] = prefix[k, i, j] + acc
        rn = np.empty((m, m), dtype=np.complex128)
        rl = np.empty((m, m), dtype=np.complex128)
        v = np.empty(m, dtype=np.complex128)
        u = np.empty(m, dtype=np.complex128)
        for k in range(n_bins):
            l0, l1 = max(0, k - line_half), min(n_bins - 1, k + line_half)
            a0, a1 = max(0, k - outer), k - inner  # the noise bins below: a0 .. a1 (empty when a1 < a0)
            b0, b1 = k + inner, min(n_bins - 1, k + outer)
            n_noise = max(0, a1 - a0 + 1) + max(0, b1 - b0 + 1)
            if n_noise == 0:
                out[tt, k] = 0.0
                continue
            trace = 0.0
            for i in range(m):
                for j in range(i, m):
                    z = 0j
                    if a1 >= a0:
                        z += prefix[a1 + 1, i, j] - prefix[a0, i, j]
                    if b1 >= b0:
                        z += prefix[b1 + 1, i, j] - prefix[b0, i, j]
                    z /= n_noise
                    rn[i, j] = z
                    rn[j, i] = np.conj(z)
                    y = (prefix[l1 + 1, i, j] - prefix[l0, i, j]) / (l1 - l0 + 1)
                    rl[i, j] = y
                    rl[j, i] = np.conj(y)
                trace += rn[i, i].real
            if trace <= 0.0:
                out[tt, k] = 0.0
                continue
            load = loading * trace / m
            for i in range(m):
                rn[i, i] += load
            if not _cholesky_in_place(rn):
                out[tt, k] = 0.0
                continue
            _forward_solve_in_place(rn, rl)  # rl <- L^-1 R_l
            for i in range(m):  # rl <- (L^-1 R_l)^H, then L^-1 (L^-1 R_l)^H = L^-1 R_l L^-H
                for j in range(i + 1, m):
                    p, q = rl[i, j], rl[j, i]
                    rl[i, j] = np.conj(q)
                    rl[j, i] = np.conj(p)
                rl[i, i] = np.conj(rl[i, i])
            _forward_solve_in_place(rn, rl)
            for i in range(m):  # Hermitian up to rounding: symmetrise
                rl[i, i] = rl[i, i].real
                for j in range(i + 1, m):
                    z = 0.5 * (rl[i, j] + np.conj(rl[j, i]))
                    rl[i, j] = z
                    rl[j, i] = np.conj(z)
            out[tt, k] = _top_eigenvalue(rl, v, u, n_iter)


def whitened_line_power(spectra, *, n_average: int, first_block: int = 0, line_half_bins: int = 1,
                        noise_inner_bins: int = 4, noise_outer_bins: int = 13, loading: float = 0.05,
                        n_iter: int = POWER_ITERATIONS) -> np.ndarray:
    """lambda (module docstring) per block and bin: spectra (M, n_blocks, n_bins) complex STFT blocks (M >= 2);
    the blocks first_block .. n_blocks - 1 are computed, each over itself and the n_average - 1 blocks before it
    (fewer at the start: a stream keeps the last n_average - 1 blocks and passes them first, with first_block
    their number). -> float32 (n_blocks - first_block, n_bins)."""
    x = np.asarray(spectra)
    if not np.iscomplexobj(x) or x.ndim != 3 or x.shape[0] < 2 or x.shape[2] < 1:
        raise ValueError(f"spectra: expected a complex STFT (n_mics >= 2, n_blocks, n_bins >= 1), found dtype "
                         f"{x.dtype} shape {x.shape}")
    n_average = validate.int_in_range("n_average", n_average, 1, 4096)
    first_block = validate.int_in_range("first_block", first_block, 0, x.shape[1])
    line_half_bins = validate.int_in_range("line_half_bins", line_half_bins, 0, 64)
    noise_inner_bins = validate.int_in_range("noise_inner_bins", noise_inner_bins, line_half_bins + 1, 4096)
    noise_outer_bins = validate.int_in_range("noise_outer_bins", noise_outer_bins, noise_inner_bins, 4096)
    loading = validate.float_in_range("loading", loading, 1e-6, 10.0)
    n_iter = validate.int_in_range("n_iter", n_iter, 1, 10_000)
    x = np.ascontiguousarray(x, dtype=np.complex64 if x.dtype == np.complex64 else np.complex128)
    validate.check_finite(x[:, max(0, first_block - n_average + 1):], "spectra")
    out = np.empty((x.shape[1] - first_block, x.shape[2]), dtype=np.float64)
    if out.size:
        _whitened(x, first_block, n_average, line_half_bins, noise_inner_bins, noise_outer_bins, loading, n_iter,
                  out)
    return out.astype(np.float32)


def _effective_averages(ratio_to_median: np.ndarray, quantile: float = 0.99) -> int:
    """The n whose Gamma(n) (the power ratio of n averaged periodograms) has the same quantile over its median
    as the values given: the noise statistics harmonic_comb is told."""
    q = float(np.quantile(ratio_to_median, quantile))
    ns = np.arange(1, 2001)
    spread = scipy.stats.gamma.ppf(quantile, ns) / scipy.stats.gamma.ppf(0.5, ns)
    return int(ns[np.argmin(np.abs(spread - q))])


def whitened_comb_null(*, n_mics: int, nfft: int, hop: int, window, n_bins: int, n_average: int, df_hz: float,
                       half_width_bins: int, pfa: float, n_iter: int, comb_parameters: dict, n_blocks: int = 2400,
                       seed: int = 0, memo=None) -> tuple[int, float]:
    """(n_averages, score threshold) of harmonic_comb run on whitened_line_power / its spectral noise floor, for
    white Gaussian noise independent across n_mics microphones, through the STFT (nfft, hop, window) and the
    first n_bins bins: n_averages the Gamma statistics matching the noise's 99 % quantile over its median, the
    threshold the comb score that noise alone exceeds in a fraction pfa of the blocks (exponential tail fit as
    comb_score_threshold). n_blocks blocks in chunks of 100, each chunk's first n_average - 1 blocks only
    feeding the covariances; memo: None or a sensorkit.cache.DiskMemo-like callable (kept once per machine)."""
    args = (int(n_mics), int(nfft), int(hop), repr(window), int(n_bins), int(n_average), float(df_hz),
            int(half_width_bins), int(n_iter), tuple(sorted(comb_parameters.items())), int(n_blocks), int(seed))

    def compute() -> np.ndarray:
        rng = np.random.default_rng(seed)
        chunk = 100
        lam = []
        while sum(v.shape[0] for v in lam) < n_blocks:
            x = rng.standard_normal(((chunk + n_average - 1) * hop + nfft, n_mics)).astype(np.float32)
            spectra = stft(x, nfft=nfft, hop=hop, window=window)[:, :, :n_bins]
            lam.append(whitened_line_power(spectra, n_average=n_average, first_block=n_average - 1, n_iter=n_iter))
        lam = np.concatenate(lam)[:n_blocks]
        n_eff = _effective_averages(lam / np.median(lam, axis=1, keepdims=True))
        ratio = lam / spectral_noise_floor(lam, half_width_bins=half_width_bins, n_averages=n_eff)
        scores = np.sort(harmonic_comb(ratio, df_hz=df_hz, n_averages=n_eff, **comb_parameters).score)
        return np.concatenate([[float(n_eff)], scores.astype(np.float64)])

    def usable(v) -> bool:
        return isinstance(v, np.ndarray) and v.shape == (n_blocks + 1,) and v.dtype == np.float64 and \
            bool(np.all(np.isfinite(v))) and v[0] >= 1

    v = compute() if memo is None else memo(repr((NULL_CACHE_VERSION, "whitened") + args), compute, usable)
    if not usable(v):
        v = compute()
    return int(v[0]), _tail_quantile(v[1:], pfa)
