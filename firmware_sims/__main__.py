"""`python -m firmware_sims gpr|mic|gnss [options]`: the same as `sensorkit simulate`."""

import argparse
import sys

from sensorkit.cli import simulate_cmd


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m firmware_sims",
                                     description="Run a simulated device (see docs/simulators.md).")
    devices = parser.add_subparsers(dest="device", metavar="DEVICE")
    devices.required = True
    simulate_cmd.add_device_parsers(devices)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except ValueError as error:
        print(f"python -m firmware_sims {args.device}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
