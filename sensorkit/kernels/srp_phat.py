"""SRP-PHAT direction finding over an azimuth/elevation grid, coarse to fine, for any array geometry.

Far field, plane wave. Array frame: x, y horizontal, z up; azimuth counter-clockwise from +x seen from above,
elevation up from the horizontal; radians in code. A source in the unit direction
u = (cos el cos az, cos el sin az, sin el) reaches microphone m (position p_m) earlier than the origin by
p_m . u / c, so its STFT is X_m = S a_m with the steering vector a_m(k) = exp(+j w_k p_m . u / c),
w_k = 2 pi k fs / nfft (STFT convention of sensorkit.kernels.stft).

Steered response power over the bins used (e.g. the harmonic bins of a drone) and the STFT blocks given:
    P(u) = sum_k sum_b |a(k, u)^H Y_b(k)|^2 / (n_blocks n_bins M^2),  Y_m = X_m / |X_m| (PHAT),
in [0, 1] (1 = every bin and block perfectly coherent from u). It is evaluated either directly ("snapshot"
form, cost ~ n_blocks M per direction and bin) or from the PHAT cross-spectra C(k) = sum_b Y_b Y_b^H computed
once per call ("pair" form, a^H C a = sum_i C_ii + 2 Re sum_{i<j} conj(a_i) C_ij a_j, cost ~ M (M - 1) / 2);
the cheaper is chosen (n_blocks <= (M + 1) / 2 -> snapshot). Both give the same numbers.

Speed: ``SrpPhat`` precomputes the steering phases of its coarse grid for every bin of a band (a table
(n_bins_band, n_dirs, M) complex64); the fine grids around the coarse peaks are steered on the fly (phase
recurrence along the bins). Loops run in parallel over directions.

Planar arrays: a horizontal planar array (all z equal) cannot tell a source above from its mirror image below:
P(az, el) = P(az, -el). Its elevation grid is therefore [0, 90] degrees and elevations are reported >= 0.
A linear array only measures the angle to its axis; its peaks are one of many equivalent directions.
"""

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from sensorkit.kernels import validate

__all__ = [
    "SrpPhat", "SrpResult", "direction_vectors", "is_horizontal_planar", "phat_normalise", "plane_wave_leads_s",
    "srp_phat_map", "steering_table",
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


def check_stft(spectra, n_mics: int, nfft: int, name="stft") -> np.ndarray:
    """spectra as complex64 (n_mics, n_blocks >= 1, nfft // 2 + 1), finite."""
    a = np.asarray(spectra)
    if not np.iscomplexobj(a):
        raise ValueError(f"{name}: expected a complex STFT (n_mics, n_blocks, n_bins), found dtype {a.dtype}")
    if a.ndim != 3 or a.shape[0] != n_mics or a.shape[1] < 1 or a.shape[2] != nfft // 2 + 1:
        raise ValueError(f"{name}: expected shape ({n_mics}, n_blocks >= 1, {nfft // 2 + 1}) for {n_mics} mics "
                         f"and nfft={nfft}, found {a.shape}")
    a = np.ascontiguousarray(a, dtype=np.complex64)
    validate.check_finite(a, name)
    return a


def check_bins(bins, n_bins: int, lo: int = 1, hi=None) -> np.ndarray:
    """bins as a sorted unique int64 array within [lo, hi] (hi default n_bins - 1), at least one."""
    hi = n_bins - 1 if hi is None else hi
    b = np.asarray(bins)
    if b.ndim != 1 or b.size < 1 or not np.issubdtype(b.dtype, np.integer):
        raise ValueError(f"bins: expected a non-empty 1-D array of integer bin indices, found dtype {b.dtype} "
                         f"shape {b.shape}")
    if b.min() < lo or b.max() > hi:
        raise ValueError(f"bins: expected bin indices in [{lo}, {hi}], found {int(b.min())} to {int(b.max())}")
    return np.unique(b).astype(np.int64)


# --- kernels ---------------------------------------------------------------------------------------------

def _steering_impl(leads_s, bins, d_omega):
    n_dirs, n_mics = leads_s.shape
    n_k = bins.shape[0]
    t_re = np.empty((n_k, n_mics, n_dirs), dtype=np.float32)
    t_im = np.empty((n_k, n_mics, n_dirs), dtype=np.float32)
    for m in prange(n_mics):
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
    return t_re, t_im


def _phat_impl(spectra, bins):
    n_mics, n_blocks = spectra.shape[0], spectra.shape[1]
    n_sel = bins.shape[0]
    out = np.zeros((n_sel, n_blocks, n_mics), dtype=np.complex128)
    for s in prange(n_sel):
        k = bins[s]
        for b in range(n_blocks):
            for m in range(n_mics):
                v = complex(spectra[m, b, k].real, spectra[m, b, k].imag)
                a = abs(v)
                if a > 0.0:
                    out[s, b, m] = v / a
    return out


def _cross_impl(y):
    n_sel, n_blocks, n_mics = y.shape
    out = np.zeros((n_sel, n_mics, n_mics), dtype=np.complex128)
    for s in prange(n_sel):
        for b in range(n_blocks):
            for i in range(n_mics):
                yi = y[s, b, i]
                for j in range(i, n_mics):
                    out[s, i, j] += yi * np.conj(y[s, b, j])
        for i in range(n_mics):
            for j in range(i + 1, n_mics):
                out[s, j, i] = np.conj(out[s, i, j])
    return out


def _pairs_impl(c, t_re, t_im, rows, chunk):
    n_sel, n_mics = c.shape[0], c.shape[1]
    n_dirs = t_re.shape[2]
    out = np.empty(n_dirs, dtype=np.float64)
    n_chunks = (n_dirs + chunk - 1) // chunk
    for q in prange(n_chunks):
        d0 = q * chunk
        n = min(n_dirs, d0 + chunk) - d0
        acc = np.zeros(n, dtype=np.float64)
        wr = np.empty(n, dtype=np.float64)
        wi = np.empty(n, dtype=np.float64)
        for s in range(n_sel):
            r = rows[s]
            diag = 0.0
            for i in range(n_mics):
                diag += c[s, i, i].real
            for d in range(n):
                acc[d] += diag
            for i in range(n_mics - 1):
                wr[:] = 0.0
                wi[:] = 0.0
                for j in range(i + 1, n_mics):
                    cr = c[s, i, j].real
                    ci = c[s, i, j].imag
                    ar = t_re[r, j, d0:d0 + n]
                    ai = t_im[r, j, d0:d0 + n]
                    for d in range(n):
                        wr[d] += cr * ar[d] - ci * ai[d]
                        wi[d] += cr * ai[d] + ci * ar[d]
                br = t_re[r, i, d0:d0 + n]
                bi = t_im[r, i, d0:d0 + n]
                for d in range(n):
                    acc[d] += 2.0 * (br[d] * wr[d] + bi[d] * wi[d])  # 2 Re(conj(a_i) w)
        out[d0:d0 + n] = acc
    return out


def _snapshots_impl(y, t_re, t_im, rows, chunk):
    n_sel, n_blocks, n_mics = y.shape
    n_dirs = t_re.shape[2]
    out = np.empty(n_dirs, dtype=np.float64)
    n_chunks = (n_dirs + chunk - 1) // chunk
    for q in prange(n_chunks):
        d0 = q * chunk
        n = min(n_dirs, d0 + chunk) - d0
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
                    ar = t_re[r, m, d0:d0 + n]
                    ai = t_im[r, m, d0:d0 + n]
                    for d in range(n):
                        zr[d] += ar[d] * yr + ai[d] * yi  # conj(a) y
                        zi[d] += ar[d] * yi - ai[d] * yr
                for d in range(n):
                    acc[d] += zr[d] * zr[d] + zi[d] * zi[d]
        out[d0:d0 + n] = acc
    return out


# Each core is compiled twice: parallel (prange over directions) for big grids, serial for small ones, where
# waking the thread pool costs more than it saves (and much more on a loaded machine).
_steering_par = njit(cache=True, parallel=True)(_steering_impl)
_steering_ser = njit(cache=True)(_steering_impl)
_phat_ser = njit(cache=True)(_phat_impl)
_cross_ser = njit(cache=True)(_cross_impl)
_pairs_par = njit(cache=True, parallel=True)(_pairs_impl)
_pairs_ser = njit(cache=True)(_pairs_impl)
_snapshots_par = njit(cache=True, parallel=True)(_snapshots_impl)
_snapshots_ser = njit(cache=True)(_snapshots_impl)

PARALLEL_MIN_WORK = 2_000_000  #: multiply-adds per call above which the parallel cores are used
DIRECTION_CHUNK = 64  #: directions per inner vector loop


def steering_table(leads_s, bins, d_omega):
    """Steering phases exp(+j k d_omega lead_dm) for the bins k: leads_s (n_dirs, M) float64 seconds, bins
    (n_k,) ascending int64, d_omega = 2 pi fs / nfft -> (re, im), each float32 (n_k, M, n_dirs).

    A phase recurrence walks the bins (one complex128 multiply per bin step); a direct cos/sin restarts it
    after 64 steps and across gaps of more than 16 bins (phase error < 1e-12 rad before rounding to float32).
    """
    leads_s = np.ascontiguousarray(leads_s, dtype=np.float64)
    bins = np.ascontiguousarray(bins, dtype=np.int64)
    work = leads_s.size * max(int(bins[-1] - bins[0]), bins.size) * 4
    f = _steering_par if work > PARALLEL_MIN_WORK else _steering_ser
    return f(leads_s, bins, float(d_omega))


def phat_normalise(spectra, bins):
    """Y = X / |X| at the bins: spectra (M, n_blocks, n_bins) complex64 -> (n_sel, n_blocks, M) complex128;
    bins with |X| = 0 give 0."""
    return _phat_ser(spectra, np.ascontiguousarray(bins, dtype=np.int64))


def cross_spectra(y):
    """C[s] = sum_b y[s, b] y[s, b]^H: (n_sel, n_blocks, M) -> (n_sel, M, M) complex128."""
    return _cross_ser(y)


def steered_power(y, c, table, rows):
    """sum over the selected bins (and blocks) of |a^H y|^2 per direction, float64 (n_dirs,).

    y (n_sel, n_blocks, M) complex128; c: cross_spectra(y) for the pair form, or None for the snapshot form;
    table: (re, im) from steering_table; rows (n_sel,) int64: the table row of each selected bin.
    """
    t_re, t_im = table
    n_sel, n_blocks, n_mics = y.shape
    n_dirs = t_re.shape[2]
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    if c is None:
        work = n_dirs * n_sel * n_blocks * n_mics
        f = _snapshots_par if work > PARALLEL_MIN_WORK else _snapshots_ser
        return f(y, t_re, t_im, rows, DIRECTION_CHUNK)
    work = n_dirs * n_sel * n_mics * (n_mics - 1) // 2
    f = _pairs_par if work > PARALLEL_MIN_WORK else _pairs_ser
    return f(c, t_re, t_im, rows, DIRECTION_CHUNK)


def _evaluate(y, c, table, rows, n_mics):
    """SRP per direction, normalised to [0, 1]; c is None for the snapshot form."""
    n_sel, n_blocks = y.shape[0], y.shape[1]
    return steered_power(y, c, table, rows) / (n_blocks * n_sel * n_mics * n_mics)


def _use_snapshots(n_blocks, n_mics) -> bool:
    return n_blocks <= (n_mics + 1) / 2


# --- plain function: SRP on any grid -----------------------------------------------------------------------

def srp_phat_map(spectra, mic_positions_m, *, fs_hz: float, nfft: int, bins, azimuth_rad, elevation_rad,
                 c_mps: float = SPEED_OF_SOUND_MPS) -> np.ndarray:
    """SRP-PHAT on the grid azimuth_rad (n_az,) x elevation_rad (n_el,): float32 (n_el, n_az) in [0, 1].

    spectra: STFT (n_mics, n_blocks, nfft // 2 + 1) of one update; bins: the bin indices used (1..nfft // 2).
    Steering is computed for this call (use ``SrpPhat`` to reuse tables across updates).
    """
    p = check_positions(mic_positions_m)
    nfft = validate.int_in_range("nfft", nfft, 2, 1 << 24)
    fs = validate.positive_float("fs_hz", fs_hz)
    c = validate.positive_float("c_mps", c_mps)
    x = check_stft(spectra, p.shape[0], nfft)
    b = check_bins(bins, nfft // 2 + 1)
    az = _angles("azimuth_rad", azimuth_rad, -4 * math.pi, 4 * math.pi)
    el = _angles("elevation_rad", elevation_rad, -math.pi / 2, math.pi / 2)
    aa, ee = np.meshgrid(az, el)
    leads = plane_wave_leads_s(p, aa.ravel(), ee.ravel(), c)
    table = steering_table(leads, b, 2 * np.pi * fs / nfft)
    y = phat_normalise(x, b)
    cs = None if _use_snapshots(x.shape[1], p.shape[0]) else cross_spectra(y)
    rows = np.arange(b.size, dtype=np.int64)
    return _evaluate(y, cs, table, rows, p.shape[0]).reshape(el.size, az.size).astype(np.float32)


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
    """SRP-PHAT for one array and STFT set-up, with the coarse grid's steering table built once.

    mic_positions_m (n_mics, 3); fs_hz, nfft of the STFT; c_mps speed of sound. Coarse grid: azimuth
    [0, 360) and elevation [el_min_deg, el_max_deg] in coarse_step_deg steps (default elevations [0, 90] for a
    horizontal planar array, [-90, 90] otherwise; el_min_deg = el_max_deg = 0 searches azimuth only). Fine
    grid: +-0.6 coarse_step_deg around each coarse peak in fine_step_deg steps. The table covers the bins in
    [band_min_hz, band_max_hz] (default 0 to min(fs / 2, 4000 Hz)); its size is n_bins x n_dirs x n_mics x 8
    bytes (8 mics, 5 degree grid over a hemisphere, nfft 512: 1.4 MB per bin row set, 9 MB in all).
    """

    def __init__(self, mic_positions_m, *, fs_hz: float, nfft: int, c_mps: float = SPEED_OF_SOUND_MPS,
                 coarse_step_deg: float = 5.0, fine_step_deg: float = 0.5, el_min_deg=None, el_max_deg=None,
                 band_min_hz: float = 0.0, band_max_hz=None):
        self.mic_positions_m = check_positions(mic_positions_m)
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
        leads = plane_wave_leads_s(self.mic_positions_m, aa.ravel(), ee.ravel(), self.c_mps)
        band_bins = np.arange(self.bin_lo, self.bin_hi + 1, dtype=np.int64)
        self._table = steering_table(leads, band_bins, self._d_omega)

    @property
    def _d_omega(self) -> float:
        return 2.0 * np.pi * self.fs_hz / self.nfft

    def _prepare(self, spectra, bins):
        x = check_stft(spectra, self.n_mics, self.nfft)
        if bins is None:
            b = np.arange(self.bin_lo, self.bin_hi + 1, dtype=np.int64)
        else:
            b = check_bins(bins, self.nfft // 2 + 1, self.bin_lo, self.bin_hi)
        y = phat_normalise(x, b)
        c = None if _use_snapshots(x.shape[1], self.n_mics) else cross_spectra(y)
        return b, y, c

    def coarse_map(self, spectra, bins=None) -> np.ndarray:
        """SRP on the coarse grid, float32 (n_el, n_az); bins default: every bin of the table's band."""
        b, y, c = self._prepare(spectra, bins)
        return self._coarse(b, y, c)

    def _coarse(self, b, y, c):
        p = _evaluate(y, c, self._table, b - self.bin_lo, self.n_mics)
        return p.reshape(self.elevation_rad.size, self.azimuth_rad.size).astype(np.float32)

    def locate(self, spectra, bins=None, *, n_peaks: int = 1, min_separation_deg=None) -> SrpResult:
        """Coarse map, then the n_peaks strongest coarse local maxima (at least min_separation_deg apart,
        default 2 coarse steps) refined on fine grids. spectra (n_mics, n_blocks, nfft // 2 + 1): the STFT
        blocks of one update; bins: the bins used (e.g. ``harmonic_bin_set``), default the whole band."""
        n_peaks = validate.int_in_range("n_peaks", n_peaks, 1, 64)
        sep = 2 * self.coarse_step_deg if min_separation_deg is None else \
            validate.float_in_range("min_separation_deg", min_separation_deg, 0.0, 180.0)
        b, y, c = self._prepare(spectra, bins)
        power = self._coarse(b, y, c)
        peaks = []
        for i_el, i_az in _local_maxima(power, self.elevation_rad):
            az, el = self.azimuth_rad[i_az], self.elevation_rad[i_el]
            if any(_angle_between(az, el, q[0], q[1]) < math.radians(sep) for q in peaks):
                continue
            peaks.append(self._refine(b, y, c, az, el))
            if len(peaks) == n_peaks:
                break
        peaks = np.array(sorted(peaks, key=lambda q: -q[2]), dtype=np.float64).reshape(-1, 3)
        return SrpResult(azimuth_rad=self.azimuth_rad, elevation_rad=self.elevation_rad, power=power, peaks=peaks)

    def _refine(self, b, y, c, az, el):
        step = math.radians(self.fine_step_deg)
        n = int(math.ceil(0.6 * self.coarse_step_deg / self.fine_step_deg))
        az_f = az + step * np.arange(-n, n + 1)
        if self.el_min_deg == self.el_max_deg:
            el_f = np.array([math.radians(self.el_min_deg)])
        else:
            el_f = el + step * np.arange(-n, n + 1)
            el_f = el_f[(el_f >= math.radians(self.el_min_deg) - 1e-12) &
                        (el_f <= math.radians(self.el_max_deg) + 1e-12)]
        aa, ee = np.meshgrid(az_f, el_f)
        leads = plane_wave_leads_s(self.mic_positions_m, aa.ravel(), ee.ravel(), self.c_mps)
        table = steering_table(leads, b, self._d_omega)
        p = _evaluate(y, c, table, np.arange(b.size, dtype=np.int64), self.n_mics)
        i = int(np.argmax(p))
        return (float(aa.ravel()[i] % (2 * math.pi)), float(ee.ravel()[i]), float(p[i]))


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
