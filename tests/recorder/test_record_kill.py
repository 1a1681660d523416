"""A recorder killed with SIGKILL leaves a file that `sensorkit info` reads, missing at most the last second."""

import json
import signal
import subprocess
import sys
import time

import h5py

from firmware_sims import GprUnitSim

from ._helpers import REPO, RecorderProcess, host_indices, ramp_traces, wait_for

CONFIG = {"n_samples": 128, "time_window_ns": 20.0, "trigger": "time", "trace_rate_hz": 100.0}


def test_sigkill_leaves_a_readable_file_missing_at_most_the_last_second(tmp_path):
    out = tmp_path / "killed.h5"
    with GprUnitSim(trace_source=ramp_traces, warm_up=False, keep_log=True, link_path=tmp_path / "tty-gpr") as sim:
        with RecorderProcess(tmp_path, "--gpr", sim.port_url, "--gpr-config", json.dumps(CONFIG), "--out", out,
                             "--quiet") as recorder:
            records = sim.log.records
            # 3 s at 100 Hz: about 200 traces sent more than a second before the kill (with 2.5 s the 150 asked
            # for below were exactly what was expected, and a late poll under load gave 149)
            wait_for(lambda: sum(1 for r in list(records) if r["kind"] == "frame" and r["stream"] == 1) >= 300, 30,
                     "3 s of traces", recorder)
            recorder.proc.send_signal(signal.SIGKILL)
            killed_ns = time.time_ns()
            assert recorder.wait(10) == -signal.SIGKILL
    assert (tmp_path / "killed.h5.writing").exists()  # the writer never closed the file

    info = subprocess.run([sys.executable, "-m", "sensorkit.cli.main", "info", "--json", str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert info.returncode == 0, info.stderr
    summary = json.loads(info.stdout)
    n_traces = summary["gpr"]["gpr"]["n_traces"]

    # what the simulator wrote to the port more than a second before the kill is all in the file
    intact, _ = host_indices(records)
    frames = [r for r in list(records) if r["kind"] == "frame" and r["stream"] == 1]
    sent_before = {r["seq"] for r in frames if r["host_time_ns"] < killed_ns - 1_000_000_000}
    assert len(sent_before) >= 150
    with h5py.File(out, "r", swmr=True, libver="latest") as h5:
        paths = json.loads(h5["committed"].attrs["paths"])
        committed = dict(zip(paths, h5["committed"][()].tolist()))
        seqs = h5["gpr/gpr/trace_meta"]["seq"][:committed["gpr/gpr/trace_meta"]].tolist()
        host_ns = h5["gpr/gpr/trace_meta"]["host_time_ns"][:committed["gpr/gpr/trace_meta"]]
    assert n_traces == len(seqs) == committed["gpr/gpr/traces"]
    assert seqs == list(range(len(seqs)))  # no faults: nothing lost before the kill
    assert sent_before <= set(seqs) <= intact
    assert killed_ns - int(host_ns.max()) < 1_000_000_000  # the last committed trace is from the last second

    # --repair makes a clean file with the same traces, readable by plain h5py
    repaired = subprocess.run([sys.executable, "-m", "sensorkit.cli.main", "info", "--repair", str(out)], cwd=REPO,
                              capture_output=True, text=True, timeout=60)
    assert repaired.returncode == 0, repaired.stderr
    with h5py.File(out, "r") as h5:
        assert h5["gpr/gpr/traces"].shape == (len(seqs), 128)
    assert not (tmp_path / "killed.h5.writing").exists()
