"""SRP-PHAT direction finding over an azimuth/elevation grid, coarse to fine, for any array geometry.

Far field, plane wave. Array frame: x, y horizontal, z up; azimuth counter-clockwise from +x seen from above,
elevation up from the horizontal; radians in code. A source in the unit direction
u = (cos el cos az, cos el sin az, sin el) reaches microphone m (position p_m) earlier than the origin by
p_m . u / c, so its STFT is X_m = S a_m with the steering vector a_m(k) = exp(+j w_k p_m . u / c),
w_k = 2 pi k fs / nfft (STFT convention of sensorkit.kernels.stft).

Steered response power over the bins used (e.g. the harmonic bins of a drone) and the STFT blocks given:
    P(u) = sum_k sum_b |a(k, u)^H Y_b(k)|^2 / (n_blocks n_bins M^2),  Y_m = X_m / |X_m| (PHAT),
in [0, 1] (1 = every bin and block perfectly coherent from u). It is evaluated from the PHAT cross-spectra
C(k) = sum_b Y_b Y_b^H computed once per call ("pair" form, a^H C a = sum_i C_ii + 2 Re sum_{i<j} conj(a_i)
C_ij a_j, cost ~ M (M - 1) / 2 per direction and bin). The "snapshot" form sum_b |a^H Y_b|^2 (cost ~ n_blocks M)
stays in ``steered_power`` for MUSIC's subspaces; for SRP the float32 pair form measured as fast or faster from
one block up (8 and 16 mics, 1 to 8 blocks).

Speed (one update of the 8-mic circle, 16 kHz, nfft 512, 12 blocks, bins 300-3500 Hz: see
benchmarks/bench_doa_pyroomacoustics.py). The PHAT cross-spectra are computed once per update (float32,
upper triangle, bins innermost). ``SrpPhat`` keeps the float32 steering table of its coarse grid for
every bin of its band (each aligned group of TABLE_GROUP_BINS bins built the first time an update uses one of
them), laid out (bin, mic, direction) so the inner loop runs over contiguous directions
(w_i = sum_{j>i} C_ij a_j, then Re(conj(a_i) w_i)); fine grids around the coarse peaks are steered per update
(phase recurrence along the bins), or, for an azimuth-only search, read from a table of the whole fine ring.
``srp_phat_map`` keeps the tables of its last few set-ups; on a ring of azimuths covering the circle uniformly
it uses circular harmonics (Jacobi-Anger, any geometry: see ``ring_tables``) when they cost less. Kernels run
on one thread unless a call exceeds PARALLEL_MIN_WORK multiply-adds. Non-finite spectra are refused from the
bins used (through the cross-spectra), not by scanning the whole STFT.

Background subtraction (``denoised_cross_spectra``, ``SrpPhat.locate(..., noise_mask=...)``): for narrow lines
under a background that is smooth in frequency (wind, roads, an engine's broadband noise), the cross-spectral
matrix of nearby noise bins is subtracted from the lines' before steering, and the pairs are normalised as
coherences (the source's share of the power) rather than per block: PHAT weighs a line bin by its phase alone,
so a background louder than the line in that bin wins the peak.

Planar arrays: a horizontal planar array (all z equal) cannot tell a source above from its mirror image below:
P(az, el) = P(az, -el). Its elevation grid is therefore [0, 90] degrees and elevations are reported >= 0.
A linear array only measures the angle to its axis; its peaks are one of many equivalent directions.
"""

import math
from dataclasses import dataclass

import numpy as np
import scipy.special
from numba import njit, prange

from sensorkit.kernels import validate
from sensorkit.kernels.peak_interpolation import parabola_offset

__all__ = [
    "SrpPhat", "SrpResult", "denoised_cross_spectra", "direction_vectors", "is_horizontal_planar",
    "phat_cross_spectra", "phat_normalise", "plane_wave_leads_s", "ring_power", "ring_tables", "srp_phat_map",
    "steered_power", "steering_table", "ground_image_leads_s", "ground_steering_table",
]

SPEED_OF_SOUND_MPS = 343.0


@dataclass(frozen=True)
class SrpResult:
    """azimuth_rad (n_az,), elevation_rad (n_el,): the coarse grid; power (n_el, n_az) float32: SRP on it;
    peaks (n_peaks, 3) float64: rows (azimuth_rad, elevation_rad, power) after fine refinement, strongest first."""

    azimuth_rad: np.ndarray
    elevation_rad: np.ndarray
    power: np.ndarray
    peaks: np.ndarray


# --- geometry --------------------------------------------------------------------------------------------

def direction_vectors(azimuth_rad, elevation_rad) -> np.ndarray:
    """Unit vectors (n, 3) towards (azimuth, elevation) pairs given as equal-length 1-D arrays."""
    az = np.asarray(azimuth_rad, dtype=np.float64).ravel()
    el = np.asarray(elevation_rad, dtype=np.float64).ravel()
    return np.column_stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])


def plane_wave_leads_s(mic_positions_m, azimuth_rad, elevation_rad, c_mps: float = SPEED_OF_SOUND_MPS):
    """Arrival lead p_m . u / c (seconds, (n_dirs, n_mics) float64) of a plane wave from each direction."""
    return direction_vectors(azimuth_rad, elevation_rad) @ np.asarray(mic_positions_m, dtype=np.float64).T / c_mps


def is_horizontal_planar(mic_positions_m) -> bool:
    """True when every microphone has the same z (within 1e-6 of the aperture)."""
    p = np.asarray(mic_positions_m, dtype=np.float64)
    aperture = max(float(np.ptp(p[:, :2], axis=0).max()), 1e-12)
    return bool(np.ptp(p[:, 2]) <= 1e-6 * aperture)


def check_positions(mic_positions_m) -> np.ndarray:
    """mic_positions_m as float64 (n_mics >= 2, 3), finite, not all at one point."""
    try:
        p = np.asarray(mic_positions_m, dtype=np.float64)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"mic_positions_m: expected an array (n_mics, 3) in metres: {exc}") from None
    if p.ndim != 2 or p.shape[1] != 3 or p.shape[0] < 2:
        raise ValueError(f"mic_positions_m: expected shape (n_mics >= 2, 3), found {p.shape}")
    validate.check_finite(p, "mic_positions_m")
    if np.ptp(p, axis=0).max() <= 0.0:
        raise ValueError("mic_positions_m: expected microphones at distinct positions, found all at one point")
    return np.ascontiguousarray(p)


def check_stft(spectra, n_mics: int, nfft: int, name="stft", *, finite: bool = True, min_bins=None) -> np.ndarray:
    """spectra as complex64 C-contiguous (n_mics, n_blocks >= 1, nfft // 2 + 1), finite (finite=False: left
    to the caller, e.g. on the bins it uses). min_bins: also accept fewer bins, from bin 0 up to at least
    min_bins (a caller that reads only the bins below that need not keep the rest)."""
    a = np.asarray(spectra)
    if not np.iscomplexobj(a):
        raise ValueError(f"{name}: expected a complex STFT (n_mics, n_blocks, n_bins), found dtype {a.dtype}")
    n_full = nfft // 2 + 1
    n_least = n_full if min_bins is None else min(int(min_bins), n_full)
    if a.ndim != 3 or a.shape[0] != n_mics or a.shape[1] < 1 or not n_least <= a.shape[2] <= n_full:
        n = str(n_full) if n_least == n_full else f"{n_least} to {n_full}"
        raise ValueError(f"{name}: expected shape ({n_mics}, n_blocks >= 1, {n}) for {n_mics} mics "
                         f"and nfft={nfft}, found {a.shape}")
    a = np.ascontiguousarray(a, dtype=np.complex64)
    if finite:
        validate.check_finite(a, name)
    return a


def check_bins(bins, n_bins: int, lo: int = 1, hi=None) -> np.ndarray:
    """bins as a sorted unique int64 array within [lo, hi] (hi default n_bins - 1), at least one."""
    hi = n_bins - 1 if hi is None else hi
    b = np.asarray(bins)
    if b.dtype == np.int64 and b.ndim == 1 and 0 < b.size and lo <= b[0] and b[-1] <= hi and \
            (b.size == 1 or bool((b[1:] > b[:-1]).all())):
        return b  # already sorted, unique and in range: the usual case, without np.unique's copy and sort
    if b.ndim != 1 or b.size < 1 or not np.issubdtype(b.dtype, np.integer):
        raise ValueError(f"bins: expected a non-empty 1-D array of integer bin indices, found dtype {b.dtype} "
                         f"shape {b.shape}")
    if b.min() < lo or b.max() > hi:
        raise ValueError(f"bins: expected bin indices in [{lo}, {hi}], found {int(b.min())} to {int(b.max())}")
    return np.unique(b).astype(np.int64)


# --- kernels ---------------------------------------------------------------------------------------------
# Each kernel is a serial core over a range of directions (or microphones) plus two drivers: one serial, one
# parallel over chunks. The drivers are distinct functions because Numba's cache is keyed by function: two
# dispatchers of one function with and without parallel=True share (and overwrite) one cache entry.
# fastmath without nnan/ninf: a NaN or infinity of the input must still reach the output (checked there).
# fastmath's contract and reassoc (FMA, reordered sums; 10-20 % of these kernels' speed) have a cost in
# reproducibility: Numba optimises a kernel it compiles afresh a little differently from the same kernel loaded
# from its cache (numba/numba#10617), so the run that compiles them can differ from the later runs at float32
# rounding (drone pipeline, six clips: 873 of 1120 detections moved, by 4e-7 rad in the median and 1.4e-4 at
# most; the numbers of detections and tracks unchanged).
# With the cache warm, runs are bit-identical; without contract and reassoc (measured: no fastmath, or nsz or
# arcp alone) the compiling run is too.

_FASTMATH = {"contract", "reassoc", "nsz", "arcp"}


@njit(cache=True, fastmath=_FASTMATH)
def _steering_mic(leads_s, bins, d_omega, m, t_re, t_im):
    n_dirs = leads_s.shape[0]
    n_k = bins.shape[0]
    phi = np.empty(n_dirs, dtype=np.float64)
    sr = np.empty(n_dirs, dtype=np.float64)
    si = np.empty(n_dirs, dtype=np.float64)
    zr = np.empty(n_dirs, dtype=np.float64)
    zi = np.empty(n_dirs, dtype=np.float64)
    for d in range(n_dirs):
        phi[d] = d_omega * leads_s[d, m]
        sr[d] = math.cos(phi[d])
        si[d] = math.sin(phi[d])
        zr[d] = math.cos(bins[0] * phi[d])
        zi[d] = math.sin(bins[0] * phi[d])
        t_re[0, m, d] = zr[d]
        t_im[0, m, d] = zi[d]
    walked = 0
    for s in range(1, n_k):
        n_steps = bins[s] - bins[s - 1]
        if n_steps > 16 or walked + n_steps > 64:
            for d in range(n_dirs):
                zr[d] = math.cos(bins[s] * phi[d])
                zi[d] = math.sin(bins[s] * phi[d])
            walked = 0
        else:
            for _ in range(n_steps):
                for d in range(n_dirs):
                    r = zr[d] * sr[d] - zi[d] * si[d]
                    zi[d] = zr[d] * si[d] + zi[d] * sr[d]
                    zr[d] = r
            walked += n_steps
        for d in range(n_dirs):
            t_re[s, m, d] = zr[d]
            t_im[s, m, d] = zi[d]


@njit(cache=True)
def _steering_ser(leads_s, bins, d_omega, t_re, t_im):
    for m in range(leads_s.shape[1]):
        _steering_mic(leads_s, bins, d_omega, m, t_re, t_im)


@njit(cache=True, parallel=True)
def _steering_par(leads_s, bins, d_omega, t_re, t_im):
    for m in prange(leads_s.shape[1]):
        _steering_mic(leads_s, bins, d_omega, m, t_re, t_im)


@njit(cache=True, fastmath=_FASTMATH)
def _phat_cross_impl(spectra, bins, c_re, c_im):
    """PHAT cross-spectra C_ij = sum_b y_i conj(y_j), y = x / |x|, upper triangle (i <= j) into c_re, c_im
    (M, M, >= n_sel) float32; the bins are the innermost (vector) loop."""
    n_mics, n_blocks = spectra.shape[0], spectra.shape[1]
    n_sel = bins.shape[0]
    yr = np.empty((n_mics, n_sel), dtype=np.float32)
    yi = np.empty((n_mics, n_sel), dtype=np.float32)
    for i in range(n_mics):
        for j in range(i, n_mics):
            c_re[i, j, :n_sel] = 0.0
            c_im[i, j, :n_sel] = 0.0
    for b in range(n_blocks):
        for m in range(n_mics):
            row = spectra[m, b]
            for s in range(n_sel):
                v = row[bins[s]]
                re = v.real
                im = v.imag
                a = np.float32(math.sqrt(re * re + im * im))
                inv = np.float32(0.0) if a == 0.0 else np.float32(1.0) / a  # NaN or infinity give NaN, not 0
                yr[m, s] = re * inv
                yi[m, s] = im * inv
        for i in range(n_mics):
            for j in range(i, n_mics):
                cr = c_re[i, j]
                ci = c_im[i, j]
                for s in range(n_sel):
                    cr[s] += yr[i, s] * yr[j, s] + yi[i, s] * yi[j, s]
                    ci[s] += yi[i, s] * yr[j, s] - yr[i, s] * yi[j, s]


@njit(cache=True)
def _phat_impl(spectra, bins):
    n_mics, n_blocks = spectra.shape[0], spectra.shape[1]
    n_sel = bins.shape[0]
    out = np.zeros((n_sel, n_blocks, n_mics), dtype=np.complex128)
    for s in range(n_sel):
        k = bins[s]
        for b in range(n_blocks):
            for m in range(n_mics):
                v = complex(spectra[m, b, k].real, spectra[m, b, k].imag)
                a = abs(v)
                if a != 0.0:
                    out[s, b, m] = v / a
    return out


@njit(cache=True)
def _denoised_cross_impl(spectra, bins, noise_mask, half, guard, min_noise, c_re, c_im):
    """Background-subtracted coherence C_ij = (R_ij - N_ij) / sqrt(R_ii R_jj) (i < j), C_ii = 1, upper triangle
    into c_re, c_im (M, M, >= n_sel) float32; R, N accumulated in float64 (see denoised_cross_spectra). N is
    computed once per run of consecutive bins."""
    n_mics, n_blocks, n_bins = spectra.shape
    n_sel = bins.shape[0]
    r_re = np.empty((n_mics, n_mics), dtype=np.float64)
    r_im = np.empty((n_mics, n_mics), dtype=np.float64)
    n_re = np.empty((n_mics, n_mics), dtype=np.float64)
    n_im = np.empty((n_mics, n_mics), dtype=np.float64)
    s0 = 0
    while s0 < n_sel:
        s1 = s0  # the run bins[s0..s1] of consecutive bins
        while s1 + 1 < n_sel and bins[s1 + 1] == bins[s1] + 1:
            s1 += 1
        first, last = bins[s0], bins[s1]
        n_re[:, :] = 0.0
        n_im[:, :] = 0.0
        count = 0
        for q in range(max(1, first - half), min(n_bins, last + half + 1)):
            if (first - guard <= q <= last + guard) or not noise_mask[q]:
                continue
            count += 1
            for b in range(n_blocks):
                for i in range(n_mics):
                    xi = spectra[i, b, q]
                    for j in range(i + 1, n_mics):
                        xj = spectra[j, b, q]
                        n_re[i, j] += np.float64(xi.real) * xj.real + np.float64(xi.imag) * xj.imag
                        n_im[i, j] += np.float64(xi.imag) * xj.real - np.float64(xi.real) * xj.imag
        scale = 1.0 / count if count >= min_noise else 0.0
        for s in range(s0, s1 + 1):
            k = bins[s]
            r_re[:, :] = 0.0
            r_im[:, :] = 0.0
            for b in range(n_blocks):
                for i in range(n_mics):
                    xi = spectra[i, b, k]
                    for j in range(i, n_mics):
                        xj = spectra[j, b, k]
                        r_re[i, j] += np.float64(xi.real) * xj.real + np.float64(xi.imag) * xj.imag
                        r_im[i, j] += np.float64(xi.imag) * xj.real - np.float64(xi.real) * xj.imag
            for i in range(n_mics):
                c_re[i, i, s] = 1.0 if math.isfinite(r_re[i, i]) else np.nan
                c_im[i, i, s] = 0.0
                for j in range(i + 1, n_mics):
                    d = math.sqrt(r_re[i, i] * r_re[j, j])
                    if d > 0.0:
                        c_re[i, j, s] = (r_re[i, j] - scale * n_re[i, j]) / d
                        c_im[i, j, s] = (r_im[i, j] - scale * n_im[i, j]) / d
                    else:
                        c_re[i, j, s] = 0.0
                        c_im[i, j, s] = 0.0
        s0 = s1 + 1


@njit(cache=True, fastmath=_FASTMATH)
def _pairs_chunk(c_re, c_im, t_re, t_im, rows, d0, d1, out):
    """out[d0:d1] = sum_s (sum_i C_ii + 2 Re sum_{i<j} conj(a_i) C_ij a_j): float32 steering and partial
    sums per bin, float64 across bins."""
    n_mics, n_sel = c_re.shape[0], rows.shape[0]
    n = d1 - d0
    acc = np.zeros(n, dtype=np.float64)
    wr = np.empty(n, dtype=np.float32)
    wi = np.empty(n, dtype=np.float32)
    pb = np.empty(n, dtype=np.float32)
    for s in range(n_sel):
        r = rows[s]
        diag = 0.0
        for i in range(n_mics):
            diag += c_re[i, i, s]
        pb[:] = 0.0
        for i in range(n_mics - 1):
            for j in range(i + 1, n_mics):
                cr = np.float32(c_re[i, j, s])
                ci = np.float32(c_im[i, j, s])
                ar = t_re[r, j, d0:d1]
                ai = t_im[r, j, d0:d1]
                if j == i + 1:
                    for d in range(n):
                        wr[d] = cr * ar[d] - ci * ai[d]
                        wi[d] = cr * ai[d] + ci * ar[d]
                else:
                    for d in range(n):
                        wr[d] += cr * ar[d] - ci * ai[d]
                        wi[d] += cr * ai[d] + ci * ar[d]
            br = t_re[r, i, d0:d1]
            bi = t_im[r, i, d0:d1]
            for d in range(n):
                pb[d] += br[d] * wr[d] + bi[d] * wi[d]  # Re(conj(a_i) w)
        for d in range(n):
            acc[d] += diag + 2.0 * np.float64(pb[d])
    out[d0:d1] = acc


@njit(cache=True)
def _pairs_ser(c_re, c_im, t_re, t_im, rows, chunk, out):
    n_dirs = t_re.shape[2]
    for q in range((n_dirs + chunk - 1) // chunk):
        _pairs_chunk(c_re, c_im, t_re, t_im, rows, q * chunk, min(n_dirs, (q + 1) * chunk), out)


@njit(cache=True, parallel=True)
def _pairs_par(c_re, c_im, t_re, t_im, rows, chunk, out):
    n_dirs = t_re.shape[2]
    for q in prange((n_dirs + chunk - 1) // chunk):
        _pairs_chunk(c_re, c_im, t_re, t_im, rows, q * chunk, min(n_dirs, (q + 1) * chunk), out)


@njit(cache=True, fastmath=_FASTMATH)
def _snapshots_chunk(y, t_re, t_im, rows, d0, d1, out):
    """out[d0:d1] = sum_s sum_b |a^H y_b|^2."""
    n_sel, n_blocks, n_mics = y.shape
    n = d1 - d0
    acc = np.zeros(n, dtype=np.float64)
    zr = np.empty(n, dtype=np.float64)
    zi = np.empty(n, dtype=np.float64)
    for s in range(n_sel):
        r = rows[s]
        for b in range(n_blocks):
            zr[:] = 0.0
            zi[:] = 0.0
            for m in range(n_mics):
                yr = y[s, b, m].real
                yi = y[s, b, m].imag
                for d in range(n):
                    ar = t_re[r, m, d0 + d]
                    ai = t_im[r, m, d0 + d]
                    zr[d] += ar * yr + ai * yi  # conj(a) y
                    zi[d] += ar * yi - ai * yr
            for d in range(n):
                acc[d] += zr[d] * zr[d] + zi[d] * zi[d]
    for d in range(n):
        out[d0 + d] = acc[d]


@njit(cache=True)
def _snapshots_ser(y, t_re, t_im, rows, chunk, out):
    n_dirs = t_re.shape[2]
    for q in range((n_dirs + chunk - 1) // chunk):
        _snapshots_chunk(y, t_re, t_im, rows, q * chunk, min(n_dirs, (q + 1) * chunk), out)


@njit(cache=True, parallel=True)
def _snapshots_par(y, t_re, t_im, rows, chunk, out):
    n_dirs = t_re.shape[2]
    for q in prange((n_dirs + chunk - 1) // chunk):
        _snapshots_chunk(y, t_re, t_im, rows, q * chunk, min(n_dirs, (q + 1) * chunk), out)


#: multiply-adds per call above which the parallel drivers are used. Waking the second thread costs ~0.1 ms
#: on an idle 2-core machine and ~10 ms on a loaded one (measured, load 6 on 2 cores: 360 directions x 102
#: bins x 8 mics 0.18 ms serial, 10 ms parallel; 6840 directions 10.7 ms serial, 8.2 ms parallel), so only
#: maps of tens of ms go parallel.
TABLE_GROUP_BINS = 4  #: SrpPhat builds its coarse table in aligned groups of this many bins, on first use
FINE_LEVEL_MAX_STEPS = 3  #: fine windows wider than +-3 fine steps are searched through a 3 x coarser grid first
PARALLEL_MIN_WORK = 50_000_000
DIRECTION_CHUNK = 512  #: directions per inner vector loop (the float32 partial sums stay in L1)


def steering_table(leads_s, bins, d_omega):
    """Steering phases exp(+j k d_omega lead_dm) for the bins k: leads_s (n_dirs, M) float64 seconds, bins
    (n_k,) ascending int64, d_omega = 2 pi fs / nfft -> (re, im), each float32 (n_k, M, n_dirs).

    A phase recurrence walks the bins (one complex128 multiply per bin step); a direct cos/sin restarts it
    after 64 steps and across gaps of more than 16 bins (phase error < 1e-12 rad before rounding to float32).
    """
    leads_s = np.ascontiguousarray(leads_s, dtype=np.float64)
    bins = np.ascontiguousarray(bins, dtype=np.int64)
    n_dirs, n_mics = leads_s.shape
    t_re = np.empty((bins.size, n_mics, n_dirs), dtype=np.float32)
    t_im = np.empty((bins.size, n_mics, n_dirs), dtype=np.float32)
    work = leads_s.size * max(int(bins[-1] - bins[0]), bins.size) * 4
    f = _steering_par if work > PARALLEL_MIN_WORK else _steering_ser
    f(leads_s, bins, float(d_omega), t_re, t_im)
    return t_re, t_im


def ground_image_leads_s(mic_positions_m, azimuth_rad, elevation_rad, ground_height_m: float,
                         c_mps: float = SPEED_OF_SOUND_MPS, range_m=None):
    """Arrival leads (seconds, (n_dirs, n_mics) float64) of a source's reflection in flat ground ground_height_m
    below the array frame's origin, as a plane wave from the source's image, relative to the direct wave's
    arrival at the origin. range_m: the source's distance, which places its image (the mirror point, 2 h
    further down) exactly: from (azimuth, -atan((R sin el + 2 h) / (R cos el))), later by |image| - R. None:
    a far source, from (azimuth, -elevation), later by 2 h sin(elevation). At 100 m and 10 deg up the far
    image is 1.7 deg off the true one, which a 0.8 m tall array resolves at the upper harmonics."""
    az = np.atleast_1d(np.asarray(azimuth_rad, dtype=np.float64))
    el = np.atleast_1d(np.asarray(elevation_rad, dtype=np.float64))
    az, el = np.broadcast_arrays(az, el)
    mics = np.asarray(mic_positions_m, dtype=np.float64)
    if range_m is None:
        return plane_wave_leads_s(mics, az, -el, c_mps) - (2.0 * ground_height_m * np.sin(el) / c_mps)[:, None]
    image = range_m * direction_vectors(az, el) * np.array([1.0, 1.0, -1.0])
    image[:, 2] -= 2.0 * ground_height_m
    distance = np.linalg.norm(image, axis=1)
    return (image / distance[:, None]) @ mics.T / c_mps - ((distance - range_m) / c_mps)[:, None]


def ground_steering_table(leads_s, image_leads_s, bins, d_omega, reflection: float, phase_only: bool = True):
    """Phase-only steering of a source heard directly and through a ground reflection of coefficient
    reflection (0 <= r < 1): arg(exp(j w lead) + r exp(j w image_lead)) at the bins (see steering_table for
    the arguments), as (re, im), each float32 (n_k, M, n_dirs), of modulus 1. PHAT and the coherences keep
    only each microphone's phase, so the model's phase is what they are matched to, and the SRP's diagonal
    and its [0, 1] scale stay those of plain steering. The modulus of the sum is at least 1 - r.
    phase_only False: the sum itself, exp(j w lead) + r exp(j w image_lead), moduli 1 - r to 1 + r (for
    adaptive beams, which match the whole vector: sensorkit.kernels.line_contrast)."""
    d_re, d_im = steering_table(leads_s, bins, d_omega)
    i_re, i_im = steering_table(image_leads_s, bins, d_omega)
    re = d_re + np.float32(reflection) * i_re
    im = d_im + np.float32(reflection) * i_im
    if phase_only:
        inv = np.float32(1.0) / np.sqrt(re * re + im * im)
        re *= inv
        im *= inv
    return re, im


def phat_normalise(spectra, bins):
    """Y = X / |X| at the bins: spectra (M, n_blocks, n_bins) complex64 -> (n_sel, n_blocks, M) complex128;
    bins with |X| = 0 give 0."""
    return _phat_impl(spectra, np.ascontiguousarray(bins, dtype=np.int64))


def phat_cross_spectra(spectra, bins, out=None):
    """PHAT cross-spectra C_ij = sum_b y_i y_j^* at the bins, y = X / |X| (0 where |X| = 0): spectra
    (M, n_blocks, n_bins) complex64 C-contiguous -> (re, im), each float32 (M, M, n_sel), upper triangle
    (i <= j) only, summed in float32 (relative error ~1e-7 for tens of blocks); out: such a pair with room
    for n_sel bins to fill, or None."""
    bins = np.ascontiguousarray(bins, dtype=np.int64)
    n_mics = spectra.shape[0]
    if out is None or out[0].shape[2] < bins.size:
        out = (np.empty((n_mics, n_mics, bins.size), np.float32), np.empty((n_mics, n_mics, bins.size), np.float32))
    _phat_cross_impl(spectra, bins, out[0], out[1])
    return out


def denoised_cross_spectra(spectra, bins, noise_mask, *, half_width_bins: int = 12, guard_bins: int = 2,
                           min_noise_bins: int = 3, out=None):
    """Cross-spectra of the bins used with the background's subtracted, normalised as coherences, for SRP.

    For each bin k used: R(k) = sum_b X_b(k) X_b(k)^H over the blocks; the background N(k): the same sum averaged
    over the noise bins q (noise_mask[q], e.g. bins near the noise floor) around the run of consecutive bins used
    that holds k (a line and its side bins, [first, last]): first - half_width_bins <= q <= last +
    half_width_bins, outside [first - guard_bins, last + guard_bins], at least min_noise_bins of them (else
    N = 0), computed once per run. A background that is smooth in frequency
    (wind, a road, an engine's broadband noise) has the same cross-spectral matrix in those bins as under a
    line, so R - N keeps the line's source: with PHAT alone a directional background louder than the line pulls
    the peak to itself, and diffuse noise (in phase across a small array at low frequencies) pulls a planar
    array's elevations towards the zenith. Normalisation: C_ij = (R_ij - N_ij) / sqrt(R_ii R_jj) for i < j (the
    source's coherent share of the power, up to 1), C_ii = 1; a bin of the source alone gives SRP power 1.

    spectra (M, n_blocks, n_bins) complex64; bins sorted int64; noise_mask (n_bins,) bool. Returns (re, im), each
    float32 (M, M, n_sel), upper triangle, like phat_cross_spectra (the pair form with n_blocks = 1).
    """
    x = np.asarray(spectra)
    if not np.iscomplexobj(x) or x.ndim != 3:
        raise ValueError(f"spectra: expected a complex STFT (n_mics, n_blocks, n_bins), found dtype {x.dtype} "
                         f"shape {x.shape}")
    x = np.ascontiguousarray(x, dtype=np.complex64)
    n_mics, _, n_bins = x.shape
    b = check_bins(bins, n_bins)
    mask = np.asarray(noise_mask)
    if mask.dtype != np.bool_ or mask.shape != (n_bins,):
        raise ValueError(f"noise_mask: expected a bool array ({n_bins},), found dtype {mask.dtype} shape "
                         f"{mask.shape}")
    half = validate.int_in_range("half_width_bins", half_width_bins, 1, n_bins)
    guard = validate.int_in_range("guard_bins", guard_bins, 0, half - 1)
    min_noise = validate.int_in_range("min_noise_bins", min_noise_bins, 1, 2 * half)
    if out is None or out[0].shape[2] < b.size:
        out = (np.empty((n_mics, n_mics, b.size), np.float32), np.empty((n_mics, n_mics, b.size), np.float32))
    _denoised_cross_impl(x, b, np.ascontiguousarray(mask), half, guard, min_noise, out[0], out[1])
    return out


def cross_spectra(y):
    """C[s] = sum_b y[s, b] y[s, b]^H: (n_sel, n_blocks, M) -> (n_sel, M, M) complex128."""
    y = np.asarray(y)
    return np.einsum("sbi,sbj->sij", y, y.conj())


def steered_power(y, c, table, rows, out=None):
    """sum over the selected bins (and blocks) of |a^H y|^2 per direction, float64 (n_dirs,).

    y (n_sel, n_blocks, M) complex128 PHAT snapshots for the snapshot form (c None); c: the pair form's
    cross-spectra, either complex (n_sel, M, M) or (re, im) float32 (M, M, >= n_sel) from phat_cross_spectra
    (upper triangle used), y then unused;
    table: (re, im) from steering_table; rows (n_sel,) int64: the table row of each selected bin.
    """
    t_re, t_im = table
    n_dirs = t_re.shape[2]
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    out = np.empty(n_dirs, dtype=np.float64) if out is None else out
    if c is None:
        n_sel, n_blocks, n_mics = y.shape
        work = n_dirs * n_sel * n_blocks * n_mics
        f = _snapshots_par if work > PARALLEL_MIN_WORK else _snapshots_ser
        f(y, t_re, t_im, rows, DIRECTION_CHUNK, out)
        return out
    if not isinstance(c, tuple):
        c = tuple(np.ascontiguousarray(v.transpose(1, 2, 0), dtype=np.float32) for v in (c.real, c.imag))
    n_sel, n_mics = rows.size, c[0].shape[0]
    work = n_dirs * n_sel * n_mics * (n_mics - 1) // 2
    f = _pairs_par if work > PARALLEL_MIN_WORK else _pairs_ser
    f(c[0], c[1], t_re, t_im, rows, DIRECTION_CHUNK, out)
    return out


def _evaluate(y, c, table, rows, n_mics, n_blocks, out=None):
    """SRP per direction, normalised to [0, 1]; c None: the snapshot form from y."""
    p = steered_power(y, c, table, rows, out)
    p *= 1.0 / (n_blocks * rows.size * n_mics * n_mics)
    return p


def _phat_terms(x, b, n_mics, buffers=None):
    """(y, c) of one update: y None (pair form) and c the PHAT cross-spectra (re, im) (M, M, >= n_sel).

    Non-finite spectra at the bins used are refused here, from C's diagonal (a NaN or infinity in X_m gives
    NaN in C_mm), not by scanning the whole STFT."""
    c = phat_cross_spectra(x, b, buffers)
    _check_cross_finite(np.einsum("iis->s", c[0][:, :, :b.size]), b)
    return None, c


def _check_cross_finite(values, b, what="the bins used"):
    """Refuse non-finite spectra from the cross-spectra they produced (values (n_sel,) or (M, M, n_sel))."""
    finite = np.isfinite(values)
    if finite.ndim > 1:
        finite = finite.all(axis=tuple(range(finite.ndim - 1)))
    if not finite.all():
        k = int(b[int(np.argmin(finite))])
        raise ValueError(f"spectra: expected finite values at {what}, found NaN or infinity at bin {k}")


# --- full azimuth rings: circular harmonics ----------------------------------------------------------------
# On a ring of azimuths at one elevation, the pair term conj(a_i) a_j = exp(j w (lead_j - lead_i)) with
# lead_j - lead_i = (rho cos el cos(az - psi) + dz sin el) / c (rho, psi, dz: the pair's horizontal length,
# direction and height difference) expands by Jacobi-Anger into sum_n j^n J_n(w rho cos el / c) e^{jn(az - psi)}.
# So P(az) = sum_k C_kii + 2 Re sum_n G_n e^{jn az}, G_n = sum_k sum_{i<j} C_kij H_kijn: one product per pair
# and harmonic (|n| <= N_k ~ w rho_max / c + 15) instead of one per pair and direction, then an FFT over the
# ring. Exact for any geometry (2-D or 3-D) when the azimuths cover the circle uniformly; the series is cut
# where |J_n| < RING_TRUNCATION (power error < 1e-6 of the normalised [0, 1] scale).

RING_TRUNCATION = 1e-9


@njit(cache=True, fastmath=_FASTMATH)
def _ring_coefficients(c_re, c_im, t, n_max, rows, f_re, f_im):
    """f[e, n] = sum_s sum_{i<j} (Re C_ij[s] A + Im C_ij[s] B)[e, rows[s], pair, n] for 0 <= n <= n_max."""
    n_el = t.shape[0]
    n_mics = c_re.shape[0]
    for e in range(n_el):
        fr = f_re[e]
        fi = f_im[e]
        fr[:] = 0.0
        fi[:] = 0.0
        for s in range(rows.shape[0]):
            r = rows[s]
            m = n_max[r] + 1
            q = 0
            for i in range(n_mics - 1):
                for j in range(i + 1, n_mics):
                    cr = c_re[i, j, s]
                    ci = c_im[i, j, s]
                    tab = t[e, r, q]
                    a_re = tab[0]
                    a_im = tab[1]
                    b_re = tab[2]
                    b_im = tab[3]
                    for n in range(m):
                        fr[n] += cr * a_re[n] + ci * b_re[n]
                        fi[n] += cr * a_im[n] + ci * b_im[n]
                    q += 1


@njit(cache=True, fastmath=_FASTMATH)
def _ring_coefficients_planar(c_re, c_im, t, n_max, rows, n_even, f_re, f_im):
    """As _ring_coefficients when every pair is level on the ring (dz sin el = 0): there A_n = 0 for odd n and
    B_n = 0 for even n, so t (n_el, n_k, n_pairs, 2, N + 1) holds K = A (even n, first n_even slots) or B (odd
    n, after them) and f[n] = sum Re C K_n (even) or Im C K_n (odd): half the products."""
    n_el = t.shape[0]
    n_mics = c_re.shape[0]
    for e in range(n_el):
        fr = f_re[e]
        fi = f_im[e]
        fr[:] = 0.0
        fi[:] = 0.0
        for s in range(rows.shape[0]):
            r = rows[s]
            hi_even = n_max[r] // 2 + 1
            hi_odd = n_even + (n_max[r] + 1) // 2
            q = 0
            for i in range(n_mics - 1):
                for j in range(i + 1, n_mics):
                    cr = np.float64(c_re[i, j, s])
                    ci = np.float64(c_im[i, j, s])
                    k_re = t[e, r, q, 0]
                    k_im = t[e, r, q, 1]
                    for n in range(hi_even):
                        fr[n] += cr * k_re[n]
                        fi[n] += cr * k_im[n]
                    for n in range(n_even, hi_odd):
                        fr[n] += ci * k_re[n]
                        fi[n] += ci * k_im[n]
                    q += 1


def ring_tables(mic_positions_m, elevation_rad, bins, d_omega, c_mps=SPEED_OF_SOUND_MPS, *, azimuth0_rad=0.0,
                n_az=360):
    """Circular-harmonic tables of the rings of n_az azimuths azimuth0_rad + 2 pi q / n_az at elevation_rad
    (n_el,) for the bins (n_k,): (t, n_max, azimuth0_rad, n_az, order).

    t float64 (n_el, n_k, n_pairs, 4, N + 1): (Re A, Im A, Re B, Im B) for the harmonics n = 0..N (or
    (n_el, n_k, n_pairs, 2, N + 1) when every pair is level on the rings, see _ring_coefficients_planar), with
    A_n = H_n + conj(H_-n), B_n = j (H_n - conj(H_-n)) (A_0 = H_0, B_0 = j H_0) and H_n = j^n J_n(w rho cos el / c)
    e^{-jn psi} e^{j w dz sin el / c}, so that C H_n + conj(C H_-n) = Re(C) A_n + Im(C) B_n; n_max (n_k,) int64:
    the order kept per bin (|J_n| >= RING_TRUNCATION); order: the harmonic at each slot of t's last axis.
    Pairs (i < j) in row-major order."""
    p = np.asarray(mic_positions_m, dtype=np.float64)
    el = np.asarray(elevation_rad, dtype=np.float64)
    w = np.asarray(bins, dtype=np.float64) * d_omega
    iu, ju = np.triu_indices(p.shape[0], 1)
    d = p[ju] - p[iu]
    rho = np.hypot(d[:, 0], d[:, 1])
    psi = np.arctan2(d[:, 1], d[:, 0])
    x_max = w * rho.max() * np.abs(np.cos(el)).max() / c_mps  # (n_k,)
    orders = np.arange(int(x_max.max()) + 60)
    big = np.abs(scipy.special.jv(orders[None, :], x_max[:, None])) >= RING_TRUNCATION  # (n_k, n_orders)
    n_max = (orders.size - 1 - np.argmax(big[:, ::-1], axis=1)).astype(np.int64)  # last order above the cut
    top = int(n_max.max())
    x = w[None, :, None, None] * rho[None, None, :, None] * np.cos(el)[:, None, None, None] / c_mps
    lift = np.exp(1j * w[None, :, None, None] * d[:, 2][None, None, :, None] * np.sin(el)[:, None, None, None]
                  / c_mps)

    n = np.arange(top + 1)
    bessel = scipy.special.jv(n, x)  # (n_el, n_k, n_pairs, N + 1); J_-n = (-1)^n J_n
    turn = np.exp(-1j * n * psi[:, None])  # (n_pairs, N + 1)
    hp = bessel * (1j ** n) * turn * lift  # H_n
    hm_conj = np.conj(bessel * ((-1.0) ** n) * (1j ** -n.astype(float)) * np.conj(turn) * lift)  # conj(H_-n)
    a = hp + hm_conj
    b = 1j * (hp - hm_conj)
    a[..., 0], b[..., 0] = hp[..., 0], 1j * hp[..., 0]
    keep = n[None, None, None, :] <= n_max[None, :, None, None]
    if np.all(np.abs(d[:, 2])[None, :] * np.abs(np.sin(el))[:, None] * w.max() / c_mps < 1e-12):  # level pairs
        order = np.concatenate([n[0::2], n[1::2]])
        k = np.where(order % 2 == 0, a[..., order], b[..., order]) * keep[..., order]
        t = np.stack([k.real, k.imag], axis=3)
    else:
        order = n
        t = np.stack([a.real * keep, a.imag * keep, b.real * keep, b.imag * keep], axis=3)
    return np.ascontiguousarray(t), n_max, float(azimuth0_rad), int(n_az), order


def ring_power(c, rings, rows):
    """sum over the selected bins of a^H C a on the rings of ring_tables: float64 (n_el * n_az,).
    c: (re, im) from phat_cross_spectra; rows (n_sel,) int64: the table row of each selected bin."""
    t, n_max, az0, n_az, order = rings
    n_el, top = t.shape[0], t.shape[4] - 1
    f_re = np.empty((n_el, top + 1))
    f_im = np.empty((n_el, top + 1))
    if t.shape[3] == 2:
        _ring_coefficients_planar(c[0], c[1], t, n_max, rows, top // 2 + 1, f_re, f_im)
        f = np.empty((n_el, top + 1), dtype=np.complex128)
        f[:, order] = f_re + 1j * f_im
    else:
        _ring_coefficients(c[0], c[1], t, n_max, rows, f_re, f_im)
        f = f_re + 1j * f_im
    if az0 != 0.0:
        f *= np.exp(1j * az0 * np.arange(top + 1))
    diag = float(np.einsum("iis->", c[0][:, :, :rows.size], dtype=np.float64))
    if 2 * top < n_az:  # P = D + 2 Re sum_n F_n e^{j 2 pi n q / n_az} = D + n_az irfft(F with F_0 doubled)
        f[:, 0] = 2.0 * f[:, 0].real
        p = np.fft.irfft(f, n_az, axis=1)
        p *= n_az
    else:  # harmonics beyond the ring's Nyquist alias exactly onto its samples
        folded = np.zeros((n_el, n_az), dtype=np.complex128)
        np.add.at(folded, (slice(None), np.arange(top + 1) % n_az), f)
        p = 2.0 * (n_az * np.fft.ifft(folded, axis=1)).real
    p += diag
    return p.ravel()


def _uniform_ring(az) -> bool:
    """True when the azimuths are az[0] + 2 pi q / n (q = 0..n-1), n >= 3, within 1e-9 rad."""
    n = az.size
    return n >= 3 and bool(np.all(np.abs(az - (az[0] + 2 * np.pi * np.arange(n) / n)) < 1e-9))


def _ring_pays(p, n_az, el, bins, d_omega, c_mps) -> bool:
    """The ring form when its products (orders estimated as w rho_max / c + 15) are under half the direct
    form's and its tables under TABLE_CACHE_BYTES."""
    n_mics = p.shape[0]
    n_pairs = n_mics * (n_mics - 1) // 2
    rho_max = float(np.max(np.hypot(*(p[:, None, :2] - p[None, :, :2]).transpose(2, 0, 1))))
    n_est = np.ceil(np.asarray(bins) * d_omega * rho_max / c_mps) + 15
    ring = el.size * n_pairs * float(np.sum(n_est + 1))
    direct = n_az * el.size * bins.size * (n_pairs + n_mics)
    size = el.size * bins.size * n_pairs * (n_est.max() + 1) * 32
    return ring < 0.5 * direct and size <= TABLE_CACHE_BYTES


# --- plain function: SRP on any grid -----------------------------------------------------------------------

def srp_phat_map(spectra, mic_positions_m, *, fs_hz: float, nfft: int, bins, azimuth_rad, elevation_rad,
                 c_mps: float = SPEED_OF_SOUND_MPS) -> np.ndarray:
    """SRP-PHAT on the grid azimuth_rad (n_az,) x elevation_rad (n_el,): float32 (n_el, n_az) in [0, 1].

    spectra: STFT (n_mics, n_blocks, nfft // 2 + 1) of one update; bins: the bin indices used (1..nfft // 2).
    The steering table of the last few set-ups (geometry, fs_hz, nfft, c_mps, bins, grid; tables up to
    TABLE_CACHE_BYTES) is kept between calls; ``SrpPhat`` adds coarse-to-fine search.
    """
    key = _setup_key(mic_positions_m, fs_hz, nfft, c_mps, bins, azimuth_rad, elevation_rad)
    setup = None if key is None else _TABLES.get(key)
    if setup is None:  # validated and built once per set-up; later calls with the same inputs reuse both
        setup = _map_setup(mic_positions_m, fs_hz, nfft, c_mps, bins, azimuth_rad, elevation_rad)
        if key is not None:
            _TABLES.put(key, setup)
    kind, table, b, rows, n_mics, nfft, shape = setup
    x = check_stft(spectra, n_mics, nfft, finite=False)
    n_blocks = x.shape[1]
    if kind == "ring":  # circular harmonics
        _, cs = _phat_terms(x, b, n_mics)
        power = ring_power(cs, table, rows)
    else:
        y, cs = _phat_terms(x, b, n_mics)
        power = steered_power(y, cs, table, rows)
    power *= 1.0 / (n_blocks * b.size * n_mics * n_mics)
    return power.astype(np.float32).reshape(shape)


def _setup_key(*inputs):
    """A hashable key of srp_phat_map's set-up inputs as given (dtype, shape and bytes of each array), or None."""
    try:
        parts = []
        for v in inputs:
            a = np.asarray(v)
            parts.append((a.dtype.str, a.shape, a.tobytes()) if a.dtype != object else hash(v))
        return tuple(parts)
    except (TypeError, ValueError):
        return None


def _map_setup(mic_positions_m, fs_hz, nfft, c_mps, bins, azimuth_rad, elevation_rad):
    """Validated set-up of srp_phat_map: (kind, table, bins, rows, n_mics, nfft, (n_el, n_az))."""
    p = check_positions(mic_positions_m)
    nfft = validate.int_in_range("nfft", nfft, 2, 1 << 24)
    fs = validate.positive_float("fs_hz", fs_hz)
    c = validate.positive_float("c_mps", c_mps)
    b = check_bins(bins, nfft // 2 + 1)
    az = _angles("azimuth_rad", azimuth_rad, -4 * math.pi, 4 * math.pi)
    el = _angles("elevation_rad", elevation_rad, -math.pi / 2, math.pi / 2)
    d_omega = 2 * np.pi * fs / nfft
    rows = np.arange(b.size, dtype=np.int64)
    if _uniform_ring(az) and _ring_pays(p, az.size, el, b, d_omega, c):
        kind, table = "ring", ring_tables(p, el, b, d_omega, c, azimuth0_rad=float(az[0]), n_az=az.size)
    else:
        aa, ee = np.meshgrid(az, el)
        kind, table = "steering", steering_table(plane_wave_leads_s(p, aa.ravel(), ee.ravel(), c), b, d_omega)
    return kind, table, b, rows, p.shape[0], nfft, (el.size, az.size)


FINE_RING_BYTES = 16 << 20  #: SrpPhat keeps an azimuth-only search's fine ring table up to this size
TABLE_CACHE_BYTES = 64 << 20  #: srp_phat_map keeps steering tables up to this size, the last 4 set-ups


class _TableCache:
    """The last few steering tables by set-up key (least recently used dropped first)."""

    def __init__(self, max_entries: int = 4):
        self.max_entries = max_entries
        self._items: dict = {}

    def get(self, key):
        setup = self._items.pop(key, None)
        if setup is not None:
            self._items[key] = setup  # most recent last
        return setup

    def put(self, key, setup) -> None:
        if sum(a.nbytes for a in setup[1] if isinstance(a, np.ndarray)) > TABLE_CACHE_BYTES:
            return
        self._items[key] = setup
        while len(self._items) > self.max_entries:
            self._items.pop(next(iter(self._items)))


_TABLES = _TableCache()


def _angles(name, values, lo, hi) -> np.ndarray:
    a = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if a.ndim != 1 or a.size < 1:
        raise ValueError(f"{name}: expected a non-empty 1-D array of angles in radians, found shape {a.shape}")
    validate.check_finite(a, name)
    if a.min() < lo - 1e-9 or a.max() > hi + 1e-9:
        raise ValueError(f"{name}: expected radians in [{lo:.4f}, {hi:.4f}], found {a.min():.4f} to {a.max():.4f}")
    return a


# --- coarse-to-fine search --------------------------------------------------------------------------------

class SrpPhat:
    """SRP-PHAT for one array and STFT set-up, with the coarse grid's steering table built once per bin, when
    an update first uses the bin (a drone's lines touch a few tens of the band's bins: a short clip, or a fresh
    detector, does not pay for the whole band; 16 mics, 10 deg grid, 670 bins: 11 ms for all).

    mic_positions_m (n_mics, 3); fs_hz, nfft of the STFT; c_mps speed of sound. Coarse grid: azimuth
    [0, 360) and elevation [el_min_deg, el_max_deg] in coarse_step_deg steps (default elevations [0, 90] for a
    horizontal planar array, [-90, 90] otherwise; el_min_deg = el_max_deg = 0 searches azimuth only). Fine
    grid: +-0.6 coarse_step_deg around each coarse peak in fine_step_deg steps; a window wider than +-3 fine
    steps is searched in two levels, +-0.6 coarse_step_deg in 3 x fine_step_deg steps, then +-0.6 of that step
    in fine steps (10 / 1 deg: 25 + 25 directions instead of 169); the peak of the last grid is then placed
    between its grid points by a parabola through it and its neighbours, per axis (not at the edges of the
    window or of the elevation range). The coarse step must stay well under the main lobe (about wavelength /
    aperture radians at the highest frequency used). The table covers the bins in
    [band_min_hz, band_max_hz] (default 0 to min(fs / 2, 4000 Hz)); its size is n_bins x n_dirs x n_mics x 8
    bytes (8 mics, 5 degree grid over a hemisphere, nfft 512: 1.4 MB per bin row set, 9 MB in all).
    ground_height_m: the height of the array frame's origin above flat ground, or None (free field). With it,
    every direction is steered as its direct wave plus the ground's reflection of coefficient
    ground_reflection (ground_steering_table; phase only unless ground_phase_only is False), from the image of
    a source ground_range_m away (None: far; ground_image_leads_s). A 3D array resolves the reflection, which
    arrives from below the horizon: steered as a plane wave, the two merge into a lobe pulled towards the
    horizon (drones-field-3d train clips: elevation bias -3.9 deg at 5-10 deg of elevation). Directions below the array's horizon stay in the grid
    (sources on the ground, a little below the array, also have an image, 2 h lower); restricted to [0, 90],
    vehicles 50-100 m away were placed 1-3 deg up (drones-noise-3d: 7 false tracks in 1 h, 3 without the
    restriction). A horizontal planar array hears a far source's two waves with the same phases across its
    microphones, so the far model changes nothing there.
    One update at a time: the cross-spectra buffers are kept by the object (not to be shared between threads).
    """

    def __init__(self, mic_positions_m, *, fs_hz: float, nfft: int, c_mps: float = SPEED_OF_SOUND_MPS,
                 coarse_step_deg: float = 5.0, fine_step_deg: float = 0.5, el_min_deg=None, el_max_deg=None,
                 band_min_hz: float = 0.0, band_max_hz=None, ground_height_m=None, ground_reflection: float = 0.5,
                 ground_range_m=100.0, ground_phase_only: bool = True):
        self.mic_positions_m = check_positions(mic_positions_m)
        self.ground_height_m = None if ground_height_m is None else \
            validate.float_in_range("ground_height_m", ground_height_m, 0.01, 1000.0)
        self.ground_reflection = validate.float_in_range("ground_reflection", ground_reflection, 0.0, 0.99)
        self.ground_range_m = None if ground_range_m is None else \
            validate.float_in_range("ground_range_m", ground_range_m, 1.0, 1e6)
        if not isinstance(ground_phase_only, bool):
            raise ValueError(f"ground_phase_only: expected True or False, found {ground_phase_only!r}")
        self.ground_phase_only = ground_phase_only
        self.n_mics = self.mic_positions_m.shape[0]
        self.fs_hz = validate.positive_float("fs_hz", fs_hz)
        self.nfft = validate.int_in_range("nfft", nfft, 2, 1 << 24)
        self.c_mps = validate.positive_float("c_mps", c_mps)
        self.coarse_step_deg = validate.float_in_range("coarse_step_deg", coarse_step_deg, 0.01, 90.0)
        self.fine_step_deg = validate.float_in_range("fine_step_deg", fine_step_deg, 0.001, self.coarse_step_deg)
        self.planar = is_horizontal_planar(self.mic_positions_m)
        lo_default = 0.0 if self.planar else -90.0
        el_lo = lo_default if el_min_deg is None else validate.float_in_range("el_min_deg", el_min_deg, -90, 90)
        el_hi = 90.0 if el_max_deg is None else validate.float_in_range("el_max_deg", el_max_deg, el_lo, 90)
        self.el_min_deg, self.el_max_deg = el_lo, el_hi
        nyquist = self.fs_hz / 2
        self.band_min_hz = validate.float_in_range("band_min_hz", band_min_hz, 0.0, nyquist)
        top = min(nyquist, 4000.0) if band_max_hz is None else band_max_hz
        self.band_max_hz = validate.float_in_range("band_max_hz", top, self.band_min_hz, nyquist)
        df = self.fs_hz / self.nfft
        self.bin_lo = max(1, int(math.ceil(self.band_min_hz / df - 1e-9)))
        self.bin_hi = int(math.floor(self.band_max_hz / df + 1e-9))
        if self.bin_hi < self.bin_lo:
            raise ValueError(f"band_min_hz, band_max_hz: expected a band holding at least one bin of "
                             f"{df:g} Hz, found [{self.band_min_hz}, {self.band_max_hz}] Hz")
        self.azimuth_rad = np.deg2rad(np.arange(0.0, 360.0 - 1e-9, self.coarse_step_deg))
        n_el = int(math.floor((el_hi - el_lo) / self.coarse_step_deg + 1e-9)) + 1
        el = el_lo + self.coarse_step_deg * np.arange(n_el)
        if el[-1] < el_hi - 1e-9:
            el = np.append(el, el_hi)
        self.elevation_rad = np.deg2rad(el)
        aa, ee = np.meshgrid(self.azimuth_rad, self.elevation_rad)
        band_bins = np.arange(self.bin_lo, self.bin_hi + 1, dtype=np.int64)
        # the coarse grid's steering table, its rows (bins) built when an update first uses them: a stream
        # touches a few lines' bins, a short clip pays for those only
        self._leads = self._leads_of(aa.ravel(), ee.ravel())
        self._table = (np.empty((band_bins.size, self.n_mics, aa.size), np.float32),
                       np.empty((band_bins.size, self.n_mics, aa.size), np.float32))
        self._table_ready = np.zeros(band_bins.size, dtype=bool)

        self._band_bins = band_bins
        self._c_buffers = (np.zeros((self.n_mics, self.n_mics, band_bins.size), np.float32),
                           np.zeros((self.n_mics, self.n_mics, band_bins.size), np.float32))
        n = int(math.ceil(0.6 * self.coarse_step_deg / self.fine_step_deg))
        self._fine_offsets_rad = math.radians(self.fine_step_deg) * np.arange(-n, n + 1)
        self._fine_levels = [self._fine_offsets_rad]  # the refinement grids, coarsest first
        if n > FINE_LEVEL_MAX_STEPS:  # a window of (2n + 1)^2 fine directions: through a grid 3 x coarser first
            mid = 3.0 * self.fine_step_deg
            n_mid = int(math.ceil(0.6 * self.coarse_step_deg / mid))
            n_fine = int(math.ceil(0.6 * mid / self.fine_step_deg))
            self._fine_levels = [math.radians(mid) * np.arange(-n_mid, n_mid + 1),
                                 math.radians(self.fine_step_deg) * np.arange(-n_fine, n_fine + 1)]
        self._fine_ring = self._fine_ring_table(n, band_bins)
        self._pole_rows = [i for i in (0, self.elevation_rad.size - 1)
                           if abs(abs(float(self.elevation_rad[i])) - math.pi / 2) < 1e-9]

    def _fine_ring_table(self, n, band_bins):
        """For an azimuth-only search whose fine steps divide the coarse steps and the circle: the steering
        table of the whole fine ring, padded by n steps each side so that every fine window is a slice,
        if under FINE_RING_BYTES; else None (fine grids are then steered per update)."""
        ratio = self.coarse_step_deg / self.fine_step_deg
        n_ring = 360.0 / self.fine_step_deg
        if self.el_min_deg != self.el_max_deg or abs(ratio - round(ratio)) > 1e-9 or \
                abs(n_ring - round(n_ring)) > 1e-9 or \
                (round(n_ring) + 2 * n) * self.n_mics * band_bins.size * 8 > FINE_RING_BYTES:
            return None
        az = math.radians(self.fine_step_deg) * np.arange(-n, round(n_ring) + n)
        el = np.full(az.size, math.radians(self.el_min_deg))
        return self._steering(self._leads_of(az, el), band_bins), az, int(round(ratio))

    @property
    def _d_omega(self) -> float:
        return 2.0 * np.pi * self.fs_hz / self.nfft

    def _leads_of(self, azimuth_rad, elevation_rad):
        """(direct, image) arrival leads (n_dirs, M) of directions: the plane waves', and with a ground model
        their reflections' (ground_image_leads_s), else None."""
        direct = plane_wave_leads_s(self.mic_positions_m, azimuth_rad, elevation_rad, self.c_mps)
        if self.ground_height_m is None:
            return direct, None
        return direct, ground_image_leads_s(self.mic_positions_m, azimuth_rad, elevation_rad, self.ground_height_m,
                                            self.c_mps, self.ground_range_m)

    def _steering(self, leads, bins):
        """Steering table (re, im) (n_k, M, n_dirs) at the bins of directions' (direct, image) leads
        (_leads_of): plane waves, or the direct waves with their reflections (ground_steering_table)."""
        direct, image = leads
        if image is None:
            return steering_table(direct, bins, self._d_omega)
        return ground_steering_table(direct, image, bins, self._d_omega, self.ground_reflection,
                                     self.ground_phase_only)

    def _prepare(self, spectra, bins, noise_mask=None, noise_half_width_bins=12):
        """(bins, y, c, n_blocks) of one update (see _phat_terms; with a noise_mask, the background-subtracted
        coherences of denoised_cross_spectra, which count as one block); the cross-spectra fill buffers kept by
        the object (one update at a time: an SrpPhat is not to be shared between threads)."""
        x = check_stft(spectra, self.n_mics, self.nfft, finite=False, min_bins=self.bin_hi + 1)
        if bins is None:
            b = self._band_bins
        else:
            b = check_bins(bins, self.nfft // 2 + 1, self.bin_lo, self.bin_hi)
        if noise_mask is None:
            y, c = _phat_terms(x, b, self.n_mics, self._c_buffers)
            return b, y, c, x.shape[1]
        c = denoised_cross_spectra(x, b, noise_mask, half_width_bins=noise_half_width_bins, out=self._c_buffers)
        _check_cross_finite(c[0][:, :, :b.size] + c[1][:, :, :b.size], b, "the bins used and their noise bins")
        return b, None, c, 1

    def coarse_map(self, spectra, bins=None) -> np.ndarray:
        """SRP on the coarse grid, float32 (n_el, n_az); bins default: every bin of the table's band."""
        return self._coarse(*self._prepare(spectra, bins))

    def _coarse_table(self, rows):
        """The coarse grid's steering table, its rows (bins - bin_lo) an update reads built if they were not."""
        missing = rows[~self._table_ready[rows]]
        if missing.size:  # whole aligned groups of TABLE_GROUP_BINS rows, each steered from its first bin: a
            # row's values do not depend on which updates built the table before it
            for g in np.unique(missing // TABLE_GROUP_BINS):
                group = np.arange(g * TABLE_GROUP_BINS, min((g + 1) * TABLE_GROUP_BINS, self._band_bins.size))
                t_re, t_im = self._steering(self._leads, self._band_bins[group])
                self._table[0][group] = t_re
                self._table[1][group] = t_im
                self._table_ready[group] = True
        return self._table

    def _coarse(self, b, y, c, n_blocks):
        rows = b - self.bin_lo
        p = _evaluate(y, c, self._coarse_table(rows), rows, self.n_mics, n_blocks)
        return p.astype(np.float32).reshape(self.elevation_rad.size, self.azimuth_rad.size)

    def search(self, bins, evaluate):
        """Coarse-to-fine peak of any map computed from steering tables, on this object's grids (the ones
        ``locate`` searches, e.g. sensorkit.kernels.line_contrast): evaluate(table, rows) -> (n_dirs,) float64,
        the map at the directions of table ((re, im), each (n_rows, M, n_dirs) float32), rows[s] the table row of
        bins[s] (bins ascending and unique: sorting them would pair the rows with another bin's values). The
        strongest coarse cell is refined as locate refines its peaks. -> (azimuth_rad, elevation_rad, value at
        the peak)."""
        b = check_bins(bins, self.nfft // 2 + 1, self.bin_lo, self.bin_hi)
        if b.shape != np.shape(bins) or np.any(b != np.asarray(bins)):
            raise ValueError(f"bins: expected ascending unique bins (evaluate's rows follow their order), found "
                             f"{np.asarray(bins)!r}")
        rows = b - self.bin_lo
        value = evaluate(self._coarse_table(rows), rows)
        i_el, i_az = divmod(int(np.argmax(value)), self.azimuth_rad.size)
        return self._refine(b, evaluate, self.azimuth_rad[i_az], self.elevation_rad[i_el], i_az)

    def locate(self, spectra, bins=None, *, n_peaks: int = 1, min_separation_deg=None, noise_mask=None,
               noise_half_width_bins: int = 12) -> SrpResult:
        """Coarse map, then the n_peaks strongest coarse local maxima (at least min_separation_deg apart,
        default 2 coarse steps) refined on fine grids. spectra (n_mics, n_blocks, nfft // 2 + 1): the STFT
        blocks of one update, or their first bins only, up to at least the band's top bin (bin_hi + 1 bins; a
        noise window beyond the last bin given is cut there); bins: the bins used (e.g. ``harmonic_bin_set``),
        default the whole band.
        noise_mask (n_bins,) bool: steer the background-subtracted coherences of ``denoised_cross_spectra``
        (noise bins within noise_half_width_bins of each bin used) instead of the PHAT cross-spectra."""
        n_peaks = validate.int_in_range("n_peaks", n_peaks, 1, 64)
        sep = 2 * self.coarse_step_deg if min_separation_deg is None else \
            validate.float_in_range("min_separation_deg", min_separation_deg, 0.0, 180.0)
        update = self._prepare(spectra, bins, noise_mask, noise_half_width_bins)
        power = self._coarse(*update)
        b, y, c, n_blocks = update

        def srp(table, rows):
            return _evaluate(y, c, table, rows, self.n_mics, n_blocks)

        if n_peaks == 1:
            i_el, i_az = divmod(int(np.argmax(power)), power.shape[1])
            if i_el not in self._pole_rows:  # the strongest cell is the strongest local maximum
                peak = self._refine(b, srp, self.azimuth_rad[i_az], self.elevation_rad[i_el], i_az)
                return SrpResult(azimuth_rad=self.azimuth_rad, elevation_rad=self.elevation_rad, power=power,
                                 peaks=np.array([peak], dtype=np.float64))
        peaks = []
        for i_el, i_az in _local_maxima(power, self.elevation_rad):
            az, el = self.azimuth_rad[i_az], self.elevation_rad[i_el]
            if any(_angle_between(az, el, q[0], q[1]) < math.radians(sep) for q in peaks):
                continue
            peaks.append(self._refine(b, srp, az, el, i_az))
            if len(peaks) == n_peaks:
                break
        peaks = np.array(sorted(peaks, key=lambda q: -q[2]), dtype=np.float64).reshape(-1, 3)
        return SrpResult(azimuth_rad=self.azimuth_rad, elevation_rad=self.elevation_rad, power=power, peaks=peaks)

    def _refine(self, b, evaluate, az, el, i_az):
        """The peak (azimuth, elevation, value) of evaluate (see search) on the fine grids around a coarse cell."""
        if self._fine_ring is not None:  # azimuth only: the window of the fine ring's table
            (t_re, t_im), ring_az, ratio = self._fine_ring
            window = slice(i_az * ratio, i_az * ratio + self._fine_offsets_rad.size)
            p = evaluate((t_re[:, :, window], t_im[:, :, window]), b - self.bin_lo)
            i = int(np.argmax(p))
            return (float(ring_az[window][i] % (2 * math.pi)), float(el), float(p[i]))
        rows = np.arange(b.size, dtype=np.int64)
        for offsets in self._fine_levels:
            az_f = az + offsets
            if self.el_min_deg == self.el_max_deg:
                el_f = np.array([math.radians(self.el_min_deg)])
            else:
                el_f = el + offsets
                el_f = el_f[(el_f >= math.radians(self.el_min_deg) - 1e-12) &
                            (el_f <= math.radians(self.el_max_deg) + 1e-12)]
            aa, ee = (g.ravel() for g in np.meshgrid(az_f, el_f))
            p = evaluate(self._steering(self._leads_of(aa, ee), b), rows)
            i = int(np.argmax(p))
            az, el = float(aa[i]), float(ee[i])
        grid = p.reshape(el_f.size, az_f.size)  # the last level: a parabola through the peak and its neighbours
        i_el, i_az = divmod(i, az_f.size)
        step = float(offsets[1] - offsets[0]) if offsets.size > 1 else 0.0
        az += step * parabola_offset(grid[i_el], i_az)
        el += step * parabola_offset(grid[:, i_az], i_el)
        return (az % (2 * math.pi), el, float(p[i]))


def _local_maxima(power, elevation_rad=None):
    """(i_el, i_az) of the local maxima of power (n_el, n_az), azimuth wrapping, strongest first.

    With elevation_rad given, a row at +-90 degrees is one direction (the pole): it counts once, as (row, 0),
    and only if it is >= the whole adjacent row."""
    n_el, n_az = power.shape
    padded = np.pad(power, ((1, 1), (0, 0)), mode="constant", constant_values=-np.inf)
    is_max = np.ones_like(power, dtype=bool)
    for de in (-1, 0, 1):
        for da in (-1, 0, 1):
            if de == 0 and da == 0:
                continue
            shifted = np.roll(padded, -da, axis=1)[1 + de:1 + de + n_el]
            is_max &= power >= shifted
    if elevation_rad is not None and n_el > 1:
        for row, beside in ((0, 1), (n_el - 1, n_el - 2)):
            if abs(abs(float(elevation_rad[row])) - math.pi / 2) < 1e-9:
                is_max[row, :] = False
                is_max[row, 0] = bool(power[row, 0] >= power[beside].max())
    idx = np.argwhere(is_max)
    order = np.argsort(-power[is_max], kind="stable")
    return [tuple(int(v) for v in idx[i]) for i in order]


def _angle_between(az1, el1, az2, el2) -> float:
    u = direction_vectors([az1, az2], [el1, el2])
    return float(np.arccos(np.clip(u[0] @ u[1], -1.0, 1.0)))
