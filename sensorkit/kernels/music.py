"""MUSIC for narrow-band refinement of directions around a peak (e.g. an SRP-PHAT peak at a drone's harmonics).

Per bin k used: the spatial covariance R_k = (1 / n_blocks) sum_b X_b(k) X_b(k)^H (n_mics x n_mics) over the
STFT blocks given, scaled to unit trace; its n_sources largest eigenvectors U_k span the signal subspace, and
its eigenvalues give the bin's weight w_k = sum_{i < n_sources} lambda_i - n_sources sigma^2 (sigma^2: the mean
of the other eigenvalues), the fraction of the bin's power that is signal, scaled to mean 1 over the bins
(uniform when no bin holds any). Pseudo-spectrum (broadband, incoherent over the bins):
    P(u) = 1 / (1 - sum_k w_k ||U_k^H a_k(u)||^2 / (n_bins M)),
with the steering vector a_k(u) of sensorkit.kernels.srp_phat (|a_m| = 1, so ||a||^2 = M): the denominator is
the weighted mean fraction of the steering vector outside the signal subspace; P = 1 on a direction orthogonal
to it and grows without bound on a source. The weights keep the bins beside a line (e.g. the +-1 bins of
``harmonic_bin_set``), whose subspace is mostly noise, from blurring the peak. Sources must be incoherent
(different signals, or the same tone with drifting phase) and the blocks at least n_sources + 1 for the subspace
to mean anything. Use: resolution (two sources closer than SRP-PHAT's beam, a bias between two peaks), not
accuracy on one source at low SNR, where SRP-PHAT does as well (tests/kernels/test_music.py).
"""

import math
from dataclasses import dataclass

import numpy as np

from sensorkit.kernels import validate
from sensorkit.kernels.srp_phat import (
    SPEED_OF_SOUND_MPS, check_bins, check_positions, check_stft, plane_wave_leads_s, steered_power,
    steering_table, _angles, _local_maxima, _angle_between,
)

__all__ = ["MusicResult", "bin_weights", "music_refine", "music_spectrum", "signal_subspace", "spatial_covariance"]


@dataclass(frozen=True)
class MusicResult:
    """azimuth_rad (n_az,), elevation_rad (n_el,), spectrum (n_el, n_az) float32 pseudo-spectrum,
    peaks (n, 3) float64 rows (azimuth_rad, elevation_rad, pseudo-spectrum), strongest first."""

    azimuth_rad: np.ndarray
    elevation_rad: np.ndarray
    spectrum: np.ndarray
    peaks: np.ndarray


def spatial_covariance(spectra, bins) -> np.ndarray:
    """Unit-trace spatial covariance per bin: STFT (M, n_blocks, n_bins), bins (n_sel,) -> (n_sel, M, M)
    complex128 (a bin without energy gives zeros)."""
    x = np.asarray(spectra)[:, :, np.asarray(bins)].astype(np.complex128)  # (M, n_blocks, n_sel)
    r = np.einsum("mbk,nbk->kmn", x, x.conj()) / x.shape[1]
    trace = np.einsum("kmm->k", r).real
    return r / np.where(trace > 0, trace, 1.0)[:, None, None]


def signal_subspace(covariance, n_sources: int) -> np.ndarray:
    """Eigenvectors of the n_sources largest eigenvalues: (n_sel, M, M) -> (n_sel, n_sources, M) complex128,
    each row a unit vector (laid out like PHAT snapshots for srp_phat.steered_power)."""
    _, vecs = np.linalg.eigh(covariance)  # ascending eigenvalues
    u = vecs[:, :, ::-1][:, :, :n_sources]  # (n_sel, M, n_sources)
    return np.ascontiguousarray(np.transpose(u, (0, 2, 1)))


def bin_weights(covariance, n_sources: int) -> np.ndarray:
    """w_k (n_sel,) float64: the signal fraction of each unit-trace covariance (module docstring), mean 1."""
    vals = np.linalg.eigvalsh(covariance)[:, ::-1]  # descending
    noise = vals[:, n_sources:].mean(axis=1)
    w = np.maximum(vals[:, :n_sources].sum(axis=1) - n_sources * noise, 0.0)
    mean = w.mean()
    return w / mean if mean > 0 else np.ones_like(w)


def _weighted_subspace(spectra, bins, n_sources):
    """sqrt(w_k) U_k: (n_sel, n_sources, M) complex128."""
    cov = spatial_covariance(spectra, bins)
    w = bin_weights(cov, n_sources)
    return signal_subspace(cov, n_sources) * np.sqrt(w)[:, None, None]


def _pseudo_spectrum(u, leads, bins, d_omega, n_mics):
    table = steering_table(leads, bins, d_omega)
    captured = steered_power(u, None, table, np.arange(bins.size, dtype=np.int64)) / (bins.size * n_mics)
    return 1.0 / np.maximum(1.0 - captured, 1e-9)


def _check_common(spectra, mic_positions_m, fs_hz, nfft, bins, n_sources, c_mps):
    p = check_positions(mic_positions_m)
    nfft = validate.int_in_range("nfft", nfft, 2, 1 << 24)
    fs = validate.positive_float("fs_hz", fs_hz)
    c = validate.positive_float("c_mps", c_mps)
    x = check_stft(spectra, p.shape[0], nfft)
    b = check_bins(bins, nfft // 2 + 1)
    n_src = validate.int_in_range("n_sources", n_sources, 1, p.shape[0] - 1)
    if x.shape[1] < n_src + 1:
        raise ValueError(f"stft: expected at least n_sources + 1 = {n_src + 1} blocks to estimate the "
                         f"covariance, found {x.shape[1]}")
    return p, nfft, fs, c, x, b, n_src


def music_spectrum(spectra, mic_positions_m, *, fs_hz: float, nfft: int, bins, n_sources: int, azimuth_rad,
                   elevation_rad, c_mps: float = SPEED_OF_SOUND_MPS) -> np.ndarray:
    """MUSIC pseudo-spectrum on the grid azimuth_rad (n_az,) x elevation_rad (n_el,): float32 (n_el, n_az).

    spectra: STFT (n_mics, n_blocks, nfft // 2 + 1), n_blocks > n_sources; bins: the bins used.
    """
    p, nfft, fs, c, x, b, n_src = _check_common(spectra, mic_positions_m, fs_hz, nfft, bins, n_sources, c_mps)
    az = _angles("azimuth_rad", azimuth_rad, -4 * math.pi, 4 * math.pi)
    el = _angles("elevation_rad", elevation_rad, -math.pi / 2, math.pi / 2)
    u = _weighted_subspace(x, b, n_src)
    aa, ee = np.meshgrid(az, el)
    leads = plane_wave_leads_s(p, aa.ravel(), ee.ravel(), c)
    spec = _pseudo_spectrum(u, leads, b, 2 * np.pi * fs / nfft, p.shape[0])
    return spec.reshape(el.size, az.size).astype(np.float32)


def music_refine(spectra, mic_positions_m, *, fs_hz: float, nfft: int, bins, n_sources: int,
                 azimuth_rad: float, elevation_rad: float, span_deg: float = 20.0, step_deg: float = 0.5,
                 el_min_deg: float = -90.0, el_max_deg: float = 90.0,
                 c_mps: float = SPEED_OF_SOUND_MPS) -> MusicResult:
    """MUSIC on a fine grid +-span_deg around (azimuth_rad, elevation_rad), elevations clipped to
    [el_min_deg, el_max_deg] (use el_min_deg=0 for a horizontal planar array, as srp_phat does; equal limits
    search azimuth only); the n_sources strongest local maxima are returned as peaks."""
    p, nfft, fs, c, x, b, n_src = _check_common(spectra, mic_positions_m, fs_hz, nfft, bins, n_sources, c_mps)
    az0 = validate.finite_float("azimuth_rad", azimuth_rad)
    el0 = validate.float_in_range("elevation_rad", elevation_rad, -math.pi / 2, math.pi / 2)
    span = validate.float_in_range("span_deg", span_deg, 0.0, 180.0)
    step = validate.float_in_range("step_deg", step_deg, 1e-3, 90.0)
    lo = validate.float_in_range("el_min_deg", el_min_deg, -90.0, 90.0)
    hi = validate.float_in_range("el_max_deg", el_max_deg, lo, 90.0)
    n = int(math.ceil(span / step))
    offsets = np.deg2rad(step * np.arange(-n, n + 1))
    az = az0 + offsets
    if lo == hi:
        el = np.array([math.radians(lo)])
    else:
        el = el0 + offsets
        el = el[(el >= math.radians(lo) - 1e-12) & (el <= math.radians(hi) + 1e-12)]
    u = _weighted_subspace(x, b, n_src)
    aa, ee = np.meshgrid(az, el)
    leads = plane_wave_leads_s(p, aa.ravel(), ee.ravel(), c)
    spec = _pseudo_spectrum(u, leads, b, 2 * np.pi * fs / nfft, p.shape[0]).reshape(el.size, az.size)
    peaks = []
    for i_el, i_az in _local_maxima_open(spec):
        a, e = az[i_az], el[i_el]
        if any(_angle_between(a, e, q[0], q[1]) < math.radians(2 * step) for q in peaks):
            continue
        peaks.append((float(a % (2 * math.pi)), float(e), float(spec[i_el, i_az])))
        if len(peaks) == n_src:
            break
    return MusicResult(azimuth_rad=az % (2 * math.pi), elevation_rad=el, spectrum=spec.astype(np.float32),
                       peaks=np.array(peaks, dtype=np.float64).reshape(-1, 3))


def _local_maxima_open(spec):
    """Local maxima of a map whose azimuth axis does not wrap (edges count as lower)."""
    padded = np.pad(spec, ((0, 0), (1, 1)), mode="constant", constant_values=-np.inf)
    return [(i, j - 1) for i, j in _local_maxima(padded) if 1 <= j <= spec.shape[1]]
