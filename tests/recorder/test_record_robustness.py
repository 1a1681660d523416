"""What a broken device sends never crashes the recorder: a chunk that is not COBS, a wrong CRC, an unknown frame
type, a truncated payload, a trace of the wrong size and a device that stops answering are each counted, logged as
an event, and the recording goes on and closes properly."""

import json
import os
import select
import threading
import tty
from collections import Counter

import numpy as np
from cobs import cobs

from sensorkit.drivers import (Ack, Command, FrameDecoder, GprTrace, Ident, MessageType, Status, decode_payload,
                               encode_frame, encode_message)
from sensorkit.recorder import DeviceSpec, Recorder
from sensorkit.store import Recording, needs_repair

CONFIG = {"n_samples": 16, "time_window_ns": 10.0, "trigger": "time", "trace_rate_hz": 10.0}


def trace(seq: int, n_samples: int = 16) -> bytes:
    samples = np.arange(n_samples, dtype=np.int16) + 100 * seq
    return encode_message(GprTrace(seq, 10 * seq, 0, 1, samples, "int16"), stream=1, seq=seq,
                          device_time_ns=1_000_000_000 + seq * 100_000_000)


def with_wrong_crc(frame: bytes) -> bytes:
    raw = cobs.decode(frame[:-1])
    return cobs.encode(raw[:-4] + bytes(b ^ 0xFF for b in raw[-4:])) + b"\x00"


#: What the broken device sends after `start`, and what each item is.
SCRIPT = [
    (trace(0), "good"),
    (b"\x05\x01\x00", "not COBS"),
    (with_wrong_crc(trace(1)), "wrong CRC"),
    (encode_frame(0x7F, b"hello", stream=1, seq=2, device_time_ns=1_200_000_000), "unknown type"),
    (encode_frame(MessageType.GPR_TRACE, GprTrace(3, 0, 0, 1, np.zeros(16, np.int16)).pack()[:-6], stream=1, seq=3,
                  device_time_ns=1_300_000_000), "truncated payload"),
    (trace(4, n_samples=8), "8 samples, the stream holds 16"),
] + [(trace(seq), "good") for seq in range(5, 10)] + [
    (encode_message(Status(0.0, 0, next_seq=((1, 12),)), stream=0, seq=99), "STATUS: seq 10 and 11 were lost"),
]


class BrokenDevice:
    """A GPR unit on a pseudo-terminal that answers identify/configure/start, sends SCRIPT, then falls silent."""

    def __init__(self, path):
        self.master, slave = os.openpty()
        tty.setraw(slave)
        name = os.ttyname(slave)
        os.close(slave)
        os.symlink(name, path)
        self.commands = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _send(self, data: bytes) -> None:
        os.write(self.master, data)

    def _run(self) -> None:
        decoder = FrameDecoder()
        seq = 0
        while not self._stop.is_set():
            if not select.select([self.master], [], [], 0.02)[0]:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:  # no host has the port open
                self._stop.wait(0.02)
                continue
            for frame in decoder.feed(data):
                cmd = decode_payload(frame)
                if not isinstance(cmd, Command):
                    continue
                self.commands.append(cmd.name)
                if cmd.name == "stop":
                    continue  # fallen silent: no answer
                if cmd.name == "identify":
                    self._send(encode_message(Ident("BROKEN-1", "B1", "0.1", {"kind": "gpr", "sample_formats":
                                                                              ["int16"]}), seq=seq))
                    seq += 1
                result = dict(cmd.args) if cmd.name == "configure" else {}
                self._send(encode_message(Ack(cmd.id, result), seq=seq, device_time_ns=500_000_000))
                seq += 1
                if cmd.name == "start":
                    for data, _ in SCRIPT:
                        self._send(data)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        os.close(self.master)


def test_malformed_frames_and_a_silent_device_are_events_not_crashes(tmp_path):
    device = BrokenDevice(tmp_path / "tty-broken")
    out = tmp_path / "broken.h5"
    try:
        recorder = Recorder(out, [DeviceSpec("gpr", str(tmp_path / "tty-broken"), config=CONFIG)], silence_s=0.6,
                            stop_timeout_s=0.5)
        stats = recorder.run(duration_s=1.5)
    finally:
        device.close()
    assert device.commands == ["identify", "configure", "start", "stop"]
    assert not needs_repair(out)  # closed properly
    with Recording(out) as rec:
        meta = rec.gpr().trace_meta[:]
        traces = rec.gpr().traces[:]
        events = rec.events
    assert meta["seq"].tolist() == [0, 5, 6, 7, 8, 9]
    assert traces[:, 0].tolist() == [0, 500, 600, 700, 800, 900]  # each trace with its own metadata
    details = [(kind, json.loads(detail)) for kind, detail in zip(events["kind"], events["detail"])]
    gaps = [(d["first_missing_seq"], d["n_missing"]) for kind, d in details if kind == "gap"]
    assert gaps == [(1, 3), (10, 2)]  # CRC, unknown type, truncated; then the two the STATUS says were lost
    errors = Counter(d.get("what") for kind, d in details if kind == "error")
    damaged = sum(d["count"] for kind, d in details if kind == "error" and d.get("what") == "damaged frames")
    assert damaged == 2  # the chunk that is not COBS and the wrong CRC
    assert errors["bad payload"] == 2  # unknown type, truncated payload
    assert errors["data frame does not fit the stream"] == 1
    assert errors["device silent"] == 1 and errors["stop failed"] == 1
    bad = [d for kind, d in details if d.get("what") == "bad payload"]
    assert {d["seq"] for d in bad} == {2, 3} and "0x7f" in bad[0]["error"] and "need" in bad[1]["error"]
    assert stats["gpr"]["records"] == 6 and stats["gpr"]["missing"] == 5 and stats["gpr"]["gaps"] == 2
