"""The common simulated device: link, clock, output buffer, log and the device thread; and the protocol device
(docs/protocol.md): IDENT at boot and on `identify`, CMD -> ACK/NACK, seq per stream with the RESET flag, the
streaming loop at the configured rate (or as fast as the link allows), STATUS every second, LOG lines, reset.

Subclasses (gpr_unit.py, mic_array.py) describe the device (model, capabilities, default configuration,
configure schema) and produce its data frames; this module does the rest.
"""

from __future__ import annotations

import itertools
import math
import os
import tempfile
import threading
import time
import traceback

import numpy as np

from firmware_sims.clock import DeviceClock
from firmware_sims.eventlog import EventLog
from firmware_sims.faults import FaultConfig
from firmware_sims.link import make_link
from firmware_sims.transmitter import OutFrame, Transmitter
from sensorkit.drivers.frames import FLAG_OVERRUN, FLAG_RESET, FrameDecoder, MessageType, ProtocolError, SeqCounter
from sensorkit.drivers.messages import Ack, Command, Ident, Log, Nack, Status, decode_payload, encode_message

_PATH_COUNTER = itertools.count()


def default_pty_path(name: str) -> str:
    """/tmp/sensorkit-sim-<name>-<pid> (with -<n> appended for the second and later in one process)."""
    n = next(_PATH_COUNTER)
    suffix = f"-{os.getpid()}" + (f"-{n + 1}" if n else "")
    return os.path.join(tempfile.gettempdir(), f"sensorkit-sim-{name}{suffix}")


class CommandRefused(Exception):
    """A command the device answers with NACK; the message is the NACK's error text."""


class SimDevice:
    """Link + clock + output buffer + log + a device thread running `run_loop`.

    link: "pty" (symlink at link_path, default /tmp/sensorkit-sim-<name>-<pid>) or "tcp" (127.0.0.1:tcp_port,
    0: a free port). fast: skip waits (the device's timeline runs as fast as the link and the computation allow).
    log_path: JSON-lines log (eventlog.py); keep_log: also keep the records in `self.log.records`.
    drift_ppm, clock_offset_ns: the device clock (clock.py). buffer_bytes: output buffer (default 16 MiB,
    1 MiB in fast mode, where a full buffer makes the device wait instead of dropping). time_scale: the
    simulation's timeline (device clock, scene, STATUS period, reset_at_s, stalls and disconnects) runs time_scale
    times faster than real time, paced, unlike fast mode, which runs as fast as it can.
    """

    name = "device"
    framing = "cobs"

    def __init__(self, *, link: str = "pty", link_path=None, tcp_port: int = 0, fast: bool = False,
                 faults: FaultConfig | None = None, log_path=None, keep_log: bool = False, drift_ppm: float = 0.0,
                 clock_offset_ns: int = 0, seed: int = 0, buffer_bytes: int | None = None,
                 status_period_s: float = 1.0, time_scale: float = 1.0):
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed: expected an integer >= 0, found {seed!r}")
        if not status_period_s > 0:
            raise ValueError(f"status_period_s: expected a period > 0 s, found {status_period_s!r}")
        self.faults = faults if faults is not None else FaultConfig()
        self.fast = bool(fast)
        self.seed = seed
        self.status_period_s = float(status_period_s)
        self.clock = DeviceClock(drift_ppm, clock_offset_ns, self.fast, time_scale)
        path = link_path if link_path is not None else (default_pty_path(self.name) if link == "pty" else None)
        self.link = make_link(link, path=path, port=tcp_port)
        self.log = EventLog(log_path, keep_records=keep_log)
        if buffer_bytes is None:
            buffer_bytes = (1 << 20) if self.fast else (16 << 20)
        self.tx = Transmitter(self.link, self.faults, self.log, capacity_bytes=buffer_bytes, framing=self.framing,
                              rng=np.random.default_rng([self.faults.seed, 0xFA17]), time_scale=time_scale)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    @property
    def port_url(self) -> str:
        """What the host opens: the PTY symlink path or socket://127.0.0.1:PORT."""
        return self.link.url

    def start(self) -> "SimDevice":
        """Plug the link in and power the device up (returns at once; the device runs on its own thread)."""
        if self._thread is not None:
            raise RuntimeError(f"{self.name} simulator already started")
        self.link.plug()
        self.log.write("start_simulator", device=self.name, url=self.port_url, fast=self.fast,
                       faults=self.faults.as_dict(), drift_ppm=self.clock.drift_ppm, seed=self.seed)
        self.tx.start()
        self._thread = threading.Thread(target=self._main, name=f"sim-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Power off: stop the device thread, send what is buffered (briefly), unplug, close the log."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=10.0)
        self._thread = None
        self.tx.stop(flush_s=0.5)
        self.link.close()
        self.log.write("stop_simulator", device=self.name, fates=dict(self.tx.counts))
        self.log.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _main(self) -> None:
        try:
            self.run_loop()
        except BaseException as exc:  # noqa: BLE001 - recorded for the caller, the thread must not vanish silently
            self.error = exc
            self.log.write("error", text=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())

    def run_loop(self) -> None:
        raise NotImplementedError


class ProtocolDevice(SimDevice):
    """A device speaking wire protocol v1 (docs/protocol.md). Subclasses fill in the hooks below."""

    model = "SK-SIM"
    firmware = "1.0.0"

    def __init__(self, *, serial: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.serial = serial if serial is not None else f"SIM{self.seed:04d}"
        self.boot_count = -1
        self.config: dict = {}
        self.acquiring = False
        self.overruns = 0
        self._seq = SeqCounter()
        self._started_streams: set[int] = set()
        self._overrun_pending: set[int] = set()
        self._last_frame_bytes = 0
        self._last_overrun_log = -math.inf
        self._reset_due_ns: int | None = None

    # ------------------------------------------------------------------ hooks
    def capabilities(self) -> dict:
        """IDENT capabilities (docs/protocol.md 5.1)."""
        return {}

    def default_config(self) -> dict:
        """The configuration at power-up and after a reset (configure args)."""
        return {}

    def apply_config(self, args: dict) -> dict:
        """Check and apply configure args; return them as applied. Raise ProtocolError/ValueError/CommandRefused
        (NACK with that message) when they are not acceptable."""
        return dict(args)

    def begin_run(self) -> None:
        """Acquisition starts now (trace_index / first_frame restart at 0)."""

    def end_run(self) -> None:
        """Acquisition stops now; send any data frame already due (the stop ACK goes after them)."""

    def next_data_due_ns(self) -> int | None:
        """True time (clock.py) at which the next data frame is due; None when none is planned."""
        return None

    def produce_data(self) -> bool:
        """Send the data frame(s) due now (via send_data); False when not ready yet (try again shortly)."""
        return True

    # ------------------------------------------------------------------ sending
    def _flags_for(self, stream: int) -> int:
        flags = 0
        if stream not in self._started_streams:
            self._started_streams.add(stream)
            flags |= FLAG_RESET
        if stream in self._overrun_pending:
            flags |= FLAG_OVERRUN
        return flags

    def send_control(self, msg, device_time_ns: int | None = None) -> None:
        """Send an IDENT/ACK/NACK/STATUS/LOG on stream 0 (never dropped by the device itself)."""
        stream = 0
        seq = self._seq.next(stream)
        flags = self._flags_for(stream)
        t = self.clock.device_ns() if device_time_ns is None else device_time_ns
        data = encode_message(msg, stream=stream, seq=seq, flags=flags, device_time_ns=t)
        self.tx.put(OutFrame(data, stream, seq, MessageType(msg.TYPE).name, flags, t, self.boot_count, control=True))

    def send_data(self, stream: int, msg, device_time_ns: int, flags: int = 0) -> bool:
        """Send a data frame; False when the output buffer was full (dropped: overrun, logged, flagged next)."""
        seq = self._seq.next(stream)
        flags |= self._flags_for(stream)
        data = encode_message(msg, stream=stream, seq=seq, flags=flags, device_time_ns=device_time_ns)
        self._last_frame_bytes = len(data)
        frame = OutFrame(data, stream, seq, MessageType(msg.TYPE).name, flags, device_time_ns, self.boot_count)
        if self.fast:
            self.tx.put(frame)  # the loop waited for room: fast mode never drops
            self._overrun_pending.discard(stream)
            return True
        if self.tx.offer(frame):
            self._overrun_pending.discard(stream)
            return True
        self.overruns += 1
        self._overrun_pending.add(stream)
        self.tx.log_overrun(frame)
        now = time.monotonic()
        if now - self._last_overrun_log >= 1.0:
            self._last_overrun_log = now
            self.log.write("overrun", stream=stream, seq=seq, overruns=self.overruns)
            self.send_control(Log(f"output buffer full: {self.overruns} frames dropped since boot", "warning"))
        return False

    def send_log(self, text: str, level: str = "info") -> None:
        self.send_control(Log(text, level))

    def ident(self) -> Ident:
        return Ident(self.model, self.serial, self.firmware, self.capabilities())

    def data_streams(self) -> list[int]:
        """The data streams listed in IDENT capabilities."""
        return sorted({int(s["stream"]) for s in self.capabilities().get("streams", []) if int(s["stream"]) != 0})

    def status(self) -> Status:
        """STATUS with the next seq of every data stream (frames below it were all produced before it)."""
        next_seq = tuple((stream, self._seq.peek(stream)) for stream in self.data_streams())
        return Status(buffer_fill=float(min(1.0, self.tx.fill)), overruns=self.overruns % (1 << 32),
                      temperature_c=38.0 if self.acquiring else 35.0, supply_v=5.02, next_seq=next_seq)

    # ------------------------------------------------------------------ life cycle
    def boot(self, cause: str) -> None:
        """Power-up or reset: clock from offset, seq from 0, default configuration, acquisition stopped."""
        self.acquiring = False
        self.boot_count += 1
        self.clock.boot()
        self._seq = SeqCounter()
        self._started_streams = set()
        self._overrun_pending = set()
        self.overruns = 0
        self.config = self.apply_config(self.default_config())
        self.log.write("boot" if self.boot_count == 0 else "reset", boot=self.boot_count, cause=cause)
        self.tx.put(OutFrame(b"\x00", raw=True))
        self.send_control(self.ident())
        self.send_log(f"{self.model} {self.serial} firmware {self.firmware}: {cause}")

    def run_loop(self) -> None:
        decoder = FrameDecoder()
        self.boot("power-up")
        if self.faults.reset_at_s is not None:
            self._reset_due_ns = self.clock.true_ns() + round(self.faults.reset_at_s * 1e9)
        period_ns = round(self.status_period_s * 1e9)
        next_status = self.clock.true_ns() + period_ns
        not_ready = False
        while not self._stop.is_set():
            now = self.clock.true_ns()
            due = self.next_data_due_ns() if self.acquiring else None
            candidates = [next_status] + [t for t in (due, self._reset_due_ns) if t is not None]
            earliest = min(candidates)
            if self.fast and self.acquiring and not not_ready:
                if self.tx.has_room(self._last_frame_bytes):
                    self.clock.advance_to(earliest)
                    timeout_s = 0.0
                else:
                    timeout_s = 0.005
            else:
                timeout_s = min(0.02, max(0.0, self.clock.wall_s((earliest - now) * 1e-9)))
                if not_ready:
                    timeout_s = max(timeout_s, 0.005)
            data = self.link.read(timeout_s)
            if data:
                for frame in decoder.feed(data):
                    if frame.type == MessageType.CMD:
                        self._handle_command_frame(frame)
            now = self.clock.true_ns()
            if self._reset_due_ns is not None and now >= self._reset_due_ns:
                self._reset_due_ns = None
                self.reset("scheduled reset (fault injection)")
                next_status = self.clock.true_ns() + period_ns
                continue
            if now >= next_status:
                self.send_control(self.status())
                next_status += period_ns
                if next_status <= now:
                    next_status = now + period_ns
            not_ready = False
            if self.acquiring:
                due = self.next_data_due_ns()
                if due is not None and self.clock.true_ns() >= due:
                    if self.fast and not self.tx.has_room(self._last_frame_bytes):
                        continue
                    not_ready = not self.produce_data()
        if self.acquiring:
            self.acquiring = False
            self.end_run()

    def schedule_reset(self, after_s: float) -> None:
        """The device resets by itself after_s seconds of its timeline from now (like FaultConfig.reset_at_s, which
        counts from power-up); for hosts that must be running first."""
        if not (isinstance(after_s, (int, float)) and math.isfinite(after_s) and after_s >= 0):
            raise ValueError(f"after_s: expected a time >= 0 s, found {after_s!r}")
        self._reset_due_ns = self.clock.true_ns() + round(after_s * 1e9)

    def reset(self, cause: str) -> None:
        if self.acquiring:
            self.acquiring = False
            self.abort_run()
        self.send_control(self.status())  # a controlled reboot: the last word on how many frames were produced
        self.boot(cause)

    def abort_run(self) -> None:
        """Acquisition cut by a reset (nothing more is sent). Default: end_run."""
        self.end_run()

    # ------------------------------------------------------------------ commands
    def _handle_command_frame(self, frame) -> None:
        try:
            cmd = decode_payload(frame)
        except ProtocolError as exc:
            self.log.write("bad_command", seq=frame.seq, error=str(exc))
            self.send_log(f"cannot answer a command frame (seq {frame.seq}): {exc}", "error")
            return
        if not isinstance(cmd, Command):
            return
        self.log.write("command", id=cmd.id, cmd=cmd.name, args=cmd.args)
        handler = getattr(self, f"_cmd_{cmd.name}", None)
        if handler is None:
            self._nack(cmd, f"unknown command '{cmd.name}'")
            return
        try:
            handler(cmd)
        except (CommandRefused, ProtocolError, ValueError) as exc:
            self._nack(cmd, str(exc))
        except Exception as exc:  # noqa: BLE001 - a simulator bug must not kill the device; the host is told
            self.log.write("error", text=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
            self._nack(cmd, f"internal error: {type(exc).__name__}: {exc}")

    def _ack(self, cmd: Command, result: dict | None = None) -> None:
        self.send_control(Ack(cmd.id, result or {}))
        self.log.write("reply", id=cmd.id, cmd=cmd.name, ok=True, result=result or {})

    def _nack(self, cmd: Command, error: str) -> None:
        self.send_control(Nack(cmd.id, error))
        self.log.write("reply", id=cmd.id, cmd=cmd.name, ok=False, error=error)

    def _cmd_configure(self, cmd: Command) -> None:
        if self.acquiring:
            raise CommandRefused("busy: acquisition running")
        applied = self.apply_config(cmd.args)
        self.config = applied
        self._ack(cmd, applied)
        self.send_log(f"configured: {applied}")

    def _cmd_start(self, cmd: Command) -> None:
        if self.acquiring:
            raise CommandRefused("busy: acquisition already running")
        self.send_control(self.status())  # the host learns the seq the run starts at
        self._ack(cmd)
        self.acquiring = True
        self.log.write("start", boot=self.boot_count, config=self.config)
        self.begin_run()

    def _cmd_stop(self, cmd: Command) -> None:
        if self.acquiring:
            self.acquiring = False
            self.end_run()
            self.log.write("stop", boot=self.boot_count)
        self.send_control(self.status())  # after the run's last data frame: the host learns of lost ones
        self._ack(cmd)

    def _cmd_ping(self, cmd: Command) -> None:
        self._ack(cmd)

    def _cmd_identify(self, cmd: Command) -> None:
        self.send_control(self.ident())
        self._ack(cmd)

    def _cmd_reset(self, cmd: Command) -> None:
        self._ack(cmd)
        self.reset("reset command")
