"""`sensorkit record --gpr PORT --acoustic PORT --gnss PORT --out REC.h5`: record devices live."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "record", help="record GPR, microphone array and GNSS devices into one file",
        description="Record any subset of devices at once into one crash-safe recording. Ctrl-C or SIGTERM "
                    "stops cleanly: everything received is written and the file is closed. A PORT is a path "
                    "(/dev/ttyACM0, a simulator's pty) or socket://127.0.0.1:PORT.")
    parser.add_argument("--gpr", metavar="PORT", help="a GPR unit speaking the sensorkit protocol")
    parser.add_argument("--acoustic", metavar="PORT", help="a microphone array speaking the sensorkit protocol")
    parser.add_argument("--gnss", metavar="PORT", help="a GNSS receiver speaking NMEA 0183")
    parser.add_argument("--gpr-config", metavar="JSON", help="GPR configure args as JSON or @FILE "
                                                             "(docs/protocol.md section 6.1)")
    parser.add_argument("--acoustic-config", metavar="JSON", help="microphone array configure args as JSON or @FILE")
    parser.add_argument("--out", required=True, type=Path, help="the recording to write (REC.h5)")
    parser.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    parser.add_argument("--traces", type=int, metavar="N", help="stop after N GPR traces")
    parser.add_argument("--force", action="store_true", help="overwrite an existing output file")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(run=run)


def run(args) -> int:
    from sensorkit.recorder import DeviceSpec, Recorder, parse_config, print_progress

    specs = []
    if args.gpr:
        specs.append(DeviceSpec("gpr", args.gpr, config=parse_config(args.gpr_config)))
    if args.acoustic:
        specs.append(DeviceSpec("acoustic", args.acoustic, config=parse_config(args.acoustic_config)))
    if args.gnss:
        specs.append(DeviceSpec("gnss", args.gnss))
    if not specs:
        raise ValueError("nothing to record: give --gpr, --acoustic and/or --gnss")
    if args.traces is not None and not args.gpr:
        raise ValueError("--traces needs a --gpr device")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    recorder = Recorder(args.out, specs, overwrite=args.force, progress=None if args.quiet else print_progress)
    recorder.run(duration_s=args.duration, n_traces=args.traces, stop=stop)
    totals = recorder.progress_lines(window_s=None)  # rates over the whole recording
    if not args.quiet:
        print_progress(totals)
    print(f"{args.out}: recorded ({'; '.join(totals)})", file=sys.stderr)
    return 0
