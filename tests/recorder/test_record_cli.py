"""`sensorkit record` from the command line: one clear line and exit code 2 when a port cannot be opened or the
device does not answer; Ctrl-C and SIGTERM stop cleanly (every frame sent is written, the file is closed)."""

import json
import os
import signal
import subprocess

import h5py
import pytest

from firmware_sims import GprUnitSim, MicArraySim, ToneSource
from sensorkit.store import Recording, needs_repair

from ._helpers import REPO, RecorderProcess, data_frames, ramp_traces, record_argv, wait_for


def run_record(*args, timeout_s: float = 60.0) -> subprocess.CompletedProcess:
    return subprocess.run(record_argv(*args), cwd=REPO, capture_output=True, text=True, timeout=timeout_s)


def test_a_missing_port_gives_one_clear_line_and_exit_code_2(tmp_path):
    out = tmp_path / "never.h5"
    result = run_record("--gpr", tmp_path / "ttyNOPE", "--out", out)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(tmp_path / "ttyNOPE") in lines[0] and "cannot open port: missing" in lines[0]
    assert not out.exists() and not (tmp_path / "never.h5.writing").exists()


def test_a_refused_tcp_port_gives_one_clear_line_and_exit_code_2(tmp_path):
    import socket

    with socket.socket() as sock:  # a port nobody listens on: bind, then close
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run_record("--acoustic", f"socket://127.0.0.1:{port}", "--out", tmp_path / "never.h5")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot open port" in lines[0] and str(port) in lines[0], result.stderr


def test_a_device_that_does_not_answer_gives_one_clear_line_and_exit_code_2(tmp_path):
    master, slave = os.openpty()  # a port with nothing behind it
    try:
        result = run_record("--gpr", os.ttyname(slave), "--out", tmp_path / "never.h5")
    finally:
        os.close(slave)
        os.close(master)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no answer to 'identify'" in lines[0], result.stderr
    assert not (tmp_path / "never.h5").exists()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_cleanly_with_every_frame_sent_written(signum, tmp_path):
    out = tmp_path / "clean.h5"
    gpr = GprUnitSim(trace_source=ramp_traces, warm_up=False, keep_log=True, link_path=tmp_path / "tty-gpr")
    mic = MicArraySim(source_factory=lambda pos, fs, s: ToneSource(pos, fs, s), keep_log=True,
                      link_path=tmp_path / "tty-mic")
    gpr_config = {"n_samples": 100, "time_window_ns": 20.0, "trigger": "time", "trace_rate_hz": 80.0}
    mic_config = {"channels": 2, "fs_hz": 8000.0, "block_frames": 200, "sample_format": "int24"}
    with gpr, mic:
        with RecorderProcess(tmp_path, "--gpr", gpr.port_url, "--gpr-config", json.dumps(gpr_config),
                             "--acoustic", mic.port_url, "--acoustic-config", json.dumps(mic_config),
                             "--out", out) as recorder:
            wait_for(lambda: len(data_frames(gpr.log.records)) >= 120 and len(data_frames(mic.log.records)) >= 60,
                     30, "1.5 s of data", recorder)
            assert recorder.interrupt(signum) == 0, recorder.stderr[-2000:]
            stderr = recorder.stderr
    assert not needs_repair(out) and not (tmp_path / "clean.h5.writing").exists()
    with h5py.File(out, "r") as h5:  # closed properly: plain h5py opens it
        assert h5.attrs["format"] == "sensorkit-recording"
    gpr_sent = data_frames(gpr.log.records)
    mic_sent = data_frames(mic.log.records)
    assert all(r["intact"] for r in gpr_sent + mic_sent)  # no faults
    with Recording(out) as rec:
        # the stop ACK comes after the run's last frame: every frame the devices sent is in the file
        assert rec.gpr().trace_meta[:]["seq"].tolist() == list(range(len(gpr_sent)))
        assert rec.acoustic().blocks[:]["seq"].tolist() == list(range(len(mic_sent)))
        assert rec.gpr().traces.shape == (len(gpr_sent), 100)
        assert rec.acoustic().samples.shape == (200 * len(mic_sent), 2)
        assert rec.acoustic().fs_hz == 8000.0 and rec.gpr().dt_s == pytest.approx(0.2e-9)
        events = rec.events
    assert set(events["kind"]) <= {"note"}  # no gap, reset, reconnect or error
    # one live progress line per device, then the final summary
    progress = [line for line in stderr.splitlines() if line.startswith(("gpr/gpr:", "acoustic/acoustic:"))]
    assert any(line.startswith("gpr/gpr:") and "traces (" in line and "/s), gaps 0 (0 missing), reconnects 0"
               in line for line in progress)
    assert any(line.startswith("acoustic/acoustic:") and "blocks (" in line for line in progress)
    assert f"gpr/gpr: {len(gpr_sent)} traces" in stderr.splitlines()[-1]


def test_traces_option_stops_after_n_traces(tmp_path):
    out = tmp_path / "n.h5"
    with GprUnitSim(trace_source=ramp_traces, warm_up=False, link_path=tmp_path / "tty-gpr", time_scale=5.0):
        result = run_record("--gpr", tmp_path / "tty-gpr", "--gpr-config", json.dumps(
            {"n_samples": 32, "time_window_ns": 10.0, "trace_rate_hz": 100.0}), "--traces", 200, "--quiet",
            "--out", out)
    assert result.returncode == 0, result.stderr
    with Recording(out) as rec:
        n = rec.gpr().n_traces
    assert 200 <= n <= 260  # stops at 200; what the device sent before its stop ACK is written too
    assert len(result.stderr.strip().splitlines()) == 1  # --quiet: only the final line


def test_gpr_config_must_be_json(tmp_path):
    result = run_record("--gpr", "/dev/null", "--gpr-config", "{n_samples: 5", "--out", tmp_path / "x.h5")
    assert result.returncode == 2 and "expected JSON" in result.stderr and len(result.stderr.splitlines()) == 1
