"""A multi-channel GPR unit (an antenna array, one stream per channel) recorded as (n_traces, n_channels, n_samples):
the frames of one trigger are gathered into one trace; a trigger that lost a channel's frame is not stored and
says so in an event; every lost frame is in a gap event of its channel's stream."""

import json
from collections import Counter

import numpy as np

from firmware_sims import FaultConfig, GprUnitSim
from sensorkit.store import Recording

from ._helpers import RecorderProcess, acquired_s, ramp_traces, wait_for

CHANNEL_Y_M = [-0.15, 0.0, 0.15]
CONFIG = {"n_samples": 48, "time_window_ns": 20.0, "trigger": "time", "trace_rate_hz": 40.0}


def test_an_antenna_array_is_recorded_trace_by_channel_by_sample(tmp_path):
    out = tmp_path / "array.h5"
    sim = GprUnitSim(trace_source=ramp_traces, warm_up=False, channel_y_m=CHANNEL_Y_M, keep_log=True,
                     link_path=tmp_path / "tty-gpr", time_scale=10.0,
                     faults=FaultConfig(drop_rate=0.02, corrupt_rate=1e-4, seed=4))
    with sim:
        with RecorderProcess(tmp_path, "--gpr", sim.port_url, "--gpr-config", json.dumps(CONFIG), "--out", out,
                             "--quiet") as recorder:
            wait_for(lambda: acquired_s(sim.log.records) >= 20.0, 40, "20 s of device time", recorder)
            assert recorder.interrupt() == 0, recorder.stderr[-2000:]
    records = [r for r in sim.log.records if r["kind"] == "frame" and r["stream"] in (1, 2, 3)]
    intact = {s: {r["seq"] for r in records if r["stream"] == s and r["intact"]} for s in (1, 2, 3)}
    lost = {s: {r["seq"] for r in records if r["stream"] == s and not r["intact"]} for s in (1, 2, 3)}
    produced = {r["seq"] for r in records}  # one frame per channel per trigger: seq = trace_index on every stream
    complete = sorted(intact[1] & intact[2] & intact[3])
    partial = sorted(i for i in produced if 0 < sum(i in intact[s] for s in (1, 2, 3)) < 3)
    assert len(partial) >= 10 and len(complete) >= 700  # 40 traces/s x 20 s, 2 % dropped per channel

    with Recording(out) as rec:
        gpr = rec.gpr()
        assert gpr.n_channels == 3 and list(gpr.traces.attrs["channel_y_m"]) == CHANNEL_Y_M
        traces = gpr.traces[:]
        meta = gpr.trace_meta[:]
        events = rec.events
    assert traces.shape == (len(complete), 3, 48)
    assert meta["seq"].tolist() == complete
    # channel c of each stored trace is the antenna at y_c (sample 1) at the trace's wheel position (sample 0)
    assert np.array_equal(traces[:, :, 1], np.tile(np.rint(np.array(CHANNEL_Y_M) * 32767), (len(complete), 1)))
    assert np.abs(traces[:, :, 0] - np.rint(meta["encoder_ticks"] / 1000 / 20 * 32767)[:, None]).max() <= 2
    details = [(k, json.loads(d)) for k, d in zip(events["kind"], events["detail"])]
    dropped = [d for k, d in details if d.get("what") == "incomplete trace not stored"]
    assert [d["trace_index"] for d in dropped] == partial
    assert all(d["channels_missing"] == [c for c in range(3) if d["trace_index"] not in intact[c + 1]]
               for d in dropped)
    for stream in (1, 2, 3):
        missing = Counter()
        for k, d in details:
            if k == "gap" and d["wire_stream"] == stream:
                missing.update(range(d["first_missing_seq"], d["first_missing_seq"] + d["n_missing"]))
        assert set(missing) == lost[stream] and max(missing.values(), default=1) == 1
