"""The device's output path: a bounded output buffer drained by a writer thread onto the link, with the faults
of a FaultConfig applied on the way and the fate of every frame written to the log.

The writer decides each frame's fate in the order frames leave the buffer (see eventlog.py for the fates). It
keeps track of whether the last delimiter it wrote was intact, which is what decides if the next frame can be
decoded, so the log's ``intact`` field says exactly which frames the host decodes. Around the link:

- when a host attaches (opens the port), a lone 0x00 goes out first (protocol section 1), so the first frame
  is not merged with stale bytes;
- a disconnect waits for the host to read what was written (drain), pulls the cable, drops (as
  ``lost_disconnected``) what comes out of the buffer while down, and plugs the link back in;
- a stall holds the buffer for stall_s, then goes on (nothing lost while the buffer has room).

Stalls and disconnects are timed from the moment a host first opens the port, in simulation seconds (divided
by time_scale on the host's clock).
"""

from __future__ import annotations

import collections
import math
import threading
import time
from dataclasses import dataclass

import numpy as np

from firmware_sims.eventlog import EventLog
from firmware_sims.faults import ByteFaults, FaultConfig
from firmware_sims.link import LinkDown


@dataclass
class OutFrame:
    """One unit of output: an encoded frame with its delimiter (or an NMEA sentence with CR LF)."""

    data: bytes
    stream: int = 0
    seq: int = 0
    type: str = ""
    flags: int = 0
    device_time_ns: int = 0
    boot: int = 0
    control: bool = False  # stream 0 of the binary protocol (IDENT, ACK, NACK, STATUS, LOG)
    raw: bool = False  # written as is when a host is attached (a lone 0x00 after a reset), never logged


class Transmitter:
    """Output buffer of capacity_bytes drained onto `link` by a writer thread.

    framing: "cobs" (binary protocol: a 0x00 on attach, delimiter-aware fates) or "text" (NMEA lines).
    """

    def __init__(self, link, faults: FaultConfig, log: EventLog, *, capacity_bytes: int = 16 << 20,
                 framing: str = "cobs", rng: np.random.Generator | None = None, time_scale: float = 1.0):
        if framing not in ("cobs", "text"):
            raise ValueError(f"framing: expected 'cobs' or 'text', found {framing!r}")
        self.link = link
        self.config = faults
        self.log = log
        self.capacity_bytes = int(capacity_bytes)
        self.framing = framing
        self.time_scale = float(time_scale)  # stalls and disconnects are timed in simulation seconds
        self.faults = ByteFaults(faults, rng if rng is not None else np.random.default_rng(faults.seed))
        self._queue: collections.deque[OutFrame] = collections.deque()
        self._queued_bytes = 0
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._busy = False  # the writer holds a frame taken from the buffer
        self._attached = False
        self._delimiter_ok = True  # the last delimiter written reached the host intact
        self.counts = collections.Counter()

    # ------------------------------------------------------------------ producer side
    @property
    def queued_bytes(self) -> int:
        return self._queued_bytes

    @property
    def fill(self) -> float:
        """Fraction of the output buffer in use (0..1, may exceed 1 briefly with control frames)."""
        return self._queued_bytes / self.capacity_bytes

    def has_room(self, n_bytes: int) -> bool:
        return self._queued_bytes + n_bytes <= self.capacity_bytes

    def offer(self, frame: OutFrame) -> bool:
        """Queue a data frame if the buffer has room; False when full (the caller counts an overrun)."""
        with self._cond:
            if self._queued_bytes + len(frame.data) > self.capacity_bytes:
                return False
            self._append(frame)
        return True

    def put(self, frame: OutFrame) -> None:
        """Queue a frame whatever the fill (control frames, raw bytes)."""
        with self._cond:
            self._append(frame)

    def _append(self, frame: OutFrame) -> None:
        self._queue.append(frame)
        self._queued_bytes += len(frame.data)
        self._cond.notify()

    def wait_empty(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.02))
        return True

    # ------------------------------------------------------------------ thread
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"sim-writer {self.link.url}", daemon=True)
        self._thread.start()

    def stop(self, flush_s: float = 1.0) -> None:
        """Send what is buffered (up to flush_s), then stop the writer thread."""
        if self._thread is None:
            return
        if flush_s > 0:
            self.wait_empty(flush_s)
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout=5.0)
        self._thread = None

    def _take(self, timeout_s: float) -> OutFrame | None:
        with self._cond:
            if not self._queue:
                self._cond.wait(timeout_s)
            if not self._queue:
                return None
            frame = self._queue.popleft()
            self._queued_bytes -= len(frame.data)
            self._busy = True
            return frame

    def _done(self) -> None:
        with self._cond:
            self._busy = False
            self._cond.notify_all()

    def _run(self) -> None:
        cfg = self.config
        stall_every_s = cfg.stall_every_s / self.time_scale
        disconnect_every_s = cfg.disconnect_every_s / self.time_scale
        next_stall = next_disconnect = math.inf  # the schedule starts when a host first opens the port
        scheduled = False
        while not self._stop.is_set():
            now = time.monotonic()
            if not scheduled and self._attached:
                scheduled = True
                next_stall = now + stall_every_s if stall_every_s > 0 else math.inf
                next_disconnect = now + disconnect_every_s if disconnect_every_s > 0 else math.inf
            if now >= next_disconnect:
                self._disconnect()
                while next_disconnect <= time.monotonic():
                    next_disconnect += disconnect_every_s
                continue
            if now >= next_stall:
                self._stall()
                while next_stall <= time.monotonic():
                    next_stall += stall_every_s
                continue
            self._check_attached()
            frame = self._take(min(0.02, max(0.0, min(next_stall, next_disconnect) - now)))
            if frame is None:
                continue
            try:
                self._check_attached()  # the host may have come or gone while we waited for the frame
                self._send(frame)
            finally:
                self._done()

    # ------------------------------------------------------------------ link state
    def _check_attached(self) -> None:
        attached = self.link.attached()
        if attached and not self._attached:
            self._attached = True
            self.log.write("attach", url=self.link.url)
            if self.framing == "cobs":
                self._write_raw(b"\x00")
        elif not attached and self._attached:
            self._attached = False
            self.log.write("detach", url=self.link.url)

    def _write_raw(self, data: bytes) -> bool:
        try:
            self.link.write(data, self._stop)
        except LinkDown:
            self._attached = False
            self.log.write("detach", url=self.link.url)
            return False
        if data.endswith(b"\x00") or data.endswith(b"\n"):
            self._delimiter_ok = True
        return True

    def _disconnect(self) -> None:
        cfg = self.config
        undrained = self.link.drain(1.0) if self._attached else 0
        self.log.write("disconnect", url=self.link.url, down_s=cfg.down_s, undrained_bytes=undrained)
        self.link.unplug()
        self._attached = False
        deadline = time.monotonic() + cfg.down_s / self.time_scale
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            frame = self._take(min(left, 0.02))
            if frame is not None:
                try:
                    if not frame.raw:
                        self._log_frame(frame, "lost_disconnected")
                finally:
                    self._done()
        if not self._stop.is_set():
            self.link.plug()
            self._delimiter_ok = True
            self.log.write("reconnect", url=self.link.url)

    def _stall(self) -> None:
        self.log.write("stall_begin", stall_s=self.config.stall_s, queued_bytes=self._queued_bytes)
        self._stop.wait(self.config.stall_s / self.time_scale)
        self.log.write("stall_end", queued_bytes=self._queued_bytes)

    # ------------------------------------------------------------------ frames
    def _send(self, frame: OutFrame) -> None:
        if frame.raw:
            if self._attached:
                self._write_raw(frame.data)
            return
        if not self._attached:
            self._log_frame(frame, "lost_disconnected")
            return
        exempt = frame.control and not self.config.control_frames
        if exempt and not self._delimiter_ok and self.framing == "cobs":
            if not self._write_raw(b"\x00"):  # guard: a data frame's corrupted delimiter spares this frame
                self._log_frame(frame, "lost_disconnected")
                return
        fate, data, offsets = self.faults.apply(frame.data, exempt)
        if fate == "dropped":
            self._log_frame(frame, fate)
            return
        try:
            self.link.write(data, self._stop)
        except LinkDown:
            self._attached = False
            self.log.write("detach", url=self.link.url)
            self._log_frame(frame, "lost_disconnected")
            return
        after_bad_delimiter = not self._delimiter_ok
        self._delimiter_ok = not offsets or offsets[-1] != len(data) - 1
        self._log_frame(frame, fate, offsets, after_bad_delimiter)

    def _log_frame(self, frame: OutFrame, fate: str, offsets=(), after_bad_delimiter: bool = False) -> None:
        self.counts[fate] += 1
        fields = {"boot": frame.boot, "stream": frame.stream, "seq": frame.seq, "type": frame.type,
                  "flags": frame.flags, "device_time_ns": frame.device_time_ns, "length": len(frame.data),
                  "fate": fate}
        if offsets:
            fields["corrupted_offsets"] = list(offsets)
        if after_bad_delimiter:
            fields["after_corrupted_delimiter"] = True
        fields["intact"] = fate == "sent" and not after_bad_delimiter
        self.log.write("frame", **fields)

    def log_overrun(self, frame: OutFrame) -> None:
        """A frame the device dropped because the buffer was full (called by the producer)."""
        self._log_frame(frame, "overrun")
