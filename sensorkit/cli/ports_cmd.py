"""`sensorkit ports [--probe] [--json]`: the serial ports, and which answer as sensorkit devices."""

from __future__ import annotations

import json


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("ports", help="list serial ports (and probe for sensorkit devices)",
                                   description="List serial ports with VID:PID, serial number and description. "
                                               "--probe asks each port to identify itself.")
    parser.add_argument("--probe", action="store_true", help="send 'identify' to each port and show who answers")
    parser.add_argument("--timeout", type=float, default=0.5, metavar="S", help="seconds to wait for IDENT")
    parser.add_argument("--json", action="store_true", help="print the list as JSON")
    parser.add_argument("extra", nargs="*", metavar="PORT",
                        help="more ports to list or probe (a pty path or socket://127.0.0.1:PORT)")
    parser.set_defaults(run=run)


def probe(url: str, timeout_s: float) -> dict | None:
    """IDENT of the device at url as a dict, or None when nothing answers as a sensorkit device in time."""
    from sensorkit.drivers.device import ProtocolDevice
    from sensorkit.drivers.transport import SerialTransport
    from sensorkit.errors import DeviceError

    try:
        device = ProtocolDevice(url, transport=SerialTransport(url, reconnect=False))
    except DeviceError as error:
        return {"error": str(error)}
    try:
        ident = device.identify(timeout_s=timeout_s)
        return {"model": ident.model, "serial": ident.serial, "firmware": ident.firmware,
                "kind": ident.capabilities.get("kind", "")}
    except DeviceError:
        return None
    finally:
        device.close()


def run(args) -> int:
    from sensorkit.drivers.ports import PortInfo, list_serial_ports

    ports = [p.as_dict() for p in list_serial_ports()]
    for url in args.extra:
        ports.append(PortInfo(url, None, None, None, "given on the command line", None, None, None).as_dict())
    if args.probe:
        for port in ports:
            port["sensorkit"] = probe(port["device"], args.timeout)
    if args.json:
        print(json.dumps(ports, indent=2))
        return 0
    if not ports:
        print("no serial ports found")
    for port in ports:
        line = f"{port['device']:<28} {port['vid_pid']:<10} {port['serial_number'] or '-':<18} {port['description']}"
        if args.probe:
            found = port["sensorkit"]
            line += "  -> " + ("no sensorkit device" if found is None else found.get("error") or
                               f"sensorkit {found['kind'] or 'device'}: {found['model']} serial {found['serial']} "
                               f"firmware {found['firmware']}")
        print(line)
    return 0
