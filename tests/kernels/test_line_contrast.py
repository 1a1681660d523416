"""Line contrast in MVDR beams (sensorkit.kernels.line_contrast): the kernel's map against the NumPy reference
(planar and 3-D arrays), a comb found under roads 10 dB louder than its lines where background-subtracted
SRP-PHAT is pulled to a road, the ground model's steering used, and bad input refused."""

import functools
import math

import numpy as np
import pytest

from sensorkit.formats.array_geometry import circular_array
from sensorkit.kernels.acoustic_reference import line_contrast_map_reference, line_covariances_reference
from sensorkit.kernels.line_contrast import line_contrast_matrices, line_contrast_values, locate_lines
from sensorkit.kernels.srp_phat import SrpPhat
from sensorkit.kernels.stft import stft

from . import acoustic_scenes as scenes
from .acoustic_scenes import FS_HZ, angle_deg

NFFT = 1024
N_FRAMES = 16000  # 1 s: 30 STFT blocks
LINES_HZ = (600.0, 1200.0, 1800.0)
LINE_BINS = np.round(np.array(LINES_HZ) / (FS_HZ / NFFT)).astype(np.int64)

plane_waves = functools.partial(scenes.plane_waves, n_frames=N_FRAMES, noise=0.05)


def array_3d():
    """8-mic circle of radius 0.1 m plus 4 mics on a 0.06 m circle 0.08 m above it."""
    return np.vstack([circular_array(8, 0.1), circular_array(4, 0.06) + np.array([0.0, 0.0, 0.08])])


def roads_scene(mics, road_db, seed):
    """A comb's lines (600, 1200, 1800 Hz, amplitude 0.3) from azimuth 40, elevation 30 deg, under broadband
    noise from two roads at the horizon (azimuths 200 and 300 deg), each road_db louder per bin than the
    existing 0 dB scene of test_srp_phat (there a road is as strong per bin as the lines' peaks)."""
    rng = np.random.default_rng(seed)
    t = np.arange(N_FRAMES) / FS_HZ
    line = sum(0.3 * np.cos(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) for f in LINES_HZ)
    gain = 4.0 * 10 ** (road_db / 20)
    roads = [(az, 0, gain * rng.standard_normal(N_FRAMES)) for az in (200, 300)]
    return stft(plane_waves(mics, [(40, 30, line)] + roads, seed=seed + 1), nfft=NFFT)


def test_matrices_match_the_reference():
    """B = R_n^-1 R_l R_n^-1 and C = R_n^-1 (R_n loaded, both over tr C), from the Numba covariances, equal the
    complex128 reference's explicit ones to 1e-9 (relative), with lines at the spectra's first and last bins cut
    to the noise bins inside and one with too few left out; complex64 and complex128 spectra alike."""
    x = roads_scene(array_3d(), 10.0, seed=5)
    n_bins = int(LINE_BINS[-1]) + 10
    centres = np.array([8, *LINE_BINS, n_bins - 1])  # 8: its noise bins from bin 1 up; the last: 5 below only
    for spectra in (x[:, :, :n_bins], x[:, :, :n_bins].astype(np.complex128)):
        b, c, kept = line_contrast_matrices(spectra, centres, noise_outer_bins=8)
        pairs, kept_ref = line_covariances_reference(spectra, centres, noise_outer_bins=8)
        assert kept.tolist() == kept_ref.tolist() == [True, True, True, True, False]
        m = spectra.shape[0]
        for h, (rl, rn) in enumerate(pairs):
            ri = np.linalg.inv(rn + 0.05 * np.trace(rn).real / m * np.eye(m))
            scale = np.trace(ri).real
            for got, want in ((b[h], ri @ rl @ ri / scale), (c[h], ri / scale)):
                assert np.abs(got - want).max() <= 1e-9 * np.abs(want).max()


@pytest.mark.parametrize("mics", [circular_array(8, 0.1), array_3d()], ids=["circ8", "3d"])
def test_map_matches_the_reference(mics):
    """The kernel's map on the coarse grid (float32 steering and sums) equals the complex128 reference to
    0.02 dB, with one line too close to the spectra's last bin to keep (fewer than 8 noise bins) left out of
    both."""
    x = roads_scene(mics, 10.0, seed=3)
    srp = SrpPhat(mics, fs_hz=FS_HZ, nfft=NFFT, coarse_step_deg=10.0, fine_step_deg=2.0)
    centres = np.concatenate([LINE_BINS, [LINE_BINS[-1] + 20]])
    x = x[:, :, :centres[-1] + 3]  # the last line's noise bins cut to the 5 below it
    b, c, kept = line_contrast_matrices(x, centres, noise_outer_bins=8)
    assert kept.tolist() == [True, True, True, False]
    rows = centres[kept] - srp.bin_lo
    got = line_contrast_values(b, c, srp._coarse_table(rows), rows).reshape(srp.elevation_rad.size, -1)
    ref = line_contrast_map_reference(x, mics, FS_HZ, NFFT, centres, srp.azimuth_rad, srp.elevation_rad,
                                      noise_outer_bins=8)
    assert got.max() > 5.0  # a map with something on it
    assert np.allclose(got, ref, atol=0.02), np.abs(got - ref).max()


@pytest.mark.parametrize("mics", [circular_array(8, 0.1), array_3d()], ids=["circ8", "3d"])
def test_comb_under_roads_10_db_louder_is_found_where_srp_phat_fails(mics):
    """Measured over seeds 0-2: the contrast peak within 1 deg of (40, 30) every time (azimuth 39-40, elevation
    29-31 deg); the background-subtracted SRP-PHAT of the same lines at azimuths 27, 196 and 199 deg (circ8) and
    29, 199 and 192 deg (3-D)."""
    srp_errors = []
    for seed in range(3):
        x = roads_scene(mics, 10.0, seed)
        srp = SrpPhat(mics, fs_hz=FS_HZ, nfft=NFFT, coarse_step_deg=5.0, fine_step_deg=1.0)
        az, el, score = locate_lines(srp, x, LINE_BINS)
        assert angle_deg(az, el, math.radians(40), math.radians(30)) <= 2.0, (seed, math.degrees(az),
                                                                               math.degrees(el))
        assert score > 3.0
        bins = np.unique(np.concatenate([LINE_BINS + d for d in (-1, 0, 1)]))
        mask = np.ones(NFFT // 2 + 1, dtype=bool)
        for k in LINE_BINS:
            mask[k - 2:k + 3] = False
        p = srp.locate(x, bins, noise_mask=mask).peaks[0]
        srp_errors.append(angle_deg(p[0], p[1], math.radians(40), math.radians(30)))
    assert max(srp_errors) > 20.0, srp_errors  # the scene is one that SRP-PHAT gets wrong


def test_ground_model_steering_is_used():
    """With a ground model the search steers direct wave plus reflection (SrpPhat's tables): a 3-D array
    1.5 m above ground hearing a comb at 10 deg and its reflection (coefficient 0.7) places it within 2 deg,
    where the free-field search is pulled more than 2 deg towards the horizon."""
    mics = array_3d() * 4.0  # 0.8 m wide, 0.32 m tall
    rng = np.random.default_rng(0)
    t = np.arange(N_FRAMES) / FS_HZ
    phases = rng.uniform(0, 2 * np.pi, 3)
    height_m, el_deg = 1.5, 10.0
    delay_s = 2 * height_m * math.sin(math.radians(el_deg)) / scenes.C_MPS
    direct = sum(0.3 * np.cos(2 * np.pi * f * t + p) for f, p in zip(LINES_HZ, phases))
    image = sum(0.21 * np.cos(2 * np.pi * f * (t - delay_s) + p) for f, p in zip(LINES_HZ, phases))
    noise = rng.standard_normal(N_FRAMES)
    x = stft(plane_waves(mics, [(40, el_deg, direct), (40, -el_deg, image), (200, 0, noise)], seed=1), nfft=NFFT)
    errors = {}
    for model in (None, height_m):
        srp = SrpPhat(mics, fs_hz=FS_HZ, nfft=NFFT, coarse_step_deg=5.0, fine_step_deg=0.5, ground_height_m=model,
                      ground_reflection=0.7, ground_range_m=None)
        az, el, _ = locate_lines(srp, x, LINE_BINS)
        errors[model] = (abs(math.degrees(az) - 40.0), math.degrees(el) - el_deg)
    assert errors[height_m][0] <= 1.0 and abs(errors[height_m][1]) <= 2.0, errors
    assert errors[None][1] < -2.0, errors


def test_too_few_lines_give_none():
    mics = circular_array(8, 0.1)
    x = roads_scene(mics, 0.0, seed=0)
    srp = SrpPhat(mics, fs_hz=FS_HZ, nfft=NFFT)
    assert locate_lines(srp, x, LINE_BINS[:1]) is None
    assert locate_lines(srp, x, LINE_BINS[:1], min_lines=1) is not None
    cut = x[:, :, :LINE_BINS[1] + 6]  # 2 noise bins above the second line: 7 with the 5 below, 8 with 6
    assert locate_lines(srp, cut, LINE_BINS[:2], noise_outer_bins=8) is None
    assert locate_lines(srp, cut, LINE_BINS[:2], noise_outer_bins=9) is not None


@pytest.mark.parametrize("call, message", [
    (lambda x, srp: locate_lines(srp, x, LINE_BINS[::-1]), "ascending"),
    (lambda x, srp: locate_lines(srp, x, [0, 40]), "centre_bins"),
    (lambda x, srp: srp.search([77, 38], lambda table, rows: np.zeros(table[0].shape[2])), "ascending unique"),
    (lambda x, srp: locate_lines(srp, x.real, LINE_BINS), "complex"),
    (lambda x, srp: locate_lines(srp, x[:4], LINE_BINS), "shape"),
    (lambda x, srp: line_contrast_matrices(x, LINE_BINS, loading=-1.0), "loading"),
    (lambda x, srp: line_contrast_matrices(x, LINE_BINS, noise_inner_bins=1), "noise_inner_bins"),
    (lambda x, srp: line_contrast_matrices(np.where(np.arange(x.shape[2]) == LINE_BINS[0] + 5, np.nan, x),
                                           LINE_BINS), "noise bins of the line at bin 38"),
    (lambda x, srp: line_contrast_values(*line_contrast_matrices(x, LINE_BINS)[:2], srp._coarse_table(
        np.array([1])), np.array([1])), "rows"),
])
def test_bad_input_is_refused(call, message):
    mics = circular_array(8, 0.1)
    x = roads_scene(mics, 0.0, seed=0)
    srp = SrpPhat(mics, fs_hz=FS_HZ, nfft=NFFT)
    with pytest.raises(ValueError, match=message):
        call(x, srp)
