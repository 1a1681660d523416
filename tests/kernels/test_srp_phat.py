"""SRP-PHAT: equivalence with the NumPy reference (1 to 14 blocks, steering-table and circular-harmonic ring forms,
planar and 3-D arrays; float32 steering and cross-spectra: within 2e-6 on the [0, 1] power scale), a drone comb at
azimuth 40 deg, elevation 20 deg located by the 8-mic circular array and the UMA-16 on its harmonic bins, coarse to
fine equal to a fine full grid, the planar mirror ambiguity, two sources 30 deg apart, bad input refused; the
background-subtracted coherences against their reference, and a comb found under a road as strong as its lines."""

import functools
import math

import numpy as np
import pytest

from sensorkit.datasets import load_spec
from sensorkit.datasets.drone_acoustic import resolve_settings
from sensorkit.formats.array_geometry import circular_array, uma16_array
from sensorkit.kernels.acoustic_reference import srp_phat_map_reference
from sensorkit.kernels.harmonic import detect_harmonics, harmonic_bin_set
from sensorkit.kernels import srp_phat as srp_module
from sensorkit.kernels.srp_phat import SrpPhat, is_horizontal_planar, srp_phat_map
from sensorkit.kernels.stft import stft

from . import acoustic_scenes as scenes
from .acoustic_scenes import FS_HZ, angle_deg

NFFT = 1024
N_FRAMES = 8000  # 0.5 s: 14 STFT blocks


def array_3d():
    """8-mic circle of radius 0.1 m plus 4 mics on a 0.06 m circle 0.08 m above it: a non-planar array."""
    top = circular_array(4, 0.06) + np.array([0.0, 0.0, 0.08])
    return np.vstack([circular_array(8, 0.1), top])


plane_waves = functools.partial(scenes.plane_waves, n_frames=N_FRAMES, noise=0.3)
comb = functools.partial(scenes.comb, n_frames=N_FRAMES)


def wrap_deg(d):
    return (d + 180.0) % 360.0 - 180.0


@pytest.mark.parametrize("mics", [circular_array(8, 0.1), uma16_array(), array_3d()], ids=["circ8", "uma16", "3d"])
@pytest.mark.parametrize("n_blocks", [1, 3, 14])
@pytest.mark.parametrize("grid", ["ring", "arc"])  # 48 azimuths around the circle (circular harmonics) or 40 of them
def test_matches_reference(mics, n_blocks, grid, monkeypatch):
    monkeypatch.setattr(srp_module, "_TABLES", srp_module._TableCache())
    x = stft(plane_waves(mics, [(40, 20, comb(180.0, 1))]), nfft=NFFT)[:, :n_blocks]
    bins = np.array([11, 12, 23, 34, 45, 46, 100, 300])
    az = np.radians(np.arange(0.0, 360.0 if grid == "ring" else 300.0, 7.5) + 1.25)
    el = np.radians(np.arange(-90.0, 90.1, 15.0))
    got = srp_phat_map(x, mics, fs_hz=FS_HZ, nfft=NFFT, bins=bins, azimuth_rad=az, elevation_rad=el)
    ref = srp_phat_map_reference(x, mics, FS_HZ, NFFT, bins, az, el)
    assert got.dtype == np.float32 and got.shape == (el.size, az.size)
    np.testing.assert_allclose(got, ref, atol=2e-6)
    assert ref.max() > 0.5 and ref.min() >= 0.0
    [setup] = srp_module._TABLES._items.values()
    assert setup[0] == ("ring" if grid == "ring" else "steering")


def test_ring_form_equals_direct_form_on_the_pyroomacoustics_set_up(monkeypatch):
    """8-mic circle, nfft 512 at 16 kHz, bins 10..111 (300-3500 Hz), 360 azimuths at 1 deg: the circular-
    harmonic form (its series cut at |J_n| < 1e-9) and the steering table give the same map (measured 3e-8)."""
    mics = circular_array(8, 0.1)
    x = stft(plane_waves(mics, [(40, 0, comb(180.0, 1))]), nfft=512, hop=256)[:, :12]
    kw = dict(fs_hz=FS_HZ, nfft=512, bins=np.arange(10, 112), azimuth_rad=np.radians(np.arange(360.0)),
              elevation_rad=[0.0])
    ring = srp_phat_map(x, mics, **kw)
    monkeypatch.setattr(srp_module, "_ring_pays", lambda *a: False)
    monkeypatch.setattr(srp_module, "_TABLES", srp_module._TableCache())
    direct = srp_phat_map(x, mics, **kw)
    assert [setup[0] for setup in srp_module._TABLES._items.values()] == ["steering"]
    np.testing.assert_allclose(ring, direct, atol=1e-6)
    assert int(np.argmax(ring)) == 40 and ring.max() > 0.5


def test_non_finite_spectra_refused_only_at_the_bins_used():
    mics = circular_array(8, 0.1)
    x = stft(plane_waves(mics, [(40, 20, comb(180.0, 1))]), nfft=NFFT)
    srp = SrpPhat(mics, fs_hz=FS_HZ, nfft=NFFT)
    for n_blocks in (1, 14):
        bad = x[:, :n_blocks].copy()
        bad[5, -1, 40] = np.nan
        assert np.isfinite(srp.locate(bad, [20, 21, 60]).peaks).all()
        with pytest.raises(ValueError, match="finite values at the bins used, found NaN or infinity at bin 40"):
            srp.locate(bad, [20, 40, 60])
        bad[5, -1, 40] = np.inf
        with pytest.raises(ValueError, match="at bin 40"):
            srp_phat_map(bad, mics, fs_hz=FS_HZ, nfft=NFFT, bins=[40], azimuth_rad=np.radians(np.arange(0, 360, 5.0)),
                         elevation_rad=[0.0])


def test_class_coarse_map_equals_the_plain_function():
    mics = uma16_array()
    x = stft(plane_waves(mics, [(40, 20, comb(180.0, 1))]), nfft=NFFT)
    srp = SrpPhat(mics, fs_hz=FS_HZ, nfft=NFFT, coarse_step_deg=5.0)
    bins = np.arange(10, 120)
    plain = srp_phat_map(x, mics, fs_hz=FS_HZ, nfft=NFFT, bins=bins, azimuth_rad=srp.azimuth_rad,
                         elevation_rad=srp.elevation_rad)
    np.testing.assert_allclose(srp.coarse_map(x, bins), plain, atol=2e-6)
    assert math.degrees(srp.elevation_rad[0]) == 0.0 and math.degrees(srp.elevation_rad[-1]) == 90.0  # planar


def test_coarse_table_rows_are_built_on_first_use_and_do_not_depend_on_history():
    """Only the groups of bins an update uses are steered; a map over some bins is the same, bit for bit, on a
    fresh SrpPhat and on one whose table earlier updates have partly built, and equals srp_phat_map's."""
    mics = uma16_array()
    x = stft(plane_waves(mics, [(40, 20, comb(180.0, 1))]), nfft=NFFT)
    used = harmonic_bin_set(np.array([23, 46, 69, -1]), NFFT // 2 + 1, spread_bins=1)
    fresh = SrpPhat(mics, fs_hz=FS_HZ, nfft=NFFT, coarse_step_deg=5.0)
    first = fresh.coarse_map(x, used)
    built = np.flatnonzero(fresh._table_ready) + fresh.bin_lo
    assert set(used) <= set(built) and built.size <= 4 * used.size < fresh._table_ready.size
    seasoned = SrpPhat(mics, fs_hz=FS_HZ, nfft=NFFT, coarse_step_deg=5.0)
    seasoned.coarse_map(x, np.arange(20, 50))  # builds some of the same groups, and others
    np.testing.assert_array_equal(seasoned.coarse_map(x, used), first)
    plain = srp_phat_map(x, mics, fs_hz=FS_HZ, nfft=NFFT, bins=used, azimuth_rad=fresh.azimuth_rad,
                         elevation_rad=fresh.elevation_rad)
    np.testing.assert_allclose(first, plain, atol=2e-6)


@pytest.mark.parametrize("name, mics", [("circ8", circular_array(8, 0.1)), ("uma16", uma16_array())])
def test_drone_at_40_deg_located_on_its_harmonic_bins(name, mics):
    """The bins come from the harmonic detector: the comb's 180 Hz lines +- 1 bin; broadband SNR 9 dB per mic
    (at -3 dB, 5 seeds, measured errors were within 1 deg in azimuth and 3 deg in elevation for both arrays)."""
    x = stft(plane_waves(mics, [(40, 20, comb(180.0, 1))], noise=0.5, seed=2), nfft=NFFT)
    det = detect_harmonics(x, fs_hz=FS_HZ, nfft=NFFT)
    assert det.detected.all() and np.all(np.abs(det.f0_hz - 180.0) < 1.0)
    bins = np.unique(np.concatenate([harmonic_bin_set(row, NFFT // 2 + 1) for row in det.harmonic_bins]))
    assert 15 <= bins.size <= 30  # 8 harmonics x 3 bins, not the 511 of the band
    srp = SrpPhat(mics, fs_hz=FS_HZ, nfft=NFFT, coarse_step_deg=5.0, fine_step_deg=0.5)
    peak = srp.locate(x, bins).peaks[0]
    az_err = wrap_deg(math.degrees(peak[0]) - 40.0)
    el_err = math.degrees(peak[1]) - 20.0
    # measured: circ8 0.0 / 0.0 deg, uma16 -0.5 / +0.5 deg. A planar array measures elevation through cos(el)
    # only (and cannot tell +el from -el); at 20 deg its error is still well within 3 deg at this SNR.
    assert abs(az_err) <= 2.0, az_err
    assert abs(el_err) <= 3.0, el_err
    assert peak[2] > 0.8
    others = srp.locate(x, bins, n_peaks=4).peaks[1:]  # side lobes only: weaker, and no lone peak at the zenith
    assert np.all(others[:, 2] < 0.8 * peak[2]) and np.all(others[:, 1] < math.radians(89.9))


def test_coarse_to_fine_equals_a_fine_full_grid():
    mics = circular_array(8, 0.1)
    x = stft(plane_waves(mics, [(40, 20, comb(180.0, 1))], noise=1.0, seed=3), nfft=NFFT)
    bins = np.unique(np.round(np.arange(1, 9)[:, None] * 180.0 / (FS_HZ / NFFT) + np.arange(-1, 2)).astype(int))
    srp = SrpPhat(mics, fs_hz=FS_HZ, nfft=NFFT, coarse_step_deg=5.0, fine_step_deg=0.5)
    peak = srp.locate(x, bins).peaks[0]
    az = np.radians(np.arange(0.0, 360.0, 0.5))
    el = np.radians(np.arange(0.0, 90.01, 0.5))
    full = srp_phat_map(x, mics, fs_hz=FS_HZ, nfft=NFFT, bins=bins, azimuth_rad=az, elevation_rad=el)
    i_el, i_az = np.unravel_index(np.argmax(full), full.shape)
    assert angle_deg(peak[0], peak[1], az[i_az], el[i_el]) < 0.26  # the same grid point (0.5 deg grid)
    assert peak[2] == pytest.approx(float(full.max()), rel=1e-5)


def test_planar_array_reports_the_mirror_above_and_3d_array_sees_below():
    sources = [(40, -20, comb(180.0, 1))]
    planar = SrpPhat(circular_array(8, 0.1), fs_hz=FS_HZ, nfft=NFFT)
    x = stft(plane_waves(circular_array(8, 0.1), sources), nfft=NFFT)
    p = planar.locate(x).peaks[0]
    assert abs(wrap_deg(math.degrees(p[0]) - 40)) <= 2 and abs(math.degrees(p[1]) - 20) <= 3  # mirror: +20
    mics = array_3d()
    assert not is_horizontal_planar(mics)
    solid = SrpPhat(mics, fs_hz=FS_HZ, nfft=NFFT)
    for el in (-20, 20):
        q = solid.locate(stft(plane_waves(mics, [(40, el, comb(180.0, 1))]), nfft=NFFT)).peaks[0]
        assert abs(wrap_deg(math.degrees(q[0]) - 40)) <= 2 and abs(math.degrees(q[1]) - el) <= 3


def test_azimuth_only_search():
    mics = circular_array(8, 0.1)
    x = stft(plane_waves(mics, [(250, 0, comb(200.0, 4))]), nfft=NFFT)
    srp = SrpPhat(mics, fs_hz=FS_HZ, nfft=NFFT, el_min_deg=0.0, el_max_deg=0.0, coarse_step_deg=2.0)
    r = srp.locate(x)
    assert r.power.shape == (1, 180) and abs(wrap_deg(math.degrees(r.peaks[0, 0]) - 250)) <= 1.0
    assert r.peaks[0, 1] == 0.0


def test_two_sources_30_deg_apart_give_two_peaks():
    """Two drones (180 Hz and 230 Hz combs) at azimuths 40 and 70 deg, elevation 20 deg.

    8-mic circle over the whole band: two peaks (measured 42 and 68 deg: each pulls the other by 2 deg).
    UMA-16 (12.6 cm aperture): over the whole band its beam merges them; on each drone's harmonic bins it
    finds each one (measured 40.5 and 70 deg)."""
    sources = [(40, 20, comb(180.0, 1)), (70, 20, comb(230.0, 2))]
    mics = circular_array(8, 0.1)
    srp = SrpPhat(mics, fs_hz=FS_HZ, nfft=NFFT, band_max_hz=7000.0)
    peaks = srp.locate(stft(plane_waves(mics, sources), nfft=NFFT), n_peaks=2).peaks
    found = sorted(wrap_deg(math.degrees(a)) for a in peaks[:, 0])
    assert abs(found[0] - 40) <= 3 and abs(found[1] - 70) <= 3, found
    assert np.all(np.abs(np.degrees(peaks[:, 1]) - 20) <= 5)

    mics = uma16_array()
    x = stft(plane_waves(mics, sources), nfft=NFFT)
    srp = SrpPhat(mics, fs_hz=FS_HZ, nfft=NFFT, band_max_hz=7000.0)
    for f0, az in ((180.0, 40), (230.0, 70)):
        bins = np.unique(np.round(np.arange(1, 30) * f0 / (FS_HZ / NFFT)).astype(int))
        bins = bins[bins * FS_HZ / NFFT <= 6500.0]
        p = srp.locate(x, bins).peaks[0]
        assert abs(wrap_deg(math.degrees(p[0]) - az)) <= 2 and abs(math.degrees(p[1]) - 20) <= 3


@pytest.mark.parametrize("call, message", [
    (lambda x: srp_phat_map(x, np.zeros((8, 2)), fs_hz=FS_HZ, nfft=NFFT, bins=[10], azimuth_rad=[0],
                            elevation_rad=[0]), "mic_positions_m: expected shape"),
    (lambda x: srp_phat_map(x, np.zeros((8, 3)), fs_hz=FS_HZ, nfft=NFFT, bins=[10], azimuth_rad=[0],
                            elevation_rad=[0]), "distinct positions"),
    (lambda x: srp_phat_map(x, circular_array(8), fs_hz=FS_HZ, nfft=NFFT, bins=[0, 600], azimuth_rad=[0],
                            elevation_rad=[0]), "bins: expected bin indices in \\[1, 512\\]"),
    (lambda x: srp_phat_map(x, circular_array(8), fs_hz=FS_HZ, nfft=NFFT, bins=[10], azimuth_rad=[0],
                            elevation_rad=[2.0]), "elevation_rad"),
    (lambda x: srp_phat_map(x, uma16_array(), fs_hz=FS_HZ, nfft=NFFT, bins=[10], azimuth_rad=[0],
                            elevation_rad=[0]), "expected shape \\(16, n_blocks >= 1, 513\\)"),
    (lambda x: srp_phat_map(x.real, circular_array(8), fs_hz=FS_HZ, nfft=NFFT, bins=[10], azimuth_rad=[0],
                            elevation_rad=[0]), "expected a complex STFT"),
    (lambda x: SrpPhat(circular_array(8), fs_hz=FS_HZ, nfft=NFFT, coarse_step_deg=0.0), "coarse_step_deg"),
    (lambda x: SrpPhat(circular_array(8), fs_hz=FS_HZ, nfft=NFFT).locate(x, [2000]), "bins"),
])
def test_bad_input_is_refused(call, message):
    x = np.ones((8, 2, NFFT // 2 + 1), np.complex64)
    with pytest.raises(ValueError, match=message):
        call(x)


def test_simulated_drone_found_by_detector_and_srp():
    """sensorkit.synth: a hovering quadcopter (BPF ~181 Hz, 4 rotors 2 % apart) 60 m away at azimuth 40 deg,
    elevation 20 deg, with wind, sensor noise and a ground reflection, heard by the 8-mic circle for 1 s."""
    from sensorkit.synth.acoustic import SoundScene
    from sensorkit.synth.background_noise import SensorNoise, Wind
    from sensorkit.synth.drone_sound import Drone
    from sensorkit.synth.trajectory import Trajectory

    nfft = NFFT  # the detector's threshold set-up is then the one of the 8-mic test above (cached)
    mics = circular_array(8, 0.1)
    az, el, r = math.radians(40), math.radians(20), 60.0
    position = (r * math.cos(el) * math.cos(az), r * math.cos(el) * math.sin(az), r * math.sin(el))
    scene = SoundScene(mics, FS_HZ, sources=[Drone(Trajectory.hover(position))], noise=[SensorNoise(), Wind()],
                       seed=3)
    truth = scene.truth(np.array([1.0]))[0]
    x = stft(scene.render(0.0, int(FS_HZ)), nfft=nfft)
    det = detect_harmonics(x, fs_hz=FS_HZ, nfft=nfft)
    assert det.detected.mean() > 0.9
    assert abs(np.median(det.f0_hz) - truth.f0_hz[0]) < FS_HZ / nfft  # one bin
    bins = np.unique(np.concatenate([harmonic_bin_set(row, nfft // 2 + 1) for row in det.harmonic_bins[det.detected]]))
    peak = SrpPhat(mics, fs_hz=FS_HZ, nfft=nfft).locate(x, bins).peaks[0]
    assert abs(wrap_deg(math.degrees(peak[0]) - 40.0)) <= 2.0
    assert abs(math.degrees(peak[1]) - 20.0) <= 3.0


# --- background-subtracted coherences (denoised_cross_spectra) -----------------------------------------------

def _background_scene(mics, seed=0):
    """A 600 Hz comb's lines (600, 1200, 1800 Hz) from azimuth 40, elevation 30 deg, under broadband noise
    from azimuth 200 deg at the horizon (a road) as strong per bin as the lines' peaks (0 dB; the lines' +-1 bin
    side bins 6 dB below it), over 0.5 s of 14 blocks."""
    rng = np.random.default_rng(seed)
    t = np.arange(N_FRAMES) / FS_HZ
    line = sum(0.3 * np.cos(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) for f in (600.0, 1200.0, 1800.0))
    road = 4.0 * rng.standard_normal(N_FRAMES)
    return stft(plane_waves(mics, [(40, 30, line), (200, 0, road)], noise=0.05, seed=seed + 1), nfft=NFFT)


@pytest.mark.parametrize("mics", [circular_array(8, 0.1), array_3d()], ids=["circ8", "3d"])
def test_denoised_cross_spectra_match_the_reference(mics):
    from sensorkit.kernels.acoustic_reference import denoised_cross_spectra_reference

    x = _background_scene(mics)
    bins = np.array([37, 38, 39, 76, 77, 115], dtype=np.int64)
    mask = np.ones(NFFT // 2 + 1, dtype=bool)
    mask[[37, 38, 39, 44, 76, 77]] = False  # some noise bins left out
    re, im = srp_module.denoised_cross_spectra(x, bins, mask, half_width_bins=8, guard_bins=2)
    ref = denoised_cross_spectra_reference(x, bins, mask, half_width_bins=8, guard_bins=2)
    iu = np.triu_indices(mics.shape[0])  # the upper triangle is filled, the rest of the buffers is not

    def upper(pair):
        return (pair[0][iu] + 1j * pair[1][iu]).T

    assert np.allclose(upper((re, im)), ref[:, iu[0], iu[1]], atol=2e-6)
    few = srp_module.denoised_cross_spectra(x, bins, np.zeros_like(mask), half_width_bins=8)  # no noise bins: N = 0
    ref0 = denoised_cross_spectra_reference(x, bins, np.zeros_like(mask), half_width_bins=8)
    assert np.allclose(upper(few), ref0[:, iu[0], iu[1]], atol=2e-6)


@pytest.mark.parametrize("mics", [circular_array(8, 0.1), array_3d()], ids=["circ8", "3d"])
def test_background_subtraction_finds_the_line_under_a_louder_road(mics):
    """PHAT on the line bins points at the road (200 deg), as strong as the lines in those bins; the
    background-subtracted coherences point at the comb (40 deg, 30 deg). Measured over seeds 0-4: azimuth errors
    0-1 deg (circ8) and 0-3 deg (3-D), elevation errors -5..+6 deg, peak power (the lines' coherent share of
    the power in their bins) 0.33-0.41; PHAT alone 199-201 deg every time."""
    x = _background_scene(mics)
    df = FS_HZ / NFFT
    lines = np.array([600.0, 1200.0, 1800.0]) / df
    bins = np.unique(np.concatenate([np.round(lines).astype(np.int64) + d for d in (-1, 0, 1)]))
    mask = np.ones(NFFT // 2 + 1, dtype=bool)  # the background: every bin but the lines +- 2
    for k in np.round(lines).astype(np.int64):
        mask[k - 2:k + 3] = False
    srp = SrpPhat(mics, fs_hz=FS_HZ, nfft=NFFT, coarse_step_deg=5.0, fine_step_deg=1.0)
    plain = srp.locate(x, bins).peaks[0]
    assert abs(wrap_deg(math.degrees(plain[0]) - 200.0)) <= 10.0  # PHAT alone: the road
    peak = srp.locate(x, bins, noise_mask=mask).peaks[0]
    assert abs(wrap_deg(math.degrees(peak[0]) - 40.0)) <= 3.0, math.degrees(peak[0])
    assert abs(math.degrees(peak[1]) - 30.0) <= 6.0, math.degrees(peak[1])
    assert 0.25 < peak[2] < 0.6



@pytest.mark.parametrize("mics", [circular_array(8, 0.1), array_3d()], ids=["circ8", "3d"])
def test_locate_reads_only_the_bins_up_to_the_band_and_its_noise_bins(mics):
    """SrpPhat takes spectra cut after the band's top bin (the drone pipeline keeps only the bins it reads):
    with the noise bins within noise_half_width_bins of the band kept too, the peaks are the full spectra's,
    bit for bit; fewer bins than the band's are refused."""
    x = _background_scene(mics)
    df = FS_HZ / NFFT
    lines = np.array([600.0, 1200.0, 1800.0]) / df
    bins = np.unique(np.concatenate([np.round(lines).astype(np.int64) + d for d in (-1, 0, 1)]))
    mask = np.ones(NFFT // 2 + 1, dtype=bool)
    for k in np.round(lines).astype(np.int64):
        mask[k - 2:k + 3] = False
    srp = SrpPhat(mics, fs_hz=FS_HZ, nfft=NFFT, coarse_step_deg=5.0, fine_step_deg=1.0, band_max_hz=2000.0)
    keep = srp.bin_hi + 12 + 1
    full = srp.locate(x, bins, noise_mask=mask, noise_half_width_bins=12).peaks
    cut = srp.locate(np.ascontiguousarray(x[:, :, :keep]), bins, noise_mask=mask[:keep],
                     noise_half_width_bins=12).peaks
    assert keep < NFFT // 2 + 1 and np.array_equal(full, cut)
    assert np.array_equal(srp.locate(x, bins).peaks, srp.locate(np.ascontiguousarray(x[:, :, :keep]), bins).peaks)
    with pytest.raises(ValueError, match=f"expected shape \\({mics.shape[0]}, n_blocks >= 1, {srp.bin_hi + 1} to "
                                         f"{NFFT // 2 + 1}\\)"):
        srp.locate(x[:, :, :srp.bin_hi], bins[bins < srp.bin_hi])

@pytest.mark.parametrize("kwargs, message", [
    (dict(noise_mask=np.ones(10, bool)), "noise_mask: expected a bool array \\(513,\\)"),
    (dict(noise_mask=np.ones(513)), "noise_mask: expected a bool array"),
    (dict(noise_mask=np.ones(513, bool), noise_half_width_bins=0), "half_width_bins"),
])
def test_denoised_bad_input_is_refused(kwargs, message):
    x = np.ones((8, 2, NFFT // 2 + 1), np.complex64)
    with pytest.raises(ValueError, match=message):
        SrpPhat(circular_array(8), fs_hz=FS_HZ, nfft=NFFT).locate(x, [10, 11], **kwargs)


def test_denoised_non_finite_noise_bin_is_refused():
    x = np.ones((8, 2, NFFT // 2 + 1), np.complex64)
    x[3, 1, 14] = np.nan
    with pytest.raises(ValueError, match="finite values at the bins used and their noise bins"):
        SrpPhat(circular_array(8), fs_hz=FS_HZ, nfft=NFFT).locate(x, [10, 11], noise_mask=np.ones(513, bool))


# --- a flat ground's reflection -----------------------------------------------------------------------------

def tall_array():
    """drones-field-3d's array, from its spec: rings of 8, radius 0.4 m at z 0 and 0.3 m at z 0.8 m."""
    return np.asarray(resolve_settings(load_spec("drones-field-3d"))["mic_positions_m"])


def _direct_and_reflected(mics, az_deg, el_deg, height_m, reflection, bins, range_m=100.0, n_blocks=6, noise=0.05,
                          seed=0):
    """STFT blocks (M, n_blocks, NFFT // 2 + 1) of a point source's lines at the bins, range_m from the origin,
    heard directly and from its image in flat ground height_m below the origin (spherical waves, exact path
    lengths, the forward model's image source), with a random phase per block and complex noise."""
    rng = np.random.default_rng(seed)
    az, el = math.radians(az_deg), math.radians(el_deg)
    source = range_m * np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
    image = source * np.array([1.0, 1.0, -1.0]) - np.array([0.0, 0.0, 2.0 * height_m])
    c = srp_module.SPEED_OF_SOUND_MPS
    w = 2.0 * math.pi * FS_HZ / NFFT * np.asarray(bins)[:, None]  # (n_k, 1)
    d_direct = np.linalg.norm(source - mics, axis=1)
    d_image = np.linalg.norm(image - mics, axis=1)
    a = (np.exp(1j * w * (range_m - d_direct) / c) / d_direct
         + reflection * np.exp(1j * w * (range_m - d_image) / c) / d_image) * range_m  # (n_k, M)
    x = noise * (rng.standard_normal((mics.shape[0], n_blocks, NFFT // 2 + 1))
                 + 1j * rng.standard_normal((mics.shape[0], n_blocks, NFFT // 2 + 1)))
    phase = np.exp(2j * math.pi * rng.random((n_blocks, 1)))
    for m in range(mics.shape[0]):
        x[m][:, bins] += phase * a[:, m][None, :]
    return x.astype(np.complex64)


def test_ground_steering_table_matches_the_direct_formula():
    mics = tall_array()
    az, el = np.radians([10.0, 120.0, 250.0]), np.radians([2.0, 25.0, 70.0])
    bins = np.array([3, 4, 40, 41, 200, 300])
    d_omega = 2.0 * math.pi * FS_HZ / NFFT
    direct = srp_module.plane_wave_leads_s(mics, az, el)
    image = srp_module.ground_image_leads_s(mics, az, el, 1.5)
    re, im = srp_module.ground_steering_table(direct, image, bins, d_omega, 0.7)
    w = d_omega * bins[:, None, None]
    full = np.exp(1j * w * direct.T[None]) + 0.7 * np.exp(1j * w * image.T[None])  # (n_k, M, n_dirs)
    ref = full / np.abs(full)
    assert re.dtype == np.float32 and re.shape == (bins.size, 16, 3)
    np.testing.assert_allclose(re + 1j * im, ref, atol=2e-6)
    re, im = srp_module.ground_steering_table(direct, image, bins, d_omega, 0.7, phase_only=False)
    np.testing.assert_allclose(re + 1j * im, full, atol=4e-6)  # the whole vector, moduli 0.3 to 1.7
    assert np.abs(full).min() < 0.5 and np.abs(full).max() > 1.5
    # the image: the mirror direction, later at the origin by 2 h sin(el) / c
    np.testing.assert_allclose(image, srp_module.plane_wave_leads_s(mics, az, -el)
                               - (2 * 1.5 * np.sin(el) / srp_module.SPEED_OF_SOUND_MPS)[:, None])


@pytest.mark.parametrize("range_m, el_deg", [(100.0, 35.0), (100.0, 60.0), (200.0, 35.0), (200.0, 60.0)])
def test_ground_model_removes_the_reflections_pull_on_a_3d_arrays_elevation(range_m, el_deg):
    """A rotor's 4 lowest lines (180-720 Hz), as a far drone often shows, on the 0.8 m tall two-ring array:
    plane-wave steering puts the peak 2.8-3.2 deg low, the ground model within 0.7 deg (its far-field image
    is 0.6 deg off at 100 m). With so few lines the two rings' vertical ambiguity can still win: at 8 deg and
    200 m the ground model peaks 22 deg high."""
    mics = tall_array()
    bins = np.round(180.0 * np.arange(1, 5) / (FS_HZ / NFFT)).astype(np.int64)
    x = _direct_and_reflected(mics, 40.0, el_deg, 1.5, 0.7, bins, range_m=range_m)
    kw = dict(fs_hz=FS_HZ, nfft=NFFT, coarse_step_deg=5.0, fine_step_deg=0.5, el_min_deg=0.0)
    plain = SrpPhat(mics, **kw).locate(x, bins).peaks[0]
    ground = SrpPhat(mics, ground_height_m=1.5, **kw).locate(x, bins).peaks[0]
    assert abs(wrap_deg(math.degrees(ground[0]) - 40.0)) <= 0.5
    assert abs(math.degrees(ground[1]) - el_deg) <= 1.0, math.degrees(ground[1])
    assert math.degrees(plain[1]) - el_deg < -2.5, math.degrees(plain[1])  # plane waves: pulled down
    assert ground[2] > plain[2] + 0.04  # the model fits the data better


def test_ground_model_changes_little_for_a_horizontal_planar_array():
    """The far image has the direct wave's horizontal wavenumber: a common phase per bin, nothing changes. The
    image of a source at a finite range lies a little lower, hence a slightly shorter wavenumber."""
    mics = circular_array(8, 0.1)
    bins = np.round(180.0 * np.arange(1, 13) / (FS_HZ / NFFT)).astype(np.int64)
    x = _direct_and_reflected(mics, 40.0, 20.0, 1.5, 0.7, bins, noise=0.3)
    kw = dict(fs_hz=FS_HZ, nfft=NFFT, coarse_step_deg=5.0, fine_step_deg=1.0)
    plain = SrpPhat(mics, **kw)
    far = SrpPhat(mics, ground_height_m=1.5, ground_range_m=None, **kw)
    np.testing.assert_allclose(far.coarse_map(x, bins), plain.coarse_map(x, bins), atol=1e-5)
    np.testing.assert_allclose(far.locate(x, bins).peaks, plain.locate(x, bins).peaks, atol=1e-5)
    near = SrpPhat(mics, ground_height_m=1.5, **kw).locate(x, bins).peaks[0]  # the image of a source 100 m away
    np.testing.assert_allclose(near[:2], plain.locate(x, bins).peaks[0][:2], atol=math.radians(0.5))


def test_ground_model_azimuth_only_search_steers_its_fine_ring_like_the_fine_grids(monkeypatch):
    """An azimuth-only search keeps the fine ring's table; with the ground model it holds the same steering as
    the fine grids built per update (the ring table turned off)."""
    mics = tall_array()
    bins = np.round(180.0 * np.arange(1, 9) / (FS_HZ / NFFT)).astype(np.int64)
    x = _direct_and_reflected(mics, 40.0, 20.0, 1.5, 0.7, bins)
    kw = dict(fs_hz=FS_HZ, nfft=NFFT, coarse_step_deg=5.0, fine_step_deg=1.0, el_min_deg=20.0, el_max_deg=20.0,
              ground_height_m=1.5)
    ring = SrpPhat(mics, **kw)
    assert ring._fine_ring is not None
    monkeypatch.setattr(srp_module, "FINE_RING_BYTES", 0)
    grids = SrpPhat(mics, **kw)
    assert grids._fine_ring is None
    got, ref = ring.locate(x, bins).peaks[0], grids.locate(x, bins).peaks[0]
    assert abs(wrap_deg(math.degrees(got[0]) - 40.0)) <= 1.0
    # the same power at the same fine grid point; the ring search stops there, the fine grids add a parabola
    assert got[2] == pytest.approx(ref[2], abs=1e-6) and got[1] == ref[1]
    assert abs(wrap_deg(math.degrees(got[0] - ref[0]))) <= 0.5


def test_ground_image_of_a_source_at_a_finite_range_is_its_mirror_point():
    mics = tall_array()
    az, el, r, h = math.radians(30.0), math.radians(10.0), 100.0, 1.5
    source = r * np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
    image = source * np.array([1.0, 1.0, -1.0]) - np.array([0.0, 0.0, 2.0 * h])
    c = srp_module.SPEED_OF_SOUND_MPS
    got = srp_module.ground_image_leads_s(mics, az, el, h, range_m=r)[0]
    # a plane wave from the image's direction, delayed by its extra path at the origin
    u = image / np.linalg.norm(image)
    np.testing.assert_allclose(got, mics @ u / c - (np.linalg.norm(image) - r) / c, rtol=0, atol=1e-12)
    # against the exact spherical path differences, within the plane wave's curvature error |p|^2 / (2 R)
    exact = (r - np.linalg.norm(image - mics, axis=1)) / c
    np.testing.assert_allclose(got, exact, atol=float(np.max(np.sum(mics ** 2, axis=1))) / (2 * r) / c)
    # far away the image tends to the mirror direction, 2 h sin(el) later
    far = srp_module.ground_image_leads_s(mics, az, el, h, range_m=1e6)[0]
    np.testing.assert_allclose(far, srp_module.ground_image_leads_s(mics, az, el, h)[0], atol=1e-7)


@pytest.mark.parametrize("kwargs, message", [
    (dict(ground_height_m=0.0), "ground_height_m"), (dict(ground_height_m=float("nan")), "ground_height_m"),
    (dict(ground_height_m=1.5, ground_reflection=1.0), "ground_reflection"),
    (dict(ground_height_m=1.5, ground_range_m=0.0), "ground_range_m"),
    (dict(ground_height_m=1.5, ground_phase_only="no"), "ground_phase_only: expected True or False"),
])
def test_ground_model_bad_parameters_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SrpPhat(tall_array(), fs_hz=FS_HZ, nfft=NFFT, **kwargs)
