"""`sensorkit batch JOB FILES... --out DIR`: one job over many files on a Dask cluster.

    sensorkit batch detect mines survey/*.h5 --out results/ --workers 2
    sensorkit batch migrate lines/*.h5 --out images/ --config '{"velocity": 0.1, "time_zero": 0}'
    sensorkit batch info season/*.h5 --scheduler tcp://10.0.0.5:8786 --out summaries/

JOB: ``detect mines``, ``detect drones``, ``migrate`` or ``info``. Each file is one task; without --scheduler
the tasks run on a local cluster of --workers processes (loopback only), with it on that cluster. Outputs go
to DIR, named after each file, with the report DIR/batch_report.json (per file: status, error, summary, wall
time). Progress on stderr. Exit code 0 when every file succeeded, 1 when some failed (each is listed on
stderr with its error), 2 on bad usage (unknown job, bad --config, job not installed, no scheduler there).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

JOB_SPELLINGS = {("detect", "mines"): "detect-mines", ("detect", "drones"): "detect-drones", ("migrate",): "migrate",
                 ("info",): "info"}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "batch", help="run detect mines|drones, migrate or info over many files on a Dask cluster",
        usage="sensorkit batch {detect mines,detect drones,migrate,info} FILE [FILE ...] --out DIR\n"
              "                       [--scheduler tcp://HOST:PORT | --workers N] [--config JSON] [--json] "
              "[--no-progress]",
        description="Run one job over many files, one task per file, on a local cluster of worker processes "
                    "(default) or on a running Dask cluster (--scheduler). A failed file is reported with its "
                    "error and the others go on. JOB is 'detect mines', 'detect drones', 'migrate' or 'info'.")
    parser.add_argument("words", nargs="+", metavar="JOB FILES",
                        help="the job ('detect mines', 'detect drones', 'migrate', 'info') then the input files")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="address of a running Dask scheduler")
    where.add_argument("--workers", type=int, metavar="N",
                       help="worker processes of the local cluster (default 2; 0: no cluster, one file after "
                            "another in this process)")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="directory for outputs and report")
    parser.add_argument("--config", metavar="JSON",
                        help="the job's options as a JSON object, or a path to a JSON file (migrate: its long "
                             "option names with underscores, e.g. '{\"velocity\": 0.1, \"time_zero\": 0}')")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def parse_job(words: list[str]) -> tuple[str, list[str]]:
    """(job name, files) from the positional words: 'detect mines F...', 'migrate F...', or 'detect-mines F...'."""
    for spelling, job in JOB_SPELLINGS.items():
        n = len(spelling)
        if tuple(words[:n]) == spelling:
            return job, words[n:]
    if words and words[0] in JOB_SPELLINGS.values():
        return words[0], words[1:]
    if words and words[0] == "detect":
        found = repr(words[1]) if len(words) > 1 else "nothing"
        raise ValueError(f"JOB: expected 'detect mines' or 'detect drones', found 'detect' followed by {found}")
    known = ", ".join(repr(" ".join(s)) for s in JOB_SPELLINGS)
    raise ValueError(f"JOB: expected one of {known}, found {words[0]!r}" if words else f"JOB: expected one of {known}")


def _config(text: str | None) -> dict:
    if text is None:
        return {}
    source = "--config"
    if not text.lstrip().startswith("{") and Path(text).is_file():
        source = f"--config {text}"
        text = Path(text).read_text()
    try:
        config = json.loads(text)
    except ValueError as error:
        raise ValueError(f"{source}: expected a JSON object, could not parse it: {error}") from None
    if not isinstance(config, dict):
        raise ValueError(f"{source}: expected a JSON object, found {type(config).__name__}")
    return config


def run(args) -> int:
    job, files = parse_job(args.words)
    if not files:
        raise ValueError(f"FILES: expected at least one input file after the job {job!r}, found none")
    config = _config(args.config)
    if args.workers is not None and args.workers < 0:
        raise ValueError(f"--workers: expected a number of worker processes >= 0, found {args.workers}")

    from sensorkit.scale.batch import run_batch

    report = run_batch(job, files, out_dir=args.out, scheduler=args.scheduler,
                       n_workers=2 if args.workers is None else args.workers, config=config,
                       progress=not args.no_progress)
    for result in report.results:
        if result.status != "ok":
            print(f"sensorkit batch: failed: {result.path}: {result.error}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        print(f"{job}: {len(report.results)} file(s), {report.n_ok} ok, {report.n_failed} failed in "
              f"{report.wall_s:.1f} s on {report.scheduler}; report {report.report_path}")
    return 0 if report.ok else 1
