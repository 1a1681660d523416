"""The serial transport: a port read on its own thread, in bulk, into a bounded queue, surviving disconnects.

The transport knows bytes only; framing and messages live in the protocol module, so both can be tested
apart. A read or write that raises ``SerialException`` or ``OSError`` (EIO when a USB CDC-ACM device or a
pseudo-terminal goes away) is a disconnect: the port is closed, a ``disconnect`` event is queued, and the
thread tries to open it again (the same path, or the port whose USB VID/PID/serial number match) with a
growing back-off until it succeeds or the transport is closed; then a ``reconnect`` event is queued so the
driver can identify the device again. When the consumer falls behind and the queue is full, the newest
chunk is dropped and counted as an overrun (an event says how many bytes), never blocking the port.

Items in the queue are :class:`Chunk` (bytes with the host time they arrived) or :class:`LinkEvent`.
"""

from __future__ import annotations

import queue
import select
import threading
import time
from dataclasses import dataclass, field

import serial
import serial.tools.list_ports

from sensorkit.errors import DeviceError

READ_TIMEOUT_S = 0.05
MAX_READ_BYTES = 1 << 16


@dataclass(frozen=True)
class PortMatch:
    """How to find a USB device again after it re-enumerates (None fields match anything)."""

    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None

    def matches(self, info) -> bool:
        return ((self.vid is None or info.vid == self.vid) and (self.pid is None or info.pid == self.pid)
                and (self.serial_number is None or info.serial_number == self.serial_number))

    @property
    def any(self) -> bool:
        return self.vid is not None or self.pid is not None or self.serial_number is not None


@dataclass(frozen=True)
class Chunk:
    """Bytes read from the port in one call, with the host UTC time (ns) of the read."""

    host_time_ns: int
    data: bytes


@dataclass(frozen=True)
class LinkEvent:
    """Something that happened to the link: disconnect, reconnect, overrun (detail: bytes dropped), error."""

    host_time_ns: int
    kind: str
    detail: dict = field(default_factory=dict)


@dataclass
class LinkStats:
    bytes_read: int = 0
    chunks: int = 0
    disconnects: int = 0
    reconnects: int = 0
    overrun_bytes: int = 0


def open_port(url: str, baudrate: int = 921600) -> serial.SerialBase:
    """Open a path (/dev/ttyACM0, a pty) or a pyserial URL (socket://127.0.0.1:PORT, loop://).

    Raises DeviceError with one clear line: missing, permission denied, busy, or the port's own message.
    """
    options = {"baudrate": baudrate, "timeout": READ_TIMEOUT_S, "write_timeout": 1.0}
    if "://" not in url:
        options["exclusive"] = True  # a local port: refuse to share it (busy is reported, not interleaved)
    try:
        return serial.serial_for_url(url, **options)
    except (serial.SerialException, OSError, ValueError) as error:
        raise DeviceError(describe_open_error(url, error)) from None


def describe_open_error(url: str, error: Exception) -> str:
    text = str(error)
    lowered = text.lower()
    if "no such file" in lowered or "errno 2]" in lowered:
        reason = "missing (no such port; is the device plugged in? see `sensorkit ports`)"
    elif "permission denied" in lowered or "errno 13" in lowered:
        reason = "permission denied (add your user to the 'dialout' group, or check the port's rights)"
    elif "busy" in lowered or "errno 16" in lowered or "exclusive" in lowered or "lock" in lowered:
        reason = "busy (another program has the port open)"
    elif "connection refused" in lowered:
        reason = "connection refused (nothing listens at that address)"
    else:
        reason = text.strip() or type(error).__name__
    return f"{url}: cannot open port: {reason}"


def read_available(port: serial.SerialBase) -> bytes:
    """The bytes that have arrived, in one call (waiting up to the port's timeout for the first).

    A serial port or pty reads what ``in_waiting`` says. pyserial's ``socket://`` handler says at most 1 there
    and its ``read(n)`` waits for all n bytes, so its socket is read directly: one ``recv`` of what is there.
    """
    sock = getattr(port, "_socket", None)
    if sock is None:
        return port.read(min(max(port.in_waiting, 1), MAX_READ_BYTES))
    ready, _, _ = select.select([sock], [], [], READ_TIMEOUT_S)
    if not ready:
        return b""
    data = sock.recv(MAX_READ_BYTES)
    if not data:
        raise serial.SerialException("socket disconnected")
    return data


def find_port(match: PortMatch) -> str | None:
    """The device path of the first listed port that matches, or None."""
    for info in serial.tools.list_ports.comports():
        if match.matches(info):
            return info.device
    return None


class SerialTransport:
    """A port read on a dedicated thread into a bounded queue, reopened after disconnects.

    url: a path or pyserial URL; match: USB identity to look for when the path is gone after a disconnect.
    queue_chunks: the bound of the queue (chunks of up to MAX_READ_BYTES).
    reconnect: False to stop at the first disconnect instead of trying again.
    """

    def __init__(self, url: str, *, baudrate: int = 921600, match: PortMatch | None = None,
                 queue_chunks: int = 4096, reconnect: bool = True, max_backoff_s: float = 1.0):
        self.url = url
        self.baudrate = baudrate
        self.match = match or PortMatch()
        self.reconnect = reconnect
        self.max_backoff_s = max_backoff_s
        self.stats = LinkStats()
        self.last_read_s = time.monotonic()  # time.monotonic() of the last bytes read (or of the open)
        self.queue: queue.Queue = queue.Queue(maxsize=queue_chunks)
        self._port = open_port(url, baudrate)
        self._port_lock = threading.Lock()
        self._connected = threading.Event()
        self._connected.set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"serial-reader {url}", daemon=True)
        self._thread.start()

    # ----------------------------------------------------------------- consumer side
    def get(self, timeout: float | None = None):
        """The next Chunk or LinkEvent; None when nothing arrived within timeout."""
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def write(self, data: bytes) -> bool:
        """Send bytes; False (and a disconnect handled by the reader thread) when the link is down."""
        if not self._connected.is_set():
            return False
        with self._port_lock:
            port = self._port
            try:
                if port is None:
                    return False
                port.write(data)
                port.flush()
                return True
            except (serial.SerialException, OSError):
                return False

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def close(self) -> None:
        """Stop the reader thread and close the port (idempotent)."""
        self._stop.set()
        self._thread.join(timeout=2.0)
        self._close_port()

    def _close_port(self) -> None:
        with self._port_lock:
            if self._port is not None:
                try:
                    self._port.close()
                except (serial.SerialException, OSError):
                    pass
                self._port = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ----------------------------------------------------------------- reader thread
    def _put(self, item) -> None:
        try:
            self.queue.put_nowait(item)
        except queue.Full:
            if isinstance(item, Chunk):
                self.stats.overrun_bytes += len(item.data)
                self._put_event_forcefully(LinkEvent(item.host_time_ns, "overrun", {"bytes": len(item.data)}))
            else:
                self._put_event_forcefully(item)

    def _put_event_forcefully(self, event: LinkEvent) -> None:
        """Events must not be lost: make room by dropping the oldest chunk (counted as overrun)."""
        while True:
            try:
                self.queue.put_nowait(event)
                return
            except queue.Full:
                try:
                    dropped = self.queue.get_nowait()
                    if isinstance(dropped, Chunk):
                        self.stats.overrun_bytes += len(dropped.data)
                except queue.Empty:
                    pass

    def _run(self) -> None:
        while not self._stop.is_set():
            port = self._port
            try:
                if port is None:
                    raise serial.SerialException("port closed")
                data = read_available(port)
            except (serial.SerialException, OSError, TypeError, AttributeError) as error:
                # TypeError/AttributeError: pyserial's posix read on a port closed under it
                if self._stop.is_set():
                    return
                self._disconnected(error)
                if not self.reconnect or not self._reopen():
                    return
                continue
            if data:
                self.last_read_s = time.monotonic()
                self.stats.bytes_read += len(data)
                self.stats.chunks += 1
                self._put(Chunk(time.time_ns(), data))

    def _disconnected(self, error: Exception) -> None:
        self._connected.clear()
        self.stats.disconnects += 1
        self._close_port()
        self._put(LinkEvent(time.time_ns(), "disconnect", {"error": str(error) or type(error).__name__}))

    def _reopen(self) -> bool:
        backoff = 0.02
        started = time.monotonic()
        while not self._stop.is_set():
            for candidate in self._candidates():
                try:
                    port = open_port(candidate, self.baudrate)
                except DeviceError:
                    continue
                with self._port_lock:
                    self._port = port
                self._connected.set()
                self.stats.reconnects += 1
                self._put(LinkEvent(time.time_ns(), "reconnect",
                                    {"port": candidate, "down_s": round(time.monotonic() - started, 3)}))
                return True
            self._stop.wait(backoff)
            backoff = min(backoff * 2, self.max_backoff_s)
        return False

    def _candidates(self) -> list[str]:
        found = find_port(self.match) if self.match.any else None
        return [self.url] + ([found] if found and found != self.url else [])
