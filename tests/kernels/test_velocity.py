"""Velocity analysis: semblance kernels against their NumPy references, the automatic estimate from diffraction
hyperbolae on synthetic lines and cubes (eps_r 4 to 16 within 5 %), CMP/WARR semblance on a synthetic gather,
validation, and the real WARR gather and dune survey."""

import math

import numpy as np
import pytest

from sensorkit.gpr.gridding import GprCube, grid_lines
from sensorkit.gpr.velocity import (
    VelocityEstimate,
    estimate_velocity_cube,
    estimate_velocity_line,
    semblance_velocity,
)
from sensorkit.kernels import _reference_velocity as ref
from sensorkit.kernels.gpr_filters import dewow, remove_background
from sensorkit.kernels.semblance import hyperbola_semblance, nmo_semblance
from sensorkit.kernels.traveltime import C0_MPS, refracted_one_way_time_s
from sensorkit.synth.gpr import Antenna, GprScene, Layer, Scatterer, Soil, simulate_line, simulate_traces
from sensorkit.synth.soil import velocity_mps

DT_S = 0.05e-9        # 800 MHz ground-coupled antenna, 512 samples = 25.6 ns
N_SAMPLES = 512
DX_M = 0.02
X_M = np.arange(201) * DX_M


def ricker(t_s, f_hz):
    a = (np.pi * f_hz * t_s) ** 2
    return (1.0 - 2.0 * a) * np.exp(-a)


def hyperbola_line(v_mps, apexes, n_traces=81, dx_m=0.02, dt_s=0.1e-9, n_samples=300, height_m=0.0, seed=0,
                   noise=0.0):
    """Traces with Ricker echoes (1 GHz) on the hyperbolae of point diffractors at (x_m, two-way apex time),
    amplitude falling as (t_apex / t)**2 (spreading)."""
    x = np.arange(n_traces) * dx_m
    t = np.arange(n_samples) * dt_s
    out = np.zeros((n_traces, n_samples))
    for x0, t0 in apexes:
        depth = (0.5 * t0 - height_m / C0_MPS) * v_mps
        for k in range(n_traces):
            tk = 2.0 * refracted_one_way_time_s(abs(x[k] - x0), height_m, depth, v_mps)
            out[k] += (t0 / tk) ** 2 * ricker(t - tk, 1e9)
    out += noise * np.random.default_rng(seed).standard_normal(out.shape)
    return out.astype(np.float32), x


def scene_with_diffractors(eps_r, noise_rms=0.002):
    """Two metal points and a metal pipe (radius 1 cm, across the line) at apex times 6, 10 and 15 ns, a
    layer at 19 ns, white noise and clutter; the ground wave is in the traces (removed by the tests)."""
    v = velocity_mps(eps_r)
    depth = lambda t_s: 0.5 * v * t_s  # noqa: E731
    scatterers = [
        Scatterer(0.9, 0.0, depth(6e-9), "point", amplitude=0.02, eps_r="metal"),
        Scatterer(2.0, 0.0, depth(10e-9) + 0.01, "cylinder", amplitude=3.0, radius_m=0.01, length_m=2.0,
                  azimuth_rad=math.pi / 2, eps_r="metal"),
        Scatterer(3.1, 0.0, depth(15e-9), "point", amplitude=0.05, eps_r=1.0),
    ]
    soil = Soil(eps_r=eps_r, conductivity_s_per_m=0.005, layers=[Layer(depth(19e-9), 1.5 * eps_r)])
    return GprScene(soil=soil, scatterers=scatterers, antenna=Antenna(centre_frequency_hz=800e6),
                    noise_rms=noise_rms, clutter_rms=noise_rms)


# --- kernels against the references -------------------------------------------------------------------------

@pytest.mark.parametrize("height_m,max_traces", [(0.0, 0), (0.1, 0), (0.0, 10)])
def test_hyperbola_semblance_matches_reference(height_m, max_traces):
    x, pos = hyperbola_line(0.1e9, [(0.4, 8e-9), (1.1, 14e-9)], height_m=height_m, noise=0.2)
    apex_index = np.array([20, 55, 40])
    apex_sample = np.array([80.3, 140.0, 100.0])
    velocities = np.array([0.06e9, 0.1e9, 0.15e9])
    args = dict(half_window=4, aperture_m=np.array([0.3, 0.5, 0.2]), shifts_samples=np.array([-1.5, 0.0, 2.0]),
                trace_shifts=np.array([-1, 0, 1]), max_traces=max_traces, min_traces=3)
    out = hyperbola_semblance(x, pos, apex_index, apex_sample, velocities, dt_s=0.1e-9, height_m=height_m,
                              time_zero_s=0.0, **args)
    expected = ref.hyperbola_semblance_reference(x, pos, apex_index, apex_sample, velocities, 0.1e-9, 0.0,
                                                 height_m, **args)
    np.testing.assert_allclose(out[0], expected[0], rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(out[1], expected[1])
    np.testing.assert_array_equal(out[2], expected[2])
    assert out[0][0, 1] > 0.8 and out[0][1, 1] > 0.8   # true apexes at the true velocity


def test_hyperbola_semblance_peaks_at_true_velocity_and_apex():
    x, pos = hyperbola_line(0.1e9, [(0.8, 10e-9)], height_m=0.05)
    velocities = np.linspace(0.05e9, 0.2e9, 31)
    sem, trace, shift = hyperbola_semblance(x, pos, [38], [101.0], velocities, dt_s=0.1e-9, height_m=0.05,
                                            half_window=5, aperture_m=0.6, shifts_samples=[-1.0, 0.0, 1.0],
                                            trace_shifts=np.arange(-3, 4))
    best = int(np.argmax(sem[0]))
    assert velocities[best] == pytest.approx(0.1e9)
    assert sem[0, best] > 0.95 and sem[0, 0] < 0.6 and sem[0, -1] < 0.6
    assert trace[0, best] == 40  # the apex trace, found from trace 38
    assert shift[0, best] in (-1.0, 0.0, 1.0)  # semblance hardly depends on the apex time (window moves along)


@pytest.mark.parametrize("time_zero_s", [0.0, 2e-9])
def test_nmo_semblance_matches_reference(time_zero_s):
    rng = np.random.default_rng(5)
    gather = rng.standard_normal((12, 150)).astype(np.float32)
    offsets = np.linspace(0.3, 2.5, 12)
    velocities = np.array([0.05e9, 0.09e9, 0.13e9])
    out = nmo_semblance(gather, offsets, velocities, dt_s=0.2e-9, time_zero_s=time_zero_s, half_window=3)
    expected = ref.nmo_semblance_reference(gather, offsets, velocities, 0.2e-9, time_zero_s, 3)
    assert out.shape == (3, 150)
    np.testing.assert_allclose(out, expected, rtol=1e-9, atol=1e-12)
    assert (out[:, : int(round(time_zero_s / 0.2e-9))] == 0).all()  # rows before time zero
    assert (out[:, int(round(time_zero_s / 0.2e-9))] > 0).all()


def test_kernel_validation():
    x, pos = hyperbola_line(0.1e9, [(0.4, 8e-9)], n_traces=10)
    with pytest.raises(ValueError, match="velocities_mps"):
        hyperbola_semblance(x, pos, [2], [80.0], [0.1e9, 4e8], dt_s=1e-10, half_window=2, aperture_m=0.2)
    with pytest.raises(ValueError, match="apex_index"):
        hyperbola_semblance(x, pos, [10], [80.0], [0.1e9], dt_s=1e-10, half_window=2, aperture_m=0.2)
    with pytest.raises(ValueError, match="x_m: expected 10 finite numbers"):
        hyperbola_semblance(x, pos[:5], [2], [80.0], [0.1e9], dt_s=1e-10, half_window=2, aperture_m=0.2)
    with pytest.raises(ValueError, match="offsets_m: expected offsets >= 0"):
        nmo_semblance(x, -pos, [0.1e9], dt_s=1e-10, half_window=2)
    with pytest.raises(ValueError, match="gather: expected an array \\(n_traces, n_samples\\)"):
        nmo_semblance(x[0], pos[:1], [0.1e9], dt_s=1e-10, half_window=2)


# --- automatic estimate on synthetic scenes -------------------------------------------------------------------

@pytest.mark.parametrize("eps_r", [4.0, 6.25, 9.0, 16.0])
def test_estimate_velocity_line_within_5_percent(eps_r):
    """The issue's acceptance: relative permittivity 4 to 16, automatic estimate within 5 % (measured: 0.1 to
    2.0 %). The direct ground wave is in the simulated traces and removed by background removal."""
    scene = scene_with_diffractors(eps_r)
    line, truth = simulate_line(scene, X_M, N_SAMPLES, DT_S, seed=1)
    assert np.abs(line.traces).max() > 50.0  # the ground wave dominates the raw traces
    est = estimate_velocity_line(remove_background(line.traces), dt_s=DT_S, dx_m=DX_M)
    v_true = velocity_mps(eps_r)
    assert isinstance(est, VelocityEstimate)
    assert abs(est.velocity_mps / v_true - 1.0) < 0.05
    assert abs(est.eps_r / eps_r - 1.0) < 0.11
    assert est.eps_r == pytest.approx((C0_MPS / est.velocity_mps) ** 2)
    assert est.confidence > 0.4 and 2 <= est.n_hyperbolae == len(est.apexes)
    found = [r for r in truth if any(abs(x - r["x_m"]) <= 0.1 and abs(t - r["two_way_time_s"]) < 1e-9
                                     for x, t in est.apexes)]
    assert len(found) >= 2
    velocities, score = est.curve
    assert velocities[0] == 0.05e9 and velocities[-1] == 0.2e9 and score.max() == pytest.approx(1.0)


def test_estimate_velocity_line_other_seed_and_noise():
    scene = scene_with_diffractors(9.0, noise_rms=0.004)
    line, _ = simulate_line(scene, X_M, N_SAMPLES, DT_S, seed=2)
    est = estimate_velocity_line(remove_background(line.traces), dt_s=DT_S, dx_m=DX_M)
    assert abs(est.velocity_mps / velocity_mps(9.0) - 1.0) < 0.05


def test_estimate_velocity_line_with_time_zero_and_height():
    """Ideal point hyperbolae seen from 5 cm above the ground, 3 ns of pre-trigger samples."""
    x, _ = hyperbola_line(0.12e9, [(0.6, 9e-9), (1.6, 13e-9), (2.5, 17e-9)], n_traces=161, height_m=0.05,
                          noise=0.02)
    x = np.concatenate([np.zeros((161, 30), np.float32), x], axis=1)  # sample 30 is time zero
    est = estimate_velocity_line(x, dt_s=0.1e-9, dx_m=0.02, antenna_height_m=0.05, time_zero_s=3e-9)
    assert abs(est.velocity_mps / 0.12e9 - 1.0) < 0.02
    assert est.n_hyperbolae >= 3 and est.confidence > 0.5
    assert {(round(x, 1), round(t * 1e9)) for x, t in est.apexes} >= {(0.6, 9), (1.6, 13), (2.5, 17)}


def test_estimate_velocity_line_without_diffractions():
    scene = GprScene(soil=Soil(eps_r=9.0, layers=[Layer(0.5, 14.0)]), antenna=Antenna(centre_frequency_hz=800e6),
                     noise_rms=0.003, clutter_rms=0.003)
    for seed in (0, 1):
        line, _ = simulate_line(scene, X_M, N_SAMPLES, DT_S, seed=seed)
        est = estimate_velocity_line(remove_background(line.traces), dt_s=DT_S, dx_m=DX_M)
        assert est.confidence < 0.25
        if est.n_hyperbolae == 0:
            assert math.isnan(est.velocity_mps) and math.isnan(est.eps_r) and est.apexes == []


def test_estimate_velocity_cube():
    scene = scene_with_diffractors(6.25)
    lines = [simulate_line(scene, X_M, N_SAMPLES, DT_S, y_m=y, seed=i)[0] for i, y in enumerate((-0.1, 0.0, 0.1))]
    cube = grid_lines(lines)
    assert cube.data.shape == (201, 3, N_SAMPLES)
    cube.data = remove_background(cube.data, trace_axis=0)
    est = estimate_velocity_cube(cube)
    assert abs(est.velocity_mps / velocity_mps(6.25) - 1.0) < 0.05
    assert est.n_hyperbolae >= 4 and all(len(a) == 3 for a in est.apexes)
    assert {round(a[1], 3) for a in est.apexes} <= {-0.1, 0.0, 0.1}


def test_estimate_validation():
    x = np.zeros((10, 64), np.float32)
    with pytest.raises(ValueError, match="v_max_mps: expected a velocity above v_min_mps"):
        estimate_velocity_line(x + 1, dt_s=1e-10, dx_m=0.02, v_min_mps=0.2e9, v_max_mps=0.1e9)
    with pytest.raises(ValueError, match="dx_m"):
        estimate_velocity_line(x + 1, dt_s=1e-10, dx_m=0.0)
    with pytest.raises(ValueError, match="traces: expected a line"):
        estimate_velocity_line(np.ones((10, 2, 64)), dt_s=1e-10, dx_m=0.02)
    with pytest.raises(ValueError, match="found all zero"):
        estimate_velocity_line(x, dt_s=1e-10, dx_m=0.02)
    with pytest.raises(ValueError, match="cube: expected a GprCube"):
        estimate_velocity_cube(x)
    empty = GprCube(data=np.ones((4, 2, 64), np.float32), x_m=np.arange(4.0), y_m=np.arange(2.0),
                    mask=np.zeros((4, 2), bool), dt_s=1e-10, cell_x_m=1.0, cell_y_m=1.0)
    with pytest.raises(ValueError, match="cube.mask: expected some cells with data"):
        estimate_velocity_cube(empty)


# --- CMP / WARR semblance ------------------------------------------------------------------------------------

def cmp_gather(eps_r, layer_depth_m, offsets_m, dt_s=0.2e-9, n_samples=400):
    """A 200 MHz ground-coupled CMP gather: air and ground waves, one layer reflection, a little noise."""
    traces = []
    for i, off in enumerate(offsets_m):
        scene = GprScene(soil=Soil(eps_r=eps_r, layers=[Layer(layer_depth_m, 2.0 * eps_r)]),
                         antenna=Antenna(centre_frequency_hz=200e6, offset_m=float(off)), noise_rms=1e-3)
        traces.append(simulate_traces(scene, [[0.0, 0.0]], n_samples, dt_s, seed=i)[0])
    return np.array(traces)


def test_semblance_velocity_synthetic_cmp():
    offsets = np.arange(0.2, 3.01, 0.1)
    gather = cmp_gather(9.0, 2.0, offsets)
    v_true = velocity_mps(9.0)
    velocities = np.linspace(0.05e9, 0.2e9, 61)
    panel, v_reflection = semblance_velocity(gather, offsets, dt_s=0.2e-9, velocities_mps=velocities,
                                             window_s=5e-9, min_time_s=20e-9)
    assert panel.shape == (61, 400)
    assert abs(v_reflection / v_true - 1.0) < 0.03
    iv, it = np.unravel_index(np.argmax(panel[:, 100:]), panel[:, 100:].shape)
    assert (100 + it) * 0.2e-9 == pytest.approx(2 * 2.0 / v_true, abs=2.5e-9)  # t0 of the layer, 40 ns
    ground = int(np.argmax(panel[:, 0]))                 # row t0 = 0: the direct ground wave t = x / v
    assert abs(velocities[ground] / v_true - 1.0) < 0.03


def test_semblance_velocity_validation():
    gather = np.ones((3, 50), np.float32)
    with pytest.raises(ValueError, match="window_s"):
        semblance_velocity(gather, [1, 2, 3], dt_s=1e-10, velocities_mps=[1e8], window_s=0.0)
    with pytest.raises(ValueError, match="min_time_s: expected a time inside the record"):
        semblance_velocity(gather, [1, 2, 3], dt_s=1e-10, velocities_mps=[1e8], window_s=1e-9, min_time_s=1e-6)
    with pytest.raises(ValueError, match="offsets_m: expected 3 finite numbers"):
        semblance_velocity(gather, [1, 2], dt_s=1e-10, velocities_mps=[1e8], window_s=1e-9)


# --- real data ------------------------------------------------------------------------------------------------

def test_warr_gather_semblance(shared_data):
    """pulseEKKO 100 MHz WARR gather: offsets from the header (0.6 m start, 0.1 m steps), time zero from it."""
    from sensorkit.formats.registry import read_any

    line = read_any(shared_data / "gpr" / "gprpy-examples" / "SnS" / "WARR" / "XLINE00.DT1").gpr[0]
    hd = line.source_header["hd"]
    assert float(hd["STARTING POSITION"]) == 0.6 and float(hd["STEP SIZE USED"]) == 0.1
    assert line.centre_frequency_hz == 100e6 and line.traces.shape == (164, 1900)
    offsets = 0.6 + 0.1 * np.arange(line.n_traces)
    data = dewow(line.traces, window_s=10e-9, dt_s=line.dt_s)
    velocities = np.linspace(0.03e9, 0.2e9, 69)
    panel, v = semblance_velocity(data, offsets, dt_s=line.dt_s, velocities_mps=velocities, window_s=10e-9,
                                  time_zero_s=line.time_zero_s)
    assert panel.shape == (69, 1900)
    assert 0.09e9 < v < 0.125e9  # 0.1075 m/ns measured; the ground wave's slope is about 0.1 m/ns


def test_dune_survey_velocity(shared_data):
    """The 24-line 400 MHz dune grid, processed as its authors did (time zero 14 ns, v = 0.06 m/ns)."""
    from sensorkit.formats.registry import read_any
    from sensorkit.gpr.gridding import assign_line_offsets

    files = sorted((shared_data / "gpr" / "grid3d-dune400").glob("FILE____0*.DZT"))
    cube = grid_lines(assign_line_offsets([read_any(f).gpr[0] for f in files], 0.2))
    cube.data = remove_background(dewow(cube.data, window_s=2.5e-9, dt_s=cube.dt_s), trace_axis=0)
    est = estimate_velocity_cube(cube, time_zero_s=14e-9)
    assert est.n_hyperbolae >= 5
    assert 0.04e9 < est.velocity_mps < 0.16e9
