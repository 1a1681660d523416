"""The drone sound-field forward kernel (sensorkit.kernels.acoustic_forward) against its NumPy reference.

Input: the scene of tests/synth/test_acoustic_forward.py's kernel test, seeded: a quadcopter (4 rotor combs of
10 harmonics) flying waypoints 30-60 m away and a passing car (an engine comb of 21 harmonics), each with its
broadband noise, on direct and ground-reflected paths (10 tone lines, 4 broadband paths). One block
is one chunk of SoundScene.render (8192 frames: 0.51 s at 16 kHz, 0.17 s at 48 kHz), built once outside the
timing; arrays: 8-mic circle (r = 0.1 m) and UMA-16, each at 16 and 48 kHz.

- render_point_sources vs render_point_sources_reference on the same block: rate in samples/s (frames x mics)
  and real-time factor (seconds of audio per second of compute); numpy_over_numba is the reference's median
  over the kernel's.
- the whole scene chunk (SoundScene.render_frames: block building + kernel + cast), Numba kernel vs
  use_reference_kernel=True, consecutive chunks of 8192 frames: real-time factor of the simulator.

Run: .venv/bin/python -m pytest benchmarks/bench_acoustic_forward.py --benchmark-enable -q
"""

import itertools
import math

import pytest

from sensorkit.formats.array_geometry import circular_array, uma16_array
from sensorkit.kernels.acoustic_forward import render_point_sources, render_point_sources_reference
from sensorkit.synth.acoustic import SoundScene
from sensorkit.synth.drone_sound import Drone
from sensorkit.synth.interferers import Interferer
from sensorkit.synth.trajectory import Trajectory

CHUNK = SoundScene.CHUNK_FRAMES
ARRAYS = {"8 mics": lambda: circular_array(8, 0.1), "16 mics": uma16_array}
RATES_HZ = {"16 kHz": 16000.0, "48 kHz": 48000.0}
_RESULTS: dict = {}  # (case, array, rate) -> {impl: (median_s, extra_info)}


def scene(array: str, rate: str, reference: bool = False) -> SoundScene:
    drone = Drone(Trajectory.waypoints([(-60, 40, 30), (20, 40, 35), (20, -30, 20)], 12.0, dwell_s=0.3))
    car = Interferer.car(Trajectory.flyby((0.0, -40.0, -1.0), 14.0, heading_rad=math.pi))
    return SoundScene(ARRAYS[array](), RATES_HZ[rate], sources=[drone, car], seed=3, use_reference_kernel=reference)


def _record(benchmark, key, impl, median_s, n_frames, n_mics, fs_hz):
    benchmark.extra_info.update(impl=impl, n_frames=n_frames, n_mics=n_mics, fs_hz=fs_hz)
    if median_s is None:  # --benchmark-disable: ran once as a plain test
        return
    benchmark.extra_info["samples_per_s"] = n_frames * n_mics / median_s
    benchmark.extra_info["real_time_factor"] = n_frames / fs_hz / median_s
    _RESULTS.setdefault(key, {})[impl] = (median_s, benchmark.extra_info)


@pytest.mark.parametrize("impl", ["numpy", "numba"])
@pytest.mark.parametrize("rate", list(RATES_HZ))
@pytest.mark.parametrize("array", list(ARRAYS))
def test_render_point_sources(benchmark, run_benchmark, array, rate, impl):
    block = scene(array, rate).point_source_block(4 * CHUNK, CHUNK)  # 2.0 s (16 kHz) or 0.68 s (48 kHz) in
    assert block.tone_phase_rad.shape[0] == 10 and block.bb_position.shape[0] == 4
    benchmark.group = f"render_point_sources {array} {rate}"
    fn = render_point_sources if impl == "numba" else render_point_sources_reference
    median_s = run_benchmark(fn, block)
    _record(benchmark, ("kernel", array, rate), impl, median_s, CHUNK, block.n_mics, RATES_HZ[rate])


@pytest.mark.parametrize("impl", ["numpy", "numba"])
@pytest.mark.parametrize("array, rate", [("8 mics", "16 kHz"), ("16 mics", "48 kHz")])
def test_scene_chunk(benchmark, run_benchmark, array, rate, impl):
    sc = scene(array, rate, reference=impl == "numpy")
    chunks = itertools.count(1)
    benchmark.group = f"SoundScene chunk {array} {rate}"
    median_s = run_benchmark(lambda: sc.render_frames(next(chunks) * CHUNK, CHUNK))
    _record(benchmark, ("scene", array, rate), impl, median_s, CHUNK, sc.n_mics, sc.fs_hz)


def test_ratios():
    """Runs last: numpy_over_numba (reference median / kernel median) in both extra_infos of every pair."""
    if not _RESULTS:
        pytest.skip("benchmarks disabled (run with --benchmark-enable)")
    missing = [key for key, r in _RESULTS.items() if set(r) != {"numpy", "numba"}]
    assert not missing, f"benchmarks without their counterpart: {missing}"
    for r in _RESULTS.values():
        ratio = r["numpy"][0] / r["numba"][0]
        assert math.isfinite(ratio) and ratio > 0
        r["numpy"][1]["numpy_over_numba"] = ratio
        r["numba"][1]["numpy_over_numba"] = ratio
