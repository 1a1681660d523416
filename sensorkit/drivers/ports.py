"""Serial port discovery: what is plugged in, with its USB identity."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import serial.tools.list_ports


@dataclass(frozen=True)
class PortInfo:
    device: str
    vid: int | None
    pid: int | None
    serial_number: str | None
    description: str
    manufacturer: str | None
    product: str | None
    location: str | None

    @property
    def vid_pid(self) -> str:
        return f"{self.vid:04X}:{self.pid:04X}" if self.vid is not None and self.pid is not None else "-"

    def as_dict(self) -> dict:
        return {**asdict(self), "vid_pid": self.vid_pid}


def list_serial_ports() -> list[PortInfo]:
    """Every serial port the system lists, sorted by device path."""
    ports = [PortInfo(device=p.device, vid=p.vid, pid=p.pid, serial_number=p.serial_number,
                      description=p.description or "", manufacturer=p.manufacturer, product=p.product,
                      location=p.location)
             for p in serial.tools.list_ports.comports()]
    return sorted(ports, key=lambda p: p.device)
