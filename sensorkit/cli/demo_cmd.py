"""`sensorkit demo [--out DIR] [--short] [--keep-going]`: the main job end to end on simulated devices
(see sensorkit.demo)."""

from __future__ import annotations

import sys
from pathlib import Path


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo", help="run the main job end to end on simulated devices (no hardware)",
        description="Start a simulated GPR cart with GNSS over a demining lane and a simulated microphone array "
                    "hearing drones fly past, each on its own pseudo-terminal, with a little link noise; record "
                    "them live into DIR/demo.h5; run the landmine and drone pipelines; score them against the "
                    "simulators' ground truth; write DIR/report/index.html; print the scores.")
    parser.add_argument("--out", type=Path, default=Path("demo-output"), metavar="DIR",
                        help="output folder (default: demo-output)")
    parser.add_argument("--short", action="store_true",
                        help="a short version (a 2 m lane, one drone; under a minute), as the tests run it")
    parser.add_argument("--keep-going", action="store_true",
                        help="run the later steps even when one fails (the report says what failed)")
    parser.set_defaults(run=run)


def run(args) -> int:
    from sensorkit.demo import run_demo  # heavy imports only when the demo runs

    def log(line: str) -> None:
        print(line, flush=True)

    results = run_demo(args.out, short=args.short, keep_going=args.keep_going, log=log)
    if not results["ok"]:
        print("sensorkit demo: a step failed (see above and the report)", file=sys.stderr)
        return 1
    return 0
