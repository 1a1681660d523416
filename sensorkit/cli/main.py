"""The `sensorkit` command: one entry point, sub-commands along the way data flows.

Results go to stdout, messages and progress to stderr. Exit codes: 0 success, 1 the work ran but
found a problem the caller asked about, 2 bad input or usage (one line on stderr, no traceback),
130 interrupted.
"""

from __future__ import annotations

import argparse
import sys

from sensorkit import __version__
from sensorkit.cli import (batch_cmd, dataset_cmd, demo_cmd, detect_cmd, export_cmd, import_cmd, info_cmd,
                           migrate_cmd, plot_cmd, ports_cmd, record_cmd, score_cmd, simulate_cmd)
from sensorkit.errors import SensorkitError

COMMANDS = (ports_cmd, simulate_cmd, record_cmd, info_cmd, import_cmd, export_cmd, migrate_cmd, plot_cmd, detect_cmd,
            score_cmd, dataset_cmd, batch_cmd, demo_cmd)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sensorkit", description=(
        "From the serial port to the detection: record GPR, microphone arrays and GNSS, import field files, "
        "find buried mines and drones."))
    parser.add_argument("--version", action="version", version=f"sensorkit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (SensorkitError, FileExistsError, FileNotFoundError, KeyError, ValueError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"sensorkit {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"sensorkit {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
