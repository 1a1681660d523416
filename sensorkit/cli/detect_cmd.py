"""`sensorkit detect mines INPUT... [--out DET.geojson|DET.csv]`: buried objects in GPR data, scored mine/clutter.

    sensorkit detect mines lane.h5 --out lane.geojson --plot plots/ --json
    sensorkit detect mines ../shared/data/gpr/grid3d-dune400/*.DZT --line-spacing 0.2 --out dune.csv

INPUT: a recording (.h5, every GPR stream) and/or raw GPR files (DZT, DT1, RD3, ...), as `sensorkit migrate`:
one line gives a 2D detection, several lines (with --line-spacing, or y positions in the files) or a swath a
3D one. The pipeline is sensorkit.pipelines.landmine with its LandmineConfig (defaults, or --config C, a JSON
object of some of its fields; --velocity and --threshold override those two).

Outputs: every scored detection (x_m, y_m, depth_m, size_m, amplitude, score, lat/lon where the traces have
GNSS, source) to --out (GeoJSON FeatureCollection, or CSV by the suffix; the surveyed area goes along for
scoring), and, when the input is one recording, to /results/landmine/<name> in it (dataset ``detections``,
attribute ``parameters``: the config and what the pipeline chose, JSON). Detections with score >= the
threshold are the alarms. --plot DIR: a map of the detections over a depth slice and sections through them.

Other detectors plug in as sub-commands: a module sensorkit/cli/detect_<kind>_cmd.py with add_parser(kinds)
(listed in PLUGINS).
"""

from __future__ import annotations

import csv
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from sensorkit.cli._plugins import add_plugin_parsers

PLUGINS = ("sensorkit.cli.detect_drones_cmd",)  # one line per detector living in its own module
RESULTS_GROUP = "results/landmine"
CSV_COLUMNS = ("source", "x_m", "y_m", "depth_m", "size_m", "amplitude", "score", "alarm", "lat", "lon", "snr_db",
               "width_m", "polarity", "area_m2")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("detect", help="detect buried mines in GPR data (and more detectors)",
                                   description="Run a detection pipeline on recordings or raw files.")
    kinds = parser.add_subparsers(dest="kind", metavar="KIND")
    kinds.required = True
    _add_mines(kinds)
    add_plugin_parsers(kinds, PLUGINS)


def _add_mines(kinds) -> None:
    p = kinds.add_parser(
        "mines", help="landmines in GPR lines or grids -> scored detections (GeoJSON/CSV, recording results)",
        description="Pre-process, remove the ground surface, migrate (Kirchhoff), envelope, CA-CFAR, cluster into "
                    "objects, score each object mine/clutter in [0, 1]. Velocities in m/ns, distances in m.")
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="recording (.h5) or GPR files")
    p.add_argument("--out", type=Path, metavar="DET.geojson|DET.csv", help="write the detections there")
    p.add_argument("--config", type=Path, metavar="C", help="JSON file of LandmineConfig fields")
    p.add_argument("--velocity", type=float, metavar="M_PER_NS", help="ground velocity (default: automatic)")
    p.add_argument("--threshold", type=float, metavar="SCORE", help="alarm threshold on the score (default 0.5)")
    p.add_argument("--line-spacing", type=float, metavar="M",
                   help="parallel lines along x, line n at y = n * M (for files without y positions)")
    p.add_argument("--no-results", action="store_true", help="do not write /results/landmine into the recording")
    p.add_argument("--force", action="store_true", help="overwrite --out and earlier results in the recording")
    p.add_argument("--plot", type=Path, metavar="DIR", help="write PNGs: detection map and sections")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(run=run_mines)


# ------------------------------------------------------------------------------------------------ helpers

def _config(args):
    import dataclasses

    from sensorkit.pipelines.landmine import LandmineConfig

    values = {}
    if args.config is not None:
        try:
            values = json.loads(args.config.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"--config {args.config}: expected a JSON object of LandmineConfig fields, could not "
                             f"read it: {exc}") from None
    config = LandmineConfig.from_json(values)
    if args.velocity is not None:
        config = dataclasses.replace(config, velocity_m_per_ns=args.velocity)
    if args.threshold is not None:
        config = dataclasses.replace(config, score_threshold=args.threshold)
    config.validate()
    return config


def _out_format(path: Path | None) -> str | None:
    if path is None:
        return None
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        return "geojson"
    if suffix == ".csv":
        return "csv"
    raise ValueError(f"--out {path}: expected a .geojson or .csv file name, found suffix {path.suffix!r}")


def _finite_or_none(v):
    return float(v) if v is not None and math.isfinite(v) else None


def _row(d, threshold: float, area_m2: float) -> dict:
    f = d.features
    return {"source": d.source, "x_m": d.x_m, "y_m": d.y_m, "depth_m": d.depth_m, "size_m": d.size_m,
            "amplitude": d.amplitude, "score": d.score, "alarm": bool(d.score >= threshold),
            "lat": _finite_or_none(d.lat), "lon": _finite_or_none(d.lon), "snr_db": f.get("snr_db"),
            "width_m": f.get("width_m"), "polarity": f.get("polarity"), "area_m2": area_m2}


def write_geojson(path: Path, result, source: str) -> None:
    """Detections as a GeoJSON FeatureCollection: Point [lon, lat] where GNSS exists, else a null geometry (the
    survey-frame x_m, y_m are in the properties); collection properties: surveys (source, area), parameters."""
    t = result.parameters["config"]["score_threshold"]
    features = []
    for d in result.detections:
        props = _row(d, t, result.area_m2)
        props.pop("area_m2")
        props["features"] = {k: v for k, v in d.features.items()}
        geometry = {"type": "Point", "coordinates": [d.lon, d.lat]} if math.isfinite(d.lat) and \
            math.isfinite(d.lon) else None
        features.append({"type": "Feature", "geometry": geometry, "properties": props})
    doc = {"type": "FeatureCollection", "features": features,
           "properties": {"pipeline": "landmine", "frame": "survey (x along the line, y across, depth down, m); "
                          "geometry WGS84 lon/lat where the traces have GNSS",
                          "surveys": [{"source": source, "area_m2": result.area_m2}], "score_threshold": t,
                          "parameters": result.parameters}}
    path.write_text(json.dumps(doc, indent=1, default=_json_default))


def write_csv(path: Path, result) -> None:
    t = result.parameters["config"]["score_threshold"]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for d in result.detections:
            row = _row(d, t, result.area_m2)
            writer.writerow({k: ("" if v is None else (f"{v:.6g}" if isinstance(v, float) else v))
                             for k, v in row.items()})


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON-able: {type(value).__name__}")


DETECTION_DTYPE = np.dtype([("x_m", "<f8"), ("y_m", "<f8"), ("depth_m", "<f8"), ("size_m", "<f8"),
                            ("amplitude", "<f8"), ("score", "<f8"), ("lat", "<f8"), ("lon", "<f8"),
                            ("snr_db", "<f8"), ("polarity", "<f8")])


def write_results(recording: Path, name: str, result, *, force: bool) -> str:
    """Add /results/landmine/<name> (dataset detections, attrs parameters JSON) to a recording; refuses while a
    live writer holds it, or when the group exists without force. Returns the group path."""
    from sensorkit.store.results import write_results_group

    rows = np.zeros(len(result.detections), dtype=DETECTION_DTYPE)
    for i, d in enumerate(result.detections):
        rows[i] = (d.x_m, d.y_m, d.depth_m, d.size_m, d.amplitude, d.score, d.lat, d.lon,
                   d.features.get("snr_db", math.nan), d.features.get("polarity", math.nan))
    parameters = json.dumps(result.parameters, default=_json_default)
    return write_results_group(
        recording, f"{RESULTS_GROUP}/{name}",
        {"detections": (rows, "m (x_m, y_m, depth_m, size_m), degrees (lat, lon), dB (snr_db)")},
        {"parameters": parameters, "score_threshold": float(result.parameters["config"]["score_threshold"]),
         "area_m2": float(result.area_m2)}, force=force)


def _check_results_writable(recording: Path, force: bool) -> None:
    """Fail early (before the work) when results could not be added to the recording."""
    import h5py

    from sensorkit.store.results import check_not_being_recorded

    check_not_being_recorded(recording)
    if not force and recording.is_file():
        try:
            with h5py.File(recording, "r") as f:
                existing = sorted(f[RESULTS_GROUP]) if RESULTS_GROUP in f else []
        except OSError:
            return  # load_gpr reports an unreadable file
        if existing:
            raise FileExistsError(f"{recording}: /{RESULTS_GROUP}/{existing[0]} exists; use --force to replace it "
                                  f"(or --no-results)")


def _progress(total: int):
    from tqdm import tqdm

    return tqdm(total=total, file=sys.stderr, leave=False, dynamic_ncols=True, desc="detect mines", unit="stage")


# ------------------------------------------------------------------------------------------------ run

def run_mines(args) -> int:
    summary = detect_mines_to_file(args)
    print(json.dumps(summary, default=_json_default) if args.json else _format_summary(summary))
    return 0


def detect_mines_to_file(args) -> dict:
    """Everything `sensorkit detect mines` does but the printing (detect, write --out, the recording's results,
    the plots); returns the summary the command prints."""
    from sensorkit.gpr.load import RECORDING_SUFFIXES, load_gpr
    from sensorkit.pipelines.landmine import detect_mines

    wall0 = time.perf_counter()
    fmt = _out_format(args.out)
    if args.out is not None and args.out.exists() and not args.force:
        raise FileExistsError(f"{args.out}: exists; use --force to overwrite it")
    if args.line_spacing is not None and not (math.isfinite(args.line_spacing) and args.line_spacing > 0):
        raise ValueError(f"--line-spacing: expected a spacing > 0 m, found {args.line_spacing!r}")
    config = _config(args)
    single_recording = len(args.inputs) == 1 and args.inputs[0].suffix.lower() in RECORDING_SUFFIXES
    if single_recording and not args.no_results:
        _check_results_writable(args.inputs[0], args.force)
    with _progress(5) as bar:
        bar.set_postfix_str("load")
        lines = load_gpr(args.inputs, line_spacing_m=args.line_spacing)
        bar.update(1)

        def tick(stage):
            bar.set_postfix_str(stage)
            bar.update(1)

        name = lines[0].name if len(lines) == 1 else (args.inputs[0].stem if len(args.inputs) == 1 else "grid")
        result = detect_mines(lines, config, source=name, progress=tick)
    threshold = config.score_threshold
    written = []
    if args.out is not None:
        tmp = args.out.with_name(args.out.name + ".partial")
        try:
            (write_geojson(tmp, result, name) if fmt == "geojson" else write_csv(tmp, result))
            tmp.replace(args.out)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        written.append(str(args.out))
    results_path = None
    if single_recording and not args.no_results:
        results_path = write_results(args.inputs[0], name, result, force=args.force)
    plots = []
    if args.plot is not None:
        from sensorkit.pipelines.landmine_plots import plot_detections

        plots = plot_detections(result, args.plot, stem=Path(str(name)).stem or "detections")
    alarms = result.alarms()
    summary = {
        "inputs": [str(p) for p in args.inputs], "source": name, "dims": result.parameters["dims"],
        "out": str(args.out) if args.out is not None else None, "results": results_path,
        "n_detections": len(result.detections), "n_alarms": len(alarms), "score_threshold": threshold,
        "area_m2": result.area_m2, "velocity_m_per_ns": result.parameters["velocity_m_per_ns"],
        "velocity_source": result.parameters["velocity_source"], "time_zero_ns": result.parameters["time_zero_ns"],
        "alarms": [{k: v for k, v in _row(d, threshold, result.area_m2).items() if k not in ("area_m2", "alarm")}
                   for d in alarms],
        "plots": plots, "notes": result.parameters["notes"],
        "times_s": {**{k: round(v, 3) for k, v in result.times_s.items()},
                    "wall_s": round(time.perf_counter() - wall0, 3)},
    }
    return json.loads(json.dumps(summary, default=_json_default))  # plain JSON types, as printed


def _format_summary(s: dict) -> str:
    rows = [f"{s['source']}: {s['dims']}D, {s['n_detections']} detections, {s['n_alarms']} with score >= "
            f"{s['score_threshold']:.2f} over {s['area_m2']:.2f} m2 (velocity {s['velocity_m_per_ns']:.4f} m/ns, "
            f"{s['velocity_source']})"]
    for a in s["alarms"]:
        where = f" (lat {a['lat']:.7f}, lon {a['lon']:.7f})" if a["lat"] is not None else ""
        rows.append(f"  x {a['x_m']:.3f} m, y {a['y_m']:.3f} m, depth {a['depth_m']:.3f} m, size {a['size_m']:.3f} m, "
                    f"score {a['score']:.2f}{where}")
    if s["out"]:
        rows.append(f"detections: {s['out']}")
    if s["results"]:
        rows.append(f"results: {s['results']}")
    if s["plots"]:
        rows.append("plots: " + ", ".join(s["plots"]))
    rows.extend(f"note: {n}" for n in s["notes"])
    rows.append(f"wall time {s['times_s']['wall_s']:.1f} s")
    return "\n".join(rows)
