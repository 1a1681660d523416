"""Migration kernels (Kirchhoff, Stolt, phase shift) against their float64 NumPy references, their argument
checks, and the typed API of sensorkit.gpr.migration.

Tolerances: the kernels compute in float32 (Kirchhoff accumulators, single-precision FFTs of the f-k methods);
on these small random inputs they agree with the float64 references to within 1e-5 of the reference image's
largest absolute value (measured: about 1e-6 for Kirchhoff, 1e-7 for Stolt and phase shift).
"""

import json
import math
import re

import numpy as np
import pytest

from sensorkit.gpr.migration import (KirchhoffConfig, MigratedImage, PhaseShiftConfig, StoltConfig,
                                     default_depth_axis_m, migrate)
from sensorkit.kernels.kirchhoff import (kirchhoff_migrate_2d, kirchhoff_migrate_3d, kirchhoff_update_count,
                                         rho_filter)
from sensorkit.kernels.migration_reference import (kirchhoff_reference, kirchhoff_update_count_reference,
                                                   phase_shift_reference, stolt_reference, triangle_read_reference)
from sensorkit.kernels.phase_shift import phase_shift_migrate_2d, phase_shift_migrate_3d
from sensorkit.kernels.stolt import padded_sizes, stolt_migrate_2d, stolt_migrate_3d
from sensorkit.kernels.traveltime import C0_MPS

RTOL = 1e-5  # of the reference image's largest |value|
DT = 1e-10
DEPTHS = np.linspace(0.0, 0.25, 13)


def _rel_err(a, b):
    return float(np.abs(np.asarray(a, np.float64) - b).max() / np.abs(b).max())


def _random(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# --- Kirchhoff ------------------------------------------------------------------------------------------------

KIRCHHOFF_CASES = [  # shape, dx, dy, height, refraction, antialias
    ((7, 6, 60), 0.02, 0.03, 0.0, True, True),
    ((7, 6, 60), 0.02, 0.03, 0.1, True, True),
    ((7, 6, 60), 0.02, 0.03, 0.1, False, False),
    ((8, 8, 60), 0.02, 0.02, 0.05, True, True),  # square cells: (a, b) and (b, a) share a class
    ((9, 4, 50), 0.02, 0.02, 0.05, True, False),  # square cells, more rows than columns ...
    ((4, 9, 50), 0.02, 0.02, 0.0, True, True),  # ... and the other way round
]


@pytest.mark.parametrize("shape, dx, dy, height, refraction, antialias", KIRCHHOFF_CASES)
def test_kirchhoff_3d_matches_reference(shape, dx, dy, height, refraction, antialias):
    d = _random(shape, 1)
    kw = dict(dt_s=DT, dx_m=dx, dy_m=dy, depth_m=DEPTHS, velocity_mps=1e8, height_m=height, refraction=refraction,
              aperture_m=0.11, max_angle_deg=70.0, antialias=antialias)
    fast = kirchhoff_migrate_3d(d, **kw)
    ref = kirchhoff_reference(d, **kw)
    assert fast.shape == shape[:2] + (DEPTHS.size,) and fast.dtype == np.float32
    assert np.abs(ref).max() > 0.1  # the case migrates something
    assert _rel_err(fast, ref) < RTOL


@pytest.mark.parametrize("height, refraction, antialias, rho", [(0.0, True, True, True), (0.1, True, True, False),
                                                                (0.1, False, False, True)])
def test_kirchhoff_2d_matches_reference(height, refraction, antialias, rho):
    d = _random((15, 60), 2)
    kw = dict(dt_s=DT, dx_m=0.02, depth_m=DEPTHS, velocity_mps=1.2e8, height_m=height, refraction=refraction,
              aperture_m=0.15, max_angle_deg=75.0, antialias=antialias)
    fast = kirchhoff_migrate_2d(d, rho_filter=rho, **kw)
    ref = kirchhoff_reference(d, rho_filter_on=rho, **kw)
    assert fast.shape == (15, DEPTHS.size)
    assert _rel_err(fast, ref) < RTOL


def test_kirchhoff_aperture_and_angle_limit_what_is_summed():
    """One spike trace: the image is non-zero exactly where that trace is within aperture and angle."""
    nx, ny, nt = 15, 15, 80
    d = np.zeros((nx, ny, nt), np.float32)
    d[7, 7, 40] = 1.0  # at two-way time 4 ns: the semicircle of radius 0.2 m at 0.1 m/ns
    z = np.linspace(0.0, 0.3, 61)
    kw = dict(dt_s=DT, dx_m=0.02, dy_m=0.02, depth_m=z, velocity_mps=1e8, antialias=False, rho_filter=False)

    def support(img):
        idx = np.argwhere(np.abs(img) > 0)
        return np.hypot(idx[:, 0] - 7, idx[:, 1] - 7) * 0.02, z[idx[:, 2]]

    # the angle limits: 30 deg on the 0.2 m semicircle is r <= 0.1 m, well inside the 0.19 m aperture
    r, depth = support(kirchhoff_migrate_3d(d, aperture_m=0.19, max_angle_deg=30.0, **kw))
    assert np.all(np.degrees(np.arctan2(r, depth)) <= 30.0 + 1e-9)
    assert 0.09 <= r.max() <= 0.1 + 1e-12
    # the spike lands on the semicircle r^2 + z^2 = 0.2^2 (linear interpolation: within half a sample)
    assert np.all(np.abs(np.hypot(r, depth) - 0.2) < 0.005)
    # the aperture limits: 0.09 m, with a wide angle
    r, depth = support(kirchhoff_migrate_3d(d, aperture_m=0.09, max_angle_deg=80.0, **kw))
    assert 0.08 < r.max() <= 0.09 + 1e-12
    img = kirchhoff_migrate_3d(d, aperture_m=0.09, max_angle_deg=80.0, **kw)
    assert img[7, 7, 40] > 0  # straight below at 0.2 m


@pytest.mark.parametrize("shape, dx, dy, height, refraction", [((6, 5, 40), 0.02, 0.03, 0.0, True),
                                                               ((8, 8, 40), 0.02, 0.02, 0.1, True),
                                                               ((8, 3, 40), 0.02, 0.02, 0.1, False)])
def test_update_count_matches_reference(shape, dx, dy, height, refraction):
    kw = dict(dt_s=DT, dx_m=dx, dy_m=dy, depth_m=DEPTHS, velocity_mps=1e8, height_m=height, refraction=refraction,
              aperture_m=0.12, max_angle_deg=65.0)
    n = kirchhoff_update_count(shape, **kw)
    assert n == kirchhoff_update_count_reference(*shape, **kw)
    assert n > 0


def test_update_count_counts_only_times_inside_the_record():
    """Brute force over voxels and traces (straight rays, ground-coupled): the count keeps only the pairs whose
    two-way time T = 2 sqrt(r^2 + z^2) / v is at most (nt - 1) dt; the depth axis goes past the record."""
    nx, ny, nt, dx, dy, v = 5, 4, 40, 0.02, 0.03, 1e8
    z = np.linspace(0.0, 0.4, 41)  # the record (3.9 ns) ends at 0.195 m
    ap, max_angle = 0.12, 65.0
    ix, iy, jx, jy = np.meshgrid(np.arange(nx), np.arange(ny), np.arange(nx), np.arange(ny), indexing="ij")
    r = np.hypot((jx - ix) * dx, (jy - iy) * dy)[..., None]
    dist = np.hypot(r, z)
    with np.errstate(invalid="ignore", divide="ignore"):
        sin_t = np.where(dist > 0, r / dist, 0.0)
    in_operator = (r <= ap) & (sin_t <= math.sin(math.radians(max_angle)))
    in_record = 2.0 * dist / v / DT <= nt - 1
    n = kirchhoff_update_count((nx, ny, nt), dt_s=DT, dx_m=dx, dy_m=dy, depth_m=z, velocity_mps=v,
                               aperture_m=ap, max_angle_deg=max_angle)
    assert n == int((in_operator & in_record).sum()) == 6398
    assert int(in_operator.sum()) == 15074  # what a count ignoring the record would give
    # a record twice as long holds more of the pairs
    assert kirchhoff_update_count((nx, ny, 2 * nt), dt_s=DT, dx_m=dx, dy_m=dy, depth_m=z, velocity_mps=v,
                                  aperture_m=ap, max_angle_deg=max_angle) > n


def test_triangle_read_is_the_triangle_filter():
    x = np.random.default_rng(4).standard_normal(40)
    for L in (1, 2, 3, 5):
        for t in (10, 17, 25):
            explicit = sum((L - abs(k)) * x[t + k] for k in range(-L + 1, L)) / L ** 2
            assert triangle_read_reference(x, [t], [L])[0] == pytest.approx(explicit, abs=1e-12)
    # L = 1 is linear interpolation
    t = np.array([3.0, 7.25, 19.5, 30.9])
    np.testing.assert_allclose(triangle_read_reference(x, t, np.ones(4)), np.interp(t, np.arange(40), x), atol=1e-12)


def test_antialiasing_smooths_steep_operator_dips_only():
    """Against no anti-aliasing: identical straight below a spike (L = 1), smoother where the operator is steep."""
    d = np.zeros((41, 1, 200), np.float32)
    d[20, 0, 100] = 1.0  # 10 ns: the semicircle of radius 0.5 m
    z = np.linspace(0.0, 0.5, 101)
    kw = dict(dt_s=DT, dx_m=0.05, dy_m=0.05, depth_m=z, velocity_mps=1e8, aperture_m=1.0, max_angle_deg=80.0,
              rho_filter=False)
    aa = kirchhoff_migrate_3d(d, antialias=True, **kw)[:, 0]
    raw = kirchhoff_migrate_3d(d, antialias=False, **kw)[:, 0]
    # (a lone spike is the worst case of the float32 double integral: S2 is a ramp of height ~100 samples,
    # and its second differences carry ~1e-4 of the peak as rounding; zero-mean wavelets fare ~100x better)
    np.testing.assert_allclose(aa[20], raw[20], rtol=0, atol=3e-4 * np.abs(raw).max())
    # 0.3 m off the apex, the spike is imaged at 0.4 m depth, 37 deg from vertical, where the operator moves
    # 2 sin(37 deg) 0.05 m / 0.1 m/ns = 0.6 ns = 6 samples from one trace to the next: a triangle of
    # half-length 6 samples spreads it over more depths with a lower peak
    far = 20 + 6
    assert np.count_nonzero(np.abs(aa[far]) > 1e-9) >= 3 * np.count_nonzero(np.abs(raw[far]) > 1e-9)
    assert np.abs(aa[far]).max() < 0.5 * np.abs(raw[far]).max()
    assert z[np.argmax(np.abs(aa[far]))] == pytest.approx(0.4, abs=0.01)


def test_rho_filter_is_the_time_derivative():
    t = np.arange(256) * DT
    x = np.exp(-((t - 12e-9) / 1.5e-9) ** 2)
    dx_dt = -2 * (t - 12e-9) / 1.5e-9 ** 2 * x
    np.testing.assert_allclose(rho_filter(x, DT, 1.0), -dx_dt, atol=2e-3 * np.abs(dx_dt).max())
    # two half derivatives make one (on a long record, looking away from its ends: the half derivative's tail
    # decays as t^-1.5 and is cut at the end of the record before the second pass)
    t = np.arange(2048) * DT
    x = np.exp(-((t - 12e-9) / 1.5e-9) ** 2)
    dx_dt = -2 * (t - 12e-9) / 1.5e-9 ** 2 * x
    half = rho_filter(rho_filter(x, DT, 0.5), DT, 0.5)
    np.testing.assert_allclose(half[20:1000], -dx_dt[20:1000], atol=1e-2 * np.abs(dx_dt).max())


# --- Stolt and phase shift ------------------------------------------------------------------------------------


@pytest.mark.parametrize("height, refraction, interpolation", [(0.0, True, "linear"), (0.07, True, "linear"),
                                                               (0.07, False, "sinc"), (0.05, True, "sinc")])
def test_stolt_matches_reference(height, refraction, interpolation):
    d = _random((9, 7, 40), 3)
    v, dx, dy = 1.2e8, 0.02, 0.03
    kw = dict(dt_s=DT, dx_m=dx, depth_m=DEPTHS, velocity_mps=v, height_m=height, refraction=refraction,
              interpolation=interpolation)
    nxp, nyp, ntp = padded_sizes(9, 7, 40, DT, dx, dy, v, None, 2.0)
    assert (nxp, nyp, ntp) == (21, 15, 80)  # the padding: u (nt - 1) dt = 0.234 m more in x and y, 2 nt
    fast = stolt_migrate_3d(d, dy_m=dy, **kw)
    ref = stolt_reference(d, dy_m=dy, nx_pad=nxp, ny_pad=nyp, nt_pad=ntp, **kw)
    assert _rel_err(fast, ref) < RTOL
    nxp, _, ntp = padded_sizes(9, 1, 40, DT, dx, 1.0, v, None, 2.0)
    fast = stolt_migrate_2d(d[:, 0], **kw)
    assert _rel_err(fast, stolt_reference(d[:, 0], nx_pad=nxp, nt_pad=ntp, **kw)) < RTOL


@pytest.mark.parametrize("interpolation", ["linear", "sinc"])
def test_stolt_parallel_mapping_equals_the_serial_one(monkeypatch, interpolation):
    """Small inputs map on one thread, large ones in parallel over the (k, -k) row pairs: same numbers."""
    import sensorkit.kernels.stolt as stolt

    d = _random((9, 7, 40), 4)
    kw = dict(dt_s=DT, dx_m=0.02, dy_m=0.03, depth_m=DEPTHS, velocity_mps=1.2e8, height_m=0.05,
              interpolation=interpolation)
    assert 21 * 15 * 41 <= stolt.SERIAL_MAX_BINS
    serial = stolt_migrate_3d(d, **kw)
    monkeypatch.setattr(stolt, "SERIAL_MAX_BINS", 0)
    parallel = stolt_migrate_3d(d, **kw)
    assert np.abs(serial).max() > 0.1
    np.testing.assert_array_equal(parallel, serial)


LAYERS = dict(layer_tops_m=[0.0, 0.1, 0.17], velocities_mps=[1.2e8, 0.8e8, 1.5e8])
PS_DEPTHS = np.array([0.0, 0.02, 0.04, 0.06, 0.1, 0.13, 0.16, 0.2, 0.24, 0.3])  # steps across the layer tops


@pytest.mark.parametrize("height, refraction", [(0.0, True), (0.07, True), (0.07, False)])
def test_phase_shift_matches_reference(height, refraction):
    d = _random((9, 7, 40), 5)
    kw = dict(dt_s=DT, dx_m=0.02, depth_m=PS_DEPTHS, height_m=height, refraction=refraction, **LAYERS)
    nxp, nyp, ntp = padded_sizes(9, 7, 40, DT, 0.02, 0.03, 1.5e8, None, 2.0)
    fast = phase_shift_migrate_3d(d, dy_m=0.03, **kw)
    assert fast.shape == (9, 7, PS_DEPTHS.size) and fast.dtype == np.float32
    assert _rel_err(fast, phase_shift_reference(d, dy_m=0.03, nx_pad=nxp, ny_pad=nyp, nt_pad=ntp, **kw)) < RTOL
    nxp, _, ntp = padded_sizes(9, 1, 40, DT, 0.02, 1.0, 1.5e8, None, 2.0)
    fast = phase_shift_migrate_2d(d[:, 0], **kw)
    assert _rel_err(fast, phase_shift_reference(d[:, 0], nx_pad=nxp, nt_pad=ntp, **kw)) < RTOL


def test_flat_reflector_lands_at_its_depth_through_layers_and_air():
    """A flat event at the vertical two-way time of 0.25 m (air 0.1 m, then 0.1 m at 0.12 m/ns, 0.15 m at
    0.08 m/ns) is imaged at 0.25 m by phase shift; straight-ray air (refraction off) puts it shallower."""
    h = 0.1
    t = 2 * (h / C0_MPS + 0.1 / 1.2e8 + 0.15 / 0.8e8)  # 6.0 ns + 0.667 ns
    time = np.arange(200) * DT
    trace = np.exp(-((time - t) / 0.3e-9) ** 2)
    d = np.repeat(trace[None, :], 16, axis=0).astype(np.float32)
    z = np.arange(0.0, 0.4, 0.005)
    kw = dict(dt_s=DT, dx_m=0.05, depth_m=z, layer_tops_m=[0.0, 0.1], velocities_mps=[1.2e8, 0.8e8], height_m=h)
    img = phase_shift_migrate_2d(d, **kw)
    assert z[np.argmax(img[8])] == pytest.approx(0.25, abs=0.005)
    wrong = phase_shift_migrate_2d(d, refraction=False, **kw)
    # 0.1 m of air taken at 0.12 m/ns costs 1.667 ns instead of 0.667 ns: 1 ns = 0.04 m at 0.08 m/ns
    assert z[np.argmax(wrong[8])] == pytest.approx(0.21, abs=0.005)


# --- argument checks ------------------------------------------------------------------------------------------

GOOD3 = dict(dt_s=DT, dx_m=0.02, dy_m=0.02, depth_m=DEPTHS, velocity_mps=1e8)
BAD = [  # (function, override, message fragment)
    ("data", np.zeros((4, 4), np.float32), "data: expected a 3-D array"),
    ("data", np.zeros((4, 4, 10), np.complex64), "data: expected real"),
    ("data", np.full((4, 4, 10), np.nan, np.float32), "data: expected finite values"),
    ("data", np.zeros((4, 4, 1), np.float32), "at least 2 samples"),
    ("dt_s", 0.0, "dt_s: expected a finite number > 0"),
    ("dx_m", -0.02, "dx_m: expected a finite number > 0"),
    ("velocity_mps", 3.1e8, "velocity_mps: expected a number in (0.0, 299792458.0)"),
    ("velocity_mps", 0.0, "velocity_mps"),
    ("depth_m", [0.0, 0.1, 0.1], "depth_m: expected strictly increasing depths, found depth_m[1] = 0.1"),
    ("depth_m", [-0.1, 0.1], "depth_m: expected depths >= 0 m"),
    ("depth_m", [[0.1]], "depth_m: expected a 1-D array"),
    ("height_m", -0.1, "height_m: expected a number in [0.0, inf]"),
    ("refraction", "yes", "refraction: expected True or False"),
]


@pytest.mark.parametrize("field, value, message", BAD)
@pytest.mark.parametrize("fn", [kirchhoff_migrate_3d, stolt_migrate_3d, phase_shift_migrate_3d])
def test_bad_arguments_raise_value_error_naming_them(fn, field, value, message):
    kw = dict(GOOD3)
    data = value if field == "data" else np.zeros((4, 4, 10), np.float32)
    if field != "data":
        kw[field] = value
    if fn is phase_shift_migrate_3d:  # a single layer: the velocity is velocities_mps[0]
        kw.update(layer_tops_m=[0.0], velocities_mps=[kw.pop("velocity_mps")])
        message = message.replace("velocity_mps", "velocities_mps[0]")
    with pytest.raises(ValueError, match=re.escape(message)):
        fn(data, **kw)


@pytest.mark.parametrize("kw, message", [
    (dict(aperture_m=0.0), "aperture_m: expected a finite number > 0"),
    (dict(max_angle_deg=95.0), "max_angle_deg: expected a number in"),
    (dict(antialias=1), "antialias: expected True or False"),
])
def test_kirchhoff_specific_checks(kw, message):
    with pytest.raises(ValueError, match=message):
        kirchhoff_migrate_3d(np.zeros((4, 4, 10), np.float32), **{**GOOD3, **kw})


def test_stolt_and_phase_shift_specific_checks():
    d = np.zeros((4, 4, 10), np.float32)
    with pytest.raises(ValueError, match="interpolation: expected one of 'linear', 'sinc', found 'cubic'"):
        stolt_migrate_3d(d, interpolation="cubic", **GOOD3)
    with pytest.raises(ValueError, match="time_pad_factor"):
        stolt_migrate_3d(d, time_pad_factor=0.5, **GOOD3)
    kw = {k: v for k, v in GOOD3.items() if k != "velocity_mps"}
    with pytest.raises(ValueError, match=r"layer_tops_m: expected the first top at 0 m .* found \[0.1, 0.2\]"):
        phase_shift_migrate_3d(d, layer_tops_m=[0.1, 0.2], velocities_mps=[1e8, 1e8], **kw)
    with pytest.raises(ValueError, match="same length"):
        phase_shift_migrate_3d(d, layer_tops_m=[0.0, 0.2], velocities_mps=[1e8], **kw)
    with pytest.raises(ValueError, match=r"velocities_mps\[1\]: expected a number in \(0.0, 299792458.0\)"):
        phase_shift_migrate_3d(d, layer_tops_m=[0.0, 0.2], velocities_mps=[1e8, -1.0], **kw)


# --- the typed API --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("config", [KirchhoffConfig(velocity_mps=1e8, aperture_m=0.1),
                                    StoltConfig(velocity_mps=1e8, height_m=0.05),
                                    PhaseShiftConfig(layer_tops_m=(0.0, 0.1), velocities_mps=(1e8, 0.9e8))])
def test_migrate_returns_an_image_in_the_survey_frame(config):
    d = _random((6, 5, 40), 6)
    x = 10.0 + 0.02 * np.arange(6)
    y = -1.0 + 0.03 * np.arange(5)
    out = migrate(d, dt_s=DT, x_m=x, y_m=y, depth_m=DEPTHS, config=config)
    assert isinstance(out, MigratedImage)
    assert out.image.shape == (6, 5, DEPTHS.size) and out.image.dtype == np.float32
    np.testing.assert_array_equal(out.x_m, x)
    np.testing.assert_array_equal(out.y_m, y)
    np.testing.assert_array_equal(out.depth_m, DEPTHS)
    assert out.method == config.method
    params = json.loads(json.dumps(out.params))
    assert params["dt_s"] == DT and params["dx_m"] == pytest.approx(0.02) and params["dy_m"] == pytest.approx(0.03)
    assert params["height_m"] == config.height_m
    line = migrate(d[:, 0], dt_s=DT, x_m=x, depth_m=DEPTHS, config=config)
    assert line.image.shape == (6, DEPTHS.size) and line.y_m is None and line.params["dy_m"] is None


def test_migrate_dispatches_to_the_kernel():
    d = _random((6, 5, 40), 7)
    config = KirchhoffConfig(velocity_mps=1.1e8, height_m=0.03, aperture_m=0.08, max_angle_deg=50.0)
    out = migrate(d, dt_s=DT, x_m=0.02 * np.arange(6), y_m=0.02 * np.arange(5), depth_m=DEPTHS, config=config)
    direct = kirchhoff_migrate_3d(d, dt_s=DT, dx_m=0.02, dy_m=0.02, depth_m=DEPTHS, velocity_mps=1.1e8,
                                  height_m=0.03, aperture_m=0.08, max_angle_deg=50.0)
    np.testing.assert_allclose(out.image, direct, rtol=0, atol=1e-6 * np.abs(direct).max())


def test_migrate_refuses_bad_geometry():
    d = np.zeros((6, 5, 40), np.float32)
    x, y = 0.02 * np.arange(6), 0.02 * np.arange(5)
    cfg = StoltConfig()
    with pytest.raises(ValueError, match="x_m: expected regularly spaced increasing positions"):
        migrate(d, dt_s=DT, x_m=[0, 0.02, 0.04, 0.07, 0.08, 0.1], y_m=y, config=cfg)
    with pytest.raises(ValueError, match=r"x_m: expected 6 positions .* found shape \(5,\)"):
        migrate(d, dt_s=DT, x_m=x[:5], y_m=y, config=cfg)
    with pytest.raises(ValueError, match="y_m: expected the y positions of a grid"):
        migrate(d, dt_s=DT, x_m=x, config=cfg)
    with pytest.raises(ValueError, match="y_m: expected None for a line"):
        migrate(d[:, 0], dt_s=DT, x_m=x, y_m=y, config=cfg)
    with pytest.raises(ValueError, match="config: expected a KirchhoffConfig, StoltConfig or PhaseShiftConfig"):
        migrate(d, dt_s=DT, x_m=x, y_m=y, config={"velocity_mps": 1e8})
    with pytest.raises(ValueError, match="velocity_mps: expected a number in"):
        migrate(d, dt_s=DT, x_m=x, y_m=y, depth_m=DEPTHS, config=StoltConfig(velocity_mps=4e8))


def test_default_depth_axis():
    # 100 samples of 0.1 ns: 10 ns two-way; at 0.1 m/ns the record reaches 0.5 m, in steps of 5 mm
    z = default_depth_axis_m(101, DT, KirchhoffConfig(velocity_mps=1e8))
    assert z.size == 101 and z[1] == pytest.approx(0.005) and z[-1] == pytest.approx(0.5)
    # 0.15 m of air take 2 * 0.15 / C0 = 1.0007 ns of the 10: 0.44997 m remain, the last 5 mm step at 0.445 m
    z = default_depth_axis_m(101, DT, StoltConfig(velocity_mps=1e8, height_m=0.15))
    reach = (10e-9 - 0.3 / C0_MPS) * 1e8 / 2
    assert z[-1] <= reach < z[-1] + 0.005 and z.size == 90
    # with refraction off the air is taken at the ground velocity: 3 ns of the 10, 0.35 m remain
    z = default_depth_axis_m(101, DT, StoltConfig(velocity_mps=1e8, height_m=0.15, refraction=False))
    assert z[-1] == pytest.approx(0.35) and z.size == 71
    # layers: 0.2 m at 0.1 m/ns take 4 ns, the 6 ns left reach 0.15 m into the 0.05 m/ns layer
    z = default_depth_axis_m(101, DT, PhaseShiftConfig(layer_tops_m=(0.0, 0.2), velocities_mps=(1e8, 5e7)))
    assert z[-1] == pytest.approx(0.35) and z.size == 71
    with pytest.raises(ValueError, match="ends before the echo of the ground surface"):
        default_depth_axis_m(10, DT, StoltConfig(height_m=0.5))
    out = migrate(np.zeros((3, 101), np.float32), dt_s=DT, x_m=[0, 0.1, 0.2], config=StoltConfig())
    assert out.depth_m.size == 101 and math.isclose(out.depth_m[-1], 0.5)
