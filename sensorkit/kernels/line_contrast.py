"""Direction of a comb of narrow lines from how far they stand above their neighbouring bins in MVDR beams.

For each line h (a harmonic of a drone's rotors, centre bin k_h), over the STFT blocks given:
    R_n = spatial covariance of the noise bins beside the line (k_h +- noise_inner_bins..noise_outer_bins),
          diagonally loaded by ``loading`` times its mean eigenvalue (trace / M);
    R_l = spatial covariance of the line's bins (k_h +- line_half_bins).
The MVDR (Capon) beam steered at u, w = R_n^-1 a / (a^H R_n^-1 a), passes a plane wave from u whole and takes
out what the noise bins hold from elsewhere (a road, an engine, coherent wind). The line's contrast in that
beam, its power over the beam's noise power,
    w^H R_l w / w^H R_n w = a^H B_h a / a^H C_h a,   B_h = R_n^-1 R_l R_n^-1,  C_h = R_n^-1,
is highest where the line comes from. The map is summed over the lines in decibels, each clipped at 0 dB:
    S(u) = sum_h max(0, 10 log10(a_h^H B_h a_h / a_h^H C_h a_h)),
with a_h the steering vector at k_h (sensorkit.kernels.srp_phat), both quadratic forms evaluated together per
line, in the pair form of srp_phat's SRP (sum_i X_ii |a_i|^2 + 2 Re sum_{i<j} conj(a_i) X_ij a_j), on the steering
tables an ``SrpPhat`` keeps: its coarse grid, its fine levels and its ground model. An MVDR beam matches the
whole vector, so with a ground model that SrpPhat is to be built with ground_phase_only=False (the direct wave
plus its reflection, moduli 1 - r to 1 + r), not the phase-only steering SRP-PHAT uses.

Why: SRP-PHAT, even background-subtracted, weighs the lines' bins by what they hold, and at -10 to -20 dB
in-band SNR a road or a car 10 dB over the drone in those bins wins the peak. On drones-field clips whose
drone was missed or misplaced, the lines rose 1-4 dB over the floor of the channel mean and of a delay-and-sum
beam at the drone, 4-16 dB over it in an MVDR beam at the drone (the ring's background is directional or
common to the microphones); this map put 8 of 10 such windows within 8 deg, where SRP-PHAT, Bartlett and Capon
scans of the line bins were 13-133 deg off.
"""

import math

import numpy as np
from numba import njit

from sensorkit.kernels import validate
from sensorkit.kernels.srp_phat import DIRECTION_CHUNK, _FASTMATH, check_stft

__all__ = ["line_contrast_matrices", "line_contrast_values", "locate_lines"]

MIN_NOISE_BINS = 8  #: a line with fewer noise bins beside it (at the band's edges) is left out


def _line_bins(centres, n_bins, line_half_bins, noise_inner_bins, noise_outer_bins):
    """(line_bins, noise_bins): per line (rows), its bins and its noise bins, -1 where outside [1, n_bins)."""
    d = np.arange(noise_inner_bins, noise_outer_bins + 1)
    line = centres[:, None] + np.arange(-line_half_bins, line_half_bins + 1)[None, :]
    noise = centres[:, None] + np.concatenate([-d[::-1], d])[None, :]
    return (np.where((line >= 1) & (line < n_bins), line, -1).astype(np.int64),
            np.where((noise >= 1) & (noise < n_bins), noise, -1).astype(np.int64))


@njit(cache=True)
def _covariances(x, bins, out):
    """out[h] = the mean over the bins bins[h] (-1: none) and the blocks of x[:, t, k] x[:, t, k]^H; x (M,
    n_blocks, n_bins) complex, out (n_lines, M, M) complex128, accumulated in complex128 (upper triangle, then
    mirrored)."""
    n_mics, n_blocks = x.shape[0], x.shape[1]
    for h in range(bins.shape[0]):
        acc = np.zeros((n_mics, n_mics), dtype=np.complex128)
        count = 0
        for s in range(bins.shape[1]):
            k = bins[h, s]
            if k < 0:
                continue
            count += n_blocks
            for t in range(n_blocks):
                for i in range(n_mics):
                    xi = np.complex128(x[i, t, k])
                    for j in range(i, n_mics):
                        acc[i, j] += xi * np.conj(np.complex128(x[j, t, k]))
        for i in range(n_mics):
            for j in range(i, n_mics):
                v = acc[i, j] / max(count, 1)
                out[h, i, j] = v
                out[h, j, i] = np.conj(v)


def line_contrast_matrices(spectra, centre_bins, *, line_half_bins: int = 1, noise_inner_bins: int = 4,
                           noise_outer_bins: int = 14, loading: float = 0.05):
    """(B, C, kept) of the lines at centre_bins (see the module): spectra (M, n_blocks, n_bins) complex STFT
    blocks; centre_bins (n_lines,) int. B, C (n_kept, M, M) complex128 Hermitian, both scaled by 1 / trace(C)
    (the contrast does not change); kept (n_lines,) bool: the lines with at least MIN_NOISE_BINS noise bins
    inside the spectra's bins. R_l and R_n come from one Numba pass per line over its bins (``_covariances``,
    complex128 sums, no per-bin outer products kept); the loading, inverses and products are batched NumPy."""
    x = np.asarray(spectra)
    if not np.iscomplexobj(x) or x.ndim != 3 or x.shape[0] < 2 or x.shape[1] < 1:
        raise ValueError(f"spectra: expected a complex STFT (n_mics >= 2, n_blocks >= 1, n_bins), found dtype "
                         f"{x.dtype} shape {x.shape}")
    m, _, n_bins = x.shape
    line_half_bins = validate.int_in_range("line_half_bins", line_half_bins, 0, 64)
    noise_inner_bins = validate.int_in_range("noise_inner_bins", noise_inner_bins, line_half_bins + 1, 4096)
    noise_outer_bins = validate.int_in_range("noise_outer_bins", noise_outer_bins, noise_inner_bins, 4096)
    loading = validate.float_in_range("loading", loading, 1e-6, 10.0)
    centres = np.asarray(centre_bins)
    if centres.ndim != 1 or not np.issubdtype(centres.dtype, np.integer) or \
            (centres.size and (centres.min() < 1 or centres.max() >= n_bins)):
        raise ValueError(f"centre_bins: expected a 1-D array of integer bins in [1, {n_bins - 1}], found "
                         f"{centres!r}")
    line_bins, noise_bins = _line_bins(centres.astype(np.int64), n_bins, line_half_bins, noise_inner_bins,
                                       noise_outer_bins)
    kept = (noise_bins >= 0).sum(axis=1) >= MIN_NOISE_BINS
    if not kept.any():
        return np.zeros((0, m, m), np.complex128), np.zeros((0, m, m), np.complex128), kept
    rl = np.empty((int(kept.sum()), m, m), dtype=np.complex128)
    rn = np.empty_like(rl)
    x = np.ascontiguousarray(x)
    _covariances(x, line_bins[kept], rl)
    _covariances(x, noise_bins[kept], rn)
    bad = ~(np.isfinite(rl).all(axis=(1, 2)) & np.isfinite(rn).all(axis=(1, 2)))
    if bad.any():
        h = int(np.argmax(bad))
        what = "bins" if not np.isfinite(rl[h]).all() else "noise bins"
        k = int(centres[kept][h])
        raise ValueError(f"spectra: expected finite values in the {what} of the line at bin {k}, found NaN or "
                         f"infinity")
    load = loading * np.einsum("hmm->h", rn).real / m
    silent = load <= 0.0  # no noise at all beside the line: nothing to measure it against
    if silent.any():
        kept[np.flatnonzero(kept)[silent]] = False
        rl, rn, load = rl[~silent], rn[~silent], load[~silent]
    rn = rn + load[:, None, None] * np.eye(m)
    ri = np.linalg.inv(rn)
    ri = 0.5 * (ri + np.conj(np.transpose(ri, (0, 2, 1))))
    bm = ri @ rl @ ri
    bm = 0.5 * (bm + np.conj(np.transpose(bm, (0, 2, 1))))
    scale = 1.0 / np.einsum("hmm->h", ri).real
    return bm * scale[:, None, None], ri * scale[:, None, None], kept


@njit(cache=True, fastmath=_FASTMATH)
def _contrast_chunk(b_re, b_im, c_re, c_im, t_re, t_im, rows, d0, d1, out):
    """out[d0:d1] = sum_h max(0, 10 log10(a^H B_h a / a^H C_h a)), each quadratic form as
    sum_i X_ii |a_i|^2 + 2 Re sum_{i<j} conj(a_i) X_ij a_j: float32 steering and partial sums per line, float64
    across lines."""
    n_lines, n_mics = b_re.shape[0], b_re.shape[1]
    n = d1 - d0
    acc = np.zeros(n, dtype=np.float64)
    ub_re = np.empty(n, dtype=np.float32)
    ub_im = np.empty(n, dtype=np.float32)
    uc_re = np.empty(n, dtype=np.float32)
    uc_im = np.empty(n, dtype=np.float32)
    pb = np.empty(n, dtype=np.float32)
    pc = np.empty(n, dtype=np.float32)
    for h in range(n_lines):
        r = rows[h]
        pb[:] = 0.0
        pc[:] = 0.0
        for i in range(n_mics):  # the diagonal, halved: X_ii |a_i|^2 / 2 (|a_i| = 1 but with a ground model)
            bii = np.float32(0.5) * b_re[h, i, i]
            cii = np.float32(0.5) * c_re[h, i, i]
            gr = t_re[r, i, d0:d1]
            gi = t_im[r, i, d0:d1]
            for d in range(n):
                g = gr[d] * gr[d] + gi[d] * gi[d]
                pb[d] += bii * g
                pc[d] += cii * g
        for i in range(n_mics - 1):
            for j in range(i + 1, n_mics):
                br = b_re[h, i, j]
                bi = b_im[h, i, j]
                cr = c_re[h, i, j]
                ci = c_im[h, i, j]
                ar = t_re[r, j, d0:d1]
                ai = t_im[r, j, d0:d1]
                if j == i + 1:
                    for d in range(n):
                        ub_re[d] = br * ar[d] - bi * ai[d]
                        ub_im[d] = br * ai[d] + bi * ar[d]
                        uc_re[d] = cr * ar[d] - ci * ai[d]
                        uc_im[d] = cr * ai[d] + ci * ar[d]
                else:
                    for d in range(n):
                        ub_re[d] += br * ar[d] - bi * ai[d]
                        ub_im[d] += br * ai[d] + bi * ar[d]
                        uc_re[d] += cr * ar[d] - ci * ai[d]
                        uc_im[d] += cr * ai[d] + ci * ar[d]
            gr = t_re[r, i, d0:d1]
            gi = t_im[r, i, d0:d1]
            for d in range(n):
                pb[d] += gr[d] * ub_re[d] + gi[d] * ub_im[d]  # Re(conj(a_i) u)
                pc[d] += gr[d] * uc_re[d] + gi[d] * uc_im[d]
        for d in range(n):
            num = max(2.0 * np.float64(pb[d]), 1e-30)
            den = max(2.0 * np.float64(pc[d]), 1e-30)
            acc[d] += max(0.0, 10.0 * math.log10(num / den))
    out[d0:d1] = acc


@njit(cache=True)
def _contrast(b_re, b_im, c_re, c_im, t_re, t_im, rows, chunk, out):
    n_dirs = t_re.shape[2]
    for q in range((n_dirs + chunk - 1) // chunk):
        _contrast_chunk(b_re, b_im, c_re, c_im, t_re, t_im, rows, q * chunk, min(n_dirs, (q + 1) * chunk), out)


def line_contrast_values(b, c, table, rows) -> np.ndarray:
    """S(u) (module docstring) at the directions of a steering table: b, c (n_kept, M, M) from
    line_contrast_matrices; table (re, im) (n_rows, M, n_dirs) float32 (srp_phat.steering_table); rows (n_kept,)
    int64, the table row of each line's centre bin. -> (n_dirs,) float64, in dB. One serial pass (a locate's
    maps are 10^2-10^3 directions: a second thread would cost more to wake than it saves)."""
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    t_re, t_im = table
    if b.shape != c.shape or b.ndim != 3 or b.shape[1] != b.shape[2] or b.shape[1] != t_re.shape[1] or \
            rows.shape != (b.shape[0],):
        raise ValueError(f"b, c, rows: expected (n_lines, M, M) matrices for M = {t_re.shape[1]} microphones and "
                         f"one table row per line, found b {b.shape}, c {c.shape}, rows {rows.shape}")
    if rows.size and (rows.min() < 0 or rows.max() >= t_re.shape[0]):
        raise ValueError(f"rows: expected table rows in [0, {t_re.shape[0] - 1}], found {rows.min()} to {rows.max()}")
    parts = [np.ascontiguousarray(v, dtype=np.float32) for v in (b.real, b.imag, c.real, c.imag)]
    out = np.empty(t_re.shape[2], dtype=np.float64)
    _contrast(*parts, t_re, t_im, rows, DIRECTION_CHUNK, out)
    return out


def locate_lines(srp, spectra, centre_bins, *, min_lines: int = 2, **matrix_options):
    """The peak (azimuth_rad, elevation_rad, S in dB) of the lines' contrast map on the grids of srp (a
    sensorkit.kernels.srp_phat.SrpPhat: its coarse table, fine levels and ground model), or None when fewer
    than min_lines lines can be measured (line_contrast_matrices' kept). spectra (M, n_blocks, n_bins): the
    STFT blocks (their first bins suffice, up to the top line's noise bins); centre_bins ascending, inside
    srp's band; matrix_options: see line_contrast_matrices."""
    x = check_stft(spectra, srp.n_mics, srp.nfft, "spectra", finite=False, min_bins=1)
    centres = np.asarray(centre_bins)
    if centres.ndim != 1 or not np.issubdtype(centres.dtype, np.integer) or (centres.size and (
            centres[0] < srp.bin_lo or centres[-1] > srp.bin_hi or np.any(centres[1:] <= centres[:-1]))):
        raise ValueError(f"centre_bins: expected ascending integer bins in the SrpPhat band [{srp.bin_lo}, "
                         f"{srp.bin_hi}], found {centres!r}")
    centres = centres.astype(np.int64)
    b, c, kept = line_contrast_matrices(x, centres, **matrix_options)
    if int(kept.sum()) < max(1, min_lines):
        return None
    return srp.search(centres[kept], lambda table, rows: line_contrast_values(b, c, table, rows))
