"""Shared benchmark inputs and the end-of-session summary of every benchmark's rate and ratios.

Inputs: seeded synthetic GPR data from the project's forward model (sensorkit.synth), with what
pre-processing meets added on top (time-zero jitter, DC offset and drift).

Timing helper: the fixture run_benchmark(fn, *args) runs fn once untimed (Numba compilation or cache load),
then rounds for about half a second, and returns the median; with --benchmark-disable it runs fn once.

Summary: one row per benchmark of the session, read from its extra_info: the rate in domain units (any
``<unit>_per_s`` key, plus ``real_time_factor``) and the ratios to the references measured in the same run
(``numpy_over_numba`` / ``numba_over_numpy`` / ``speedup_vs_numpy``, ``<tool>_over_numba``), and goals.

Run: .venv/bin/python -m pytest benchmarks --benchmark-enable -q   (make bench, make bench-compare)
"""

import time
from pathlib import Path

import numpy as np
import pytest

from sensorkit.synth import Antenna, GprScene, Layer, Scatterer, Soil, simulate_grid, simulate_traces

GPR_DT_S = 1e-10  # 0.1 ns: 512 samples span 51.2 ns, a 1 GHz landmine GPR
GPR_N_SAMPLES = 512
GPR_LINE_TRACES = 1040
GPR_GRID_SHAPE = (50, 50)  # (line, trace), 1 cm apart both ways
GPR_SPACING_M = 0.01

RESULTS_KEY = pytest.StashKey[dict]()
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def synthetic_gpr(traces_shape, seed, n_samples=GPR_N_SAMPLES, dt_s=GPR_DT_S, spacing_m=GPR_SPACING_M):
    """A seeded synthetic GPR section or grid (*traces_shape, n_samples), float32.

    sensorkit.synth's forward model: a ground-coupled 1 GHz antenna (5 cm offset) over eps_r 9 ground
    (v = 0.1 m/ns, 5 mS/m) with a layer at 0.2 m, six point targets 5 to 40 cm deep (amplitude 0.05), direct
    waves, white noise and 3 ns of pre-trigger; then what pre-processing meets: time zero jittering by up to
    +-2 samples per trace (trigger jitter), a DC offset per trace and a slow drift (wow).
    """
    rng = np.random.default_rng(seed)
    shape = tuple(traces_shape)
    extent_m = np.array(shape + (1,) * (2 - len(shape))) * spacing_m
    scatterers = [Scatterer(x_m=float(rng.uniform(0, extent_m[0])), y_m=float(rng.uniform(0, extent_m[1])),
                            depth_m=float(rng.uniform(0.05, 0.4)), amplitude=float(rng.choice([-0.05, 0.05])))
                  for _ in range(6)]
    scene = GprScene(soil=Soil(eps_r=9.0, conductivity_s_per_m=0.005, layers=[Layer(0.2, 12.0, 0.01)]),
                     scatterers=scatterers, antenna=Antenna(centre_frequency_hz=1e9, offset_m=0.05),
                     noise_rms=1e-3, time_zero_s=3e-9)
    if len(shape) == 1:
        xy = np.column_stack([np.arange(shape[0]) * spacing_m, np.zeros(shape[0])])
        data = simulate_traces(scene, xy, n_samples, dt_s, seed=seed)
    else:
        data = simulate_grid(scene, np.arange(shape[0]) * spacing_m, np.arange(shape[1]) * spacing_m, n_samples,
                             dt_s, seed=seed)
    flat = data.reshape(-1, n_samples)
    jitter = rng.integers(-2, 3, flat.shape[0])
    for shift in range(-2, 3):  # trigger jitter: whole-sample shifts of the time axis
        rows = jitter == shift
        flat[rows] = np.roll(flat[rows], shift, axis=-1)
    scale = float(np.median(np.abs(flat).max(axis=-1)))  # about the direct wave's amplitude
    flat += scale * (0.02 * rng.standard_normal((flat.shape[0], 1))
                     + 0.05 * np.linspace(0.0, 1.0, n_samples, dtype=np.float32))  # DC offset and wow
    return flat.reshape(shape + (n_samples,)).astype(np.float32)


@pytest.fixture(scope="session")
def gpr_inputs():
    """{"line": (1040, 512), "grid": (50, 50, 512)} float32, seeded."""
    return {
        "line": synthetic_gpr((GPR_LINE_TRACES,), seed=1),
        "grid": synthetic_gpr(GPR_GRID_SHAPE, seed=2),
    }


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public sample files beside the repository (../shared/data); skips when missing."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real sample data not found at {SHARED_DATA} (it lives beside the repository as shared/data)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def bench_results(request):
    """Session store of measured medians: {(kernel, input): {"numba": s, "numpy": s, "info": {...}}}."""
    return request.config.stash.setdefault(RESULTS_KEY, {})


def measure(benchmark, fn, *args, target_s=0.5, max_rounds=50):
    """Benchmark fn(*args): one untimed call (compiles or loads Numba's cache, sizes the rounds), then rounds
    for about target_s (at least 3; 1 when a call takes over a second, without warm-up). Returns the median
    in seconds, or None with --benchmark-disable (fn then ran once, as a plain test)."""
    if benchmark.disabled:
        benchmark(fn, *args)
        return None
    start = time.perf_counter()
    fn(*args)
    first_s = time.perf_counter() - start
    rounds = int(np.clip(target_s / max(first_s, 1e-6), 1 if first_s > 1.0 else 3, max_rounds))
    benchmark.pedantic(fn, args=args, rounds=rounds, warmup_rounds=0 if first_s > 1.0 else 1, iterations=1)
    return benchmark.stats.stats.median


@pytest.fixture
def run_benchmark(benchmark):
    """measure() bound to this test's benchmark fixture: run_benchmark(fn, *args) -> median s or None."""
    return lambda fn, *args, **kw: measure(benchmark, fn, *args, **kw)


# ----------------------------------------------------------------------------------------- session summary

_RATIO_KEYS = {"numpy_over_numba": "numpy", "numba_over_numpy": "numpy", "speedup_vs_numpy": "numpy"}


def _si(value: float) -> str:
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}"
    return f"{value:.3g} "


def rates_of(info: dict) -> list[str]:
    """The rates in ``info`` as text: "<value> <unit>/s" per ``*_per_s`` key (``*_per_cpu_s``: per CPU second),
    "<x> real time" for ``real_time_factor``."""
    out = []
    for key, value in info.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        if key.startswith("array_rate"):
            continue
        if key.endswith("_per_s"):
            unit = key[:-len("_per_s")].replace("_", "-")
            out.append(f"{_si(value)}{unit}/s")
        elif key.endswith("_per_cpu_s"):
            unit = key[:-len("_per_cpu_s")].replace("_", "-")
            out.append(f"{_si(value)}{unit} per CPU s")
        elif key == "real_time_factor":
            out.append(f"{value:.3g}x real time")
    return out


def ratios_of(info: dict) -> list[str]:
    """The ratios to references in ``info`` as text: "x<ratio> vs <reference>" (> 1: the kernel is faster)."""
    out = []
    for key, value in info.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        if key in _RATIO_KEYS:
            out.append(f"x{value:.3g} vs {_RATIO_KEYS[key]}")
        elif key.endswith("_over_numba"):
            out.append(f"x{value:.3g} vs {key[:-len('_over_numba')]}")
        elif key == "x_array_rate":
            out.append(f"x{value:.3g} array rate")
    if "goal" in info or "goal_s" in info:
        goal = info.get("goal", f"median_s < {info.get('goal_s')}")
        out.append(f"goal {goal}: {'met' if info.get('meets_goal') else 'NOT met'}")
    return out


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    session = getattr(config, "_benchmarksession", None)
    benchmarks = [b for b in getattr(session, "benchmarks", []) if b]
    if not benchmarks:
        return
    tr = terminalreporter
    tr.section("benchmarks: median time, rate in domain units, ratio to the references of the same run")
    tr.write_line(f"{'benchmark':<50}{'impl':<8}{'median ms':>11}  rate; ratios")
    current_file = None
    for b in sorted(benchmarks, key=lambda b: (b.fullname.split("::")[0], b.group or "", b.name)):
        file = b.fullname.split("::")[0].rsplit("/", 1)[-1]
        if file != current_file:
            tr.write_line(file)
            current_file = file
        info = b.extra_info
        label = b.group or b.name
        if b.group and b.param and "impl" not in info:  # several cases in one group: name the case
            label += f" [{b.param}]"
        notes = "; ".join(rates_of(info) + ratios_of(info))
        tr.write_line(f"  {label[:47]:<48}{str(info.get('impl', ''))[:7]:<8}{b.stats.median * 1e3:>11.3f}  {notes}")
