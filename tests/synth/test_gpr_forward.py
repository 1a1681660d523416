"""The synthetic GPR forward model: travel times, amplitudes, signs, noise, outputs, and kernel = reference."""

import math

import numpy as np
import pytest
from scipy.signal import hilbert

from sensorkit.formats.base import GprLine
from sensorkit.kernels import gpr_forward as fwd
from sensorkit.kernels.traveltime import C0_MPS, refracted_one_way_time_reference
from sensorkit.synth.gpr import (Antenna, GprScene, Layer, Scatterer, Soil, forward_settings, rough_height_profile,
                                 scene_elements, simulate_grid, simulate_line, simulate_swath, simulate_traces)
from sensorkit.synth.soil import attenuation_np_per_m, reflection_coefficient
from sensorkit.synth.wavelets import Wavelet, gaussian_derivative, ricker

DT = 0.05e-9
F = 1.0e9
V9 = C0_MPS / 3.0  # eps_r 9: 0.0999 m/ns


def clean_scene(scatterers, eps_r=9.0, sigma=0.0, layers=(), height_m=0.0, offset_m=0.0, **kw):
    return GprScene(soil=Soil(eps_r=eps_r, conductivity_s_per_m=sigma, layers=list(layers)),
                    scatterers=list(scatterers),
                    antenna=Antenna(centre_frequency_hz=F, offset_m=offset_m, height_m=height_m),
                    noise_rms=kw.pop("noise_rms", 0.0), direct_wave=kw.pop("direct_wave", False),
                    surface_reflection=kw.pop("surface_reflection", False), **kw)


def envelope_peak_s(trace, dt_s=DT):
    """Time of the envelope maximum, refined by a parabola through the three samples around it."""
    env = np.abs(hilbert(np.asarray(trace, dtype=np.float64)))
    k = int(np.argmax(env))
    a, b, c = env[k - 1], env[k], env[k + 1]
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * dt_s


def ricker_amplitude(trace, t_s, dt_s=DT):
    """Least-squares amplitude of a Ricker arriving at t_s in the trace."""
    w = ricker(np.arange(trace.shape[-1]) * dt_s - t_s, F)
    return float(np.asarray(trace, dtype=np.float64) @ w / (w @ w))


# ------------------------------------------------------------------------------------------------ travel times

def test_apex_time_of_a_point_at_0p2_m_in_eps9():
    scene = clean_scene([Scatterer(x_m=0.5, y_m=0.5, depth_m=0.2)])
    trace = simulate_traces(scene, [[0.5, 0.5]], n_samples=256, dt_s=DT)[0]
    expected = 2 * 0.2 / V9
    assert expected == pytest.approx(4.003e-9, abs=1e-12)
    env = np.abs(hilbert(trace.astype(np.float64)))
    assert abs(np.argmax(env) * DT - expected) <= DT / 2
    assert envelope_peak_s(trace) == pytest.approx(expected, abs=0.1 * DT)


@pytest.mark.parametrize("dx_m", [0.1, 0.3, 0.45])
def test_diffraction_hyperbola_at_height_0(dx_m):
    scene = clean_scene([Scatterer(x_m=0.5, y_m=0.5, depth_m=0.2)])
    trace = simulate_traces(scene, [[0.5 + dx_m, 0.5]], 256, DT)[0]
    expected = 2 * math.sqrt(dx_m ** 2 + 0.2 ** 2) / V9  # 0.3 m: 7.216 ns
    assert abs(np.argmax(np.abs(hilbert(trace.astype(float)))) * DT - expected) <= DT / 2
    assert envelope_peak_s(trace) == pytest.approx(expected, abs=0.1 * DT)


def test_apex_and_flank_times_with_the_antenna_0p1_m_above_the_ground():
    scene = clean_scene([Scatterer(x_m=0.0, y_m=0.0, depth_m=0.2)], height_m=0.1)
    traces = simulate_traces(scene, [[0.0, 0.0], [0.3, 0.0]], 256, DT)
    apex = 2 * (0.1 / C0_MPS + 0.2 / V9)  # 4.670 ns
    assert apex == pytest.approx(4.6701e-9, abs=1e-12)
    assert envelope_peak_s(traces[0]) == pytest.approx(apex, abs=0.1 * DT)
    # refracted (Fermat) path, against the brute-force minimum over refraction points
    flank = 2 * refracted_one_way_time_reference(0.3, 0.1, 0.2, V9)
    assert flank > 2 * (math.hypot(0.3, 0.3) / C0_MPS)  # slower than a straight ray in air, of course
    assert envelope_peak_s(traces[1]) == pytest.approx(flank, abs=0.1 * DT)


def test_arrival_is_placed_at_fractional_sample_precision():
    # depth 0.2013 m: the arrival 4.0288 ns falls 0.58 of a sample after sample 80
    scene = clean_scene([Scatterer(x_m=0.0, y_m=0.0, depth_m=0.2013)])
    trace = simulate_traces(scene, [[0.0, 0.0]], 256, DT)[0]
    t = 2 * 0.2013 / V9
    expected = ricker(np.arange(256) * DT - t, F) / 0.2013 ** 2  # spreading 1/(r_tx r_rx)
    np.testing.assert_allclose(trace, expected, rtol=0, atol=2e-6 * expected.max())
    # rounding the arrival to a sample would be off by up to 1.8 % at the peak
    rounded = ricker(np.arange(256) * DT - round(t / DT) * DT, F) / 0.2013 ** 2
    assert np.abs(rounded - trace).max() > 1e-2 * expected.max()


def test_bistatic_offset_direct_wave_and_ground_wave():
    scene = clean_scene([Scatterer(x_m=1.0, y_m=0.0, depth_m=0.2)], offset_m=0.2, direct_wave=True)
    trace = simulate_traces(scene, [[1.0, 0.0]], 256, DT)[0]
    t_scatter = 2 * math.sqrt(0.1 ** 2 + 0.2 ** 2) / V9  # 4.475 ns
    assert envelope_peak_s(trace[60:], DT) + 60 * DT == pytest.approx(t_scatter, abs=0.1 * DT)
    # direct air wave at 0.2 / c = 0.667 ns and ground wave at 0.2 / v = 2.001 ns, each 1 / 0.2 m = 5
    assert ricker_amplitude(trace[:30], 0.2 / C0_MPS) == pytest.approx(5.0, rel=0.01)
    assert ricker_amplitude(trace[25:60], 0.2 / V9 - 25 * DT) == pytest.approx(5.0, rel=0.01)
    lifted = simulate_traces(scene, [[1.0, 0.0]], 256, DT, height_m=0.05)[0]
    assert abs(ricker_amplitude(lifted[25:60], 0.2 / V9 - 25 * DT)) < 0.05  # no ground wave off the ground


# ------------------------------------------------------------------------------------------------ amplitudes

def test_attenuation_follows_exp_minus_2_alpha_z():
    sigma = 0.05  # S/m in eps_r 9: alpha = 0.05 * 376.73 / (2 * 3) = 3.139 Np/m
    alpha = attenuation_np_per_m(sigma, 9.0)
    assert alpha == pytest.approx(3.1394, rel=1e-4)
    amps = {}
    for z in (0.2, 0.5):
        scene = clean_scene([Scatterer(x_m=0.0, y_m=0.0, depth_m=z)], sigma=sigma)
        trace = simulate_traces(scene, [[0.0, 0.0]], 256, DT)[0]
        amps[z] = ricker_amplitude(trace, 2 * z / V9) * z ** 2  # spreading 1/z^2 removed
    ratio = amps[0.5] / amps[0.2]
    assert ratio == pytest.approx(math.exp(-2 * alpha * 0.3), rel=0.02)  # 0.152
    # and with spreading switched off the ratio is the attenuation alone
    off = [ricker_amplitude(simulate_traces(clean_scene([Scatterer(0, 0, z)], sigma=sigma, geometric_spreading=False),
                                            [[0, 0]], 256, DT)[0], 2 * z / V9) for z in (0.2, 0.5)]
    assert off[1] / off[0] == pytest.approx(math.exp(-2 * alpha * 0.3), rel=0.02)
    assert off[0] == pytest.approx(math.exp(-2 * alpha * 0.2), rel=0.01)


@pytest.mark.parametrize("eps_top, eps_layer", [(9.0, 16.0), (16.0, 9.0)])
def test_layer_reflection_time_sign_and_amplitude(eps_top, eps_layer):
    sigma = 0.001
    scene = clean_scene([], eps_r=eps_top, sigma=sigma, layers=[Layer(top_depth_m=0.3, eps_r=eps_layer)])
    trace = simulate_traces(scene, [[0.0, 0.0]], 256, DT)[0]
    v = C0_MPS / math.sqrt(eps_top)
    t = 2 * 0.3 / v
    r = reflection_coefficient(eps_top, eps_layer)
    assert r == pytest.approx((3 - 4) / 7 if eps_top == 9 else (4 - 3) / 7)
    expected = r * math.exp(-2 * attenuation_np_per_m(sigma, eps_top) * 0.3) / (2 * 0.3)  # image source 1/(2 d)
    assert envelope_peak_s(trace) == pytest.approx(t, abs=0.1 * DT)
    amp = ricker_amplitude(trace, t)
    assert np.sign(amp) == np.sign(r)
    assert amp == pytest.approx(expected, rel=0.01)  # -0.2293 for eps 9 over 16
    assert np.sign(trace[int(round(t / DT))]) == np.sign(r)


def test_point_below_a_layer_boundary_uses_the_layer_times_and_transmission():
    scene = clean_scene([Scatterer(x_m=0.0, y_m=0.0, depth_m=0.5)], layers=[Layer(top_depth_m=0.3, eps_r=16.0)],
                        layer_reflections=False)
    trace = simulate_traces(scene, [[0.0, 0.0]], 512, DT)[0]
    t = 2 * (0.3 / V9 + 0.2 / (C0_MPS / 4.0))  # 11.341 ns
    assert envelope_peak_s(trace) == pytest.approx(t, abs=0.1 * DT)
    assert ricker_amplitude(trace, t) == pytest.approx((1 - (1 / 7) ** 2) / 0.5 ** 2, rel=0.01)  # 3.918


def test_surface_reflection_and_air_ground_transmission():
    scene = clean_scene([Scatterer(x_m=0.0, y_m=0.0, depth_m=0.2)], height_m=0.2, surface_reflection=True)
    trace = simulate_traces(scene, [[0.0, 0.0]], 256, DT)[0]
    t_surface = 2 * 0.2 / C0_MPS  # 1.334 ns, r = (1 - 3) / (1 + 3) = -0.5, spreading 1 / 0.4 m
    assert ricker_amplitude(trace[:60], t_surface) == pytest.approx(-0.5 / 0.4, rel=0.01)
    t_point = 2 * (0.2 / C0_MPS + 0.2 / V9)
    # 4 n / (1 + n)^2 = 0.75 both ways through the surface, ray length 0.4 m each way
    assert ricker_amplitude(trace, t_point) == pytest.approx(0.75 / 0.4 ** 2, rel=0.01)
    ground = simulate_traces(scene, [[0.0, 0.0]], 256, DT, height_m=0.0)[0]
    assert np.abs(ground[:40]).max() < 1e-3 * np.abs(ground).max()  # no surface echo without an air gap


def test_antenna_pattern_cos2_tapers_the_flank():
    point = [Scatterer(x_m=0.0, y_m=0.0, depth_m=0.2)]
    t = 2 * math.hypot(0.3, 0.2) / V9
    plain = ricker_amplitude(simulate_traces(clean_scene(point), [[0.3, 0.0]], 256, DT)[0], t)
    tapered_scene = clean_scene(point)
    tapered_scene.antenna.pattern_cos_power = 2.0
    tapered = ricker_amplitude(simulate_traces(tapered_scene, [[0.3, 0.0]], 256, DT)[0], t)
    cos_theta = 0.2 / math.hypot(0.3, 0.2)
    assert tapered / plain == pytest.approx(cos_theta ** 4, rel=1e-4)  # cos^2 per leg: 0.0947


def test_extended_objects_sign_and_geometric_optics_amplitude():
    # wide metal disc at 0.3 m: a mirror, -1 / (2 * 0.3) = -1.667
    disc = clean_scene([Scatterer(0, 0, 0.3, kind="disc", radius_m=0.6, eps_r="metal")])
    trace = simulate_traces(disc, [[0, 0]], 256, DT)[0]
    assert ricker_amplitude(trace, 0.6 / V9) == pytest.approx(-1 / 0.6, rel=0.02)
    # metal sphere radius 0.05, top at 0.3 m: geometric optics -1/R * rho/(rho + R), 1/rho = 1/R + 2/a
    sphere = clean_scene([Scatterer(0, 0, 0.35, kind="sphere", radius_m=0.05, eps_r="metal")])
    trace = simulate_traces(sphere, [[0, 0]], 256, DT)[0]
    rho = 1 / (1 / 0.3 + 2 / 0.05)
    # the negative main lobe at the specular time (the curved surface behind it adds a weak tail: the envelope
    # of the whole echo peaks about one sample later)
    assert abs(np.argmin(trace) * DT - 0.6 / V9) <= DT / 2
    assert ricker_amplitude(trace, 0.6 / V9) == pytest.approx(-rho / (rho + 0.3) / 0.3, rel=0.03)  # -0.238


@pytest.mark.parametrize("eps_r, r", [(3.0, 0.2679), (6.0, 0.1010), (1.0, 0.5), ("metal", -1.0)])
def test_reflection_sign_of_mines_stones_voids_and_metal(eps_r, r):
    scene = clean_scene([Scatterer(0, 0, 0.1, kind="disc", radius_m=0.05, eps_r=eps_r)])
    line, truth = simulate_line(scene, [0.0], 256, DT)
    assert truth[0]["reflection_coefficient"] == pytest.approx(r, abs=1e-4)
    t = truth[0]["two_way_time_s"]
    assert t == pytest.approx(0.2 / V9)
    assert np.sign(ricker_amplitude(line.traces[0], t)) == np.sign(r)


def test_cylinder_echo_is_flat_along_the_axis_and_hyperbolic_across():
    pipe = Scatterer(x_m=0.5, y_m=0.5, depth_m=0.3, kind="cylinder", radius_m=0.03, length_m=0.8, azimuth_rad=0.0)
    scene = clean_scene([pipe])
    # main lobe (positive, r = 1) at the specular time; the envelope of the whole echo peaks about a sample
    # later because of the weak tail from the curved surface behind the specular line
    along = simulate_traces(scene, [[0.3, 0.5], [0.5, 0.5], [0.7, 0.5]], 256, DT)
    for trace in along:
        assert abs(np.argmax(trace) * DT - 2 * 0.27 / V9) <= DT / 2
    # geometric optics of a cylinder: r / R * sqrt(rho / (rho + R)) * sqrt(1/2), 1/rho = 1/R + 2/a (0.586)
    rho = 1 / (1 / 0.27 + 2 / 0.03)
    go = math.sqrt(rho / (rho + 0.27)) * math.sqrt(0.5) / 0.27
    for trace in along:
        assert ricker_amplitude(trace, 2 * 0.27 / V9) == pytest.approx(go, rel=0.03)
    across = simulate_traces(scene, [[0.5, 0.7]], 256, DT)[0]
    assert abs(np.argmax(across) * DT - 2 * (math.hypot(0.2, 0.3) - 0.03) / V9) <= DT / 2
    beyond = simulate_traces(scene, [[1.2, 0.5]], 256, DT)[0]  # 0.3 m past the end: a weak end diffraction
    assert np.abs(beyond).max() < 0.2 * along[1].max()
    # turned by 90 degrees, the same pipe runs across the line
    turned = clean_scene([Scatterer(0.5, 0.5, 0.3, kind="cylinder", radius_m=0.03, length_m=0.8,
                                    azimuth_rad=math.pi / 2)])
    assert envelope_peak_s(simulate_traces(turned, [[0.7, 0.5]], 256, DT)[0]) == pytest.approx(
        envelope_peak_s(across), abs=0.05 * DT)


def test_gaussian_derivative_and_measured_wavelets():
    point = [Scatterer(0, 0, 0.2013)]
    t = 2 * 0.2013 / V9
    k = np.arange(256) * DT
    scene = clean_scene(point)
    scene.antenna.wavelet = "gaussian_derivative"
    trace = simulate_traces(scene, [[0, 0]], 256, DT)[0]
    expected = gaussian_derivative(k - t, F) / 0.2013 ** 2
    np.testing.assert_allclose(trace, expected, rtol=0, atol=2e-6 * np.abs(expected).max())
    # a measured wavelet (a Ricker sampled at 0.01 ns, shifted to peak at 1 ns into the record)
    samples = ricker(np.arange(201) * 0.01e-9 - 1e-9, F) * 7.0
    scene.antenna.wavelet = Wavelet(kind="measured", samples=samples, dt_s=0.01e-9)
    trace = simulate_traces(scene, [[0, 0]], 256, DT)[0]
    expected = ricker(k - t, F) / 0.2013 ** 2  # normalised to peak 1, linear interpolation error < 0.1 %
    np.testing.assert_allclose(trace, expected, rtol=0, atol=2e-3 * expected.max())


# ------------------------------------------------------------------------------------------------ noise

def test_noise_is_reproducible_per_seed_with_the_requested_rms():
    scene = clean_scene([Scatterer(0, 0, 0.2)], noise_rms=0.5)
    xy = np.column_stack([np.linspace(0, 1, 200), np.zeros(200)])
    a = simulate_traces(scene, xy, 256, DT, seed=7)
    b = simulate_traces(scene, xy, 256, DT, seed=7)
    c = simulate_traces(scene, xy, 256, DT, seed=8)
    d = simulate_traces(scene, xy, 256, DT, seed=np.random.default_rng(7))
    assert np.array_equal(a, b) and np.array_equal(a, d)
    assert not np.array_equal(a, c)
    clean = simulate_traces(clean_scene([Scatterer(0, 0, 0.2)]), xy, 256, DT)
    assert np.std(a - clean) == pytest.approx(0.5, rel=0.02)
    assert np.std(c - clean) == pytest.approx(0.5, rel=0.02)


def test_clutter_is_band_limited_around_the_centre_frequency():
    scene = clean_scene([], clutter_rms=0.2)
    xy = np.zeros((200, 2))
    clutter = simulate_traces(scene, xy, 512, DT, seed=1).astype(np.float64)
    assert np.std(clutter) == pytest.approx(0.2, rel=0.05)
    power = (np.abs(np.fft.rfft(clutter, axis=1)) ** 2).mean(axis=0)
    f = np.fft.rfftfreq(512, DT)
    assert f[np.argmax(power)] == pytest.approx(F, rel=0.2)  # Ricker spectrum peak
    assert power[f > 3 * F].sum() < 0.01 * power.sum()  # white noise would hold 70 % there (f up to 10 GHz)
    assert np.array_equal(clutter, simulate_traces(scene, xy, 512, DT, seed=1))


# ------------------------------------------------------------------------------------------------ outputs

def test_grid_is_indexed_x_then_y():
    scene = clean_scene([Scatterer(x_m=0.2, y_m=0.6, depth_m=0.2)])
    x = np.linspace(0.0, 1.0, 11)
    y = np.linspace(0.0, 1.0, 6)
    grid = simulate_grid(scene, x, y, 512, DT)
    assert grid.shape == (11, 6, 512) and grid.dtype == np.float32
    arrival = np.argmax(np.abs(grid), axis=2)  # sample of the echo's main lobe per trace
    ix, iy = np.unravel_index(np.argmin(arrival), arrival.shape)
    assert arrival[ix, iy] == round(0.4 / V9 / DT)
    assert (x[ix], y[iy]) == (pytest.approx(0.2), pytest.approx(0.6))
    assert np.array_equal(grid[3, 4], simulate_traces(scene, [[x[3], y[4]]], 512, DT)[0])


def test_line_is_a_gpr_line_with_positions_and_truth():
    scene = clean_scene([Scatterer(x_m=0.5, y_m=0.1, depth_m=0.25, name="pt"),
                         Scatterer(x_m=1.2, y_m=0.1, depth_m=0.4, kind="sphere", radius_m=0.1, eps_r=3.0)],
                        height_m=0.05, time_zero_s=2e-9)
    x = np.linspace(0.0, 1.5, 151)
    line, truth = simulate_line(scene, x, 512, DT, y_m=0.1)
    assert isinstance(line, GprLine)
    assert line.traces.shape == (151, 512) and line.traces.dtype == np.float32
    assert np.array_equal(line.trace_meta["x_m"], x) and np.all(line.trace_meta["y_m"] == 0.1)
    assert line.dt_s == DT and line.time_zero_s == 2e-9 and line.antenna_height_m == 0.05
    assert [t["kind"] for t in truth] == ["point", "sphere"]
    assert truth[1]["top_depth_m"] == pytest.approx(0.3) and truth[1]["size_m"] == pytest.approx(0.2)
    for row in truth:
        trace = line.traces[int(np.argmin(np.abs(x - row["x_m"])))]
        expected = 2 * (0.05 / C0_MPS + row["top_depth_m"] / V9)
        assert row["two_way_time_s"] == pytest.approx(expected)
        # sample k is at two-way time k dt - time_zero_s: the main lobe of the echo is at apex_sample
        assert row["apex_sample"] == pytest.approx((expected + 2e-9) / DT)
        k0 = int(row["apex_sample"]) - 20
        lobe = k0 + int(np.argmax(np.abs(trace[k0:k0 + 40])))
        assert abs(lobe - row["apex_sample"]) <= (0.5 if row["kind"] == "point" else 1.0)


def test_swath_channels_are_lines_at_their_y():
    scene = clean_scene([Scatterer(x_m=0.5, y_m=0.3, depth_m=0.2)], offset_m=0.05, height_m=0.02)
    x = np.linspace(0, 1, 21)
    channels = [0.0, 0.1, 0.2, 0.3]
    swath, truth = simulate_swath(scene, x, channels, 128, 0.1e-9)
    assert swath.traces.shape == (21, 4, 128)
    assert swath.attrs["channel_y_m"] == channels
    for c, y in enumerate(channels):
        line, _ = simulate_line(scene, x, 128, 0.1e-9, y_m=y)
        assert np.array_equal(swath.traces[:, c], line.traces)
    assert truth[0]["x_m"] == 0.5


def test_per_trace_heights_and_rough_profile():
    scene = clean_scene([Scatterer(0.5, 0.0, 0.2)], height_m=0.1)
    x = np.linspace(0, 1, 101)
    heights = rough_height_profile(x, 0.1, 0.02, 0.2, seed=3)
    assert np.array_equal(heights, rough_height_profile(x, 0.1, 0.02, 0.2, seed=3))
    assert heights.min() >= 0 and np.std(heights) == pytest.approx(0.02, rel=0.3)
    line, _ = simulate_line(scene, x, 256, DT, height_m=heights)
    k = 50
    single = simulate_traces(scene, [[x[k], 0.0]], 256, DT, height_m=heights[k])[0]
    assert np.array_equal(line.traces[k], single)
    assert envelope_peak_s(line.traces[k]) == pytest.approx(2 * (heights[k] / C0_MPS + 0.2 / V9), abs=0.1 * DT)


# ------------------------------------------------------------------------------------------------ kernel

def _busy_scene():
    soil = Soil(eps_r=6.0, conductivity_s_per_m=0.01, layers=[Layer(0.35, 12.0, 0.02), Layer(0.6, 20.0, 0.0)])
    return GprScene(
        soil=soil,
        scatterers=[Scatterer(0.3, 0.05, 0.15), Scatterer(0.6, -0.1, 0.45, amplitude=-2.0, eps_r=3.0),
                    Scatterer(0.4, 0.1, 0.2, kind="sphere", radius_m=0.04, eps_r="metal"),
                    Scatterer(0.7, 0.0, 0.12, kind="disc", radius_m=0.06, eps_r=3.0),
                    Scatterer(0.5, 0.0, 0.3, kind="cylinder", radius_m=0.02, length_m=0.2, azimuth_rad=0.7)],
        antenna=Antenna(centre_frequency_hz=8e8, offset_m=0.06, height_m=0.05, pattern_cos_power=1.5),
        direct_wave=True, surface_reflection=True, time_zero_s=1e-9, facet_spacing_m=0.02)


@pytest.mark.parametrize("wavelet", ["ricker", "gaussian_derivative", "measured"])
def test_kernel_matches_numpy_reference(wavelet):
    scene = _busy_scene()
    if wavelet == "measured":
        t = np.arange(120) * 0.02e-9
        scene.antenna.wavelet = Wavelet("measured", samples=ricker(t - 1.1e-9, 8e8) * np.hanning(120), dt_s=0.02e-9)
    else:
        scene.antenna.wavelet = wavelet
    rng = np.random.default_rng(0)
    n = 24
    xy = np.column_stack([rng.uniform(0, 1, n), rng.uniform(-0.2, 0.2, n)])
    heights = np.where(np.arange(n) % 3 == 0, 0.0, rng.uniform(0.0, 0.15, n))  # ground-coupled and lifted
    half = 0.5 * scene.antenna.offset_m
    antennas = np.column_stack([xy[:, 0] - half, xy[:, 1], xy[:, 0] + half, xy[:, 1], heights])
    elements = scene_elements(scene)
    assert set(np.unique(elements[:, 7]).astype(int)) == {0, 1, 2, 3, 4}
    # each kind of element on its own (the direct wave would hide small errors of weak ones), then all together;
    # a 300-sample record holds every echo, a 90-sample one cuts many (the kernel skips those past its end)
    for n_samples, subset in [(300, elements[elements[:, 7] == mode]) for mode in range(5)] + [
            (300, elements), (90, elements)]:
        settings = forward_settings(scene, n_samples, 0.06e-9)
        fast = fwd.render_traces(antennas, subset, settings)
        slow = fwd.render_traces_reference(antennas, subset, settings)
        assert fast.dtype == np.float32 and fast.shape == (n, n_samples)
        assert np.abs(slow).max() > 0
        # float32 output of float64 sums (Newton + finite-difference ray parameter against bisection):
        # agreement to 1e-6 of the largest sample (measured: 4e-8)
        np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-6 * np.abs(slow).max())


def test_validation_errors_name_the_value():
    scene = clean_scene([Scatterer(0, 0, 0.2)])
    with pytest.raises(ValueError, match="dt_s"):
        simulate_traces(scene, [[0, 0]], 256, 0.0)
    with pytest.raises(ValueError, match="n_samples"):
        simulate_traces(scene, [[0, 0]], 0, DT)
    with pytest.raises(ValueError, match=r"antenna_xy_m.*\(3,\)"):
        simulate_traces(scene, [0, 0, 1], 256, DT)
    with pytest.raises(ValueError, match="non-finite"):
        simulate_traces(scene, [[0, np.nan]], 256, DT)
    with pytest.raises(ValueError, match=r"soil.eps_r.*0.5"):
        simulate_traces(clean_scene([], eps_r=0.5), [[0, 0]], 256, DT)
    with pytest.raises(ValueError, match=r"scatterers\[0\].eps_r.*0.9"):
        simulate_traces(clean_scene([Scatterer(0, 0, 0.2, eps_r=0.9)]), [[0, 0]], 256, DT)
    with pytest.raises(ValueError, match="below the surface"):
        simulate_traces(clean_scene([Scatterer(0, 0, 0.05, kind="sphere", radius_m=0.1)]), [[0, 0]], 256, DT)
    with pytest.raises(ValueError, match="height_m"):
        simulate_traces(scene, [[0, 0]], 256, DT, height_m=-0.1)
    with pytest.raises(ValueError, match=r"layers\[1\].top_depth_m"):
        clean_scene([], layers=[Layer(0.3, 4.0), Layer(0.2, 5.0)]).validate()
    with pytest.raises(ValueError, match="kind"):
        clean_scene([Scatterer(0, 0, 0.2, kind="cube")]).validate()
    settings = forward_settings(scene, 16, DT)
    with pytest.raises(ValueError, match=r"elements.*v_mps.*eps_r >= 1"):
        fwd.render_traces(np.zeros((1, 5)), [[0, 0, 0.1, 0, 0, 0, 1, 0, 4e8, 0]], settings)
    with pytest.raises(ValueError, match=r"antennas: expected shape \(n, 5\)"):
        fwd.render_traces(np.zeros((1, 4)), np.zeros((0, 10)), settings)
    with pytest.raises(ValueError, match="mode 0-4"):
        fwd.render_traces(np.zeros((1, 5)), [[0, 0, 0.1, 0, 0, 0, 1, 7, 1e8, 0]], settings)
