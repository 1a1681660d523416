"""Plain NumPy/SciPy references of the acoustic kernels and of CFAR, written for clarity, not speed.

Tests compare the Numba kernels with these (tolerances in the tests); benchmarks use them as the baseline.
Everything runs in float64 / complex128.
"""

import math

import numpy as np
import scipy.optimize
import scipy.signal

__all__ = [
    "ca_cfar_reference", "gcc_phat_reference", "harmonic_comb_reference", "music_spectrum_reference",
    "os_cfar_reference", "running_median_reference", "srp_phat_map_reference", "stft_reference",
]


def stft_reference(frames, nfft, hop, window="hann"):
    """STFT (n_channels, n_blocks, nfft // 2 + 1) complex128: block b = rfft(w * x[b hop : b hop + nfft])."""
    x = np.asarray(frames, dtype=np.float64)
    w = scipy.signal.get_window(window, nfft, fftbins=True) if isinstance(window, str) else np.asarray(window)
    n_blocks = 0 if x.shape[0] < nfft else 1 + (x.shape[0] - nfft) // hop
    out = np.zeros((x.shape[1], n_blocks, nfft // 2 + 1), dtype=np.complex128)
    for c in range(x.shape[1]):
        for b in range(n_blocks):
            out[c, b] = np.fft.rfft(w * x[b * hop:b * hop + nfft, c])
    return out


def running_median_reference(power, half):
    """Median of each row over [k - half, k + half] truncated at the row ends."""
    p = np.asarray(power, dtype=np.float64)
    out = np.empty_like(p)
    n = p.shape[1]
    for k in range(n):
        out[:, k] = np.median(p[:, max(0, k - half):min(n, k + half + 1)], axis=1)
    return out


def harmonic_comb_reference(ratio, windows, f0_grid, df_hz, floor_db, presence_db, odd_fraction_min,
                            step_hz, tolerance_rel):
    """The comb of sensorkit.kernels.harmonic._comb, block by block in NumPy.

    Returns f0_hz, snr_db, score, n_harmonics, harmonic_bins like HarmonicDetections' fields.
    """
    ratio = np.asarray(ratio, dtype=np.float32).astype(np.float64)
    n_blocks, n_bins = ratio.shape
    n_cand, n_h = windows.shape[:2]
    f0_out = np.empty(n_blocks)
    snr_out = np.empty(n_blocks)
    score_out = np.empty(n_blocks)
    count_out = np.zeros(n_blocks, dtype=np.int64)
    bins_out = np.full((n_blocks, n_h), -1, dtype=np.int64)
    for b in range(n_blocks):
        level = (10.0 * np.log10(np.maximum(ratio[b], 1e-12))).astype(np.float32)
        peak_level = np.full((n_cand, n_h), -np.inf)
        peak_bin = np.full((n_cand, n_h), -1)
        for c in range(n_cand):
            for h in range(n_h):
                lo, hi = windows[c, h]
                if lo < 0:
                    continue
                j = lo + int(np.argmax(level[lo:hi + 1]))
                peak_level[c, h] = level[j]
                peak_bin[c, h] = j
        with np.errstate(invalid="ignore"):
            diff = (peak_level.astype(np.float32) - floor_db).astype(np.float64)  # float32 like the kernel
        evidence = np.where(np.isfinite(peak_level), np.maximum(diff, 0.0), 0.0)
        odd = evidence[:, 0::2].sum(axis=1)
        total = odd + evidence[:, 1::2].sum(axis=1)
        score = total - evidence.max(axis=1)  # the comb without its strongest line
        best = int(np.argmax(score))
        for _ in range(3):
            if total[best] <= 0.0 or odd[best] >= odd_fraction_min * total[best]:
                break
            target = 2.0 * f0_grid[best]
            span = tolerance_rel * target
            lo = max(int(np.ceil((target - span - f0_grid[0]) / step_hz)), 0)
            hi = min(int(np.floor((target + span - f0_grid[0]) / step_hz)), n_cand - 1)
            if lo > hi:
                break
            up = lo + int(np.argmax(score[lo:hi + 1]))
            if score[up] <= 0.0:
                break
            best = up
        in_band = windows[best, :, 0] >= 0
        present = in_band & (peak_level[best] >= presence_db[best])
        bins_out[b, present] = peak_bin[best, present]
        count_out[b] = int(present.sum())
        lobes = [j for p in peak_bin[best, present] for j in range(max(p - 1, 1), min(p + 2, n_bins))]
        excess = float(np.sum(ratio[b, lobes] - 1.0))
        snr_out[b] = 10.0 * np.log10(excess) if present.any() and excess > 0 else -30.0
        score_out[b] = score[best]
        ref_bin, ref_k = -1, 0
        if present.any():
            h = int(np.argmax(present))
            ref_bin, ref_k = peak_bin[best, h], h + 1
            if h > 0 and in_band[0] and peak_level[best, 0] > floor_db[best, 0]:
                ref_bin, ref_k = peak_bin[best, 0], 1
        elif in_band[0] and peak_level[best, 0] > floor_db[best, 0]:
            ref_bin, ref_k = peak_bin[best, 0], 1
        f0 = f0_grid[best]
        if 0 < ref_bin < n_bins - 1:
            y0, y1, y2 = (float(v) for v in level[ref_bin - 1:ref_bin + 2])
            den = y0 - 2 * y1 + y2
            delta = min(max(0.5 * (y0 - y2) / den, -0.5), 0.5) if den < 0 else 0.0
            f0 = (ref_bin + delta) * df_hz / ref_k
        f0_out[b] = f0
    return f0_out, snr_out, score_out, count_out, bins_out


def gcc_phat_reference(x_ref, x, max_delay_samples, upsample=64):
    """Delay of x relative to x_ref (samples): argmax of the PHAT correlation upsampled by zero padding."""
    a = np.asarray(x_ref, dtype=np.float64)
    b = np.asarray(x, dtype=np.float64)
    n = 2 * a.size
    g = np.fft.rfft(b, n) * np.conj(np.fft.rfft(a, n))
    mag = np.abs(g)
    g = np.where(mag > 1e-12 * mag.max(), g / np.where(mag > 0, mag, 1), 0)
    r = np.fft.irfft(g, n * upsample)
    lags = np.arange(n * upsample)
    lags = np.where(lags < n * upsample // 2, lags, lags - n * upsample) / upsample
    keep = np.abs(lags) <= max_delay_samples
    return float(lags[keep][np.argmax(r[keep])])


def _steering(mic_positions_m, azimuth_rad, elevation_rad, freqs_hz, c_mps):
    """a[k, d, m] = exp(+j 2 pi f_k p_m . u_d / c) for the grid (elevation-major)."""
    aa, ee = np.meshgrid(azimuth_rad, elevation_rad)
    u = np.stack([np.cos(ee) * np.cos(aa), np.cos(ee) * np.sin(aa), np.sin(ee)], axis=-1).reshape(-1, 3)
    lead = u @ np.asarray(mic_positions_m, dtype=np.float64).T / c_mps
    return np.exp(1j * 2 * np.pi * np.asarray(freqs_hz)[:, None, None] * lead[None])


def srp_phat_map_reference(spectra, mic_positions_m, fs_hz, nfft, bins, azimuth_rad, elevation_rad, c_mps=343.0):
    """sum_k sum_b |a^H X/|X||^2 / (n_blocks n_bins M^2) on the grid, (n_el, n_az) float64."""
    x = np.asarray(spectra, dtype=np.complex128)[:, :, np.asarray(bins)]  # (M, n_blocks, n_sel)
    mag = np.abs(x)
    y = np.where(mag > 0, x / np.where(mag > 0, mag, 1), 0)
    a = _steering(mic_positions_m, azimuth_rad, elevation_rad, np.asarray(bins) * fs_hz / nfft, c_mps)
    z = np.einsum("kdm,mbk->kdb", a.conj(), y)
    m = x.shape[0]
    p = (np.abs(z) ** 2).sum(axis=(0, 2)) / (x.shape[1] * len(bins) * m * m)
    return p.reshape(len(elevation_rad), len(azimuth_rad))


def music_spectrum_reference(spectra, mic_positions_m, fs_hz, nfft, bins, n_sources, azimuth_rad, elevation_rad,
                             c_mps=343.0):
    """1 / mean_k(w_k ||E_n,k^H a_k||^2 / M) with the noise subspace E_n of each unit-trace covariance and the
    bin weight w_k = signal eigenvalues - n_sources x mean noise eigenvalue, scaled to mean 1."""
    x = np.asarray(spectra, dtype=np.complex128)
    m = x.shape[0]
    a = _steering(mic_positions_m, azimuth_rad, elevation_rad, np.asarray(bins) * fs_hz / nfft, c_mps)
    projections, weights = [], []
    for s, k in enumerate(bins):
        xk = x[:, :, k]
        r = xk @ xk.conj().T / xk.shape[1]
        r = r / np.trace(r).real
        vals, vecs = np.linalg.eigh(r)
        noise = vecs[:, :m - n_sources]
        weights.append(max(vals[m - n_sources:].sum() - n_sources * vals[:m - n_sources].mean(), 0.0))
        projections.append(np.sum(np.abs(a[s].conj() @ noise) ** 2, axis=1) / m)
    w = np.array(weights)
    w = w / w.mean() if w.mean() > 0 else np.ones_like(w)
    den = np.mean(w[:, None] * np.array(projections), axis=0)
    p = 1.0 / np.maximum(den, 1e-9)
    return p.reshape(len(elevation_rad), len(azimuth_rad))


def _training_values(x, idx, guard, train):
    outer = tuple(slice(max(0, i - g - t), min(n, i + g + t + 1)) for i, g, t, n in zip(idx, guard, train, x.shape))
    inner = tuple(slice(max(0, i - g), min(n, i + g + 1)) for i, g, n in zip(idx, guard, x.shape))
    keep = np.ones(x.shape, dtype=bool)
    keep[inner] = False
    return x[outer][keep[outer]]


def ca_cfar_reference(power, guard, train, pfa):
    """(mask, statistic) of CA-CFAR, cell by cell: alpha = N (Pfa^(-1/N) - 1), statistic x / (alpha mean)."""
    x = np.asarray(power, dtype=np.float64)
    stat = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        v = _training_values(x, idx, guard, train)
        n = v.size
        threshold = n * (pfa ** (-1.0 / n) - 1.0) * v.mean()
        stat[idx] = x[idx] / threshold if threshold > 0 else (np.inf if x[idx] > 0 else 0.0)
    return stat > 1.0, stat


def os_cfar_reference(power, guard, train, pfa, rank_fraction=0.75):
    """(mask, statistic) of OS-CFAR, cell by cell: k = ceil(rank_fraction N), alpha from brentq on
    prod_{i<k} (N - i) / (N - i + alpha) = Pfa."""
    x = np.asarray(power, dtype=np.float64)
    stat = np.zeros(x.shape)
    alphas = {}
    for idx in np.ndindex(x.shape):
        v = np.sort(_training_values(x, idx, guard, train))
        n = v.size
        k = max(1, math.ceil(rank_fraction * n - 1e-9))
        if n not in alphas:
            terms = np.arange(n - k + 1, n + 1, dtype=np.float64)
            alphas[n] = scipy.optimize.brentq(
                lambda a: np.sum(np.log(terms / (terms + a))) - math.log(pfa), 0.0, 1e9, xtol=1e-12, rtol=1e-13)
        threshold = alphas[n] * v[k - 1]
        stat[idx] = x[idx] / threshold if threshold > 0 else (np.inf if x[idx] > 0 else 0.0)
    return stat > 1.0, stat


def denoised_cross_spectra_reference(spectra, bins, noise_mask, half_width_bins=12, guard_bins=2, min_noise_bins=3):
    """(n_sel, M, M) complex128: (R - N) / sqrt(R_ii R_jj) off the diagonal, 1 on it; R = sum_b x x^H at the bin,
    N = the mean of the same over the noise bins q around the bin's run of consecutive bins [first, last]:
    first - half <= q <= last + half, outside [first - guard, last + guard] (none with fewer than
    min_noise_bins)."""
    x = np.asarray(spectra, dtype=np.complex128)
    n_mics, _, n_bins = x.shape
    bins = np.asarray(bins)
    run_id = np.concatenate([[0], np.cumsum(np.diff(bins) != 1)])
    out = np.zeros((len(bins), n_mics, n_mics), dtype=np.complex128)
    for s, k in enumerate(bins):
        run = bins[run_id == run_id[s]]
        first, last = int(run[0]), int(run[-1])
        r = np.einsum("ib,jb->ij", x[:, :, k], x[:, :, k].conj())
        q = np.arange(max(1, first - half_width_bins), min(n_bins, last + half_width_bins + 1))
        q = q[np.asarray(noise_mask)[q] & ((q < first - guard_bins) | (q > last + guard_bins))]
        n = np.zeros_like(r)
        if q.size >= min_noise_bins:
            n = np.einsum("ibq,jbq->ij", x[:, :, q], x[:, :, q].conj()) / q.size
        d = np.sqrt(np.outer(r.diagonal().real, r.diagonal().real))
        c = np.where(d > 0, (r - n) / np.where(d > 0, d, 1.0), 0.0)
        np.fill_diagonal(c, 1.0)
        out[s] = c
    return out


def line_covariances_reference(spectra, centre_bins, line_half_bins=1, noise_inner_bins=4, noise_outer_bins=14,
                               min_noise_bins=8):
    """Per line kept (at least min_noise_bins noise bins inside [1, n_bins)): (R_l, R_n), the mean of x x^H
    over its bins k +- line_half_bins and over its noise bins k +- noise_inner_bins..noise_outer_bins, and the
    blocks, complex128, as a list; and kept (n_lines,) bool."""
    x = np.asarray(spectra, dtype=np.complex128)
    m, _, n_bins = x.shape
    out, kept = [], []
    for k in centre_bins:
        line = [j for j in range(k - line_half_bins, k + line_half_bins + 1) if 1 <= j < n_bins]
        noise = [k + s * d for s in (-1, 1) for d in range(noise_inner_bins, noise_outer_bins + 1)
                 if 1 <= k + s * d < n_bins]
        kept.append(len(noise) >= min_noise_bins)
        if kept[-1]:
            xl = x[:, :, line].reshape(m, -1)
            xn = x[:, :, noise].reshape(m, -1)
            out.append((xl @ xl.conj().T / xl.shape[1], xn @ xn.conj().T / xn.shape[1]))
    return out, np.array(kept, dtype=bool)


def line_contrast_map_reference(spectra, mic_positions_m, fs_hz, nfft, centre_bins, azimuth_rad, elevation_rad,
                                line_half_bins=1, noise_inner_bins=4, noise_outer_bins=14, loading=0.05,
                                min_noise_bins=8, c_mps=343.0):
    """sum over the lines of max(0, 10 log10(w^H R_l w / w^H R_n w)), w = R_n^-1 a (MVDR beam, unnormalised),
    on the grid (n_el, n_az) float64: R_n from the bins k +- noise_inner_bins..noise_outer_bins (loaded by
    loading x trace / M), R_l from k +- line_half_bins; lines with fewer than min_noise_bins noise bins left out."""
    m = np.shape(spectra)[0]
    pairs, kept = line_covariances_reference(spectra, centre_bins, line_half_bins, noise_inner_bins,
                                             noise_outer_bins, min_noise_bins)
    total = 0.0
    for k, (rl, rn) in zip(np.asarray(centre_bins)[kept], pairs):
        rn = rn + loading * np.trace(rn).real / m * np.eye(m)
        a = _steering(mic_positions_m, azimuth_rad, elevation_rad, [k * fs_hz / nfft], c_mps)[0]  # (n_dirs, M)
        w = np.linalg.solve(rn, a.T)  # (M, n_dirs)
        num = np.einsum("md,mn,nd->d", w.conj(), rl, w).real
        den = np.einsum("md,md->d", a.T.conj(), w).real
        total = total + np.maximum(10.0 * np.log10(num / den), 0.0)
    return np.broadcast_to(total, (len(elevation_rad) * len(azimuth_rad),)).reshape(len(elevation_rad),
                                                                                  len(azimuth_rad))


def whitened_line_power_reference(spectra, n_average, first_block=0, line_half_bins=1, noise_inner_bins=4,
                                  noise_outer_bins=13, loading=0.05):
    """The largest eigenvalue of L^-1 R_l L^-H (R_n = L L^H loaded by loading x trace / M) per block and bin,
    R_l and R_n the mean of x x^H over the last n_average blocks and the line's and noise bins (complex128,
    numpy.linalg.eigvalsh): (n_blocks - first_block, n_bins) float64."""
    x = np.asarray(spectra, dtype=np.complex128)
    m, n_blocks, n_bins = x.shape
    out = np.zeros((n_blocks - first_block, n_bins))
    for t in range(first_block, n_blocks):
        w = x[:, max(0, t - n_average + 1):t + 1]
        c = np.einsum("isk,jsk->kij", w, w.conj())
        for k in range(n_bins):
            line = [j for j in range(k - line_half_bins, k + line_half_bins + 1) if 0 <= j < n_bins]
            noise = [k + s * d for s in (-1, 1) for d in range(noise_inner_bins, noise_outer_bins + 1)
                     if 0 <= k + s * d < n_bins]
            rn = c[noise].sum(axis=0) / len(noise)
            if np.trace(rn).real <= 0.0:
                continue
            rn = rn + loading * np.trace(rn).real / m * np.eye(m)
            rl = c[line].sum(axis=0) / len(line)
            li = np.linalg.inv(np.linalg.cholesky(rn))
            out[t - first_block, k] = np.linalg.eigvalsh(li @ rl @ li.conj().T)[-1]
    return out
