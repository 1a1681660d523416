"""The device's end of the cable: a pseudo-terminal under a stable symlink, or a TCP server on 127.0.0.1.

Both links offer the same small interface to the simulator (one reader thread and one writer thread):

- ``url``: what the host opens (the symlink path, or ``socket://127.0.0.1:PORT``);
- ``attached()``: a host has the port open and is ready (bytes written now reach it);
- ``read(timeout_s)``: bytes from the host (b"" when none or when no host is there);
- ``write(data, abort)``: write everything (blocking, polling), raises LinkDown if the host goes away;
- ``drain(timeout_s)``: wait until the host has read everything written (returns the bytes still unread);
- ``unplug()`` / ``plug()``: the cable is pulled and put back; ``close()``.

PTY details that make the simulator's log exact:

- The master is in packet mode (TIOCPKT): when the host opens the slave, pyserial flushes its input
  (TCIFLUSH), which the master sees as a FLUSHREAD packet; the link reports ``attached`` only after it (or after
  attach_fallback_s without a hang-up, for hosts that do not flush), so no byte is written before the host's
  flush could discard it. POLLHUP on the master means no host has the slave open.
- Bytes written to the master and not yet read by the host are lost when the master closes; ``drain`` waits
  for the slave's input queue to empty first (FIONREAD on a briefly opened slave descriptor).
- ``unplug`` removes the symlink, then closes the master: the host's read fails (EIO), its reopen finds no
  file until ``plug`` makes a new pty and swaps the symlink in atomically.

TCP: ``unplug`` shuts the client connection down (after the data already sent, then FIN) and closes the
listening socket, so reconnects are refused until ``plug``; ``attached`` comes attach_fallback_s after the
accept (pyserial discards what arrived before its open returned) or at the first byte from the host.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import socket
import struct
import termios
import threading
import time
import tty
from pathlib import Path

POLL_S = 0.02
TIOCPKT_FLUSHREAD = 0x01


class LinkDown(Exception):
    """The host went away (or the link was unplugged) during a write."""


class _Shared:
    """A descriptor (fd or socket) used by two threads: closed only once the last user has let go."""

    def __init__(self, handle, closer):
        self.handle = handle
        self._closer = closer
        self.users = 0
        self.closing = False


class _SharedSlot:
    def __init__(self):
        self._lock = threading.Lock()
        self._current: _Shared | None = None

    def set(self, handle, closer) -> None:
        with self._lock:
            self._retire_locked()
            self._current = _Shared(handle, closer)

    def retire(self) -> None:
        with self._lock:
            self._retire_locked()

    def _retire_locked(self) -> None:
        cur = self._current
        self._current = None
        if cur is not None:
            cur.closing = True
            if cur.users == 0:
                cur._closer(cur.handle)

    @contextlib.contextmanager
    def use(self):
        with self._lock:
            cur = self._current
            if cur is not None:
                cur.users += 1
        try:
            yield None if cur is None else cur.handle
        finally:
            if cur is not None:
                with self._lock:
                    cur.users -= 1
                    if cur.closing and cur.users == 0:
                        cur._closer(cur.handle)

    @property
    def present(self) -> bool:
        return self._current is not None


def _close_fd(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


def _close_socket(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass


class PtyLink:
    """A pseudo-terminal whose slave is reached through the symlink `path` (stable across unplug/plug)."""

    kind = "pty"

    def __init__(self, path, attach_fallback_s: float = 0.25):
        self.path = Path(path)
        self.attach_fallback_s = attach_fallback_s
        self._master = _SharedSlot()
        self._slave_name: str | None = None
        self._flushed = False  # the host flushed its input since the pty was made (pyserial's open)
        self._since_no_hup: float | None = None
        self.plugged = False

    @property
    def url(self) -> str:
        return str(self.path)

    def plug(self) -> None:
        """Make a new pty and point the symlink at its slave."""
        master, slave = os.openpty()
        name = os.ttyname(slave)
        tty.setraw(slave)
        os.close(slave)
        fcntl.ioctl(master, termios.TIOCPKT, struct.pack("i", 1))
        os.set_blocking(master, False)
        self._slave_name = name
        self._flushed = False
        self._since_no_hup = None
        self._master.set(master, _close_fd)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(name)
        os.replace(tmp, self.path)
        self.plugged = True

    def unplug(self) -> None:
        """The cable is pulled: the symlink disappears, then the master closes (the host reads EIO)."""
        self.plugged = False
        self._remove_symlink()
        self._master.retire()
        self._flushed = False
        self._since_no_hup = None

    def close(self) -> None:
        self.unplug()

    def _remove_symlink(self) -> None:
        try:
            if self.path.is_symlink() and os.readlink(self.path) == self._slave_name:
                self.path.unlink()
        except OSError:
            pass

    def _hung_up(self, fd: int) -> bool:
        p = select.poll()
        p.register(fd, select.POLLIN)
        return any(ev & select.POLLHUP for _, ev in p.poll(0))

    def attached(self) -> bool:
        with self._master.use() as fd:
            if fd is None:
                return False
            if self._hung_up(fd):
                self._flushed = False
                self._since_no_hup = None
                return False
            now = time.monotonic()
            if self._since_no_hup is None:
                self._since_no_hup = now
            return self._flushed or now - self._since_no_hup >= self.attach_fallback_s

    def read(self, timeout_s: float = POLL_S) -> bytes:
        """Bytes from the host; packet-mode status bytes are interpreted (FLUSHREAD), not returned."""
        with self._master.use() as fd:
            if fd is None:
                time.sleep(timeout_s)
                return b""
            p = select.poll()
            p.register(fd, select.POLLIN)
            events = p.poll(timeout_s * 1000.0)
            if not events:
                return b""
            if events[0][1] & select.POLLHUP and not events[0][1] & select.POLLIN:
                time.sleep(timeout_s)  # no host: poll returns at once, do not spin
                return b""
            out = bytearray()
            for _ in range(64):
                try:
                    packet = os.read(fd, 65536)
                except BlockingIOError:
                    break
                except OSError:  # EIO: no slave open
                    break
                if not packet:
                    break
                if packet[0] == 0:
                    out += packet[1:]
                elif packet[0] & TIOCPKT_FLUSHREAD:
                    self._flushed = True
            return bytes(out)

    @property
    def host_flushed(self) -> bool:
        return self._flushed

    def write(self, data: bytes, abort: threading.Event | None = None) -> None:
        view = memoryview(data)
        while view:
            with self._master.use() as fd:
                if fd is None:
                    raise LinkDown("unplugged")
                p = select.poll()
                p.register(fd, select.POLLOUT)
                events = p.poll(POLL_S * 1000.0)
                if events and events[0][1] & select.POLLHUP:
                    raise LinkDown("host closed the port")
                if abort is not None and abort.is_set():
                    raise LinkDown("aborted")
                if not events:
                    continue
                try:
                    n = os.write(fd, view)
                except BlockingIOError:
                    continue
                except OSError as exc:
                    raise LinkDown(str(exc)) from None
                view = view[n:]

    def unread_bytes(self) -> int:
        """Bytes written that the host has not read yet (the slave's input queue), 0 when unknown."""
        name = self._slave_name
        if name is None or not self._master.present:
            return 0
        try:
            fd = os.open(name, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError:
            return 0
        try:
            return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, struct.pack("i", 0)))[0]
        except OSError:
            return 0
        finally:
            os.close(fd)

    def drain(self, timeout_s: float = 1.0) -> int:
        """Wait until the host has read what was written; the bytes still unread at the timeout (0: drained)."""
        deadline = time.monotonic() + timeout_s
        time.sleep(0.005)  # the pty moves written bytes to the slave's queue asynchronously
        zeros = 0
        while True:
            left = self.unread_bytes()
            zeros = zeros + 1 if left == 0 else 0
            if zeros >= 2 or time.monotonic() > deadline:
                return left
            time.sleep(0.005)


class TcpLink:
    """A TCP server on 127.0.0.1:port accepting one host at a time (pyserial URL socket://127.0.0.1:port)."""

    kind = "tcp"

    def __init__(self, port: int = 0, attach_fallback_s: float = 0.2):
        self.port = port
        self.attach_fallback_s = attach_fallback_s
        self._listener = _SharedSlot()
        self._client = _SharedSlot()
        self._accepted_at: float | None = None
        self._heard_from_host = False
        self.plugged = False

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def plug(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(1)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        self._listener.set(sock, _close_socket)
        self.plugged = True

    def unplug(self) -> None:
        self.plugged = False
        self._listener.retire()
        with self._client.use() as client:
            if client is not None:
                try:
                    client.shutdown(socket.SHUT_WR)  # FIN after what was sent
                except OSError:
                    pass
                self._wait_peer_close(client, 1.0)
        self._client.retire()
        self._accepted_at = None

    def close(self) -> None:
        self.unplug()

    @staticmethod
    def _wait_peer_close(client: socket.socket, timeout_s: float) -> None:
        """Read (and discard) until the host closes its end, so no RST can destroy data in flight."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            ready, _, _ = select.select([client], [], [], POLL_S)
            if ready:
                try:
                    if not client.recv(65536):
                        return
                except OSError:
                    return

    def _drop_client(self) -> None:
        self._client.retire()
        self._accepted_at = None

    def attached(self) -> bool:
        if not self._client.present or self._accepted_at is None:
            return False
        return self._heard_from_host or time.monotonic() - self._accepted_at >= self.attach_fallback_s

    def read(self, timeout_s: float = POLL_S) -> bytes:
        if not self._client.present:
            with self._listener.use() as listener:
                if listener is None:
                    time.sleep(timeout_s)
                    return b""
                ready, _, _ = select.select([listener], [], [], timeout_s)
                if not ready:
                    return b""
                try:
                    client, _ = listener.accept()
                except OSError:
                    return b""
            client.setblocking(False)
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._heard_from_host = False
            self._client.set(client, _close_socket)
            self._accepted_at = time.monotonic()
            return b""
        with self._client.use() as client:
            if client is None:
                return b""
            ready, _, _ = select.select([client], [], [], timeout_s)
            if not ready:
                return b""
            try:
                data = client.recv(65536)
            except BlockingIOError:
                return b""
            except OSError:
                data = b""
        if not data:  # the host closed the connection
            self._drop_client()
            return b""
        self._heard_from_host = True
        return data

    def write(self, data: bytes, abort: threading.Event | None = None) -> None:
        view = memoryview(data)
        while view:
            with self._client.use() as client:
                if client is None:
                    raise LinkDown("no host connected")
                if abort is not None and abort.is_set():
                    raise LinkDown("aborted")
                _, ready, _ = select.select([], [client], [], POLL_S)
                if not ready:
                    continue
                try:
                    n = client.send(view)
                except BlockingIOError:
                    continue
                except OSError as exc:
                    self._drop_client()
                    raise LinkDown(str(exc)) from None
                view = view[n:]

    def drain(self, timeout_s: float = 1.0) -> int:
        """TCP delivers what was sent before the FIN: nothing to wait for."""
        return 0


def make_link(kind: str, *, path=None, port: int = 0):
    """A PtyLink at `path` (kind "pty") or a TcpLink on 127.0.0.1:port (kind "tcp", 0: any free port)."""
    if kind == "pty":
        if path is None:
            raise ValueError("link 'pty': a symlink path is needed")
        return PtyLink(path)
    if kind == "tcp":
        if not isinstance(port, int) or not 0 <= port < 65536:
            raise ValueError(f"link 'tcp': port must be an integer in [0, 65535], found {port!r}")
        return TcpLink(port)
    raise ValueError(f"link: expected 'pty' or 'tcp', found {kind!r}")


__all__ = ["LinkDown", "PtyLink", "TcpLink", "make_link"]
