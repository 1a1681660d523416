"""A device speaking wire protocol v1 over a transport: commands, identification, and the data it streams.

One thread owns a :class:`ProtocolDevice` (the recorder's). :meth:`ProtocolDevice.pump` turns what the
transport queued into :class:`Received` data and :class:`Note` items (gaps, resets, reconnects,
protocol errors, overruns), never raising for anything that arrives on the wire. :meth:`command`
sends a CMD and waits for its ACK or NACK; frames that arrive meanwhile are kept for the next pump.

After a reconnect the device is identified again; after a reset (an IDENT with the RESET flag, or a
sequence restart) the configuration the host last applied is sent again and acquisition restarted,
so a recording goes on by itself. Every such step leaves a Note, which the recorder writes as an event.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from dataclasses import dataclass, field

from sensorkit.drivers.clock import ClockSync
from sensorkit.drivers.frames import FLAG_RESET, CONTROL_STREAM, Frame, FrameDecoder, SequenceTracker
from sensorkit.drivers.messages import (
    Ack,
    Command,
    Ident,
    Message,
    Nack,
    ProtocolError,
    Status,
    decode_payload,
    encode_message,
)
from sensorkit.drivers.transport import Chunk, LinkEvent, SerialTransport
from sensorkit.errors import DeviceError

COMMAND_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Received:
    """A data message with its frame header, the host time it arrived and its unwrapped sequence index."""

    host_time_ns: int
    frame: Frame
    message: Message
    index: int  # the stream's seq unwrapped (monotonic across wraps and resets)


@dataclass(frozen=True)
class Note:
    """Something the recorder writes as an event: kind in gap|reset|reconnect|overrun|error|note."""

    host_time_ns: int
    kind: str
    stream: int
    detail: dict = field(default_factory=dict)


class ProtocolDevice:
    """A sensorkit-protocol device behind a transport (see module docstring).

    url: port path or pyserial URL. configure_args: what :meth:`configure` last applied (resent after a reset).
    """

    def __init__(self, url: str, *, transport: SerialTransport | None = None, reconnect: bool = True):
        self.url = url
        self.transport = transport or SerialTransport(url, reconnect=reconnect)
        self.decoder = FrameDecoder()
        self.trackers: dict[int, SequenceTracker] = {}
        self.clock = ClockSync()
        self.ident: Ident | None = None
        self.configure_args: dict | None = None
        self.running = False
        self._ids = itertools.count(1)
        self._replies: dict[int, tuple[Frame, Message]] = {}
        self._backlog: deque = deque()
        self._notes: deque = deque()
        self._reported_decoder_errors = 0
        self._recovering = False
        self._next_recovery_s = 0.0
        self._overruns_reported = 0

    # ----------------------------------------------------------------- control plane
    def command(self, name: str, args: dict | None = None, timeout_s: float = COMMAND_TIMEOUT_S) -> dict:
        """Send a command and return its ACK result; DeviceError on NACK or no answer within timeout_s."""
        command_id = next(self._ids)
        frame_bytes = encode_message(Command(command_id, name, args or {}), stream=CONTROL_STREAM)
        if not self.transport.write(b"\x00" + frame_bytes):
            raise DeviceError(f"{self.url}: cannot send '{name}': the link is down")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if command_id in self._replies:
                _, reply = self._replies.pop(command_id)
                if isinstance(reply, Nack):
                    raise DeviceError(f"{self.url}: the device refused '{name}': {reply.error}")
                return reply.result
            self._read_into_backlog(timeout_s=min(0.05, max(0.0, deadline - time.monotonic())))
        raise DeviceError(f"{self.url}: no answer to '{name}' within {timeout_s:.1f} s")

    def identify(self, timeout_s: float = COMMAND_TIMEOUT_S) -> Ident:
        """Ask the device who it is (IDENT then ACK)."""
        self.ident = None
        self.command("identify", timeout_s=timeout_s)
        deadline = time.monotonic() + timeout_s
        while self.ident is None and time.monotonic() < deadline:
            self._read_into_backlog(0.02)
        if self.ident is None:
            raise DeviceError(f"{self.url}: acknowledged 'identify' but sent no IDENT")
        return self.ident

    def configure(self, args: dict) -> dict:
        """Apply a configuration; returns it as the device applied it (and keeps it for resets)."""
        applied = self.command("configure", args)
        self.configure_args = dict(args)
        return applied

    def start(self) -> None:
        self.command("start")
        self.running = True

    def stop(self) -> None:
        self.running = False
        self.command("stop")

    def ping(self) -> None:
        """One round trip: its ACK's device time gives the clock a tight offset sample."""
        self.command("ping")

    def close(self) -> None:
        self.transport.close()

    # ----------------------------------------------------------------- data plane
    def pump(self, timeout_s: float = 0.05) -> list:
        """Everything received since the last call: Received and Note items, in arrival order."""
        self._read_into_backlog(timeout_s)
        out = list(self._backlog)
        self._backlog.clear()
        if self._recovering and time.monotonic() >= self._next_recovery_s:
            self._recover()
        return out

    def _read_into_backlog(self, timeout_s: float) -> None:
        item = self.transport.get(timeout=timeout_s)
        while item is not None:
            if isinstance(item, Chunk):
                for frame in self.decoder.feed(item.data):
                    self._handle_frame(item.host_time_ns, frame)
                self._note_decoder_errors(item.host_time_ns)
            elif isinstance(item, LinkEvent):
                self._handle_link_event(item)
            item = self.transport.get(timeout=0)

    def _note_decoder_errors(self, host_time_ns: int) -> None:
        errors = self.decoder.stats.errors()
        if errors > self._reported_decoder_errors:
            self._backlog.append(Note(host_time_ns, "error", CONTROL_STREAM,
                                      {"what": "damaged frames", "count": errors - self._reported_decoder_errors,
                                       "decoder": self.decoder.stats.as_dict()}))
            self._reported_decoder_errors = errors

    def _handle_link_event(self, event: LinkEvent) -> None:
        if event.kind == "disconnect":
            self._backlog.append(Note(event.host_time_ns, "error", CONTROL_STREAM,
                                      {"what": "disconnect", **event.detail}))
            self.decoder.reset()
        elif event.kind == "reconnect":
            self._backlog.append(Note(event.host_time_ns, "reconnect", CONTROL_STREAM, event.detail))
            self._recovering = True
        elif event.kind == "overrun":
            self._backlog.append(Note(event.host_time_ns, "overrun", CONTROL_STREAM,
                                      {"what": "host queue full", **event.detail}))

    def _handle_frame(self, host_time_ns: int, frame: Frame) -> None:
        try:
            message = decode_payload(frame)
        except ProtocolError as error:
            self._backlog.append(Note(host_time_ns, "error", frame.stream,
                                      {"what": "bad payload", "type": int(frame.type), "seq": frame.seq,
                                       "error": str(error)}))
            return
        if isinstance(message, (Ack, Nack)):
            self._replies[message.id] = (frame, message)
            if isinstance(message, Ack):
                self.clock.add(frame.device_time_ns, host_time_ns)
            return
        if isinstance(message, Ident):
            self.ident = message
            if frame.flags & FLAG_RESET:
                self._device_reset(host_time_ns, "IDENT with the RESET flag")
            return
        if isinstance(message, Status):
            if message.overruns > self._overruns_reported:
                self._backlog.append(Note(host_time_ns, "overrun", frame.stream,
                                          {"what": "device buffer", "overruns": message.overruns}))
            self._overruns_reported = message.overruns
            self._sync(host_time_ns, message)
        if frame.stream == CONTROL_STREAM:
            return  # LOG and STATUS on the control stream carry no sequence of interest
        self._track(host_time_ns, frame, message)

    def _sync(self, host_time_ns: int, status: Status) -> None:
        """A STATUS says which seq each data stream takes next: frames lost after the last received are gaps."""
        for stream, next_seq in status.next_seq:
            update = self.trackers.setdefault(stream, SequenceTracker()).sync(next_seq)
            if update is not None and update.missing_count:
                self._backlog.append(Note(host_time_ns, "gap", stream, {
                    "first_missing_seq": update.missing_first, "n_missing": update.missing_count,
                    "seen_by": "STATUS next_seq"}))

    def _track(self, host_time_ns: int, frame: Frame, message: Message) -> None:
        tracker = self.trackers.setdefault(frame.stream, SequenceTracker())
        expected_epoch = tracker.last_index is None or tracker.epoch_announced
        update = tracker.update(frame.seq, frame.flags)
        if update.kind == "duplicate":
            self._backlog.append(Note(host_time_ns, "error", frame.stream, {"what": "duplicate", "seq": frame.seq}))
            return
        if update.kind == "reset" and not expected_epoch:  # a reset the device did not announce (IDENT lost)
            self._backlog.append(Note(host_time_ns, "reset", frame.stream, {"seq": frame.seq,
                                                                            "why": "sequence restarted"}))
            self.clock.reset()
        if update.missing_count:
            self._backlog.append(Note(host_time_ns, "gap", frame.stream,
                                      {"first_missing_seq": update.missing_first, "n_missing": update.missing_count}))
        self.clock.add(frame.device_time_ns, host_time_ns)
        self._backlog.append(Received(host_time_ns, frame, message, update.index))

    def _device_reset(self, host_time_ns: int, why: str) -> None:
        self._backlog.append(Note(host_time_ns, "reset", CONTROL_STREAM, {"why": why}))
        self.clock.reset()
        self._overruns_reported = 0
        for tracker in self.trackers.values():
            tracker.sender_reset()
        if self.running or self.configure_args is not None:
            self._recovering = True

    def _recover(self) -> None:
        """After a reconnect or reset: identify, and if the device lost its state, configure and start again."""
        self._recovering = False
        try:
            ident = self.identify()
            was_running = self.running
            if self.configure_args is not None:
                # a reset device came back with defaults: configure and restart; a device that kept running
                # answers 'configure' with NACK busy, which tells us it needs nothing
                try:
                    self.command("configure", self.configure_args)
                except DeviceError as error:
                    if "busy" not in str(error):
                        raise
                    return
                if was_running:
                    self.command("start")
            self._backlog.append(Note(time.time_ns(), "note", CONTROL_STREAM,
                                      {"what": "device recovered", "serial": ident.serial}))
        except DeviceError as error:
            self._backlog.append(Note(time.time_ns(), "error", CONTROL_STREAM,
                                      {"what": "recovery failed", "error": str(error)}))
            self._recovering = True  # try again a second later
            self._next_recovery_s = time.monotonic() + 1.0
