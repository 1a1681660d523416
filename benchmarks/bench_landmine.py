"""The landmine pipeline on one 1 m x 1 m grid: 50 x 50 traces (2 cm apart), 256 samples of 80 ps (1 GHz).

Input: sensorkit.synth.demining's forward model (a lane of dry sand with a plastic AP mine at 8 cm and a metal
AP mine at 5 cm, rough ground, antenna 6 cm up, noise), simulated once per session. Timed: what
`sensorkit detect mines` does after loading: pre-processing (preprocess_line over the 2500 traces), surface
removal, Kirchhoff 3D migration onto 46 depths (0-0.45 m), envelope, CA-CFAR, clustering, features and scores
(sensorkit.pipelines.landmine.detect_mines on a GprLine swath of 50 channels). Numba compilation happens in a
warm-up run before timing. The goal set by the issue: < 2 s on the 2-core machine (recorded in extra_info as
goal_s / meets_goal, not asserted: the machine is shared and timings vary).

Run: .venv/bin/python -m pytest benchmarks/bench_landmine.py --benchmark-enable -q
"""

import numpy as np
import pytest

from sensorkit.formats.base import DeviceInfo, GprLine, new_trace_meta
from sensorkit.pipelines.landmine import detect_mines
from sensorkit.synth.demining import make_lane
from sensorkit.synth.gpr import simulate_grid
from sensorkit.synth.mines import BuriedObject

DT_S = 8e-11
N_SAMPLES = 256
GOAL_S = 2.0


@pytest.fixture(scope="module")
def grid_swath():
    objects = [BuriedObject("ap-plastic", 0.3, 0.3, 0.08, 0.08, 0.045, eps_r=2.9, parts={"air_gap": False}),
               BuriedObject("ap-metal", 0.7, 0.6, 0.05, 0.08, 0.12)]
    lane = make_lane("dry-sand", objects, seed=3, size_x_m=1.0, size_y_m=1.0)
    x = np.round(np.arange(50) * 0.02, 6)
    y = np.round(np.arange(50) * 0.02, 6)
    data = simulate_grid(lane.scene, x, y, N_SAMPLES, DT_S, seed=1, height_m=lane.antenna_heights(x, y))
    meta = new_trace_meta(x.size)
    meta["x_m"] = x
    meta["y_m"] = float(y.mean())
    return GprLine(name="bench", traces=data, dt_s=DT_S, trace_meta=meta, device=DeviceInfo(kind="gpr"),
                   centre_frequency_hz=1e9, antenna_offset_m=0.04, antenna_height_m=0.06, time_zero_s=1.5e-9,
                   attrs={"channel_y_m": [float(v) for v in y], "rel_permittivity": 4.0})


def test_detect_mines_grid_50x50x256(benchmark, grid_swath):
    detect_mines([grid_swath])  # compile and warm up
    result = benchmark(detect_mines, [grid_swath])
    assert result.envelope.shape[:2] == (50, 50)
    alarms = result.alarms()
    assert any(abs(d.x_m - 0.7) < 0.15 and abs(d.y_m - 0.6) < 0.15 for d in alarms)
    median = benchmark.stats.stats.median
    benchmark.extra_info.update(goal_s=GOAL_S, meets_goal=bool(median < GOAL_S), n_alarms=len(alarms),
                                stage_times_s={k: round(v, 4) for k, v in result.times_s.items()})
