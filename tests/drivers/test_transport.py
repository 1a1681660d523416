"""The serial transport on real pseudo-terminals: bulk reads, disconnect, reopen, overrun, clear open errors."""

import os
import time
from pathlib import Path

import pytest

from sensorkit.drivers.transport import Chunk, LinkEvent, SerialTransport, open_port
from sensorkit.errors import DeviceError


class Pty:
    """A pseudo-terminal whose slave is reachable through a stable symlink, like a device that re-enumerates."""

    def __init__(self, link: Path):
        self.link = link
        self.master = None
        self.open()

    def open(self):
        self.master, slave = os.openpty()
        name = os.ttyname(slave)
        os.close(slave)
        tmp = self.link.with_name(self.link.name + ".tmp")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(name)
        os.replace(tmp, self.link)

    def close(self):
        os.close(self.master)
        self.master = None


def _drain(transport, until, timeout=5.0):
    items = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item = transport.get(timeout=0.05)
        if item is not None:
            items.append(item)
            if until(items):
                break
    return items


def _data(items):
    return b"".join(i.data for i in items if isinstance(i, Chunk))


def test_reads_bytes_in_order(tmp_path):
    pty = Pty(tmp_path / "ttySIM")
    with SerialTransport(str(pty.link)) as transport:
        payload = bytes(range(256)) * 64
        for k in range(0, len(payload), 1000):
            os.write(pty.master, payload[k:k + 1000])
        items = _drain(transport, lambda items: len(_data(items)) >= len(payload))
        assert _data(items) == payload
        assert all(i.host_time_ns > 0 for i in items)
    pty.close()


def test_survives_a_disconnect_and_reopens_the_same_path(tmp_path):
    pty = Pty(tmp_path / "ttySIM")
    with SerialTransport(str(pty.link)) as transport:
        os.write(pty.master, b"before")
        assert _data(_drain(transport, lambda items: b"before" in _data(items))) == b"before"
        pty.close()  # the device goes away: the slave reads EIO / EOF
        events = _drain(transport, lambda items: any(isinstance(i, LinkEvent) and i.kind == "disconnect"
                                                     for i in items))
        assert any(isinstance(e, LinkEvent) and e.kind == "disconnect" for e in events)
        time.sleep(0.2)
        pty.open()  # it comes back under the same name
        events = _drain(transport, lambda items: any(isinstance(i, LinkEvent) and i.kind == "reconnect"
                                                     for i in items))
        assert any(isinstance(e, LinkEvent) and e.kind == "reconnect" for e in events)
        assert transport.wait_connected(2.0)
        os.write(pty.master, b"after")
        assert b"after" in _data(_drain(transport, lambda items: b"after" in _data(items)))
        assert transport.stats.disconnects == 1 and transport.stats.reconnects == 1
        assert transport.write(b"ping")
        assert os.read(pty.master, 4) == b"ping"
    pty.close()


def test_overrun_drops_newest_chunks_and_says_so(tmp_path):
    pty = Pty(tmp_path / "ttySIM")
    with SerialTransport(str(pty.link), queue_chunks=2) as transport:
        for _ in range(40):
            os.write(pty.master, b"x" * 100)
            time.sleep(0.005)
        time.sleep(0.3)
        items = _drain(transport, lambda items: False, timeout=0.5)
        overruns = [i for i in items if isinstance(i, LinkEvent) and i.kind == "overrun"]
        assert overruns and transport.stats.overrun_bytes > 0
        assert len(_data(items)) + transport.stats.overrun_bytes == 4000
    pty.close()


@pytest.mark.parametrize("url, reason", [
    ("/dev/ttyDOES_NOT_EXIST", "missing"),
    ("socket://127.0.0.1:1", "refused"),
])
def test_open_errors_are_one_clear_line(url, reason):
    with pytest.raises(DeviceError) as info:
        open_port(url)
    message = str(info.value)
    assert url in message and reason in message and "\n" not in message


def test_busy_port_is_reported(tmp_path):
    pty = Pty(tmp_path / "ttySIM")
    first = open_port(str(pty.link))
    try:
        with pytest.raises(DeviceError, match="busy"):
            open_port(str(pty.link))
    finally:
        first.close()
        pty.close()


def test_socket_urls_are_read_in_bulk():
    import socket

    payload = bytes(range(256)) * 400  # 100 KiB
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with SerialTransport(f"socket://127.0.0.1:{server.getsockname()[1]}") as transport:
            client, _ = server.accept()
            with client:
                time.sleep(0.3)  # pyserial drops what arrives before its open returns
                client.sendall(payload)
                items = _drain(transport, lambda items: len(_data(items)) >= len(payload))
    assert _data(items) == payload
    assert len(items) < 50  # not one byte per read (pyserial's in_waiting says 1 for sockets)
