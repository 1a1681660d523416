"""2D migration of a line (Kirchhoff and phase shift) against the NumPy references; bench_migration.py holds
the 3D cases and Stolt.

Input: a seeded synthetic line from sensorkit.synth: 512 traces 2 cm apart (10.24 m) x 512 samples of 0.1 ns,
eight point scatterers 5 to 50 cm deep (some off the line) in an eps_r 9 ground, 1 GHz Ricker, noise, mean
trace removed. Depths: sensorkit.gpr.migration's default axis (0 m in steps of v dt / 2, 512 depths).

- Kirchhoff 2D (aperture 0.5 m, 60 deg, anti-aliasing and rho filter), ground-coupled: rate in voxel-trace
  updates/s (kirchhoff_update_count of the line as an (nx, 1, nt) grid); the float64 reference (a Python
  loop per voxel column and trace) runs on the first 64 traces and the rates are compared.
- Phase shift 2D (one layer): rate in wavefield updates/s (padded wavenumbers x frequencies x depths); the
  reference runs on the first 128 traces and 256 samples (256 depths) and the rates are compared.
numpy_over_numba: the kernel's rate over the reference's.

Run: .venv/bin/python -m pytest benchmarks/bench_migration_2d.py --benchmark-enable -q
"""

import math

import numpy as np
import pytest

from sensorkit.gpr.migration import KirchhoffConfig, default_depth_axis_m
from sensorkit.kernels import migration_reference as ref
from sensorkit.kernels.gpr_background import remove_background
from sensorkit.kernels.kirchhoff import kirchhoff_migrate_2d, kirchhoff_update_count
from sensorkit.kernels.phase_shift import phase_shift_migrate_2d
from sensorkit.kernels.stolt import padded_sizes
from sensorkit.synth import Antenna, GprScene, Scatterer, Soil, simulate_traces
from sensorkit.synth.soil import velocity_mps

DT_S = 1e-10
DX_M = 0.02
V_MPS = velocity_mps(9.0)
LINE = (512, 512)
KIRCHHOFF = dict(aperture_m=0.5, max_angle_deg=60.0, antialias=True)
KIRCHHOFF_REF_TRACES = 64
PHASE_SHIFT_REF = (128, 256)
_RESULTS: dict = {}


def _depths(n_samples: int) -> np.ndarray:
    return default_depth_axis_m(n_samples, DT_S, KirchhoffConfig(velocity_mps=V_MPS))


@pytest.fixture(scope="module")
def line():
    rng = np.random.default_rng(8)
    scatterers = [Scatterer(x_m=float(x), y_m=float(y), depth_m=float(z), amplitude=float(a))
                  for x, y, z, a in zip(rng.uniform(1.0, 9.0, 8), rng.uniform(-0.2, 0.2, 8), rng.uniform(0.05, 0.5, 8),
                                        rng.choice([-1.0, 1.0], 8))]
    scene = GprScene(soil=Soil(eps_r=9.0, conductivity_s_per_m=0.002), scatterers=scatterers,
                     antenna=Antenna(centre_frequency_hz=1.0e9), noise_rms=0.05)
    xy = np.column_stack([np.arange(LINE[0]) * DX_M, np.zeros(LINE[0])])
    return remove_background(simulate_traces(scene, xy, LINE[1], DT_S, seed=13))


def _kirchhoff(data):
    return kirchhoff_migrate_2d(data, dt_s=DT_S, dx_m=DX_M, depth_m=_depths(data.shape[1]), velocity_mps=V_MPS,
                                rho_filter=True, **KIRCHHOFF)


def _kirchhoff_reference(data):
    return ref.kirchhoff_reference(data, dt_s=DT_S, dx_m=DX_M, depth_m=_depths(data.shape[1]), velocity_mps=V_MPS,
                                   rho_filter_on=True, **KIRCHHOFF)


def _kirchhoff_updates(shape) -> int:
    return kirchhoff_update_count((shape[0], 1, shape[1]), dt_s=DT_S, dx_m=DX_M, dy_m=DX_M,
                                  depth_m=_depths(shape[1]), velocity_mps=V_MPS, aperture_m=KIRCHHOFF["aperture_m"],
                                  max_angle_deg=KIRCHHOFF["max_angle_deg"])


def _pads(shape):
    nx_pad, _, nt_pad = padded_sizes(shape[0], 1, shape[1], DT_S, DX_M, DX_M, V_MPS, None, 2.0)
    return nx_pad, nt_pad


def _phase_shift(data):
    return phase_shift_migrate_2d(data, dt_s=DT_S, dx_m=DX_M, depth_m=_depths(data.shape[1]), layer_tops_m=[0.0],
                                  velocities_mps=[V_MPS])


def _phase_shift_reference(data):
    nx_pad, nt_pad = _pads(data.shape)
    return ref.phase_shift_reference(data, dt_s=DT_S, dx_m=DX_M, depth_m=_depths(data.shape[1]), layer_tops_m=[0.0],
                                     velocities_mps=[V_MPS], nx_pad=nx_pad, nt_pad=nt_pad)


def _wavefield_updates(shape) -> int:
    nx_pad, nt_pad = _pads(shape)
    return nx_pad * (nt_pad // 2 + 1) * _depths(shape[1]).size


CASES = {
    "kirchhoff 2D line 512x512": (_kirchhoff, _kirchhoff_reference, (KIRCHHOFF_REF_TRACES, LINE[1]),
                                  _kirchhoff_updates, "voxel_trace_updates"),
    "phase_shift 2D line 512x512": (_phase_shift, _phase_shift_reference, PHASE_SHIFT_REF, _wavefield_updates,
                                    "wavefield_updates"),
}


@pytest.mark.parametrize("impl", ["numpy", "numba"])
@pytest.mark.parametrize("case", list(CASES))
def test_migration_2d(benchmark, run_benchmark, line, case, impl):
    numba_fn, numpy_fn, ref_shape, count, unit = CASES[case]
    data = line if impl == "numba" else np.ascontiguousarray(line[:ref_shape[0], :ref_shape[1]])
    n_units = count(data.shape)
    benchmark.group = case
    benchmark.extra_info.update(impl=impl, input_shape=list(data.shape), unit=unit, n_units=n_units)
    median_s = run_benchmark(numba_fn if impl == "numba" else numpy_fn, data)
    if median_s is None:  # --benchmark-disable: ran once as a plain test
        return
    benchmark.extra_info[f"{unit}_per_s"] = n_units / median_s
    _RESULTS.setdefault(case, {})[impl] = (n_units / median_s, benchmark.extra_info)


def test_kernels_match_references_on_the_reference_inputs(line):
    """The benchmarked kernels compute what the references compute (the inputs the references are timed on)."""
    for numba_fn, numpy_fn, ref_shape, _, _ in CASES.values():
        data = np.ascontiguousarray(line[:ref_shape[0], :ref_shape[1]])
        got, want = numba_fn(data), numpy_fn(data)
        assert np.abs(got - want).max() <= 1e-3 * np.abs(want).max()


def test_ratios():
    """Runs last: numpy_over_numba (the kernel's rate over the reference's) in both extra_infos of each case."""
    if not _RESULTS:
        pytest.skip("benchmarks disabled (run with --benchmark-enable)")
    for case, r in _RESULTS.items():
        assert set(r) == {"numpy", "numba"}, f"{case}: a counterpart was not measured"
        ratio = r["numba"][0] / r["numpy"][0]
        assert math.isfinite(ratio) and ratio > 0
        for _, info in r.values():
            info["numpy_over_numba"] = ratio
