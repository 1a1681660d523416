"""`sensorkit info REC.h5 [--json] [--repair]`: what a recording holds."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sensorkit.info import format_summary, summarize
from sensorkit.store import needs_repair, repair_recording


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("info", help="summarise a recording (devices, streams, counts, gaps, GPS)",
                                   description="Summarise a recording. A file left by a killed recorder is read "
                                               "as it is, up to its last flush; --repair rewrites it cleanly.")
    parser.add_argument("recording", type=Path, metavar="REC.h5")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--repair", action="store_true",
                        help="rewrite a file left by a killed writer as a clean file (the original is kept as "
                             "REC.h5.unrepaired)")
    parser.set_defaults(run=run)


def run(args) -> int:
    if args.repair:
        if needs_repair(args.recording):
            report = repair_recording(args.recording)
            dropped = sum(report["dropped_rows"].values())
            print(f"{args.recording}: repaired ({dropped} uncommitted rows left out; original kept as "
                  f"{report['backup']})", file=sys.stderr)
        else:
            print(f"{args.recording}: clean, nothing to repair", file=sys.stderr)
    summary = summarize(args.recording)
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    return 0
