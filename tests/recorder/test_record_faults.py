"""`sensorkit record` against a faulty simulator: byte corruption 1e-4, 1 % of frames dropped, the cable pulled
every 10 s (down 1 s) and one device reset, over 60 s of device time (the simulation's clock runs 12x real time,
so a test takes about 7 s). Every frame the simulator's log says reached the host intact is in the file, once;
every other frame it produced is named by a gap event, once; the recorder went on through all of it."""

import json
from collections import Counter

import numpy as np
import pytest

from firmware_sims import FaultConfig, GprUnitSim, MicArraySim, ToneSource
from sensorkit.info import summarize
from sensorkit.store import Recording
from sensorkit.store.schema import FLAG_GAP_BEFORE

from ._helpers import RAMP_FULL_SCALE, RecorderProcess, acquired_s, gap_indices, host_indices, ramp_traces, wait_for

TIME_SCALE = 12.0  # simulation seconds per real second
DEVICE_S = 60.0
FAULTS = dict(corrupt_rate=1e-4, drop_rate=0.01, disconnect_every_s=10.0, down_s=1.0)
RESET_AFTER_S = 35.0  # device seconds after acquisition starts

GPR_CONFIG = {"n_samples": 64, "time_window_ns": 20.0, "trigger": "time", "trace_rate_hz": 50.0}
MIC_CONFIG = {"channels": 4, "fs_hz": 16000.0, "block_frames": 256, "sample_format": "int16"}


def make_sim(kind: str, tmp_path, seed: int):
    common = dict(faults=FaultConfig(**FAULTS, seed=seed), keep_log=True, log_path=tmp_path / f"{kind}.log",
                  time_scale=TIME_SCALE, link_path=tmp_path / f"tty-{kind}", seed=seed)
    if kind == "gpr":
        return GprUnitSim(trace_source=ramp_traces, warm_up=False, **common)
    return MicArraySim(source_factory=lambda pos, fs, s: ToneSource(pos, fs, s), **common)


def record_with_faults(kind: str, tmp_path, seed: int):
    """Run the simulator and the recorder until 60 s of device time have been produced; stop with Ctrl-C."""
    out = tmp_path / f"{kind}.h5"
    config = GPR_CONFIG if kind == "gpr" else MIC_CONFIG
    option = "--gpr" if kind == "gpr" else "--acoustic"
    sim = make_sim(kind, tmp_path, seed)
    with sim:
        with RecorderProcess(tmp_path, option, sim.port_url, f"{option}-config", json.dumps(config),
                             "--out", out) as recorder:
            records = sim.log.records
            wait_for(lambda: any(r["kind"] == "start" for r in list(records)), 30, "the recorder's start", recorder)
            sim.schedule_reset(RESET_AFTER_S)
            wait_for(lambda: acquired_s(records) >= DEVICE_S, 60, f"{DEVICE_S} s of device time", recorder)
            assert recorder.interrupt() == 0, recorder.stderr[-2000:]
            stderr = recorder.stderr
    return out, list(sim.log.records), stderr


@pytest.mark.parametrize("kind", ["gpr", "acoustic"])
def test_every_frame_is_in_the_file_or_in_a_gap_event(kind, tmp_path):
    out, records, stderr = record_with_faults(kind, tmp_path, seed=11)
    intact, lost = host_indices(records)
    frames = [r for r in records if r["kind"] == "frame" and r["stream"] == 1]
    fates = Counter(r["fate"] for r in frames)
    # the faults did happen: corrupted and dropped frames, frames lost to pulled cables, one reset
    assert fates["corrupted"] >= 5 and fates["dropped"] >= 5 and fates["lost_disconnected"] >= 20, fates
    assert sorted({r["boot"] for r in frames}) == [0, 1]
    stop_at = next(i for i, r in enumerate(records) if r["kind"] == "command" and r["cmd"] == "stop")
    sim_disconnects = sum(1 for r in records[:stop_at] if r["kind"] == "disconnect")
    assert sim_disconnects >= 5

    with Recording(out) as rec:
        events = rec.events
        if kind == "gpr":
            meta = rec.gpr().trace_meta[:]
            traces = rec.gpr().traces[:]
        else:
            meta = rec.acoustic().blocks[:]
            samples = rec.acoustic().samples[:]
    seqs = meta["seq"].tolist()
    # every frame that reached the host intact is in the file, once, in order
    assert seqs == sorted(intact)
    # every other frame the device produced is named by exactly one gap event
    missing = gap_indices(events)
    assert len(missing) == len(set(missing)) and set(missing) == lost
    assert len(seqs) + len(missing) == len(frames)
    kinds = Counter(events["kind"])
    assert kinds["reset"] == 1
    assert kinds["reconnect"] == sim_disconnects  # the recorder saw every pulled cable and came back each time
    assert kinds["error"] >= 1  # damaged frames counted and logged
    # a record right after a gap carries the gap flag
    flagged = (meta["flags"] & FLAG_GAP_BEFORE) > 0
    after_gap = np.r_[False, np.diff(meta["seq"]) > 1]
    assert np.array_equal(flagged[1:], after_gap[1:])
    if kind == "gpr":
        # each stored trace is the one its metadata describes: sample 0 holds the cart's x, the wheel reads x too
        x_from_wheel = meta["encoder_ticks"] / 1000.0
        assert np.abs(traces[:, 0] - np.rint(x_from_wheel / 20.0 * 32767 / RAMP_FULL_SCALE)).max() <= 2
    else:
        assert samples.shape == (256 * len(seqs), 4)
        assert meta["first_frame"].tolist() == list(range(0, 256 * len(seqs), 256))
    summary = summarize(out)
    stream = summary["gpr"]["gpr"] if kind == "gpr" else summary["acoustic"]["acoustic"]
    assert stream["gaps"]["missing_records"] == len(lost)
    # the live progress line: rate, records, gaps, reconnects
    last = [line for line in stderr.splitlines() if line.startswith(f"{kind}/")][-1]
    assert f"gaps {kinds['gap']} ({len(lost)} missing)" in last and f"reconnects {sim_disconnects}" in last


def test_device_overruns_are_events_and_their_frames_gaps(tmp_path):
    """A device whose output buffer overflows during stalls drops frames (their seq used, OVERRUN flag on the
    next one): the recorder writes overrun events, and the dropped frames are gaps like any other loss."""
    out = tmp_path / "overrun.h5"
    sim = GprUnitSim(trace_source=ramp_traces, warm_up=False, keep_log=True, link_path=tmp_path / "tty-gpr",
                     time_scale=8.0, buffer_bytes=6000,
                     faults=FaultConfig(stall_every_s=3.0, stall_s=1.0, drop_rate=0.01, seed=2))
    with sim:
        with RecorderProcess(tmp_path, "--gpr", sim.port_url, "--gpr-config", json.dumps(GPR_CONFIG),
                             "--out", out, "--quiet") as recorder:
            wait_for(lambda: acquired_s(sim.log.records) >= 12.0, 40, "12 s of device time", recorder)
            assert recorder.interrupt(timeout_s=30) == 0, recorder.stderr[-2000:]
    records = list(sim.log.records)
    intact, lost = host_indices(records)
    fates = Counter(r["fate"] for r in records if r["kind"] == "frame" and r["stream"] == 1)
    assert fates["overrun"] >= 10 and fates["dropped"] >= 1, fates
    with Recording(out) as rec:
        seqs = rec.gpr().trace_meta[:]["seq"].tolist()
        events = rec.events
    assert seqs == sorted(intact)
    missing = gap_indices(events)
    assert len(missing) == len(set(missing)) and set(missing) == lost
    overruns = [json.loads(d) for k, d in zip(events["kind"], events["detail"]) if k == "overrun"]
    assert len(overruns) >= 2 and overruns[-1]["overruns"] == fates["overrun"]  # the device's count since boot
