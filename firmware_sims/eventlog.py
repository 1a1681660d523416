"""The simulator's exact log: JSON lines, one per frame the device produced and one per notable event.

Every line has ``host_time_ns`` (host UTC, ns, when the line was written) and ``kind``.

Frame lines (``kind == "frame"``), written when the frame's fate is known:

    {"host_time_ns": ..., "kind": "frame", "boot": 0, "stream": 1, "seq": 41, "type": "GPR_TRACE",
     "flags": 0, "device_time_ns": ..., "length": 1080, "fate": "corrupted", "corrupted_offsets": [17, 1079],
     "intact": false}

- ``boot``: 0 at power-up, +1 at each reset (seq restarts then, so (boot, stream, seq) is unique);
- ``length``: bytes of the encoded frame on the wire, its trailing 0x00 delimiter included (NMEA: the sentence
  with its CR LF);
- ``fate``: ``sent`` (written untouched), ``corrupted`` (written with the bytes at ``corrupted_offsets``
  changed; offsets within the encoded frame including its delimiter at ``length - 1``), ``dropped`` (not
  written), ``lost_disconnected`` (no host attached, or the cable was pulled, when it was due to go out),
  ``overrun`` (the device's output buffer was full; the next frame of the stream carries the OVERRUN flag);
- ``after_corrupted_delimiter``: true when the frame was written untouched but the delimiter of the frame
  written before it was corrupted, so the host reads both as one bad chunk;
- ``intact``: the host decodes this frame: fate ``sent`` and not ``after_corrupted_delimiter``.

Event lines: ``boot``, ``reset`` (cause), ``attach`` / ``detach`` (a host opened / closed the port),
``host_flush`` (the host flushed its input while attached), ``disconnect`` (unplugged; undrained_bytes) /
``reconnect`` (the port is back), ``stall_begin`` / ``stall_end``, ``command`` (id, cmd, args) / ``reply``
(id, ok, result or error), ``start`` / ``stop``, ``overrun``.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

FATES = ("sent", "corrupted", "dropped", "lost_disconnected", "overrun")


class EventLog:
    """Writes log lines to `path` (None: no file); keep_records=True also keeps them in `records`."""

    def __init__(self, path=None, keep_records: bool = False, flush_every_s: float = 0.5):
        self.path = None if path is None else Path(path)
        self.records: list[dict] | None = [] if keep_records else None
        self._file = open(self.path, "w", encoding="utf-8") if self.path is not None else None
        self._lock = threading.Lock()
        self._flush_every_s = flush_every_s
        self._last_flush = time.monotonic()

    def write(self, kind: str, **fields) -> dict:
        record = {"host_time_ns": time.time_ns(), "kind": kind, **fields}
        with self._lock:
            if self.records is not None:
                self.records.append(record)
            if self._file is not None:
                self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
                now = time.monotonic()
                if now - self._last_flush >= self._flush_every_s:
                    self._file.flush()
                    self._last_flush = now
        return record

    def flush(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.flush()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def read_log(path) -> list[dict]:
    """All records of a log file, in order (a last line cut by a killed simulator is skipped)."""
    records = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


def frame_records(records, stream: int | None = None) -> list[dict]:
    """The frame lines (of one stream when given), in the order their fates were decided."""
    return [r for r in records if r.get("kind") == "frame" and (stream is None or r["stream"] == stream)]


def intact_frames(records, stream: int | None = None) -> set[tuple[int, int, int]]:
    """{(boot, stream, seq)} of the frames the host decodes intact (the `intact` field of the frame lines)."""
    return {(r["boot"], r["stream"], r["seq"]) for r in frame_records(records, stream) if r["intact"]}
