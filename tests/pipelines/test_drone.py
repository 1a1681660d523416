"""The drone pipeline on scenes rendered by the forward model, on real single-microphone clips, and live."""

import json
import math
import threading
import time

import numpy as np
import pytest

from sensorkit.datasets import load_spec
from sensorkit.datasets.drone_acoustic import resolve_settings
from sensorkit.formats.array_geometry import circular_array, uma16_array
from sensorkit.kernels.srp_phat import plane_wave_leads_s
from sensorkit.kernels.stft import stft
from sensorkit.pipelines.drone import (DroneConfig, DroneDetector, bearing_deg, clip_drone_score, default_nfft,
                                      detect_drones, null_basis, null_directions, steering_vectors)
from sensorkit.pipelines.drone_io import batch_job, follow_recording, load_audio, read_tracks, write_results, \
    write_tracks
from sensorkit.synth.acoustic import SoundScene
from sensorkit.synth.background_noise import SensorNoise, Traffic, Wind
from sensorkit.synth.drone_sound import Drone
from sensorkit.synth.interferers import Interferer
from sensorkit.synth.trajectory import Trajectory

FS = 16000.0


def _position(az_deg, el_deg, r_m):
    az, el = math.radians(az_deg), math.radians(el_deg)
    return [r_m * math.cos(el) * math.cos(az), r_m * math.cos(el) * math.sin(az), r_m * math.sin(el)]


_CACHE = {}


def _render(key, mics, sources, noise, duration_s, seed):
    if key not in _CACHE:
        scene = SoundScene(mics, FS, sources=sources, noise=noise, seed=seed)
        _CACHE[key] = scene.render_all(duration_s)
    return _CACHE[key]


def one_drone(mics, key):
    """A quadcopter hovering 60 m away at azimuth 40 deg, elevation 25 deg, in wind and self-noise."""
    return _render(key, mics, [Drone(Trajectory.hover(_position(40.0, 25.0, 60.0)), rpm=5400.0)],
                   [SensorNoise(32.0), Wind(45.0)], 5.0, 11)


def _circular_median_deg(a):
    a = np.asarray(a)
    return float((a[0] + np.median((a - a[0] + 180.0) % 360.0 - 180.0)) % 360.0)


def _az_error(a, b):
    return abs((a - b + 180.0) % 360.0 - 180.0)


def _confirmed(result):
    return [t for t in result.tracks if t.confirmed]


@pytest.mark.parametrize("array", ["circular8", "uma16"])
def test_one_drone_found_at_its_azimuth(array):
    mics = circular_array(8, 0.1) if array == "circular8" else uma16_array()
    x = one_drone(mics, array)
    result = detect_drones(x, FS, mics)
    tracks = _confirmed(result)
    assert len(tracks) == 1, [repr((t.track_id, t.state, t.n_updates)) for t in result.tracks]
    t = tracks[0]
    az = _circular_median_deg(t.azimuth_deg())
    assert _az_error(az, 40.0) <= 2.0, az
    assert abs(float(np.median(t.elevation_deg())) - 25.0) <= 6.0
    # blade passing 2 x 5400 / 60 = 180 Hz (rotor offsets within +-2 %)
    assert abs(float(np.nanmedian(t.f0_hz)) - 180.0) <= 6.0
    assert t.end_time_s - t.start_time_s >= 3.5  # one id from the start to the end of the 5 s clip
    assert result.has_direction and result.parameters["nfft"] == 4096 == default_nfft(FS)


def test_two_drones_30_degrees_apart_give_two_stable_tracks():
    mics = circular_array(8, 0.1)
    sources = [Drone(Trajectory.hover(_position(40.0, 25.0, 60.0)), rpm=4800.0),
               Drone(Trajectory.hover(_position(70.0, 30.0, 55.0)), rpm=6300.0, n_rotors=6)]
    x = _render("two", mics, sources, [SensorNoise(32.0), Wind(45.0)], 6.0, 12)
    result = detect_drones(x, FS, mics)
    tracks = sorted(_confirmed(result), key=lambda t: _circular_median_deg(t.azimuth_deg()))
    assert len(tracks) == 2, [(t.track_id, t.state, t.n_updates) for t in result.tracks]
    for t, az_true, el_true, f0_true in zip(tracks, (40.0, 70.0), (25.0, 30.0), (160.0, 210.0)):
        # measured with seeds 12 and 21-24: azimuths within 2.0 deg, elevations within 1.9 deg (median over the
        # track; background-subtracted SRP on the lines that stand out: before it, the louder six-rotor drone's
        # lines pulled the other track to 63 deg)
        assert _az_error(_circular_median_deg(t.azimuth_deg()), az_true) <= 2.5
        assert abs(float(np.median(t.elevation_deg())) - el_true) <= 3.0
        assert abs(float(np.nanmedian(t.f0_hz)) - f0_true) <= 8.0
        # a stable id: once confirmed, one track to the end of the clip (measured with the same seeds: from
        # 0.1-2.6 s to 5.4-5.8 s; the 210 Hz drone's comb is sometimes found later than the other's)
        assert t.end_time_s - t.start_time_s >= 3.0 and t.end_time_s > 5.0
    assert tracks[0].track_id != tracks[1].track_id


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_drone_3_degrees_above_the_horizon_is_tracked_from_the_start(seed):
    """A planar ring puts many of a low drone's detections at the edge of its elevation grid (0 deg). Those
    go to the tracker with a 15 deg elevation std (horizon_elevation_std_deg): their azimuth counts, their
    elevation hardly. Measured (150 m away, 3 deg up, 50 dB wind, 8 s): one track over the whole clip, azimuth
    within 1.1 deg, elevation 10.1-14.7 deg; when they were dropped (None), seed 2 gave no track, seed 1 an
    elevation of 21 deg and seed 3 a track starting 1 s late."""
    mics = circular_array(8, 0.1)
    drone = Drone(Trajectory.hover(_position(130.0, 3.0, 150.0)), rpm=5000.0)
    x = _render(f"low{seed}", mics, [drone], [SensorNoise(32.0), Wind(50.0)], 8.0, seed)
    (track,) = detect_drones(x, FS, mics).confirmed_tracks()
    assert track.time_s[-1] - track.time_s[0] >= 7.5
    assert _az_error(_circular_median_deg(np.degrees(track.azimuth_rad)), 130.0) <= 2.0
    assert abs(float(np.median(np.degrees(track.elevation_rad))) - 3.0) <= 12.0


@pytest.mark.parametrize("seed", [1, 2])
def test_the_ground_model_takes_the_reflections_pull_off_a_3d_arrays_elevation(seed):
    """A drone hovering 200 m away, 20 deg up, over ground reflecting 0.7 of its sound 1.5 m below the array
    (the forward model's image source): steered as plane waves, the 0.8 m tall array's track sits 1.8-2.6 deg
    low (seeds 1-4); with the ground model (height 1.5 m, reflection 0.5) within 0.2 deg."""
    mics = np.asarray(resolve_settings(load_spec("drones-field-3d"))["mic_positions_m"])
    x = _render(("tall", seed), mics, [Drone(Trajectory.hover(_position(40.0, 20.0, 200.0)), rpm=5400.0)],
                [SensorNoise(32.0), Wind(45.0)], 6.0, seed)
    elevation = {}
    for name, config in (("free", DroneConfig()), ("ground", DroneConfig(ground_height_m=1.5))):
        tracks = _confirmed(detect_drones(x, FS, mics, config))
        assert len(tracks) == 1, name
        assert _az_error(_circular_median_deg(tracks[0].azimuth_deg()), 40.0) <= 0.5, name
        elevation[name] = float(np.median(tracks[0].elevation_deg()))
    assert abs(elevation["ground"] - 20.0) <= 0.6, elevation
    assert elevation["free"] - 20.0 <= -1.2, elevation


@pytest.mark.parametrize("seed", [1, 2])
def test_line_contrast_directions_track_the_drone_with_the_ground_model(seed):
    """doa_method "line_contrast" on the scene above: one track, azimuth within 0.5 deg and elevation within 1
    deg (measured, seeds 1-4: 39.9-40.1 deg, 19.5-19.6 deg; SRP-PHAT 39.9-40.1, 19.9-20.1), its detections'
    directions those of the contrast, not SRP-PHAT's."""
    mics = np.asarray(resolve_settings(load_spec("drones-field-3d"))["mic_positions_m"])
    x = _render(("tall", seed), mics, [Drone(Trajectory.hover(_position(40.0, 20.0, 200.0)), rpm=5400.0)],
                [SensorNoise(32.0), Wind(45.0)], 6.0, seed)
    results = {m: detect_drones(x, FS, mics, DroneConfig(ground_height_m=1.5, doa_method=m))
               for m in ("srp", "line_contrast")}
    (track,) = _confirmed(results["line_contrast"])
    assert _az_error(_circular_median_deg(track.azimuth_deg()), 40.0) <= 0.5
    assert abs(float(np.median(track.elevation_deg())) - 20.0) <= 1.0
    srp, contrast = (results[m].detections for m in ("srp", "line_contrast"))
    assert np.array_equal(srp["f0_hz"], contrast["f0_hz"]) and np.array_equal(srp["srp_power"], contrast["srp_power"])
    assert np.mean(srp["azimuth_rad"] != contrast["azimuth_rad"]) > 0.5


def test_the_beam_search_tracks_a_far_drone_in_wind_for_longer():
    """A 167 Hz rotor 250 m away (az 130 deg, between two of the four beams, 12 deg up) in 60 dB wind, four
    seeds. The channel mean's comb alone confirmed 0, 2.6, 0 and 3.5 s of track; with the beam search
    (search_beams) 1.3, 6.1, 0 and 7.2 s, every track within 4 deg of the drone's azimuth (measured)."""
    mics = circular_array(8, 0.1)
    spans = {0: 0.0, 4: 0.0}
    for seed in (1, 3, 4, 6):
        drone = Drone(Trajectory.hover(_position(130.0, 12.0, 250.0)), rpm=5000.0)
        x = _render(f"far{seed}", mics, [drone], [SensorNoise(32.0), Wind(60.0)], 8.0, seed)
        for beams in spans:
            for track in detect_drones(x, FS, mics, DroneConfig(search_beams=beams)).confirmed_tracks():
                assert _az_error(_circular_median_deg(np.degrees(track.azimuth_rad)), 130.0) <= 6.0
                assert abs(float(np.nanmedian(track.f0_hz)) - 167.0) <= 6.0
                spans[beams] += track.time_s[-1] - track.time_s[0]
    assert spans[4] >= 2.0 * spans[0] and spans[4] >= 12.0, spans


def test_whitened_combs_track_a_drone_under_road_traffic():
    """A 167 Hz rotor 80 m away (az 70 deg, 15 deg up) under 50 dB road traffic and 50 dB wind, four seeds, with
    the lines' contrast for directions: the channel mean's comb (and its beams) confirmed no track on any seed;
    with whitened_combs 5.5, 7.3, 6.7 and 7.3 s of the 8 s, every track within 7 deg of the drone's azimuth
    (measured)."""
    mics = circular_array(8, 0.1)
    spans = {False: 0.0, True: 0.0}
    for seed in (1, 2, 3, 4):
        drone = Drone(Trajectory.hover(_position(70.0, 15.0, 80.0)), rpm=5000.0)
        x = _render(f"road{seed}", mics, [drone], [SensorNoise(32.0), Traffic(50.0), Wind(50.0)], 8.0, seed)
        for whitened in spans:
            config = DroneConfig(whitened_combs=whitened, doa_method="line_contrast")
            for track in detect_drones(x, FS, mics, config).confirmed_tracks():
                assert _az_error(_circular_median_deg(np.degrees(track.azimuth_rad)), 70.0) <= 9.0
                assert abs(float(np.nanmedian(track.f0_hz)) - 167.0) <= 6.0
                spans[whitened] += track.time_s[-1] - track.time_s[0]
    assert spans[False] <= 2.0 and spans[True] >= 20.0, spans


def test_a_comb_found_at_a_third_of_a_rotors_fundamental_is_moved_up_to_it():
    """drones-field train clip multi-000: a 185 Hz rotor beside a louder 139 Hz one was found as a 62 Hz comb
    (its lines as harmonics 3 and 6, plus noise at 2), taken for an engine, and never tracked. Every line
    standing 3 x over the floor is a multiple of 3: the comb is moved to 3 f0. An engine's comb, with lines at
    every order, is not."""
    det = DroneDetector(8, FS, circular_array(8, 0.1))
    df = det.df_hz
    f0 = 61.7
    ratio = np.ones(det.n_bins, dtype=np.float32)
    row = np.full(8, -1, dtype=np.int64)
    for k, level in ((2, 2.5), (3, 240.0), (6, 4.1)):
        row[k - 1] = round(k * f0 / df)
        ratio[row[k - 1]] = level
    moved, moved_row = det._undo_subharmonic(f0, row.copy(), ratio)
    assert moved == pytest.approx(3 * f0)
    np.testing.assert_array_equal(moved_row[:2], row[[2, 5]])
    assert np.all(moved_row[2:] == -1)
    engine = ratio.copy()
    for k in (1, 2, 4, 5):
        engine[round(k * f0 / df)] = 20.0  # the other orders stand too
    assert det._undo_subharmonic(f0, np.where(np.arange(8) < 6, [round(k * f0 / df) for k in range(1, 9)], -1),
                                 engine)[0] == f0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_drone_whose_lines_sit_on_a_generators_orders_is_found_with_the_generator_nulled(seed):
    """A 200 Hz rotor 120 m away (az 60 deg, 25 deg up) and a 50 Hz generator 25 m away (az 250 deg): every
    rotor line falls on a generator order. The first comb search finds the generator and masks its orders,
    and the drone with them: no track (measured for these three seeds). The engine-null pass (null_engines)
    projects the generator's direction out of the spectra and finds the rotor. Measured: one track over the
    clip (7.4-7.7 s), azimuth 61.4-63.7 deg, f0 197-201 Hz; its elevation (2.7-14.7 deg) is poor."""
    mics = circular_array(8, 0.1)
    generator = Interferer.generator(_position(250.0, -3.0, 25.0), firing_frequency_hz=50.0, level_db=80.0)
    drone = Drone(Trajectory.hover(_position(60.0, 25.0, 120.0)), rpm=6000.0)
    x = _render(f"generator{seed}", mics, [drone, generator], [SensorNoise(32.0), Wind(45.0)], 8.0, seed)
    assert detect_drones(x, FS, mics, DroneConfig(null_engines=False)).confirmed_tracks() == []
    (track,) = detect_drones(x, FS, mics).confirmed_tracks()
    assert track.time_s[-1] - track.time_s[0] >= 7.0
    assert _az_error(_circular_median_deg(np.degrees(track.azimuth_rad)), 60.0) <= 5.0
    assert abs(float(np.nanmedian(track.f0_hz)) - 200.0) <= 6.0


def test_null_directions_removes_the_plane_wave_from_its_direction_only():
    mics = circular_array(8, 0.1)
    rng = np.random.default_rng(0)
    n, nfft = 16000, 1024
    t = np.arange(n) / FS
    x = np.zeros((n, 8))
    for az, f in ((250.0, 400.0), (60.0, 700.0)):  # a line from each direction
        lead = plane_wave_leads_s(mics, [math.radians(az)], [0.0])[0]
        x += np.cos(2 * np.pi * f * (t[:, None] + lead[None, :]))
    spectra = stft((x + 1e-3 * rng.standard_normal(x.shape)).astype(np.float32), nfft=nfft)
    df = FS / nfft
    basis = null_basis([steering_vectors(mics, math.radians(250.0), 0.0, spectra.shape[2], df)])
    out = null_directions(spectra, basis)
    power = lambda s, f: float(np.mean(np.abs(s[:, :, int(round(f / df))]) ** 2))  # noqa: E731
    assert power(out, 400.0) < 1e-4 * power(spectra, 400.0)  # the nulled direction's line: below -40 dB
    assert power(out, 700.0) > 0.5 * power(spectra, 700.0)  # the other keeps most of its power
    two = null_basis([steering_vectors(mics, math.radians(a), 0.0, spectra.shape[2], df) for a in (250.0, 60.0)])
    assert power(null_directions(spectra, two), 700.0) < 1e-4 * power(spectra, 700.0)


def test_noise_and_a_passing_car_give_no_confirmed_track():
    mics = circular_array(8, 0.1)
    car = Interferer.car(Trajectory.flyby([-37.6, -13.7, -1.0], 13.9, math.radians(290.0), 3.0))
    x = _render("car", mics, [car], [SensorNoise(32.0), Wind(55.0), Traffic(48.0)], 6.0, 13)
    result = detect_drones(x, FS, mics)
    assert _confirmed(result) == []
    # the car's engine comb is heard (detections at its 80 Hz firing frequency), but not tracked as a drone
    d = result.detections
    assert len(d) > 0 and not np.any(d["used"] & (d["f0_hz"] < 95.0))


@pytest.mark.parametrize("seed", [7, 10])
def test_a_motorbikes_half_orders_are_not_tracked(seed):
    """A motorbike passing 340-440 m away (V-twin, firing 75-95 Hz): its half and quarter orders make combs at
    5/4 and 3/2 of its firing frequency, near or above the drone band's lower edge. Without the engine memory
    (and with that edge at 95 Hz, as it was before 100) they gave one confirmed false track for each of these two
    seeds (and none for 10 other seeds); with it, none."""
    rng = np.random.default_rng(seed)
    d, az, rpm = rng.uniform(150, 450), rng.uniform(0, 2 * math.pi), rng.uniform(4000, 6000)
    moto = Interferer.motorbike(Trajectory.flyby([d * math.cos(az), d * math.sin(az), -1.2], rng.uniform(5, 15),
                                                 rng.uniform(0, 2 * math.pi), 4.0), engine_rpm=rpm)
    mics = circular_array(8, 0.1)
    x = _render(f"motorbike{seed}", mics, [moto], [SensorNoise(32.0), Wind(50.0)], 8.0, seed)
    control = DroneConfig(engine_memory_s=0.0, drone_f0_min_hz=95.0)
    assert len(detect_drones(x, FS, mics, control).confirmed_tracks()) == 1
    assert detect_drones(x, FS, mics).confirmed_tracks() == []


@pytest.mark.parametrize("whitened", [False, True])
def test_streaming_in_pieces_equals_one_call(whitened):
    mics = circular_array(8, 0.1)
    x = one_drone(mics, "circular8")[: int(3 * FS)]
    config = DroneConfig(whitened_combs=whitened)
    whole = detect_drones(x, FS, mics, config, include_tentative=True)
    det = DroneDetector(8, FS, mics, config, include_tentative=True)
    for start in range(0, x.shape[0], 3001):  # odd piece sizes, not multiples of the hop
        det.process(x[start:start + 3001])
    pieces = det.result()
    assert np.array_equal(whole.detections, pieces.detections)
    assert [t.track_id for t in whole.tracks] == [t.track_id for t in pieces.tracks]
    np.testing.assert_array_equal(whole.frame_times_s, pieces.frame_times_s)


def _one_drone_at(fs_hz):
    """The scene of ``one_drone`` (circular array, same seed) rendered at fs_hz."""
    key = ("one_drone_fs", fs_hz)
    if key not in _CACHE:
        scene = SoundScene(circular_array(8, 0.1), fs_hz, sources=[Drone(Trajectory.hover(_position(40.0, 25.0, 60.0)),
                                                                          rpm=5400.0)],
                           noise=[SensorNoise(32.0), Wind(45.0)], seed=11)
        _CACHE[key] = scene.render_all(5.0)
    return _CACHE[key]


def test_48_khz_is_decimated_to_16_khz_and_streams_in_pieces():
    mics = circular_array(8, 0.1)
    x = _one_drone_at(48000.0)[: int(3 * 48000)]
    whole = detect_drones(x, 48000.0, mics, include_tentative=True)
    p = whole.parameters
    assert (p["decimation"], p["analysis_fs_hz"], p["nfft"], p["fs_hz"]) == (3, 16000.0, 4096, 48000.0)
    assert p["frames_in"] == x.shape[0] and len(whole.detections) > 0
    det = DroneDetector(8, 48000.0, mics, include_tentative=True)
    for start in range(0, x.shape[0], 9001):  # odd pieces: not multiples of the decimation factor nor of the hop
        det.process(x[start:start + 9001])
    pieces = det.result()
    assert whole.detections.tobytes() == pieces.detections.tobytes()  # bit-exact, NaN directions included
    assert [t.track_id for t in whole.tracks] == [t.track_id for t in pieces.tracks]
    np.testing.assert_array_equal(whole.frame_times_s, pieces.frame_times_s)
    # the filter state across calls: one frame at a time for the first 0.1 s gives the same first blocks
    det1 = DroneDetector(8, 48000.0, mics, include_tentative=True)
    for i in range(4800):
        det1.process(x[i:i + 1])
    det1.process(x[4800:])
    assert det1.result().detections.tobytes() == whole.detections.tobytes()
    # no decimation when asked (None) or when the input is not at least twice analysis_fs_hz; 44.1 kHz -> 22.05 kHz
    assert DroneDetector(8, 48000.0, mics, DroneConfig(analysis_fs_hz=None)).nfft == 16384
    assert DroneDetector(8, 24000.0, mics).decimation == 1
    d441 = DroneDetector(8, 44100.0, mics)
    assert (d441.decimation, d441.analysis_fs_hz, d441.nfft) == (2, 22050.0, 4096)
    with pytest.raises(ValueError, match="DroneConfig.analysis_fs_hz"):
        DroneConfig(analysis_fs_hz=100.0)


def test_48_khz_rendering_gives_the_16_khz_fundamental_and_direction():
    mics = circular_array(8, 0.1)
    found = {}
    for fs in (16000.0, 48000.0):
        tracks = _confirmed(detect_drones(_one_drone_at(fs), fs, mics))
        assert len(tracks) == 1, fs
        t = tracks[0]
        found[fs] = (_circular_median_deg(t.azimuth_deg()), float(np.median(t.elevation_deg())),
                     float(np.nanmedian(t.f0_hz)), t.start_time_s, t.end_time_s)
    (az16, el16, f16, s16, e16), (az48, el48, f48, s48, e48) = found[16000.0], found[48000.0]
    # measured: azimuth 39.9 / 39.8 deg, elevation 25.6 / 25.9 deg, f0 181.6 / 181.5 Hz
    assert _az_error(az48, az16) <= 2.0 and abs(el48 - el16) <= 2.0 and _az_error(az48, 40.0) <= 2.0
    assert abs(f48 - f16) <= 16000.0 / 4096  # within one STFT bin
    assert abs(s48 - s16) <= 0.13 and abs(e48 - e16) <= 0.13  # the same frames (minus the filter's 0.27 ms)


def test_heading_gives_bearings_from_true_north():
    assert bearing_deg(math.radians(40.0), 100.0) == pytest.approx(60.0)
    assert bearing_deg(math.radians(350.0), 0.0) == pytest.approx(10.0)
    mics = circular_array(8, 0.1)
    x = one_drone(mics, "circular8")
    result = detect_drones(x, FS, mics, heading_deg=100.0)
    t = _confirmed(result)[0]
    expected = np.mod(100.0 - t.azimuth_deg(), 360.0)
    np.testing.assert_allclose(t.bearing_deg, expected)
    assert abs(float(np.median(t.bearing_deg)) - 60.0) <= 2.0


def test_single_channel_gives_fundamentals_without_direction():
    mics = circular_array(8, 0.1)
    x = one_drone(mics, "circular8")[:, :1]
    result = detect_drones(x, FS, None)
    assert not result.has_direction and result.parameters["beam_score_threshold"] is None  # no beams
    used = result.detections[result.detections["used"]]
    assert len(used) >= 0.8 * len(result.frame_times_s)
    assert abs(float(np.median(used["f0_hz"])) - 180.0) <= 6.0
    assert np.all(np.isnan(used["azimuth_rad"]))
    tracks = _confirmed(result)
    assert len(tracks) == 1 and not tracks[0].has_direction


def test_real_bebop_clip_fundamental_is_its_strongest_rotor_line(shared_data):
    """The clip's rotor fundamental, read independently from its Welch spectrum: the strongest line between 300
    and 500 Hz (398-410 Hz in this clip); the pipeline's fundamentals must sit within 15 Hz of it."""
    import scipy.signal

    path = shared_data / "acoustic" / "drone-audio-dataset" / "yes_drone" / "B_S2_D1_120-bebop_002_.wav"
    audio = load_audio(path)
    assert audio.samples.shape[1] == 1 and audio.fs_hz == 16000.0 and audio.mic_positions_m is None
    f, psd = scipy.signal.welch(audio.samples[:, 0].astype(np.float64), audio.fs_hz, nperseg=4096)
    band = (f >= 300.0) & (f <= 500.0)
    line_hz = float(f[band][np.argmax(psd[band])])
    assert 390.0 <= line_hz <= 420.0
    result = detect_drones(audio.samples, audio.fs_hz, None)
    used = result.detections[result.detections["used"]]
    assert len(used) >= 0.5 * len(result.frame_times_s)
    assert abs(float(np.median(used["f0_hz"])) - line_hz) <= 15.0


def _auc(pos, neg):
    pos, neg = np.asarray(pos), np.asarray(neg)
    return float(((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum())
                 / (pos.size * neg.size))


def test_real_folders_separation_by_harmonic_detector(shared_data):
    """Every 3rd drone clip and every 13th negative. Two statistics per clip: the pipeline's largest comb score of
    a tracked detection (0 without one), and ``clip_drone_score`` (harmonics present per block, lowered for an
    unsteady level). The negatives hold speech and music, which are harmonic too. Measured on these clips: 0.87
    and 0.97."""
    base = shared_data / "acoustic" / "drone-audio-dataset"
    yes = sorted((base / "yes_drone").glob("*.wav"))[::3]
    no = sorted((base / "unknown").glob("*.wav"))[::13]
    assert len(yes) == 20 and len(no) == 41

    def statistic(path):
        a = load_audio(path)
        d = detect_drones(a.samples, a.fs_hz, None).detections
        return float(d["comb_score"][d["used"]].max()) if d["used"].any() else 0.0, \
            clip_drone_score(a.samples, a.fs_hz)

    pos = np.array([statistic(p) for p in yes])
    neg = np.array([statistic(p) for p in no])
    auc_comb, auc_clip = _auc(pos[:, 0], neg[:, 0]), _auc(pos[:, 1], neg[:, 1])
    assert 0.7 <= auc_comb <= 0.95, auc_comb
    assert auc_clip >= 0.93 and auc_clip > auc_comb, (auc_clip, auc_comb)
    assert np.mean(pos[:, 0] > 0) >= 0.85  # a drone clip almost always has a tracked comb


def test_real_folders_whole_separation_meets_the_goal(shared_data):
    """The issue's goal: ``clip_drone_score`` separates all 58 drone clips from all 521 negatives with ROC AUC >=
    0.9. Measured: 0.924, with 31 of the 58 drone clips (53 %) over the negatives' 95th percentile."""
    base = shared_data / "acoustic" / "drone-audio-dataset"
    yes = sorted((base / "yes_drone").glob("*.wav"))
    no = sorted((base / "unknown").glob("*.wav"))
    assert len(yes) == 58 and len(no) == 521

    def score(path):
        a = load_audio(path)
        return clip_drone_score(a.samples, a.fs_hz)

    pos = np.array([score(p) for p in yes])
    neg = np.array([score(p) for p in no])
    assert _auc(pos, neg) >= 0.9, _auc(pos, neg)
    assert np.mean(pos > np.quantile(neg, 0.95)) >= 0.45


def test_clip_drone_score_counts_harmonics():
    rng = np.random.default_rng(0)
    t = np.arange(int(FS)) / FS
    rotor = sum(np.cos(2 * np.pi * k * 380.0 * t + rng.uniform(0, 6.3)) * 0.8 ** k for k in range(1, 9))
    phase = 2 * np.pi * np.cumsum(150.0 + 100.0 * t) / FS  # a voice-like glide, 150 -> 250 Hz in 1 s
    glide = sum(np.cos(k * phase) * 0.8 ** k for k in range(1, 9))
    noise = rng.standard_normal(t.size)
    rotor_score = clip_drone_score(rotor + noise, FS)  # measured 7.38 (8 lines), glide 5.79, noise 0.31
    assert rotor_score >= 7.0
    assert clip_drone_score(glide + noise, FS) <= rotor_score - 1.0
    assert clip_drone_score(noise, FS) <= 1.0
    assert clip_drone_score(np.zeros(t.size), FS) == 0.0
    bursts = rotor * (np.sin(2 * np.pi * 4.0 * t) > 0)  # the same lines, on and off four times a second
    assert clip_drone_score(bursts + 0.1 * noise, FS) <= 0.5 * rotor_score  # measured 1.05
    with pytest.raises(ValueError, match="fs_hz"):
        clip_drone_score(noise, 4000.0)


def test_follow_a_recording_while_it_is_written(tmp_path):
    from sensorkit.formats.base import DeviceInfo
    from sensorkit.store import RecordingWriter
    from sensorkit.store.schema import BLOCK_META_DTYPE, empty_records

    mics = circular_array(8, 0.1)
    x = one_drone(mics, "circular8")
    path = tmp_path / "live.h5"
    writer = RecordingWriter(path, live=True, flush_interval_s=0.2)
    writer.add_device("mic", DeviceInfo(kind="acoustic"))
    writer.add_audio_stream("mic", n_channels=8, fs_hz=FS, dtype="float32", mic_positions_m=mics, units="Pa")
    writer.flush()
    block = int(0.25 * FS)
    appended = {}  # last frame appended -> wall time

    def write():
        for seq, first in enumerate(range(0, x.shape[0], block)):
            rec = empty_records(BLOCK_META_DTYPE, 1)
            rec["seq"], rec["first_frame"] = seq, first
            writer.append_audio("mic", x[first:first + block], rec)
            writer.flush()
            appended[first + min(block, x.shape[0] - first)] = time.monotonic()
            time.sleep(0.25)  # real time: 0.25 s of sound every 0.25 s
        writer.close()

    lags = []

    def on_update(det):
        now = time.monotonic()
        last_frame = det.frames_in
        written = [t for n, t in appended.items() if n >= last_frame]
        if written:
            lags.append(now - min(written))

    thread = threading.Thread(target=write)
    thread.start()
    try:
        result = follow_recording(path, poll_s=0.05, idle_timeout_s=5.0, on_update=on_update)
    finally:
        thread.join()
    assert result.parameters["frames_in"] == x.shape[0]  # everything the writer wrote was processed
    tracks = _confirmed(result)
    assert len(tracks) == 1 and _az_error(_circular_median_deg(tracks[0].azimuth_deg()), 40.0) <= 2.0
    assert len(lags) >= 10
    assert max(lags) < 2.0, max(lags)  # bounded latency: processed within 2 s of being written


def test_outputs_results_and_batch_job(tmp_path):
    import h5py

    from sensorkit.formats.base import DeviceInfo
    from sensorkit.store import RecordingWriter
    from sensorkit.store.schema import BLOCK_META_DTYPE, GNSS_FIX_DTYPE, empty_records

    mics = circular_array(8, 0.1)
    x = one_drone(mics, "circular8")
    path = tmp_path / "rec.h5"
    with RecordingWriter(path) as w:
        w.add_device("mic", DeviceInfo(kind="acoustic"))
        w.add_audio_stream("mic", n_channels=8, fs_hz=FS, dtype="float32", mic_positions_m=mics, units="Pa")
        rec = empty_records(BLOCK_META_DTYPE, 1)
        w.append_audio("mic", x, rec)
        w.add_gnss_stream("gps")
        fixes = empty_records(GNSS_FIX_DTYPE, 3)
        fixes["lat"], fixes["lon"] = [52.1, 52.3, 52.2], [4.5, 4.7, 4.6]
        w.append_gnss("gps", fixes)
    summary = batch_job(path, tmp_path / "out", {"min_track_s": 2.0})
    assert json.loads(json.dumps(summary)) == summary
    assert summary["n_confirmed"] == 1 and summary["duration_s"] == 5.0 and summary["n_channels"] == 8
    assert _az_error(summary["tracks"][0]["azimuth_deg"], 40.0) <= 2.0
    doc = json.loads((tmp_path / "out" / "rec.tracks.json").read_text())
    assert doc["parameters"]["config"]["min_track_s"] == 2.0 and doc["duration_s"] == 5.0
    assert (doc["array_lat"], doc["array_lon"]) == (52.2, 4.6)  # the median GNSS fix of the recording

    audio = load_audio(path)
    result = detect_drones(audio.samples, audio.fs_hz, audio.mic_positions_m)
    write_tracks(result, tmp_path / "t.csv")
    back = read_tracks(tmp_path / "t.csv")
    assert [t["track_id"] for t in back] == [t.track_id for t in result.tracks]
    np.testing.assert_allclose(back[0]["azimuth_deg"], result.tracks[0].azimuth_deg(), rtol=1e-5)
    assert write_results(path, result) == "/results/drone"
    with h5py.File(path, "r") as f:
        rows = f["results/drone/tracks"][()]
        assert len(rows) == result.tracks[0].n_updates
        assert json.loads(f["results/drone"].attrs["parameters"])["nfft"] == 4096
    with pytest.raises(FileExistsError):
        write_results(path, result)


def test_config_validation():
    with pytest.raises(ValueError, match="DroneConfig.pfa"):
        DroneConfig(pfa=0.0)
    with pytest.raises(ValueError, match="DroneConfig.hop"):
        DroneConfig(nfft=1024, hop=2048)
    with pytest.raises(ValueError, match="unknown field"):
        DroneConfig.from_dict({"nfft": 1024, "bogus": 1})
    with pytest.raises(ValueError, match="DroneConfig.null_engines: expected True or False"):
        DroneConfig(null_engines="yes")
    with pytest.raises(ValueError, match="DroneConfig.whitened_combs: expected True or False"):
        DroneConfig(whitened_combs=1)
    with pytest.raises(ValueError, match="DroneConfig.horizon_elevation_std_deg"):
        DroneConfig(horizon_elevation_std_deg=0.0)
    with pytest.raises(ValueError, match="DroneConfig.search_beams: expected an integer"):
        DroneConfig(search_beams=2.5)
    with pytest.raises(ValueError, match="DroneConfig.search_beam_pfa"):
        DroneConfig(search_beam_pfa=0.0)
    with pytest.raises(ValueError, match="DroneConfig.search_beam_elevation_deg"):
        DroneConfig(search_beam_elevation_deg=91.0)
    with pytest.raises(ValueError, match="DroneConfig.ground_height_m"):
        DroneConfig(ground_height_m=-1.5)
    with pytest.raises(ValueError, match="DroneConfig.ground_reflection"):
        DroneConfig(ground_height_m=1.5, ground_reflection=1.0)
    with pytest.raises(ValueError, match=r"DroneConfig.doa_method: expected one of \('srp', 'line_contrast'\)"):
        DroneConfig(doa_method="music")
    ground = DroneConfig.from_dict({"ground_height_m": 1.5})
    assert DroneConfig.from_dict(ground.to_dict()) == ground and ground.ground_reflection == 0.5
    cfg = DroneConfig.from_dict({"tracker": {"confirm_m": 2}, "null_engines": False,
                                 "horizon_elevation_std_deg": None})
    assert cfg.tracker.confirm_m == 2 and DroneConfig.from_dict(cfg.to_dict()) == cfg
    assert not cfg.null_engines and cfg.horizon_elevation_std_deg is None
    beams = DroneConfig.from_dict({"search_beams": 6, "search_beam_elevation_deg": 30.0, "search_beam_pfa": 1e-5})
    assert DroneConfig.from_dict(beams.to_dict()) == beams and beams.search_beams == 6
    with pytest.raises(ValueError, match="mic_positions_m"):
        DroneDetector(4, FS, np.zeros((3, 3)))
