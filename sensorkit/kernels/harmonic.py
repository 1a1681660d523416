"""Harmonic-comb detection of rotor fundamentals (blade-passing frequencies) in STFT blocks.

Steps, per STFT block (see ``detect_harmonics``):

1. power P[b, k]: |X|^2 averaged over the channels (float64 sums), ``band_power``.
2. noise floor N[b, k]: a running median over frequency (default, ``spectral_noise_floor``) or a median per
   bin over the blocks (``temporal_noise_floor``), divided by the median-to-mean ratio of the noise power's
   distribution (Gamma with n_averages degrees of freedom: 0.693 for one periodogram), so that N estimates the
   noise mean. The spectral median is the default because a hovering drone keeps its lines in the same bins
   for the whole record, which lifts a per-bin median over time to the line itself.
3. normalised power R = P / N, in dB: L = 10 log10 R (0 dB = noise floor).
4. comb score over candidate f0 on a grid (default 50..1000 Hz in 0.5 Hz steps): for k = 1..n_harmonics the
   largest L within k f0 +- min(tolerance_rel k f0, f0 / 4) (at least tolerance_min_bins bins) is the
   harmonic's level; its evidence max(0, L - evidence_floor_db) is summed. The window absorbs RPM drift within
   the block, inharmonicity and several rotors at slightly different speeds (a Bebop's partials sit at 380, 800,
   1180, 1580 Hz: 5 % above 2, 3 and 4 x 380).
5. score: the comb's total evidence minus that of its strongest harmonic, so that one tone alone (a whistle, a
   generator line) scores like noise and a comb needs at least two harmonics; the best candidate maximises it.
6. octave check: a comb at f0 / 2 collects every harmonic of f0 (at even k) and scores like f0. The best
   candidate is therefore moved to the best one near 2 f0 while its odd harmonics carry less than
   ``odd_fraction_min`` of its evidence (at most 3 times).
7. output per block: f0 refined below the bin spacing (parabolic interpolation of L around the lowest harmonic
   present, divided by its order), the harmonics present (level >= presence_db) and their peak bins, and
   SNR_dB = 10 log10(sum over the present harmonics' main lobes, peak +- 1 bin, of (R - 1)): the comb's total
   power over the noise power in one bin (fs / nfft wide), independent of the window for windows whose main
   lobe spans +-1 bin (Hann: 98 % of a tone's power at worst). Blocks with no harmonic present get -30 dB.

Detection: ``detect_harmonics`` declares a block when its score exceeds the score that noise alone exceeds
with probability ``pfa`` (design false-alarm rate per block), found by simulating the same chain on white
Gaussian noise (``comb_score_threshold``). tests/kernels/test_harmonic.py measures the false-alarm rate on
white and pink noise, and f0 / SNR on a drifting synthetic rotor comb.
"""

import functools
import math
from dataclasses import dataclass

import numpy as np
import scipy.fft
import scipy.special
from numba import njit, prange

from sensorkit.kernels import validate
from sensorkit.kernels.sorted_window import sorted_insert, sorted_remove
from sensorkit.kernels.stft import make_window

__all__ = [
    "HarmonicDetections", "band_power", "comb_score_threshold", "detect_harmonics", "harmonic_bin_set",
    "harmonic_comb", "median_to_mean_ratio", "spectral_noise_floor", "temporal_noise_floor",
]

SNR_NONE_DB = -30.0  #: SNR reported for a block without any harmonic present


@dataclass(frozen=True)
class HarmonicDetections:
    """Per-block results of the comb (n_blocks rows).

    f0_hz (n_blocks,) float64: refined fundamental of the best comb, hertz.
    snr_db (n_blocks,) float32: comb power over the noise power per bin, dB (see module).
    score (n_blocks,) float32: comb score (the harmonics' evidence without the strongest one's, dB).
    n_harmonics (n_blocks,) int32: harmonics present (level >= presence_db).
    harmonic_bins (n_blocks, max_harmonics) int32: peak bin of harmonic k (column k - 1), -1 where absent.
    detected (n_blocks,) bool: score > score_threshold.
    score_threshold: the score threshold used (inf: none).
    """

    f0_hz: np.ndarray
    snr_db: np.ndarray
    score: np.ndarray
    n_harmonics: np.ndarray
    harmonic_bins: np.ndarray
    detected: np.ndarray
    score_threshold: float


def median_to_mean_ratio(n_averages: int) -> float:
    """Median / mean of a mean of n_averages independent exponential variables (Gamma(n, 1/n)); 0.693 for 1."""
    n = validate.int_in_range("n_averages", n_averages, 1, 1 << 20)
    return float(scipy.special.gammaincinv(n, 0.5) / n)


# --- power and noise floor ---------------------------------------------------------------------------------

@njit(cache=True, parallel=True)
def _band_power(x):
    """(n_channels, n_blocks, n_bins) complex64 -> (n_blocks, n_bins) float32 mean |X|^2 over channels."""
    n_ch, n_blocks, n_bins = x.shape
    out = np.empty((n_blocks, n_bins), dtype=np.float32)
    for b in prange(n_blocks):
        for k in range(n_bins):
            s = 0.0
            for c in range(n_ch):
                v = x[c, b, k]
                s += np.float64(v.real) ** 2 + np.float64(v.imag) ** 2
            out[b, k] = s / n_ch
    return out


def _as_stft(spectra, name="stft") -> np.ndarray:
    a = np.asarray(spectra)
    if a.ndim != 3 or a.shape[0] < 1 or a.shape[2] < 2:
        raise ValueError(f"{name}: expected complex STFT (n_channels, n_blocks, n_bins) with n_bins >= 2, "
                         f"found shape {a.shape}")
    if not np.iscomplexobj(a):
        raise ValueError(f"{name}: expected a complex array (n_channels, n_blocks, n_bins), found dtype {a.dtype}")
    a = np.ascontiguousarray(a, dtype=np.complex64)
    validate.check_finite(a, name)
    return a


def band_power(spectra) -> np.ndarray:
    """Power averaged over channels: STFT (n_channels, n_blocks, n_bins) -> float32 (n_blocks, n_bins)."""
    return _band_power(_as_stft(spectra))


@njit(cache=True, parallel=True)
def _running_median_rows(p, half):
    """Median of each row over the window [k - half, k + half] truncated at the row ends."""
    n_rows, n = p.shape
    out = np.empty_like(p)
    for r in prange(n_rows):
        row = p[r]
        buf = np.empty(2 * half + 1, dtype=np.float32)
        m = 0
        for j in range(min(half, n - 1) + 1):
            m = sorted_insert(buf, m, row[j])
        for k in range(n):
            if m % 2 == 1:
                out[r, k] = buf[m // 2]
            else:
                out[r, k] = np.float32(0.5 * (np.float64(buf[m // 2 - 1]) + np.float64(buf[m // 2])))
            if k + half + 1 < n:
                m = sorted_insert(buf, m, row[k + half + 1])
            if k - half >= 0:
                m = sorted_remove(buf, m, row[k - half])
    return out


def _as_power(power, name="power") -> np.ndarray:
    p = validate.as_float32_traces(power, name, min_samples=2)
    if p.ndim != 2:
        raise ValueError(f"{name}: expected shape (n_blocks, n_bins), found shape {p.shape}")
    if (p < 0).any():
        raise ValueError(f"{name}: expected power >= 0, found minimum {float(p.min())!r}")
    return p


def spectral_noise_floor(power, *, half_width_bins: int = 25, n_averages: int = 1) -> np.ndarray:
    """Noise mean per (block, bin): running median over 2 half_width_bins + 1 bins along frequency.

    power (n_blocks, n_bins) -> float32 (n_blocks, n_bins); the window is truncated at the band edges; the
    median is divided by ``median_to_mean_ratio(n_averages)`` (n_averages = channels x blocks averaged).
    """
    p = _as_power(power)
    half = validate.int_in_range("half_width_bins", half_width_bins, 1, p.shape[1])
    ratio = median_to_mean_ratio(n_averages)
    return (_running_median_rows(p, half) / np.float32(ratio)).astype(np.float32)


def temporal_noise_floor(power, *, n_averages: int = 1) -> np.ndarray:
    """Noise mean per bin: median over the blocks, bias-corrected; power (n_blocks, n_bins) -> (1, n_bins)."""
    p = _as_power(power)
    ratio = median_to_mean_ratio(n_averages)
    return (np.median(p, axis=0, keepdims=True) / ratio).astype(np.float32)


# --- the comb ---------------------------------------------------------------------------------------------

def comb_windows(f0_grid_hz, df_hz, n_bins, n_harmonics, tolerance_rel, tolerance_min_bins, f_max_hz):
    """Search windows [lo, hi] (inclusive bins) of harmonic k of each candidate: int32 (n_cand, K, 2);
    lo = -1 where k f0 lies above f_max_hz (harmonic not in band)."""
    f0 = np.asarray(f0_grid_hz, dtype=np.float64)[:, None]
    k = np.arange(1, n_harmonics + 1, dtype=np.float64)[None, :]
    centre = k * f0 / df_hz
    half = np.maximum(np.minimum(tolerance_rel * k * f0, 0.25 * f0) / df_hz, tolerance_min_bins)
    half[:, 0] = tolerance_min_bins  # the fundamental defines f0: only drift within the block
    lo = np.maximum(np.ceil(centre - half), 1).astype(np.int64)
    hi = np.minimum(np.floor(centre + half), n_bins - 1).astype(np.int64)
    out = np.stack([lo, hi], axis=-1).astype(np.int32)
    beyond = (k * f0 > f_max_hz) | (hi < lo) | (centre > n_bins - 1)
    out[beyond] = -1
    return out


@njit(cache=True)
def _range_max_table(level, n_levels, n_used, table):
    """Sparse table for range maxima: table[j, i] = max(level[i : i + 2^j]) for i + 2^j <= n_used."""
    for i in range(n_used):
        table[0, i] = level[i]
    width = 1
    for j in range(1, n_levels):
        for i in range(n_used - 2 * width + 1):
            a = table[j - 1, i]
            b = table[j - 1, i + width]
            table[j, i] = a if a >= b else b
        width *= 2


@njit(cache=True)
def _evidence(table, windows, win_level, win_lo2, floor_db, c, sums):
    """Evidence max(0, max level in window - floor_db[c, h]) of each harmonic of candidate c, summed:
    sums[0] over odd k, sums[1] over even k, sums[2] the largest single harmonic's. The window maximum comes
    from the sparse table (two overlapping power-of-two spans)."""
    sums[0] = 0.0
    sums[1] = 0.0
    sums[2] = 0.0
    for h in range(windows.shape[1]):
        lo = windows[c, h, 0]
        if lo < 0:
            continue
        j = win_level[c, h]
        m = table[j, lo]
        m2 = table[j, win_lo2[c, h]]
        if m2 > m:
            m = m2
        e = m - floor_db[c, h]
        if e > 0.0:
            sums[h % 2] += e  # column h is harmonic k = h + 1: h even -> k odd
            if e > sums[2]:
                sums[2] = e


@njit(cache=True, parallel=True)
def _comb(ratio, windows, win_level, win_lo2, n_levels, n_used, f0_grid, df_hz, floor_db, presence_db,
          odd_fraction_min, step_hz, tolerance_rel):
    n_blocks, n_bins = ratio.shape
    n_cand, n_h = windows.shape[0], windows.shape[1]
    f0_out = np.empty(n_blocks, dtype=np.float64)
    snr_out = np.empty(n_blocks, dtype=np.float32)
    score_out = np.empty(n_blocks, dtype=np.float32)
    count_out = np.empty(n_blocks, dtype=np.int32)
    bins_out = np.full((n_blocks, n_h), -1, dtype=np.int32)
    for b in prange(n_blocks):
        level = np.empty(n_bins, dtype=np.float32)
        for j in range(n_bins):
            level[j] = 10.0 * np.log10(max(ratio[b, j], 1e-12))
        table = np.empty((n_levels, n_used), dtype=np.float32)
        _range_max_table(level, n_levels, n_used, table)
        odd = np.empty(n_cand, dtype=np.float64)
        total = np.empty(n_cand, dtype=np.float64)
        score = np.empty(n_cand, dtype=np.float64)
        sums = np.zeros(3, dtype=np.float64)
        best = 0
        for c in range(n_cand):
            _evidence(table, windows, win_level, win_lo2, floor_db, c, sums)
            odd[c] = sums[0]
            total[c] = sums[0] + sums[1]
            score[c] = total[c] - sums[2]  # without its strongest line: one tone alone scores ~0
            if score[c] > score[best]:
                best = c
        # octave check: too little evidence at the odd harmonics -> the comb is a sub-harmonic of the source
        for _ in range(3):
            if total[best] <= 0.0 or odd[best] >= odd_fraction_min * total[best]:
                break
            target = 2.0 * f0_grid[best]
            span = tolerance_rel * target
            lo = int(np.ceil((target - span - f0_grid[0]) / step_hz))
            hi = int(np.floor((target + span - f0_grid[0]) / step_hz))
            lo = max(lo, 0)
            hi = min(hi, n_cand - 1)
            if lo > hi:
                break
            up = lo
            for c in range(lo, hi + 1):
                if score[c] > score[up]:
                    up = c
            if score[up] <= 0.0:
                break
            best = up
        # harmonics present, SNR and sub-bin f0
        n_present = 0
        excess = 0.0
        lowest_k = 0
        lowest_bin = -1
        for h in range(n_h):
            lo = windows[best, h, 0]
            if lo < 0:
                continue
            hi = windows[best, h, 1]
            jm = lo
            for j in range(lo + 1, hi + 1):
                if level[j] > level[jm]:
                    jm = j
            if level[jm] >= presence_db[best, h]:
                n_present += 1
                bins_out[b, h] = jm
                for j in range(max(jm - 1, 1), min(jm + 2, n_bins)):  # the main lobe: peak +- 1 bin
                    excess += np.float64(ratio[b, j]) - 1.0
                if lowest_bin < 0:
                    lowest_bin = jm
                    lowest_k = h + 1
            elif h == 0 and level[jm] > floor_db[best, 0]:
                lowest_bin = jm  # a weak fundamental still places f0 better than a partial divided by k
                lowest_k = 1
        f0 = f0_grid[best]
        if lowest_bin > 0 and lowest_bin < n_bins - 1:
            y0 = np.float64(level[lowest_bin - 1])
            y1 = np.float64(level[lowest_bin])
            y2 = np.float64(level[lowest_bin + 1])
            den = y0 - 2.0 * y1 + y2
            delta = 0.0
            if den < 0.0:
                delta = min(max(0.5 * (y0 - y2) / den, -0.5), 0.5)
            f0 = (lowest_bin + delta) * df_hz / lowest_k
        f0_out[b] = f0
        score_out[b] = score[best]
        count_out[b] = n_present
        if n_present > 0 and excess > 0.0:
            snr_out[b] = 10.0 * np.log10(excess)
        else:
            snr_out[b] = SNR_NONE_DB
    return f0_out, snr_out, score_out, count_out, bins_out


def window_thresholds_db(windows, n_averages: int, pfa: float) -> np.ndarray:
    """Level (dB over the noise mean) that the largest of a window's m noise bins exceeds with probability pfa.

    Noise power per bin is taken as Gamma(n_averages, 1 / n_averages) (mean 1), independent between bins:
    t = F^-1((1 - pfa)^(1 / m)). windows (n_cand, K, 2) -> float32 (n_cand, K) (+inf where not in band).
    """
    m = (windows[..., 1] - windows[..., 0] + 1).astype(np.int64)
    out = np.full(m.shape, np.inf, dtype=np.float32)
    valid = windows[..., 0] >= 0
    for size in np.unique(m[valid]):
        q = (1.0 - pfa) ** (1.0 / size)
        t = scipy.special.gammaincinv(n_averages, q) / n_averages
        out[valid & (m == size)] = 10.0 * np.log10(t)
    return out


def _comb_setup(n_bins, df_hz, n_averages, f0_min_hz, f0_max_hz, f0_step_hz, n_harmonics, tolerance_rel,
                tolerance_min_bins, f_max_hz, evidence_pfa, presence_pfa, odd_fraction_min):
    """Validate the comb parameters; return (parameters as a hashable tuple, grid, windows, floor_db, presence_db)."""
    df = validate.positive_float("df_hz", df_hz)
    n_avg = validate.int_in_range("n_averages", n_averages, 1, 1 << 20)
    top_hz = (n_bins - 1) * df
    f_max = top_hz if f_max_hz is None else validate.float_in_range("f_max_hz", f_max_hz, df, top_hz)
    lo = validate.float_in_range("f0_min_hz", f0_min_hz, df, top_hz)
    hi = validate.float_in_range("f0_max_hz", f0_max_hz, lo, f_max)
    step = validate.float_in_range("f0_step_hz", f0_step_hz, 1e-3, max(hi - lo, 1e-3))
    k_max = validate.int_in_range("n_harmonics", n_harmonics, 1, 64)
    tol = validate.float_in_range("tolerance_rel", tolerance_rel, 0.0, 0.25)
    tol_bins = validate.float_in_range("tolerance_min_bins", tolerance_min_bins, 0.0, 64.0)
    p_ev = validate.float_in_range("evidence_pfa", evidence_pfa, 0.0, 1.0, lo_open=True, hi_open=True)
    p_pr = validate.float_in_range("presence_pfa", presence_pfa, 0.0, 1.0, lo_open=True, hi_open=True)
    odd_min = validate.float_in_range("odd_fraction_min", odd_fraction_min, 0.0, 1.0)
    key = (n_bins, df, n_avg, lo, hi, step, k_max, tol, tol_bins, f_max, p_ev, p_pr, odd_min)
    return (key,) + _comb_tables(key)


@functools.lru_cache(maxsize=16)
def _comb_tables(key):
    """(grid, windows, floor_db, presence_db) of a validated set-up, read-only, built once per set-up."""
    n_bins, df, n_avg, lo, hi, step, k_max, tol, tol_bins, f_max, p_ev, p_pr, _ = key
    grid = lo + step * np.arange(int(np.floor((hi - lo) / step + 1e-9)) + 1)
    windows = comb_windows(grid, df, n_bins, k_max, tol, tol_bins, f_max)
    floor_db = window_thresholds_db(windows, n_avg, p_ev)
    presence_db = window_thresholds_db(windows, n_avg, p_pr)
    for a in (grid, windows, floor_db, presence_db):
        a.flags.writeable = False
    return grid, windows, floor_db, presence_db


def _range_max_indices(windows):
    """Per window [lo, hi]: the sparse-table level j = floor(log2(hi - lo + 1)) and the start of the second span
    hi - 2^j + 1 (0 where not in band); the table's number of levels and of bins used (up to the highest hi)."""
    valid = windows[..., 0] >= 0
    width = np.where(valid, windows[..., 1] - windows[..., 0] + 1, 1).astype(np.int64)
    level = np.floor(np.log2(width)).astype(np.int32)
    lo2 = np.where(valid, windows[..., 1] - (1 << level) + 1, 0).astype(np.int32)
    n_levels = int(level.max(initial=0)) + 1
    n_used = int(windows[..., 1][valid].max(initial=0)) + 1
    return level, lo2, n_levels, n_used


@functools.lru_cache(maxsize=16)
def _range_max_for(key):
    """``_range_max_indices`` of the windows of a set-up (key from ``_comb_setup``), built once per set-up."""
    return _range_max_indices(_comb_tables(key)[1])


def _run_comb(r, setup):
    """The comb kernel on ratio r (n_blocks, >= the bins its windows read) with a ``_comb_setup`` result."""
    key, grid, windows, floor_db, presence_db = setup
    df, step, tol, odd_min = key[1], key[5], key[7], key[12]
    level, lo2, n_levels, n_used = _range_max_for(key) if windows is _comb_tables(key)[1] \
        else _range_max_indices(windows)
    if r.shape[1] < n_used:
        raise ValueError(f"ratio: expected at least {n_used} bins, found {r.shape[1]}")
    return _comb(r, windows, level, lo2, n_levels, n_used, grid, df, floor_db, presence_db, odd_min, step, tol)


def harmonic_comb(ratio, *, df_hz: float, n_averages: int = 1, f0_min_hz: float = 50.0,
                  f0_max_hz: float = 1000.0, f0_step_hz: float = 0.5, n_harmonics: int = 8,
                  tolerance_rel: float = 0.06, tolerance_min_bins: float = 1.0, f_max_hz=None,
                  evidence_pfa: float = 0.5, presence_pfa: float = 0.01,
                  odd_fraction_min: float = 0.35, score_threshold: float = math.inf) -> HarmonicDetections:
    """Comb detection on the normalised power ratio = P / noise mean (n_blocks, n_bins), bin spacing df_hz.

    n_averages: independent periodograms averaged in P (channels x blocks), which sets the noise statistics.
    A harmonic's evidence is its window's peak level above the level that noise alone exceeds with probability
    evidence_pfa (the window's size counts: the largest of many noise bins is higher); it is present when its
    peak exceeds the level noise alone exceeds with probability presence_pfa. f_max_hz (default: the top bin)
    bounds the harmonics searched. A block is detected when its score exceeds score_threshold (default never;
    ``detect_harmonics`` sets it from a false-alarm rate). The rest as in the module docstring.
    """
    r = _as_power(ratio, "ratio")
    thr = math.inf if score_threshold == math.inf else validate.finite_float("score_threshold", score_threshold)
    setup = _comb_setup(r.shape[1], df_hz, n_averages, f0_min_hz, f0_max_hz, f0_step_hz, n_harmonics,
                        tolerance_rel, tolerance_min_bins, f_max_hz, evidence_pfa, presence_pfa, odd_fraction_min)
    f0, snr, score, count, bins = _run_comb(r, setup)
    return HarmonicDetections(f0_hz=f0, snr_db=snr, score=score, n_harmonics=count, harmonic_bins=bins,
                              detected=score > thr, score_threshold=float(thr))


def _noise_ratio(power, floor_kind, half, n_avg):
    """P / noise mean with the floor estimated as detect_harmonics does ("known": the true mean, 1)."""
    if floor_kind == "spectral":
        return power / np.maximum(spectral_noise_floor(power, half_width_bins=half, n_averages=n_avg),
                                  np.float32(1e-30))
    return power


MAX_WINDOW_TAPS = 4  #: windows whose DFT spans at most +-4 bins are simulated in the frequency domain


def _window_taps(window, nfft):
    """Taps c_d (complex128, d = -D..D) with X_k = sum_d c_d Z_(k - d) for Z the DFT of unit white noise
    scaled to unit variance: the window's DFT over nfft, None when it spans more than MAX_WINDOW_TAPS bins
    (a periodic Hann window gives [-1/4, 1/2, -1/4])."""
    c = np.fft.fft(window.astype(np.float64)) / nfft
    keep = np.abs(c) > 1e-6 * np.abs(c).max()
    d = np.where(np.arange(nfft) <= nfft // 2, np.arange(nfft), np.arange(nfft) - nfft)
    if np.abs(d[keep]).max() > MAX_WINDOW_TAPS:
        return None
    span = int(np.abs(d[keep]).max())
    return np.array([c[i % nfft] if keep[i % nfft] else 0.0 for i in range(-span, span + 1)], dtype=np.complex128)


@njit(cache=True, parallel=True)
def _tapped_power(z, source, conjugate, taps, out):
    """out[b, k] = mean over channels of |sum_d taps[d] Z[k + D - d]|^2 / sum |taps|^2, where Z[i] is
    z[b, c, source[i]] (conjugated where conjugate[i]): the extended spectrum of bins -D..n_out - 1 + D."""
    n, n_ch, _ = z.shape
    n_out = out.shape[1]
    span = (taps.shape[0] - 1) // 2
    norm = 0.0
    for d in range(taps.shape[0]):
        norm += taps[d].real ** 2 + taps[d].imag ** 2
    for b in prange(n):
        ext = np.empty(source.shape[0], dtype=np.complex128)
        acc = np.zeros(n_out, dtype=np.float64)
        for c in range(n_ch):
            for i in range(source.shape[0]):
                v = np.complex128(z[b, c, source[i]])
                ext[i] = np.conj(v) if conjugate[i] else v
            for k in range(n_out):
                x = 0.0 + 0.0j
                for d in range(taps.shape[0]):
                    x += taps[d] * ext[k + 2 * span - d]
                acc[k] += x.real ** 2 + x.imag ** 2
        for k in range(n_out):
            out[b, k] = acc[k] / (n_ch * norm)


def _simulated_noise_power(rng, n, n_avg, nfft, n_out, taps):
    """Power of n blocks of unit white noise through the window (taps), averaged over n_avg channels and
    normalised to mean 1: float32 (n, n_out), bins 0..n_out - 1, drawn in the frequency domain."""
    span = (taps.shape[0] - 1) // 2
    half = nfft // 2
    ext = np.arange(-span, n_out + span)  # bins of the extended spectrum
    folded = np.mod(ext, nfft)
    conjugate = folded > half  # Z_(nfft - m) = conj(Z_m) for real noise
    source = np.where(conjugate, nfft - folded, folded)
    n_src = int(source.max()) + 1
    z = rng.standard_normal((n, n_avg, n_src, 2), dtype=np.float32)
    z *= np.float32(math.sqrt(0.5))
    z = z.view(np.complex64)[..., 0]
    z[..., 0] = z[..., 0].real * np.float32(math.sqrt(2.0))  # the DC bin is real
    if n_src > half:
        z[..., half] = z[..., half].real * np.float32(math.sqrt(2.0))  # and so is Nyquist
    out = np.empty((n, n_out), dtype=np.float32)
    _tapped_power(z, source.astype(np.int64), conjugate, taps, out)
    return out


NULL_CACHE_VERSION = 2  #: part of the null scores' memo key: bump when the simulation or the comb changes them


@functools.lru_cache(maxsize=32)
def _null_scores(nfft, window_key, floor_kind, half, n_blocks, seed, setup_args):
    """Sorted comb scores (float64, read-only) of n_blocks simulated noise blocks, memoised in memory (a pure
    function of its arguments)."""
    s = _simulate_null_scores(nfft, window_key, floor_kind, half, n_blocks, seed, setup_args)
    s.flags.writeable = False
    return s


def _simulate_null_scores(nfft, window_key, floor_kind, half, n_blocks, seed, setup_args):
    """Sorted comb scores (float64) of n_blocks simulated noise blocks.

    Only the bins the comb reads (up to its highest window, plus the floor's half width for the spectral floor)
    are simulated; for a window whose DFT is short (Hann, Hamming, Blackman: +-1 to +-2 bins) they are drawn in
    the frequency domain (complex white noise through the window's taps, exact), else by FFT of windowed noise.
    """
    window = make_window(window_key if isinstance(window_key, str) else np.array(window_key), nfft)
    n_bins = nfft // 2 + 1
    n_avg = setup_args[1]
    setup = _comb_setup(n_bins, *setup_args)
    windows = setup[2]
    top = int(windows[..., 1].max(initial=0)) + 2
    n_out = min(n_bins, top + (half + 1 if floor_kind == "spectral" else 0))
    if floor_kind == "spectral" and n_out + half >= n_bins:
        n_out = n_bins  # the floor's truncation at the top bin matters: keep every bin
    taps = _window_taps(window, nfft)
    noise_mean = np.float32(np.sum(window.astype(np.float64) ** 2))  # E|X_k|^2 of unit white noise
    rng = np.random.default_rng(seed)
    scores = []
    per_block = n_avg * (n_out if taps is not None else nfft)
    batch = max(1, min(n_blocks, (1 << 22) // per_block))
    done = 0
    while done < n_blocks:
        n = min(batch, n_blocks - done)
        if taps is not None:
            power = _simulated_noise_power(rng, n, n_avg, nfft, n_out, taps)
        else:
            x = rng.standard_normal((n, n_avg, nfft), dtype=np.float32) * window
            spec = scipy.fft.rfft(x, axis=-1)[..., :n_out]
            power = (np.mean(spec.real ** 2 + spec.imag ** 2, axis=1) / noise_mean).astype(np.float32)
        scores.append(_run_comb(_noise_ratio(power, floor_kind, half, n_avg), setup)[2])
        done += n
    s = np.sort(np.concatenate(scores).astype(np.float64))
    s.flags.writeable = False
    return s


def _tail_quantile(s, pfa):
    """The score exceeded with probability pfa: empirical above 0.1, exponential tail fit below."""
    tail_fraction = 0.1
    if pfa >= tail_fraction:
        return float(np.quantile(s, 1.0 - pfa))
    u = float(np.quantile(s, 1.0 - tail_fraction))
    excess = s[s > u] - u
    beta = float(excess.mean()) if excess.size else 0.0
    return u + beta * math.log(tail_fraction / pfa)


def comb_score_threshold(*, pfa: float, fs_hz: float, nfft: int, n_averages: int = 1, window="hann",
                         noise_floor: str = "spectral", half_width_bins=None, n_blocks: int = 2000, seed: int = 0,
                         memo=None, **comb_parameters) -> float:
    """Comb score that noise alone exceeds in a fraction pfa of the blocks, found by simulation.

    n_blocks blocks of white Gaussian noise (n_averages independent channels, the STFT window ``window``) go
    through the same noise floor ("spectral" or "known": the true noise mean, used for "temporal" and array
    floors) and comb; the tail above the 90 % quantile of the scores is fitted with an exponential (the
    generalised-Pareto tail of a maximum, shape 0) and extrapolated to pfa. Only the bins the comb reads are
    simulated, in the frequency domain for short-DFT windows (Hann: complex white noise through the taps
    [-1/4, 1/2, -1/4]). Deterministic (seed); the scores are memoised in memory, so a set-up is simulated once
    per process (~1 to 5 s for 2000 blocks of 24 to 48 averages; up to a minute for long windows). memo: None,
    or a callable memo(key, compute, accept) -> scores that keeps them elsewhere (sensorkit.cache.DiskMemo: on
    disk, once per machine); this module does no I/O itself.
    Valid for noise that is locally white in frequency (the spectral floor follows slow colour) and
    independent between channels.
    """
    nfft = validate.int_in_range("nfft", nfft, 2, 1 << 24)
    fs = validate.positive_float("fs_hz", fs_hz)
    p = validate.float_in_range("pfa", pfa, 0.0, 1.0, lo_open=True, hi_open=True)
    n_blocks = validate.int_in_range("n_blocks", n_blocks, 100, 1 << 20)
    kind = validate.choice("noise_floor", noise_floor, ("spectral", "known"))
    half = _half_width(half_width_bins, fs / nfft, nfft // 2 + 1)
    if isinstance(window, str):
        window_key = window
    else:
        window_key = tuple(float(v) for v in np.asarray(window, dtype=np.float64).ravel())
    params = dict(_COMB_DEFAULTS)
    unknown = set(comb_parameters) - set(params)
    if unknown:
        raise ValueError(f"comb_parameters: unknown parameter(s) {sorted(unknown)}, expected some of "
                         f"{sorted(params)}")
    params.update(comb_parameters)
    n_bins = nfft // 2 + 1
    setup = _comb_setup(n_bins, fs / nfft, n_averages, *(params[k] for k in _COMB_DEFAULTS))
    setup_args = setup[0][1:]  # the validated parameters after n_bins
    args = (nfft, window_key, kind, half, n_blocks, int(seed), setup_args)
    if memo is None:
        return _tail_quantile(_null_scores(*args), p)

    def usable(scores) -> bool:
        return isinstance(scores, np.ndarray) and scores.shape == (n_blocks,) and scores.dtype == np.float64 \
            and bool(np.all(np.isfinite(scores))) and bool(np.all(np.diff(scores) >= 0))

    scores = memo(repr((NULL_CACHE_VERSION,) + args), lambda: _null_scores(*args), usable)
    return _tail_quantile(scores if usable(scores) else _null_scores(*args), p)


_COMB_DEFAULTS = dict(f0_min_hz=50.0, f0_max_hz=1000.0, f0_step_hz=0.5, n_harmonics=8, tolerance_rel=0.06,
                      tolerance_min_bins=1.0, f_max_hz=None, evidence_pfa=0.5, presence_pfa=0.01,
                      odd_fraction_min=0.35)


def _half_width(half_width_bins, df, n_bins):
    if half_width_bins is None:
        return min(max(1, int(round(100.0 / df))), n_bins)
    return validate.int_in_range("half_width_bins", half_width_bins, 1, n_bins)


def detect_harmonics(spectra, *, fs_hz: float, nfft: int, pfa: float = 1e-3, window="hann",
                     noise_floor="spectral", half_width_bins=None, **comb_parameters) -> HarmonicDetections:
    """Harmonic-comb detection on an STFT (n_channels, n_blocks, nfft // 2 + 1), sampled at fs_hz.

    pfa: design probability that a block of noise alone is detected (the score threshold comes from
    ``comb_score_threshold`` for this set-up, simulated once per set-up and process, ~0.2 to 2 s; window: the
    STFT's window, as given to ``stft``).
    noise_floor: "spectral" (running median over +-half_width_bins, default the bins spanning +-100 Hz),
    "temporal" (median per bin over the blocks given), or an array broadcastable to (n_blocks, n_bins) giving
    the noise mean per bin (e.g. kept by a streaming pipeline). Other keywords go to ``harmonic_comb``.
    """
    x = _as_stft(spectra)
    fs = validate.positive_float("fs_hz", fs_hz)
    nfft = validate.int_in_range("nfft", nfft, 2, 1 << 24)
    if x.shape[2] != nfft // 2 + 1:
        raise ValueError(f"stft: expected nfft // 2 + 1 = {nfft // 2 + 1} bins for nfft={nfft}, "
                         f"found shape {x.shape}")
    df = fs / nfft
    power = _band_power(x)
    n_avg = x.shape[0]
    half = _half_width(half_width_bins, df, power.shape[1])
    if isinstance(noise_floor, str):
        validate.choice("noise_floor", noise_floor, ("spectral", "temporal"))
        if noise_floor == "spectral":
            floor = spectral_noise_floor(power, half_width_bins=half, n_averages=n_avg)
        else:
            floor = temporal_noise_floor(power, n_averages=n_avg)
    else:
        floor = np.asarray(noise_floor, dtype=np.float32)
        try:
            floor = np.broadcast_to(floor, power.shape)
        except ValueError:
            raise ValueError(f"noise_floor: expected an array broadcastable to {power.shape}, "
                             f"found shape {floor.shape}") from None
        validate.check_finite(floor, "noise_floor")
        if not (floor > 0).all():
            raise ValueError(f"noise_floor: expected values > 0, found minimum {float(floor.min())!r}")
    kind = "spectral" if isinstance(noise_floor, str) and noise_floor == "spectral" else "known"
    threshold = comb_score_threshold(pfa=pfa, fs_hz=fs, nfft=nfft, n_averages=n_avg, window=window,
                                     noise_floor=kind, half_width_bins=half, **comb_parameters)
    ratio = power / np.maximum(floor, np.float32(1e-30))
    return harmonic_comb(ratio, df_hz=df, n_averages=n_avg, score_threshold=threshold, **comb_parameters)


def harmonic_bin_set(harmonic_bins_row, n_bins: int, *, spread_bins: int = 1) -> np.ndarray:
    """The bins a block's harmonics occupy, +- spread_bins around each peak: sorted unique int64 array.

    harmonic_bins_row is one row of ``HarmonicDetections.harmonic_bins`` (-1 entries are ignored); use it to
    restrict SRP-PHAT or MUSIC to the drone's lines.
    """
    row = np.asarray(harmonic_bins_row, dtype=np.int64).ravel()
    spread = validate.int_in_range("spread_bins", spread_bins, 0, 64)
    n = validate.int_in_range("n_bins", n_bins, 1, 1 << 24)
    peaks = row[row >= 0]
    if peaks.size and peaks.max() >= n:
        raise ValueError(f"harmonic_bins_row: expected bins < n_bins={n}, found {int(peaks.max())}")
    bins = (peaks[:, None] + np.arange(-spread, spread + 1)[None, :]).ravel()
    return np.unique(bins[(bins >= 1) & (bins < n)])
