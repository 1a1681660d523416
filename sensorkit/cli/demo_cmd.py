"""`sensorkit demo`: the main job on an embedded default (see sensorkit.demo)."""

from __future__ import annotations

from pathlib import Path


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo", help="run the main job end to end on embedded defaults",
        description="Run the longest chain that exists on the real sample files: import them into one "
                    "recording, summarise it, and check the SEG-Y and WAV round trips bit for bit.")
    parser.add_argument("--data", type=Path, default=None, help="sample data folder (default: ../shared/data)")
    parser.add_argument("--out", type=Path, default=Path("demo-output"), help="output folder (default: demo-output)")
    parser.set_defaults(run=run)


def run(args) -> int:
    from sensorkit.demo import default_data_dir, run_demo  # heavy imports only when the demo runs

    results = run_demo(args.data or default_data_dir(), args.out)
    return 0 if all(results["round_trips"].values()) else 1
