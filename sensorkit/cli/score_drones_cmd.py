"""`sensorkit score drones TRACKS TRUTH [TRACKS TRUTH ...]`: detection probability per time window against range
and SNR, false tracks per hour, DOA error (RMSE, 90th percentile, degrees) and track fragmentation
(sensorkit.scoring.drones).

    sensorkit score drones tracks.json clip.truth.csv --out score/ --json
    sensorkit score drones a.json a.truth.csv b.csv b.truth.csv --tolerance 10 --window 1

TRACKS: JSON or CSV from `sensorkit detect drones`; TRUTH: a drone-acoustic dataset's truth CSV. The duration of
each pair is the tracks file's (JSON: duration_s), else the truth's span (--duration S overrides for all).
Writes <out>/score_drones.json and <out>/score_drones_pd.png. Exit 0 after scoring (whatever the numbers), 2 on
bad input.
"""

from __future__ import annotations

import json
import math
from pathlib import Path


def add_parser(kinds) -> None:
    p = kinds.add_parser("drones", help="Pd per time window vs range and SNR, false tracks/hour, DOA error, "
                                        "fragmentation of drone tracks",
                         description="Score drone tracks against ground truth: a drone is detected in a time "
                                     "window when a confirmed track lies within the angular tolerance of its true "
                                     "direction.")
    p.add_argument("files", nargs="+", type=Path, metavar="TRACKS TRUTH", help="pairs of tracks file and truth CSV")
    p.add_argument("--window", type=float, default=1.0, metavar="S", help="time window (default 1 s)")
    p.add_argument("--tolerance", type=float, default=10.0, metavar="DEG",
                   help="angular tolerance (great circle, default 10 deg)")
    p.add_argument("--duration", type=float, metavar="S", help="duration of each clip (default: from the files)")
    p.add_argument("--out", type=Path, metavar="DIR", help="folder of the report (default: <first TRACKS>_score)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(run=run)


def _duration_of(path: Path):
    if path.suffix.lower() != ".json":
        return None
    try:
        value = json.loads(path.read_text()).get("duration_s")
        return float(value) if value is not None else None
    except (OSError, ValueError, AttributeError, TypeError):
        return None


def run(args) -> int:
    from sensorkit.datasets.drone_acoustic import read_truth
    from sensorkit.pipelines.drone_io import read_tracks
    from sensorkit.scoring.drones import ScoreConfig, score_drones, write_report

    if len(args.files) < 2 or len(args.files) % 2:
        raise ValueError(f"files: expected pairs TRACKS TRUTH, found {len(args.files)} file(s)")
    for p in args.files:
        if not p.is_file():
            raise FileNotFoundError(f"{p}: no such file")
    if args.duration is not None and not (math.isfinite(args.duration) and args.duration > 0):
        raise ValueError(f"--duration: expected seconds > 0, found {args.duration!r}")
    config = ScoreConfig(window_s=args.window, tolerance_deg=args.tolerance)
    clips, names = [], []
    for tracks_path, truth_path in zip(args.files[::2], args.files[1::2]):
        duration = args.duration if args.duration is not None else _duration_of(tracks_path)
        clips.append((read_tracks(tracks_path), read_truth(truth_path), duration))
        names.append(tracks_path.stem)
    report = score_drones(clips, config, names=names)
    out = args.out if args.out is not None else args.files[0].with_name(args.files[0].stem + "_score")
    paths = write_report(report, out)
    report["files"] = [str(p) for p in paths]
    if args.json:
        print(json.dumps(report, allow_nan=False))
    else:
        def f(v, fmt="{:.3f}"):
            return "n/a" if v is None else fmt.format(v)

        print(f"Pd {f(report['pd'])} over {report['windows']} drone-windows of {args.window:g} s "
              f"(range < {config.pd_range_max_m:g} m: {f(report['pd_within_range'])}); "
              f"{report['false_tracks']} false track(s) of {report['confirmed_tracks']} confirmed over "
              f"{report['hours'] * 60:.1f} min ({f(report['false_tracks_per_hour'], '{:.1f}')} per hour)")
        print(f"DOA error (great circle): RMSE {f(report['doa']['rmse_deg'], '{:.2f}')} deg, 90th percentile "
              f"{f(report['doa']['p90_deg'], '{:.2f}')} deg over {report['doa']['n']} updates; azimuth RMSE "
              f"{f(report['azimuth']['rmse_deg'], '{:.2f}')} deg; tracks per drone "
              f"{f(report['fragmentation']['mean_tracks_per_drone'], '{:.2f}')}")
        for key, unit in (("pd_by_range", "m"), ("pd_by_snr", "dB")):
            parts = [f"{b['lo']:g}..{b['hi']:g} {unit}: {f(b['pd'], '{:.2f}')} ({b['windows']})"
                     for b in report[key] if b["windows"]]
            print(f"  {key[3:]}: " + ", ".join(parts))
        print("report: " + ", ".join(report["files"]))
    return 0
