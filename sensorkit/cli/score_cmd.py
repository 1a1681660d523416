"""`sensorkit score mines DET... TRUTH`: probability of detection, false alarms per m2 and the ROC of mine
detections against ground truth (sensorkit.scoring.mines: the halo rule, default 0.15 m, horizontal).

    sensorkit score mines L17.geojson L18.geojson truth.csv --out score/ --json

DET: GeoJSON or CSV files written by `sensorkit detect mines` (their surveyed area comes along; --area M2
overrides the total). TRUTH: a CSV with x_m, y_m and, when known, id, kind (mine|clutter), type, depth_m, soil
and lane (a dataset's truth.csv). Detections are matched to the truth of their own survey when their source
names the truth's lane, and when the detection files name the lanes they surveyed (GeoJSON surveys, CSV
source), only the truth of those lanes is scored. Writes <out>/score_mines.json (the report: PD, FA/m2, ROC points, splits by type, depth
and soil) and <out>/score_mines_roc.png. Exit 0 after scoring (whatever the numbers), 2 on bad input.

Other scorers plug in as sub-commands: a module sensorkit/cli/score_<kind>_cmd.py with add_parser(kinds)
(listed in PLUGINS).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from sensorkit.cli._plugins import add_plugin_parsers

PLUGINS = ("sensorkit.cli.score_drones_cmd",)  # one line per scorer living in its own module


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("score", help="score detections against ground truth (mines, ...)",
                                   description="Score detections against ground truth.")
    kinds = parser.add_subparsers(dest="kind", metavar="KIND")
    kinds.required = True
    p = kinds.add_parser("mines", help="PD, false alarms per m2 and ROC of mine detections (halo rule)",
                         description="Score mine detections against ground truth with the halo rule: a mine is "
                                     "found when a detection at or above the threshold lies within the halo "
                                     "(horizontal radius) of it; other detections at or above it are false alarms.")
    p.add_argument("files", nargs="+", type=Path, metavar="DET... TRUTH",
                   help="detection files (GeoJSON/CSV from sensorkit detect mines), then the truth CSV")
    p.add_argument("--halo", type=float, default=0.15, metavar="M", help="halo radius (default 0.15 m)")
    p.add_argument("--threshold", type=float, default=None, metavar="SCORE",
                   help="score threshold of the operating point (default: the detections' own, else 0.5)")
    p.add_argument("--area", type=float, metavar="M2", help="surveyed area (default: from the detection files)")
    p.add_argument("--out", type=Path, metavar="DIR", help="folder of the report (default: <first DET>_score)")
    p.add_argument("--json", action="store_true", help="print the report (without the per-object rows) as JSON")
    p.set_defaults(run=run_mines)
    add_plugin_parsers(kinds, PLUGINS)


def _threshold_of(path: Path) -> float | None:
    if path.suffix.lower() not in (".geojson", ".json"):
        return None
    try:
        value = json.loads(path.read_text()).get("properties", {}).get("score_threshold")
        return float(value) if value is not None else None
    except (OSError, ValueError, AttributeError, TypeError):
        return None


def run_mines(args) -> int:
    from sensorkit.scoring.mines import _jsonable, read_detections, read_truth, score_mines, write_report

    if len(args.files) < 2:
        raise ValueError("files: expected at least one detection file and the truth CSV (DET... TRUTH)")
    *det_paths, truth_path = args.files
    for p in args.files:
        if not p.is_file():
            raise FileNotFoundError(f"{p}: no such file")
    if not (math.isfinite(args.halo) and args.halo > 0):
        raise ValueError(f"--halo: expected a radius > 0 m, found {args.halo!r}")
    truth = read_truth(truth_path)
    detections, areas = [], {}
    for p in det_paths:
        dets, area = read_detections(p)
        detections += dets
        areas.update(area)
    lanes = {str(r.get("lane", "") or "") for r in truth}
    surveyed = set(areas)
    if surveyed and surveyed <= lanes:  # the detection files name the lanes they surveyed: score those only
        truth = [r for r in truth if r.get("lane") in surveyed]
    area = args.area if args.area is not None else sum(areas.values())
    if not (math.isfinite(area) and area > 0):
        raise ValueError("--area: expected the surveyed area in m2 > 0 (the detection files do not give it)")
    threshold = args.threshold
    if threshold is None:
        threshold = next((t for t in map(_threshold_of, det_paths) if t is not None), 0.5)
    report = score_mines(detections, truth, area_m2=area, halo_m=args.halo, threshold=threshold,
                         area_by_lane=areas if args.area is None and len(areas) > 1 else None)
    out = args.out if args.out is not None else det_paths[0].with_name(det_paths[0].stem + "_score")
    paths = write_report(report, out)
    summary = {k: v for k, v in report.items() if k != "truth"}
    summary["files"] = [str(p) for p in paths]
    if args.json:
        print(json.dumps(_jsonable(summary)))
    else:
        print(f"{report['found']}/{report['n_mines']} mines found (PD {report['pd']:.3f}), {report['false_alarms']} "
              f"false alarms over {report['area_m2']:.2f} m2 ({report['fa_per_m2']:.3f} per m2) at score >= "
              f"{threshold:.2f}, halo {args.halo} m; best PD at <= 0.1 FA/m2: {report['pd_at_0.1_fa_per_m2']:.3f}")
        for label in ("by_type", "by_depth", "by_soil"):
            parts = [f"{g} {v['found']}/{v['mines']}" for g, v in report[label].items()]
            print(f"  {label[3:]}: " + ", ".join(parts))
        print("report: " + ", ".join(str(p) for p in paths))
    return 0
