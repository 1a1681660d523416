"""Scoring of mine detections against ground truth, following the field's practice (DESIGN.md, "Scoring").

Halo rule: a mine is found at a score threshold t when a detection with score >= t lies within halo_m of it,
horizontally (default 0.15 m). A detection with score >= t that lies within the halo of no mine is a false alarm
(a detection on clutter, or on nothing); several detections in one mine's halo find it once and are not false
alarms. Probability of detection PD = found mines / mines; false alarms per m2 = false alarms / surveyed area.

Detections and truth are grouped by survey when both say which one they belong to (detection ``source`` equal
to the truth's ``lane``): a detection is matched only to the truth of its own survey. Otherwise all of them are
matched together.

    report = score_mines(detections, truth, area_m2=40.0)
    report["pd"], report["fa_per_m2"], report["roc"], report["by_type"]

detections: dicts with x_m, y_m, score (optional source); truth: dicts with x_m, y_m and optional kind
("mine" | "clutter"; rows without kind count as mines), type, depth_m, soil, lane.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from sensorkit.errors import FormatError

__all__ = ["DEFAULT_HALO_M", "DEPTH_BINS_M", "match_detections", "plot_roc", "read_detections", "read_truth",
           "roc_curve", "score_mines", "write_report"]

DEFAULT_HALO_M = 0.15
DEPTH_BINS_M = (0.0, 0.05, 0.10, 0.20, math.inf)


def _number(value, what: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: expected a number, found {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{what}: expected a finite number, found {value!r}")
    return v


def _prepare(detections, truth):
    dets = []
    for i, d in enumerate(detections):
        dets.append({"x_m": _number(d.get("x_m"), f"detections[{i}].x_m"),
                     "y_m": _number(d.get("y_m", 0.0) if d.get("y_m") is not None else 0.0, f"detections[{i}].y_m"),
                     "score": _number(d.get("score", 1.0), f"detections[{i}].score"),
                     "source": str(d.get("source", "") or "")})
    rows = []
    for i, t in enumerate(truth):
        kind = str(t.get("kind", "mine") or "mine")
        rows.append({**t, "x_m": _number(t.get("x_m"), f"truth[{i}].x_m"),
                     "y_m": _number(t.get("y_m", 0.0), f"truth[{i}].y_m"), "kind": kind,
                     "lane": str(t.get("lane", "") or "")})
    return dets, rows


def _grouped(dets, rows) -> bool:
    lanes = {r["lane"] for r in rows}
    sources = {d["source"] for d in dets}
    return bool(lanes - {""}) and bool(sources) and sources <= lanes


def match_detections(detections, truth, *, halo_m: float = DEFAULT_HALO_M) -> tuple[np.ndarray, np.ndarray]:
    """(mine_best (n_truth,), det_mine (n_det,)): for each truth row, the highest score of a detection within
    its halo (-inf when none; clutter rows too), and for each detection whether it lies in a mine's halo."""
    halo = _number(halo_m, "halo_m")
    if halo <= 0:
        raise ValueError(f"halo_m: expected a radius > 0 m, found {halo_m!r}")
    dets, rows = _prepare(detections, truth)
    grouped = _grouped(dets, rows)
    best = np.full(len(rows), -np.inf)
    in_mine = np.zeros(len(dets), dtype=bool)
    if not dets or not rows:
        return best, in_mine
    dx = np.array([d["x_m"] for d in dets])
    dy = np.array([d["y_m"] for d in dets])
    ds = np.array([d["score"] for d in dets])
    dsrc = np.array([d["source"] for d in dets], dtype=object)
    for r, row in enumerate(rows):
        near = np.hypot(dx - row["x_m"], dy - row["y_m"]) <= halo + 1e-12
        if grouped:
            near &= dsrc == row["lane"]
        if near.any():
            best[r] = float(ds[near].max())
            if row["kind"] == "mine":
                in_mine |= near
    return best, in_mine


def _counts(best, in_mine, scores, is_mine, threshold):
    found = int(np.sum(is_mine & (best >= threshold)))
    fa = int(np.sum(~in_mine & (scores >= threshold)))
    return found, fa


def roc_curve(detections, truth, *, area_m2: float, halo_m: float = DEFAULT_HALO_M) -> list[dict]:
    """ROC over the score threshold: one point per distinct detection score (highest first) plus the end points,
    each {"threshold", "pd", "fa_per_m2", "found", "false_alarms"}."""
    area = _number(area_m2, "area_m2")
    if area <= 0:
        raise ValueError(f"area_m2: expected the surveyed area > 0 m2, found {area_m2!r}")
    best, in_mine = match_detections(detections, truth, halo_m=halo_m)
    dets, rows = _prepare(detections, truth)
    scores = np.array([d["score"] for d in dets])
    is_mine = np.array([r["kind"] == "mine" for r in rows], dtype=bool)
    n_mines = int(is_mine.sum())
    thresholds = [math.inf] + sorted({float(s) for s in scores}, reverse=True)
    out = []
    for t in thresholds:
        found, fa = _counts(best, in_mine, scores, is_mine, t)
        out.append({"threshold": t if math.isfinite(t) else None, "pd": found / n_mines if n_mines else math.nan,
                    "fa_per_m2": fa / area, "found": found, "false_alarms": fa})
    return out


def _depth_bin(depth) -> str:
    try:
        d = float(depth)
    except (TypeError, ValueError):
        return "unknown"
    for lo, hi in zip(DEPTH_BINS_M[:-1], DEPTH_BINS_M[1:]):
        if lo <= d < hi:
            return f"{lo * 100:.0f}-{hi * 100:.0f} cm" if math.isfinite(hi) else f">= {lo * 100:.0f} cm"
    return "unknown"


def score_mines(detections, truth, *, area_m2: float, halo_m: float = DEFAULT_HALO_M, threshold: float = 0.5,
                area_by_lane: dict | None = None) -> dict:
    """The scoring report at ``threshold``: pd, fa_per_m2, counts, the ROC (roc_curve), the ROC's best PD at
    <= 0.1 false alarms per m2, and the same split by mine type, depth bin and soil (PD of the mines of each
    group; false alarms per m2 of each soil when area_by_lane {lane: m2} and the truth's lane/soil allow).
    Also each truth row's outcome (found, best score) and the false alarms' nearest clutter type."""
    area = _number(area_m2, "area_m2")
    if area <= 0:
        raise ValueError(f"area_m2: expected the surveyed area > 0 m2, found {area_m2!r}")
    dets, rows = _prepare(detections, truth)
    best, in_mine = match_detections(dets, rows, halo_m=halo_m)
    scores = np.array([d["score"] for d in dets])
    is_mine = np.array([r["kind"] == "mine" for r in rows], dtype=bool)
    n_mines = int(is_mine.sum())
    found, fa = _counts(best, in_mine, scores, is_mine, threshold)
    roc = roc_curve(dets, rows, area_m2=area, halo_m=halo_m)
    under = [p for p in roc if p["fa_per_m2"] <= 0.1]
    report = {
        "halo_m": halo_m, "threshold": threshold, "area_m2": area, "n_detections": len(dets),
        "n_alarms": int(np.sum(scores >= threshold)), "n_mines": n_mines, "n_clutter": int((~is_mine).sum()),
        "found": found, "false_alarms": fa, "pd": found / n_mines if n_mines else math.nan, "fa_per_m2": fa / area,
        "pd_at_0.1_fa_per_m2": max((p["pd"] for p in under), default=0.0),
        "roc": roc,
    }
    # clutter objects declared (a false alarm within the halo of a clutter object): by clutter type
    clutter_hits: dict[str, int] = {}
    for r, row in enumerate(rows):
        if not is_mine[r] and best[r] >= threshold:
            key = str(row.get("type", "clutter") or "clutter")
            clutter_hits[key] = clutter_hits.get(key, 0) + 1
    report["clutter_declared_by_type"] = clutter_hits
    for key, label in (("type", "by_type"), ("depth_m", "by_depth"), ("soil", "by_soil")):
        groups: dict[str, list[int]] = {}
        for r, row in enumerate(rows):
            if is_mine[r]:
                g = _depth_bin(row.get("depth_m")) if key == "depth_m" else str(row.get(key, "") or "unknown")
                groups.setdefault(g, []).append(r)
        split = {}
        for g, members in sorted(groups.items()):
            m = np.array(members)
            n_found = int(np.sum(best[m] >= threshold))
            split[g] = {"mines": len(members), "found": n_found, "pd": n_found / len(members)}
        report[label] = split
    if area_by_lane:
        soils: dict[str, dict] = {}
        lane_soil = {r["lane"]: str(r.get("soil", "") or "unknown") for r in rows}
        for lane, lane_area in area_by_lane.items():
            s = soils.setdefault(lane_soil.get(lane, "unknown"), {"area_m2": 0.0, "false_alarms": 0})
            s["area_m2"] += float(lane_area)
            fa_lane = sum(1 for d, hit in zip(dets, in_mine)
                          if d["source"] == lane and not hit and d["score"] >= threshold)
            s["false_alarms"] += fa_lane
        for name, s in soils.items():
            s["fa_per_m2"] = s["false_alarms"] / s["area_m2"] if s["area_m2"] > 0 else math.nan
            report["by_soil"].setdefault(name, {"mines": 0, "found": 0, "pd": math.nan}).update(s)
    report["truth"] = [{"id": row.get("id", str(r)), "kind": row["kind"], "type": row.get("type", ""),
                        "found": bool(best[r] >= threshold),
                        "best_score": None if not math.isfinite(best[r]) else float(best[r])}
                       for r, row in enumerate(rows)]
    return report


# ------------------------------------------------------------------------------------------------ files

def read_truth(path) -> list[dict]:
    """Truth rows from a CSV with at least x_m, y_m (and kind, type, depth_m, size_m, soil, lane, id when present):
    x_m, y_m as float, depth_m and size_m as float when not empty, the rest as text. Truth CSVs of
    sensorkit.synth.demining (write_truth_csv) read back equal to the rows written (numbers to 0.1 mm).
    FormatError naming the file, the row (counted from 1 at the header) and the column on bad input."""
    path = Path(path)
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            fields = reader.fieldnames or []
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise FormatError(path, "file", "a readable truth CSV", str(exc)) from None
    for need in ("x_m", "y_m"):
        if need not in fields:
            raise FormatError(path, f"column {need!r}", "a truth CSV with x_m, y_m (kind, type, depth_m, size_m, "
                              "soil, lane optional)", f"columns {fields}")
    out = []
    for i, row in enumerate(rows):
        parsed = dict(row)
        for key in ("x_m", "y_m", "depth_m", "size_m"):
            value = row.get(key)
            if value in (None, "") and key in ("depth_m", "size_m"):
                continue
            try:
                parsed[key] = float(value)
            except (TypeError, ValueError):
                raise FormatError(path, f"row {i + 2}, column {key!r}", "a number",
                                  "nothing" if value is None else value) from None
            if key in ("x_m", "y_m") and not math.isfinite(parsed[key]):
                raise FormatError(path, f"row {i + 2}, column {key!r}", "a finite number", value)
        out.append(parsed)
    return out


def read_detections(path) -> tuple[list[dict], dict]:
    """(detections, {source: surveyed area m2}) from a GeoJSON or CSV written by ``sensorkit detect mines``."""
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: expected a detections file (GeoJSON or CSV), could not read it: {exc}") from None
    if path.suffix.lower() in (".geojson", ".json"):
        try:
            doc = json.loads(text)
            features = doc["features"]
            dets = [dict(f["properties"]) for f in features]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: features: expected a GeoJSON FeatureCollection of detections, found an error: "
                             f"{exc}") from None
        surveys = doc.get("properties", {}).get("surveys", []) if isinstance(doc, dict) else []
        areas = {str(s.get("source", "")): float(s.get("area_m2", 0.0)) for s in surveys if isinstance(s, dict)}
        return dets, areas
    try:
        rows = list(csv.DictReader(text.splitlines()))
    except csv.Error as exc:
        raise ValueError(f"{path}: expected a detections CSV, found an error: {exc}") from None
    areas = {}
    for row in rows:
        for need in ("x_m", "score"):
            if need not in row:
                raise ValueError(f"{path}: column {need!r}: expected the detections CSV of sensorkit detect mines")
        if row.get("area_m2") not in (None, ""):
            areas[row.get("source", "")] = float(row["area_m2"])
    return rows, areas


def write_report(report: dict, out_dir, stem: str = "score_mines") -> list[Path]:
    """Write the report as JSON and the ROC as PNG into out_dir; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / f"{stem}.json"
    json_path.write_text(json.dumps(_jsonable(report), indent=1))
    png = plot_roc(report, out / f"{stem}_roc.png")
    return [json_path, png]


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def plot_roc(report: dict, out) -> Path:
    """PNG of the ROC (PD against false alarms per m2) with the operating point at the report's threshold."""
    from sensorkit.plots import new_figure, save_png

    fig = new_figure((6.0, 5.0))
    ax = fig.add_subplot(1, 1, 1)
    fa = [p["fa_per_m2"] for p in report["roc"]]
    pd = [p["pd"] for p in report["roc"]]
    ax.step(fa, pd, where="post", color="tab:blue", label="ROC (score threshold)")
    ax.plot([report["fa_per_m2"]], [report["pd"]], "o", color="tab:red",
            label=f"threshold {report['threshold']:.2f}: PD {report['pd']:.2f}, {report['fa_per_m2']:.3f} FA/m2")
    ax.axvline(0.1, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("false alarms per m2")
    ax.set_ylabel("probability of detection")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(left=0.0)
    ax.set_title(f"{report['n_mines']} mines, {report['area_m2']:.1f} m2, halo {report['halo_m']} m")
    ax.legend(loc="lower right", fontsize=8)
    return save_png(fig, out)
