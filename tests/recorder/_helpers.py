"""Helpers of the recorder tests: the recorder as a subprocess, waiting with timeouts, and reading a simulator's
log in the host's terms (the unwrapped sequence index the recorder writes as `seq`)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]

#: GPR test traces: sample 0 carries the cart position, so a stored trace can be checked against its metadata.
RAMP_FULL_SCALE = 1.0  # GprUnitSim's full scale when it has no scene


def ramp_traces(xy_m, n_samples, dt_s, stacks, seed):
    """A cheap GPR trace source: sample 0 = x / 20, sample 1 = y (full scale 1.0: counts = amplitude * 32767), then
    a ramp."""
    out = np.tile(np.linspace(-0.4, 0.4, n_samples), (len(xy_m), 1))
    out[:, 0] = xy_m[:, 0] / 20.0
    out[:, 1] = xy_m[:, 1]
    return out


def record_argv(*args) -> list[str]:
    return [sys.executable, "-m", "sensorkit.cli.main", "record", *map(str, args)]


class RecorderProcess:
    """`sensorkit record ...` in a subprocess (stderr to a file), killed on exit if still running."""

    def __init__(self, tmp_path: Path, *args):
        self.stderr_path = tmp_path / f"record-{time.monotonic_ns()}.err"
        self._stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(record_argv(*args), cwd=REPO, stdout=subprocess.DEVNULL, stderr=self._stderr,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})

    @property
    def stderr(self) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text()

    def interrupt(self, signum=signal.SIGINT, timeout_s: float = 30.0) -> int:
        """Send a signal and wait for the exit code."""
        self.proc.send_signal(signum)
        return self.proc.wait(timeout=timeout_s)

    def wait(self, timeout_s: float) -> int:
        return self.proc.wait(timeout=timeout_s)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def wait_for(predicate, timeout_s: float, what: str, proc: RecorderProcess | None = None) -> None:
    """Poll predicate every 50 ms; fail after timeout_s (or when the recorder process died)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if proc is not None and proc.proc.poll() is not None:
            raise AssertionError(f"the recorder exited ({proc.proc.returncode}) while waiting for {what}:\n"
                                 f"{proc.stderr[-2000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


def data_frames(records, stream: int = 1) -> list[dict]:
    return [r for r in list(records) if r.get("kind") == "frame" and r["stream"] == stream]


def acquired_s(records, stream: int = 1) -> float:
    """Device seconds covered by the data frames the simulator produced (summed over boots)."""
    frames = data_frames(records, stream)
    total = 0.0
    for boot in {r["boot"] for r in frames}:
        times = [r["device_time_ns"] for r in frames if r["boot"] == boot]
        total += (max(times) - min(times)) * 1e-9
    return total


def host_indices(records, stream: int = 1) -> tuple[set, set]:
    """({index of each frame that reached the host intact}, {index of each frame lost}) where index is what the
    recorder writes as seq: boot 0's seq, then each later boot's seq after the last seq the previous one produced."""
    frames = data_frames(records, stream)
    offset, base = {}, 0
    for boot in sorted({r["boot"] for r in frames}):
        offset[boot] = base
        base += max(r["seq"] for r in frames if r["boot"] == boot) + 1
    intact = {offset[r["boot"]] + r["seq"] for r in frames if r["intact"]}
    lost = {offset[r["boot"]] + r["seq"] for r in frames if not r["intact"]}
    return intact, lost


def gap_indices(events) -> list[int]:
    """Every missing index named by the gap events (a list: an index named twice shows up twice)."""
    out = []
    for event in events[events["kind"] == "gap"]:
        detail = json.loads(event["detail"])
        out += range(detail["first_missing_seq"], detail["first_missing_seq"] + detail["n_missing"])
    return out
