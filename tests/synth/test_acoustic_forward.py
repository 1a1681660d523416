"""The drone sound-field forward model: physics checked with numbers.

Spreading 1/r, ISO 9613-1 absorption against the standard's tabulated values, Doppler against a closed-form
retarded time, time differences of arrival against the geometry, the ground-reflection comb filter, levels of
noise and interferers, ground-truth directions, continuity of chunked rendering, and the Numba kernel against
its NumPy reference.
"""

import math

import numpy as np
import pytest
from scipy.signal import hilbert

from sensorkit.formats.array_geometry import circular_array, uma16_array
from sensorkit.kernels.acoustic_forward import render_point_sources, render_point_sources_reference
from sensorkit.synth.acoustic import SoundScene
from sensorkit.synth.air_absorption import air_absorption_db_per_m, speed_of_sound_mps
from sensorkit.synth.background_noise import Birds, SensorNoise, Traffic, Wind
from sensorkit.synth.drone_sound import GRAVITY_MPS2, Drone
from sensorkit.synth.interferers import Interferer
from sensorkit.synth.sound_sources import BroadbandSpectrum, PointSource, level_db
from sensorkit.synth.trajectory import Trajectory

FS = 16000.0
C20 = speed_of_sound_mps(20.0)  # 343.2 m/s
ORIGIN = np.zeros((1, 3))


def spl_db(x) -> float:
    """Sound pressure level (dB re 20 uPa) of samples in Pa."""
    return level_db(float(np.mean(np.square(np.asarray(x, dtype=np.float64)))))


def quiet_scene(sources, mics=ORIGIN, fs=FS, ground=None, **kw):
    return SoundScene(mics, fs, sources=sources, noise=kw.pop("noise", []), ground_reflection=ground, **kw)


# ------------------------------------------------------------------------------------------------ kernel


def rich_scene(**kw):
    drone = Drone(Trajectory.waypoints([(-60, 40, 30), (20, 40, 35), (20, -30, 20)], 12.0, dwell_s=0.3))
    car = Interferer.car(Trajectory.flyby((0.0, -40.0, -1.0), 14.0, heading_rad=math.pi))
    return SoundScene(circular_array(8, 0.1), FS, sources=[drone, car],
                      noise=[Wind(), SensorNoise(), Traffic(), Birds()], seed=3, **kw)


def test_kernel_equals_numpy_reference():
    scene = rich_scene()
    block = scene.point_source_block(8192 * 3 + 100, 3000)
    assert block.tone_phase_rad.shape[0] == 2 * (4 + 1)  # (4 rotors + 1 engine comb) x (direct + ground)
    assert block.bb_position.shape[0] == 2 * (2 + 3)  # (drone, car, 3 traffic sources) x 2 paths
    fast = render_point_sources(block)
    ref = render_point_sources_reference(block)
    scale = float(np.max(np.abs(ref)))
    assert scale > 1e-3
    np.testing.assert_allclose(fast, ref, rtol=0, atol=1e-9 * scale)


def test_scene_with_reference_kernel_renders_the_same():
    def scene(**kw):
        drone = Drone(Trajectory.flyby((0.0, 40.0, 20.0), 15.0))
        return SoundScene(circular_array(4, 0.1), FS, sources=[drone], seed=3, **kw)

    a = scene().render(0.5, 4000)
    b = scene(use_reference_kernel=True).render(0.5, 4000)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-6 * float(np.max(np.abs(a))))


# ------------------------------------------------------------------------------------------------ spreading, absorption

# ISO 9613-2:1996 Table 2: atmospheric attenuation coefficient (dB/km) at 101.325 kPa for octave bands, computed with
# ISO 9613-1 at the exact midband frequencies 1000 x 10 ** (0.3 k) Hz (63 Hz .. 8 kHz), rounded as printed there.
ISO_9613_2_TABLE_2 = {
    (10.0, 70.0): (0.1, 0.4, 1.0, 1.9, 3.7, 9.7, 32.8, 117.0),
    (20.0, 70.0): (0.1, 0.3, 1.1, 2.8, 5.0, 9.0, 22.9, 76.6),
    (30.0, 70.0): (0.1, 0.3, 1.0, 3.1, 7.4, 12.7, 23.1, 59.3),
    (15.0, 20.0): (0.3, 0.6, 1.2, 2.7, 8.2, 28.2, 88.8, 202.0),
    (15.0, 50.0): (0.1, 0.5, 1.2, 2.2, 4.2, 10.8, 36.2, 129.0),
    (15.0, 80.0): (0.1, 0.3, 1.1, 2.4, 4.1, 8.3, 23.7, 82.8),
}


@pytest.mark.parametrize("weather", sorted(ISO_9613_2_TABLE_2))
def test_air_absorption_matches_the_iso_tables(weather):
    f = 1000.0 * 10.0 ** (0.3 * np.arange(-4, 4))
    alpha_db_per_km = air_absorption_db_per_m(f, *weather) * 1000.0
    table = np.array(ISO_9613_2_TABLE_2[weather])
    # the table prints 1 decimal below 100 dB/km and 3 digits above: half a printed unit, plus 0.01 dB/km for the
    # table's own rounding of intermediate values (15 deg C, 80 %, 1 kHz: 4.151 printed as 4.1)
    tolerance = np.where(table >= 100.0, 0.5, 0.05) + 0.01
    assert np.all(np.abs(alpha_db_per_km - table) <= tolerance), (alpha_db_per_km, table)


def test_air_absorption_pure_tone_values_at_1_and_4_khz():
    # 20 deg C, 70 % RH, 101.325 kPa: 4.98 dB/km at 1 kHz and 22.9 dB/km at 3981 Hz (ISO 9613-1 eq. 5; the
    # rounded 5.0 and 22.9 of ISO 9613-2 Table 2); at 4 kHz exactly 23.1 dB/km
    alpha = air_absorption_db_per_m([1000.0, 3981.07, 4000.0], 20.0, 70.0)
    np.testing.assert_allclose(alpha, [4.98e-3, 22.9e-3, 23.09e-3], rtol=2e-3)
    assert air_absorption_db_per_m(0.0) == 0.0
    assert C20 == pytest.approx(343.2)
    with pytest.raises(ValueError, match="frequency_hz"):
        air_absorption_db_per_m([-1.0])


def test_spherical_spreading_6_db_per_doubling_of_distance():
    levels = {}
    for r in (10.0, 20.0, 40.0, 80.0):
        scene = quiet_scene([PointSource.tone(Trajectory.hover((r, 0.0, 0.0)), 1000.0, 80.0)])
        levels[r] = spl_db(scene.render(0.5, 16000)[:, 0])  # one second: 1000 whole periods
    alpha = float(air_absorption_db_per_m(1000.0))  # 4.98e-3 dB/m
    for r, lev in levels.items():
        assert lev == pytest.approx(80.0 - 20.0 * math.log10(r) - alpha * r, abs=0.01)
    for r in (10.0, 20.0, 40.0):
        drop = levels[r] - levels[2 * r]
        assert drop - alpha * r == pytest.approx(20.0 * math.log10(2.0), abs=0.01)  # 6.02 dB + absorption


def test_air_absorption_in_the_rendered_sound_at_300_m():
    # 4 kHz over 300 m: 6.93 dB of air absorption on top of 49.5 dB of spreading
    scene = quiet_scene([PointSource.tone(Trajectory.hover((0.0, 300.0, 0.0)), 4000.0, 100.0)])
    lev = spl_db(scene.render(2.0, 16000)[:, 0])
    absorption = float(air_absorption_db_per_m(4000.0)) * 300.0
    assert absorption == pytest.approx(6.93, abs=0.01)
    assert lev == pytest.approx(100.0 - 20.0 * math.log10(300.0) - absorption, abs=0.02)


# ------------------------------------------------------------------------------------------------ Doppler


def closed_form_received_hz(p_closest, v, t_closest, f0, t, receiver=np.zeros(3), c=C20):
    """f0 / (1 + u.v / c) with the emission time of a straight flight solved as a quadratic."""
    a = np.asarray(p_closest, float) - np.asarray(v, float) * t_closest - receiver
    v = np.asarray(v, float)
    qa = v @ v - c * c
    qb = 2.0 * a @ v + 2.0 * c * c * t
    qc = a @ a - c * c * t * t
    roots = np.roots([qa, qb, qc]).real
    te = float(roots[roots < t].max())
    d = a + v * te
    u = d / np.linalg.norm(d)
    assert np.linalg.norm(d) == pytest.approx(c * (t - te), rel=1e-12)
    return f0 / (1.0 + u @ v / c), te


def instantaneous_hz(x, fs, centre_s, start_s, half_window_s=0.1):
    """Frequency at centre_s from a quadratic fit to the unwrapped analytic phase around it."""
    phase = np.unwrap(np.angle(hilbert(x)))
    t = start_s + np.arange(len(x)) / fs
    sel = np.abs(t - centre_s) <= half_window_s
    coeffs = np.polyfit(t[sel] - centre_s, phase[sel], 2)
    return coeffs[1] / (2.0 * math.pi)


def test_doppler_of_a_passing_source():
    speed, f0 = 20.0, 1000.0
    closest, v = (0.0, 30.0, 10.0), (speed, 0.0, 0.0)
    scene = quiet_scene([PointSource.tone(Trajectory.flyby(closest, speed, 0.0, time_at_closest_s=3.0), f0, 90.0)])
    start = 0.0
    x = scene.render(start, int(6 * FS))[:, 0].astype(np.float64)
    times = np.array([0.5, 1.5, 3.0, 3.2, 4.5, 5.5])
    truth = scene.truth(times)[0]
    for k, t in enumerate(times):
        expected, te = closed_form_received_hz(closest, v, 3.0, f0, t)
        measured = instantaneous_hz(x, FS, t, start)
        assert measured == pytest.approx(expected, abs=0.05), t
        assert truth.f0_hz[k] == pytest.approx(expected, abs=1e-6)
        assert truth.emission_time_s[k] == pytest.approx(te, abs=1e-9)
    # approaching 1000 -> ~1053 Hz, receding ~951 Hz: f0 c / (c - v_r) with v_r the speed towards the array
    assert measured < f0 < instantaneous_hz(x, FS, 0.5, start)


# ------------------------------------------------------------------------------------------------ arrival times


def tdoa_s(x_ref, x, fs, upsample=64):
    """Delay of x behind x_ref from the peak of the cross-correlation (upsampled by zero padding, then a parabola)."""
    n = len(x_ref)
    spec = np.fft.rfft(x, 2 * n) * np.conj(np.fft.rfft(x_ref, 2 * n))
    cc = np.fft.irfft(spec, 2 * n * upsample)
    k = int(np.argmax(cc))
    a, b, c = cc[k - 1], cc[k], cc[(k + 1) % len(cc)]
    k = k + 0.5 * (a - c) / (a - 2 * b + c)
    if k > len(cc) / 2:
        k -= len(cc)
    return k / (fs * upsample)


def test_time_differences_of_arrival_equal_the_geometry_and_the_truth_direction():
    fs = 48000.0
    az, el, rng = math.radians(120.0), math.radians(30.0), 50.0
    u = np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
    source = PointSource.noise(Trajectory.hover(rng * u), BroadbandSpectrum(100.0, 200.0, 6000.0))
    mics = np.array([[0.0, 0.0, 0.0], [0.5, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 0.5], [-0.3, 0.4, 0.1]])
    scene = quiet_scene([source], mics=mics, fs=fs)
    x = scene.render(1.0, int(0.5 * fs)).astype(np.float64)
    truth = scene.truth([1.0])[0]
    assert math.degrees(truth.azimuth_rad[0]) == pytest.approx(120.0, abs=1e-9)
    assert math.degrees(truth.elevation_rad[0]) == pytest.approx(30.0, abs=1e-9)
    assert truth.range_m[0] == pytest.approx(50.0, abs=1e-9)
    az_t, el_t = truth.azimuth_rad[0], truth.elevation_rad[0]
    from_truth = truth.range_m[0] * np.array([math.cos(el_t) * math.cos(az_t), math.cos(el_t) * math.sin(az_t),
                                              math.sin(el_t)])
    for m in range(1, len(mics)):
        measured = tdoa_s(x[:, 0], x[:, m], fs)
        geometric = (np.linalg.norm(rng * u - mics[m]) - np.linalg.norm(rng * u - mics[0])) / C20
        truth_delay = (np.linalg.norm(from_truth - mics[m]) - np.linalg.norm(from_truth - mics[0])) / C20
        assert abs(geometric) > 2e-4
        assert measured == pytest.approx(geometric, abs=0.2e-6), m  # 0.2 us, 1/100 of a sample
        assert truth_delay == pytest.approx(geometric, abs=1e-12)


# ------------------------------------------------------------------------------------------------ ground reflection


def test_ground_reflection_comb_filter_notch_and_peak():
    h, r_coef = 1.5, 0.7
    src = np.array([40.0, 0.0, 8.5])  # 10 m above the ground, the microphone 1.5 m above it
    r1 = float(np.linalg.norm(src))
    r2 = float(np.linalg.norm(src - np.array([0.0, 0.0, -2.0 * h])))
    delta = r2 - r1
    f_notch = C20 / (2.0 * delta)  # first notch: the reflected path half a wavelength longer
    assert delta == pytest.approx(0.7271, abs=1e-4) and f_notch == pytest.approx(236.0, abs=0.1)
    rho = r_coef * r1 / r2  # the reflected amplitude relative to the direct one
    expected_db = {1.0: 20 * math.log10(1.0 - rho), 1.5: 10 * math.log10(1.0 + rho * rho),
                   2.0: 20 * math.log10(1.0 + rho)}  # -10.1, +1.7, +4.5 dB
    for k, gain in expected_db.items():
        tone = PointSource.tone(Trajectory.hover(src), k * f_notch, 90.0)
        n = 16000
        direct = quiet_scene([tone], array_height_m=h).render(1.0, n)[:, 0]
        both = quiet_scene([tone], array_height_m=h, ground=r_coef).render(1.0, n)[:, 0]
        assert spl_db(both) - spl_db(direct) == pytest.approx(gain, abs=0.05), k


def test_ground_reflection_delay_and_spectrum_of_broadband_noise():
    h, r_coef = 1.5, 0.7
    src = np.array([40.0, 0.0, 8.5])
    delta = float(np.linalg.norm(src - np.array([0.0, 0.0, -2 * h])) - np.linalg.norm(src))
    noise = PointSource.noise(Trajectory.hover(src), BroadbandSpectrum(110.0, 100.0, 6000.0))
    direct = quiet_scene([noise], array_height_m=h).render(0.0, 32768)[:, 0].astype(np.float64)
    both = quiet_scene([noise], array_height_m=h, ground=r_coef).render(0.0, 32768)[:, 0].astype(np.float64)
    reflected = both - direct  # the same source signal: the direct path is the same in both scenes
    assert tdoa_s(direct, reflected, FS) == pytest.approx(delta / C20, abs=0.5e-6)
    # the transfer function |1 + rho e^{-i 2 pi f delta / c}|: notches at odd multiples of c / (2 delta)
    spec_d = np.abs(np.fft.rfft(direct * np.hanning(len(direct)))) ** 2
    spec_b = np.abs(np.fft.rfft(both * np.hanning(len(both)))) ** 2
    f = np.fft.rfftfreq(len(direct), 1 / FS)
    ratio = np.convolve(spec_b, np.ones(9), "same") / np.convolve(spec_d, np.ones(9), "same")
    for n_odd in (1, 3, 5):
        f_notch = n_odd * C20 / (2 * delta)
        near = (f > f_notch - 100) & (f < f_notch + 100)
        assert f[near][np.argmin(ratio[near])] == pytest.approx(f_notch, abs=5.0)


# ------------------------------------------------------------------------------------------------ continuity


def test_chunked_rendering_equals_one_shot_bit_for_bit():
    n = 10000  # across the scene's internal chunk boundary at frame 8192
    whole = rich_scene().render(0.0, n)
    scene = rich_scene()
    parts, k = [], 0
    for size in (3000, 5191, 1, 1808):
        parts.append(scene.render(k / FS, size))
        k += size
    assert k == n
    assert np.array_equal(np.concatenate(parts), whole)
    later = rich_scene().render(6000 / FS, 4000)  # a fresh scene with the same seed, starting in the middle
    assert np.array_equal(later, whole[6000:])
    other_seed = SoundScene(circular_array(8, 0.1), FS, sources=scene.sources, noise=scene.noise, seed=4)
    assert not np.allclose(other_seed.render(0.0, 1000), whole[:1000], atol=1e-4)


# ------------------------------------------------------------------------------------------------ several drones


def bartlett_azimuth_deg(x, fs, mics, band_hz, elevation_rad, c=C20):
    """Azimuth of the strongest plane wave in band_hz (delay-and-sum power over a 0.1 deg grid)."""
    spec = np.fft.rfft(x * np.hanning(x.shape[0])[:, None], axis=0)
    f = np.fft.rfftfreq(x.shape[0], 1 / fs)
    sel = (f >= band_hz[0]) & (f <= band_hz[1])
    az = np.radians(np.arange(-180.0, 180.0, 0.1))
    u = np.stack([np.cos(elevation_rad) * np.cos(az), np.cos(elevation_rad) * np.sin(az),
                  np.full(az.shape, np.sin(elevation_rad))], axis=1)
    lead_s = mics @ u.T / c  # (M, A): a plane wave from u reaches mic m earlier by m.u / c
    power = np.zeros(az.size)
    for k in np.nonzero(sel)[0]:
        steer = np.exp(-2j * np.pi * f[k] * lead_s)  # undo the phase lead of each microphone
        power += np.abs(np.sum(spec[k][:, None] * steer, axis=0)) ** 2
    return math.degrees(az[int(np.argmax(power))])


def test_two_drones_at_once_each_heard_from_its_own_direction():
    mics = uma16_array()
    el = math.radians(20.0)
    pos = [60.0 * np.array([math.cos(el) * math.cos(a), math.cos(el) * math.sin(a), math.sin(el)])
           for a in (math.radians(30.0), math.radians(150.0))]
    d1 = Drone(Trajectory.hover(pos[0]), rpm=4500.0, broadband_level_db=None)   # BPF 150 Hz
    d2 = Drone(Trajectory.hover(pos[1]), rpm=6300.0, broadband_level_db=None)   # BPF 210 Hz
    scene = SoundScene(mics, FS, sources=[d1, d2], ground_reflection=None, seed=5)
    x = scene.render(0.0, 16000).astype(np.float64)
    truth = scene.truth([0.5])
    assert [t.kind for t in truth] == ["drone", "drone"]
    assert np.degrees([t.azimuth_rad[0] for t in truth]) == pytest.approx([30.0, 150.0], abs=1e-9)
    assert [t.f0_emitted_hz[0] for t in truth] == pytest.approx([150.0, 210.0], rel=0.02)
    # harmonics of one drone clear of the other's (+-2 % rotor spread): 2nd and 5th of drone 1 (300, 750 Hz),
    # 4th of drone 2 (840 Hz)
    assert bartlett_azimuth_deg(x, FS, mics, (290, 310), el) == pytest.approx(30.0, abs=0.5)
    assert bartlett_azimuth_deg(x, FS, mics, (730, 770), el) == pytest.approx(30.0, abs=0.5)
    assert bartlett_azimuth_deg(x, FS, mics, (815, 865), el) == pytest.approx(150.0, abs=0.5)


def test_rpm_follows_manoeuvres():
    climb = 3.0
    traj = Trajectory.waypoints([(50.0, 0.0, 20.0), (50.0, 0.0, 50.0)], climb, dwell_s=[2.0, 0.0])
    drone = Drone(traj, rpm_drift_frac=0.0, rotor_drift_frac=0.0)
    f = drone.frequency_factor(np.array([0.5, 7.0]))  # hovering; climbing at constant speed
    thrust_z = GRAVITY_MPS2 + 0.02 * climb * climb  # gravity + quadratic drag against the climb
    assert f[0] == pytest.approx(1.0, abs=1e-12)
    assert f[1] == pytest.approx(math.sqrt(thrust_z / GRAVITY_MPS2) * (1.0 + 0.01 * climb), rel=1e-12)  # 1.0394
    scene = SoundScene(ORIGIN, FS, sources=[drone], ground_reflection=None, seed=2)
    truth = scene.truth([0.5, 7.5])[0]
    ratio = truth.f0_emitted_hz[1] / truth.f0_emitted_hz[0]
    assert ratio == pytest.approx(f[1], rel=1e-9)
    # the louder rotors: level ~ F ** 2 (+0.67 dB at +3.9 % rpm), the same range correction apart
    assert truth.level_db[1] - truth.level_db[0] + 20 * math.log10(truth.range_m[1] / truth.range_m[0]) == \
        pytest.approx(40 * math.log10(f[1]), abs=0.1)
    # and the rendered sound follows: one rotor, one harmonic, measured against the truth (with Doppler)
    rotor = Drone(traj, n_rotors=1, n_harmonics=1, rpm_drift_frac=0.0, rotor_drift_frac=0.0,
                  broadband_level_db=None)
    scene = SoundScene(ORIGIN, FS, sources=[rotor], ground_reflection=None, seed=2)
    x = scene.render(0.0, int(9 * FS))[:, 0].astype(np.float64)
    times = [0.5, 1.5, 4.0, 6.0, 8.0]
    truth = scene.truth(times)[0]
    assert truth.f0_emitted_hz[-1] / truth.f0_emitted_hz[0] == pytest.approx(f[1], rel=1e-9)  # +3.9 % climbing
    assert truth.f0_emitted_hz[1] / truth.f0_emitted_hz[0] > f[1]  # accelerating upwards at 1.5 s: +5.3 %
    for k, t in enumerate(times):
        assert instantaneous_hz(x, FS, t, 0.0) == pytest.approx(truth.f0_hz[k], abs=0.05), t


def test_trajectory_corners_fast_sums_equal_the_plain_formula():
    lap = [[-42.3, -1.8, -1.2], [-41.7, -16.8, -1.2]]
    paths = [Trajectory.waypoints(lap * 4, 1.2, dwell_s=[0, 1, 0, 2, 0, 0, 3, 0]),
             Trajectory.waypoints([(0, 0, 10), (100, 0, 20), (100, 80, 30), (0, 0, 40)], [5.0, 15.0, 20.0],
                                  dwell_s=2.0, extend="continue")]
    rng = np.random.default_rng(0)
    # peak acceleration: 3 m/s**2 at isolated corners; a 2 s dwell overlaps the stop and go windows (T = 5 s)
    for traj, peak in zip(paths, (3.0, 6.0)):
        tc, h = traj.corner_times_s, traj.corner_half_width_s
        t = np.concatenate([rng.uniform(-20.0, 120.0, 5000), tc, tc + h, tc - h])  # and exactly at window edges
        for order in (0, 1, 2):
            np.testing.assert_allclose(traj._corner_terms(t, order), traj._corner_terms_reference(t, order),
                                       rtol=0, atol=1e-11)
        # velocity is the derivative of position, acceleration that of velocity (central differences)
        dt = 1e-4
        v_fd = (traj.position_m(t + dt) - traj.position_m(t - dt)) / (2 * dt)
        np.testing.assert_allclose(traj.velocity_mps(t), v_fd, atol=1e-6)
        a_fd = (traj.velocity_mps(t + dt) - traj.velocity_mps(t - dt)) / (2 * dt)
        np.testing.assert_allclose(traj.acceleration_mps2(t), a_fd, atol=2e-3)
        assert np.max(np.linalg.norm(traj.acceleration_mps2(np.linspace(-5, 130, 20000)), axis=1)) <= peak + 1e-9


# ------------------------------------------------------------------------------------------------ noise and levels


def test_sensor_noise_level_and_independence():
    scene = SoundScene(circular_array(8, 0.1), FS, noise=[SensorNoise(40.0)], seed=1)
    x = scene.render(0.0, 32000).astype(np.float64)
    for m in range(8):
        assert spl_db(x[:, m]) == pytest.approx(40.0, abs=0.1)
    corr = np.corrcoef(x.T)
    assert np.max(np.abs(corr - np.eye(8))) < 0.03


def test_wind_level_spectrum_and_coherence():
    wind = Wind(level_db=60.0, gust_depth_db=0.0, coherent_fraction=0.3)
    scene = SoundScene(circular_array(4, 0.1), FS, noise=[wind], seed=1)
    x = scene.render(0.0, int(12 * FS)).astype(np.float64)
    assert spl_db(x) == pytest.approx(60.0, abs=0.7)  # 60.05 dB; over 5 seeds 59.7 .. 60.1 dB
    corr = np.corrcoef(x.T)
    off = corr[~np.eye(4, dtype=bool)]
    assert np.mean(off) == pytest.approx(0.3, abs=0.1)
    # power mostly below 100 Hz: the f ** -7/3 turbulence fall above the 10 Hz corner
    spec = np.abs(np.fft.rfft(x[:, 0])) ** 2
    f = np.fft.rfftfreq(len(x), 1 / FS)
    assert np.sum(spec[f < 100]) / np.sum(spec) > 0.95


def test_traffic_level_at_the_array():
    traffic = Traffic(level_db=50.0, n_sources=3, distance_m=(30.0, 31.0), fluctuation_db=0.0)
    scene = SoundScene(ORIGIN, FS, noise=[traffic], ground_reflection=None, seed=2)
    x = scene.render(0.0, int(10 * FS))
    assert spl_db(x) == pytest.approx(50.0, abs=0.3)


def test_bird_calls_are_in_their_band_and_at_their_level():
    birds = Birds(rate_per_s=0.5, level_db=80.0, distance_m=(20.0, 40.0), frequency_hz=(2000.0, 6000.0))
    scene = SoundScene(ORIGIN, FS, noise=[birds], ground_reflection=None, seed=4)
    duration = 12.0
    x = scene.render(0.0, int(duration * FS))[:, 0].astype(np.float64)
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / FS)
    assert np.sum(spec[(f > 1900) & (f < 6100)]) / np.sum(spec) > 0.99
    # each syllable peaks at sqrt(2) p(level) / d less air absorption at its centre frequency (the analytic envelope)
    envelope = np.abs(hilbert(x))
    runtime = birds.runtime(scene.context, 0)
    syllables = [(pos, s) for seg in range(int(duration)) for pos, call in runtime.calls(seg) for s in call]
    spans = [(s[0] + np.linalg.norm(pos) / C20, s[1]) for pos, s in syllables]
    checked = 0
    for (pos, (ts, dur, f1, f2, amp, _)), (arrival, _) in zip(syllables, spans):
        alone = all(b + e < arrival or b > arrival + dur for b, e in spans if b != arrival)
        if not alone or arrival + dur > duration - 0.05:
            continue
        d = float(np.linalg.norm(pos))
        expected = amp / d * 10 ** (-float(air_absorption_db_per_m(0.5 * (f1 + f2))) * d / 20)
        window = slice(int((arrival + 0.3 * dur) * FS), int((arrival + 0.7 * dur) * FS))
        assert float(np.max(envelope[window])) == pytest.approx(expected, rel=0.03)
        checked += 1
    assert checked >= 5


@pytest.mark.parametrize("kind, engine_db, broadband_db", [("car", 78.0, 86.0), ("motorbike", 90.0, 84.0),
                                                            ("lawnmower", 86.0, 82.0), ("generator", 80.0, 72.0)])
def test_interferers_render_at_their_stated_levels(kind, engine_db, broadband_db):
    r = 20.0
    where = (0.0, r, 0.0)
    source = getattr(Interferer, kind)(where if kind == "generator" else Trajectory.hover(where))
    scene = SoundScene(ORIGIN, FS, sources=[source], ground_reflection=None, seed=6)
    x = scene.render(0.0, int(8 * FS))
    truth = scene.truth(np.arange(0.0, 8.0, 0.01))[0]
    assert truth.kind == kind
    stated = 10 * math.log10(10 ** (engine_db / 10) + 10 ** (broadband_db / 10)) - 20 * math.log10(r)
    # the truth level includes the level fluctuation a(t) and air absorption over 20 m (< 0.2 dB here)
    truth_leq = 10 * math.log10(np.mean(10 ** (truth.level_db / 10)))
    assert spl_db(x) == pytest.approx(truth_leq, abs=0.3)
    assert truth_leq == pytest.approx(stated, abs=1.5)


def test_truth_snr_matches_the_rendered_signal_and_noise():
    drone = Drone(Trajectory.hover((40.0, 30.0, 20.0)), rpm_drift_frac=0.0)
    noise = [SensorNoise(35.0), Wind(55.0, gust_depth_db=0.0)]
    mics = circular_array(4, 0.1)
    n = int(5 * FS)
    signal = SoundScene(mics, FS, sources=[drone], ground_reflection=None, seed=7).render(0.0, n)
    background = SoundScene(mics, FS, noise=noise, ground_reflection=None, seed=7).render(0.0, n)
    both = SoundScene(mics, FS, sources=[drone], noise=noise, ground_reflection=None, seed=7)
    mixed = both.render(0.0, n)
    np.testing.assert_allclose(mixed, signal.astype(np.float64) + background, rtol=0, atol=1e-7)
    lo, hi = both.snr_band_hz()
    assert (lo, hi) == (100.0, 0.42 * FS)

    def band_power(x):
        spec = np.abs(np.fft.rfft(x.astype(np.float64), axis=0)) ** 2
        f = np.fft.rfftfreq(x.shape[0], 1 / FS)
        return float(np.mean(np.sum(spec[(f >= lo) & (f <= hi)], axis=0)))

    measured = 10 * math.log10(band_power(signal) / band_power(background))
    truth = both.truth(np.arange(0.5, 5.0, 0.5))[0]
    assert np.mean(truth.snr_db) == pytest.approx(measured, abs=1.0)


# ------------------------------------------------------------------------------------------------ truth


def test_truth_directions_follow_the_array_frame_conventions():
    cases = [((0.0, 50.0, 50.0), 90.0, 45.0), ((-30.0, -30.0, 0.0), -135.0, 0.0), ((10.0, -10.0, math.sqrt(200.0)),
                                                                                   -45.0, 45.0),
             ((100.0, 0.0, -1.0), 0.0, math.degrees(math.atan2(-1.0, 100.0)))]
    sources = [PointSource.tone(Trajectory.hover(p), 300.0, 80.0) for p, _, _ in cases]
    scene = SoundScene(circular_array(4, 0.05), FS, sources=sources, seed=0)
    truth = scene.truth([0.0, 1.0])
    for t, (p, az, el) in zip(truth, cases):
        np.testing.assert_allclose(np.degrees(t.azimuth_rad), az, atol=1e-9)
        np.testing.assert_allclose(np.degrees(t.elevation_rad), el, atol=1e-9)
        np.testing.assert_allclose(t.range_m, np.linalg.norm(p), rtol=1e-12)
        np.testing.assert_allclose(t.times_s - t.emission_time_s, t.range_m / C20, rtol=1e-9)


def test_truth_of_a_moving_drone_is_where_the_sound_left_it():
    traj = Trajectory.flyby((0.0, 80.0, 40.0), 15.0, heading_rad=math.radians(200.0), time_at_closest_s=5.0)
    scene = SoundScene(circular_array(8, 0.1), FS, sources=[Drone(traj)], seed=1)
    t = np.linspace(0.0, 10.0, 21)
    truth = scene.truth(t)[0]
    np.testing.assert_allclose(truth.position_m, traj.position_m(truth.emission_time_s), atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(truth.position_m, axis=1), C20 * (t - truth.emission_time_s),
                               rtol=1e-10)
    horiz = np.hypot(truth.position_m[:, 0], truth.position_m[:, 1])
    np.testing.assert_allclose(np.tan(truth.elevation_rad), truth.position_m[:, 2] / horiz, rtol=1e-9)
    np.testing.assert_allclose(np.cos(truth.azimuth_rad) * horiz, truth.position_m[:, 0], atol=1e-9)
    np.testing.assert_allclose(np.sin(truth.azimuth_rad) * horiz, truth.position_m[:, 1], atol=1e-9)


def test_bad_scene_input_is_refused_with_the_field_named():
    with pytest.raises(ValueError, match="mic_positions_m"):
        SoundScene(np.zeros((3, 2)), FS)
    with pytest.raises(ValueError, match="fs_hz"):
        SoundScene(ORIGIN, 100.0)
    with pytest.raises(ValueError, match="below the ground"):
        SoundScene(ORIGIN, FS, sources=[PointSource.tone(Trajectory.hover((5.0, 0.0, -3.0)), 300.0, 80.0)]).render(
            0.0, 100)
    with pytest.raises(ValueError, match="start_s"):
        SoundScene(ORIGIN, FS).render(1e-5, 10)
