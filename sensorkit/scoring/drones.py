"""Scoring of drone tracks against ground truth: detection probability per time window (against range and SNR),
false tracks per hour, DOA error (RMSE and 90th percentile, degrees) and track fragmentation.

    report = score_drones([(tracks, truth, duration_s), ...], ScoreConfig())
    write_report(report, "score/")      # score_drones.json + score_drones_pd.png

tracks: dicts with track_id, state and arrays time_s, azimuth_deg, elevation_deg (sensorkit.pipelines.drone_io.
read_tracks); truth: rows of a dataset truth CSV (sensorkit.datasets.drone_acoustic.read_truth: time_s, source_id,
kind, azimuth_deg, elevation_deg, range_m, snr_db); only kind "drone" sources are drones.

Rules (DESIGN.md: "a drone counts as detected in a time window when a confirmed track lies within an angular
tolerance of its true direction"):
- a track counts when confirmed ("confirmed" or "lost"); its updates are compared with the truth row of each
  drone nearest in time (truth every 0.1 s);
- the angle between two directions is the great-circle angle (azimuth and elevation together). Tracks without
  direction (a single microphone) match any drone present;
- window: ``window_s`` (1 s) slices of each clip; a drone present in a window (truth rows in it) is detected when
  an update of a confirmed track in the window lies within ``tolerance_deg`` of it. Its range and SNR are the
  window means of the truth;
- tolerance_deg default 10: twice the largest DOA error that still passes the acceptance RMSE of 2 degrees with
  margin for the elevation errors of a planar array near the horizon, and a third of the 30 degree separation of
  two drones, so a track on one drone never detects the other;
- DOA error: every update of a confirmed track matched (within tolerance) to its nearest drone gives the
  great-circle error and the azimuth error; RMSE and 90th percentile over them;
- false track: a confirmed track with fewer than half of its updates within tolerance of a drone; false tracks
  per hour over the total duration scored;
- fragmentation: per drone that any track matched, the number of confirmed tracks with at least
  ``fragment_min_updates`` updates matched to it (1 is ideal); its mean over drones.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

__all__ = ["RANGE_BINS_M", "SNR_BINS_DB", "ScoreConfig", "angle_between_deg", "score_clip", "score_drones",
           "write_report"]

RANGE_BINS_M = (0.0, 50.0, 100.0, 150.0, 200.0, 250.0, 300.0, 400.0)
SNR_BINS_DB = (-40.0, -20.0, -10.0, -5.0, 0.0, 5.0, 10.0, 20.0, 40.0)
CONFIRMED_STATES = ("confirmed", "lost")


@dataclass(frozen=True)
class ScoreConfig:
    """window_s (1 s), tolerance_deg (10), range_bins_m / snr_bins_db (edges), pd_range_max_m (200: the
    acceptance range for Pd), fragment_min_updates (3)."""

    window_s: float = 1.0
    tolerance_deg: float = 10.0
    range_bins_m: tuple = RANGE_BINS_M
    snr_bins_db: tuple = SNR_BINS_DB
    pd_range_max_m: float = 200.0
    fragment_min_updates: int = 3

    def __post_init__(self):
        for name in ("window_s", "tolerance_deg", "pd_range_max_m"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise ValueError(f"ScoreConfig.{name}: expected a number > 0, found {v!r}")
        for name in ("range_bins_m", "snr_bins_db"):
            v = np.asarray(getattr(self, name), dtype=float)
            if v.ndim != 1 or v.size < 2 or np.any(np.diff(v) <= 0) or not np.all(np.isfinite(v)):
                raise ValueError(f"ScoreConfig.{name}: expected at least two increasing bin edges, found "
                                 f"{getattr(self, name)!r}")
        if isinstance(self.fragment_min_updates, bool) or not isinstance(self.fragment_min_updates, int) \
                or self.fragment_min_updates < 1:
            raise ValueError(f"ScoreConfig.fragment_min_updates: expected an integer >= 1, found "
                             f"{self.fragment_min_updates!r}")


def angle_between_deg(az1_deg, el1_deg, az2_deg, el2_deg) -> np.ndarray:
    """Great-circle angle (degrees) between directions given in degrees (broadcasting)."""
    a1, e1, a2, e2 = (np.radians(np.asarray(v, dtype=np.float64)) for v in (az1_deg, el1_deg, az2_deg, el2_deg))
    c = np.sin(e1) * np.sin(e2) + np.cos(e1) * np.cos(e2) * np.cos(a1 - a2)
    return np.degrees(np.arccos(np.clip(c, -1.0, 1.0)))


def _azimuth_error_deg(a, b):
    return np.abs((np.asarray(a) - np.asarray(b) + 180.0) % 360.0 - 180.0)


def _drone_truth(truth) -> dict:
    """source_id -> rows (sorted by time) of the drones in a truth table."""
    t = np.asarray(truth)
    drones = t[t["kind"] == "drone"] if len(t) else t
    out = {}
    for sid in np.unique(drones["source_id"]) if len(drones) else []:
        rows = drones[drones["source_id"] == sid]
        out[int(sid)] = rows[np.argsort(rows["time_s"], kind="stable")]
    return out


def _nearest_rows(rows, times):
    """Index of the truth row nearest in time to each time, and whether the drone is present then (within
    half a truth interval of its first/last row)."""
    tt = rows["time_s"]
    i = np.clip(np.searchsorted(tt, times), 1, len(tt) - 1) if len(tt) > 1 else np.zeros(len(times), dtype=int)
    if len(tt) > 1:
        i = np.where(np.abs(tt[i - 1] - times) <= np.abs(tt[i] - times), i - 1, i)
    step = float(np.median(np.diff(tt))) if len(tt) > 1 else 0.1
    present = (times >= tt[0] - step / 2) & (times <= tt[-1] + step / 2)
    return i, present


def score_clip(tracks, truth, duration_s: float | None = None, config: ScoreConfig | None = None) -> dict:
    """Raw scoring of one clip: windows (list of {source_id, t0, range_m, snr_db, detected}), matched DOA errors,
    per-track match fractions, fragments per drone, duration_s (default: the truth's time span)."""
    cfg = ScoreConfig() if config is None else config
    drones = _drone_truth(truth)
    truth_arr = np.asarray(truth)
    if duration_s is None:
        duration_s = float(truth_arr["time_s"].max() - truth_arr["time_s"].min()) if len(truth_arr) else 0.0
        if len(truth_arr) > 1:
            duration_s += float(np.median(np.diff(np.unique(truth_arr["time_s"]))))
    confirmed = [t for t in tracks if t["state"] in CONFIRMED_STATES and len(t["time_s"])]
    # match every confirmed update to its nearest drone (angle), within tolerance
    errors, az_errors, track_matches = [], [], []
    matched_updates = {sid: {} for sid in drones}  # sid -> {track_id: n}
    per_update = []  # (track index, times, matched sid per update or -1)
    for ti, t in enumerate(confirmed):
        times = np.asarray(t["time_s"], dtype=np.float64)
        az = np.asarray(t["azimuth_deg"], dtype=np.float64)
        el = np.asarray(t["elevation_deg"], dtype=np.float64)
        no_direction = ~np.isfinite(az)
        best = np.full(times.size, np.inf)
        best_az = np.full(times.size, np.inf)
        who = np.full(times.size, -1)
        for sid, rows in drones.items():
            i, present = _nearest_rows(rows, times)
            ang = angle_between_deg(az, el, rows["azimuth_deg"][i], rows["elevation_deg"][i])
            ang = np.where(no_direction, 0.0, ang)
            ang = np.where(present, ang, np.inf)
            better = ang < best
            best = np.where(better, ang, best)
            best_az = np.where(better, np.where(no_direction, 0.0,
                                                _azimuth_error_deg(az, rows["azimuth_deg"][i])), best_az)
            who = np.where(better, sid, who)
        ok = best <= cfg.tolerance_deg
        who = np.where(ok, who, -1)
        if (~no_direction & ok).any():
            errors.extend(best[ok & ~no_direction].tolist())
            az_errors.extend(best_az[ok & ~no_direction].tolist())
        for sid in np.unique(who[who >= 0]):
            d = matched_updates[int(sid)]
            d[t["track_id"]] = d.get(t["track_id"], 0) + int(np.sum(who == sid))
        track_matches.append({"track_id": t["track_id"], "n_updates": int(times.size),
                              "matched_fraction": float(ok.mean()), "false": bool(ok.mean() < 0.5)})
        per_update.append((times, who))
    # windows
    windows = []
    n_win = int(math.ceil(duration_s / cfg.window_s - 1e-9)) if duration_s > 0 else 0
    for sid, rows in drones.items():
        for w in range(n_win):
            t0, t1 = w * cfg.window_s, (w + 1) * cfg.window_s
            sel = (rows["time_s"] >= t0) & (rows["time_s"] < t1)
            if not sel.any():
                continue
            detected = any(np.any((times >= t0) & (times < t1) & (who == sid)) for times, who in per_update)
            windows.append({"source_id": sid, "t0_s": t0, "range_m": float(rows["range_m"][sel].mean()),
                            "snr_db": float(rows["snr_db"][sel].mean()), "detected": bool(detected)})
    fragments = {sid: sum(1 for n in d.values() if n >= cfg.fragment_min_updates)
                 for sid, d in matched_updates.items()}
    return {"duration_s": float(duration_s), "windows": windows, "doa_errors_deg": errors,
            "azimuth_errors_deg": az_errors, "tracks": track_matches, "fragments": fragments,
            "n_drones": len(drones)}


def _pd_by(windows, key, edges) -> list[dict]:
    out = []
    vals = np.array([w[key] for w in windows], dtype=float)
    det = np.array([w["detected"] for w in windows], dtype=bool)
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (vals >= lo) & (vals < hi)
        n = int(sel.sum())
        out.append({"lo": float(lo), "hi": float(hi), "windows": n, "detected": int(det[sel].sum()),
                    "pd": float(det[sel].mean()) if n else None})
    return out


def _stats(errors) -> dict:
    e = np.asarray(errors, dtype=float)
    if e.size == 0:
        return {"n": 0, "rmse_deg": None, "p90_deg": None, "median_deg": None}
    return {"n": int(e.size), "rmse_deg": float(np.sqrt(np.mean(e ** 2))), "p90_deg": float(np.percentile(e, 90)),
            "median_deg": float(np.median(e))}


def score_drones(clips, config: ScoreConfig | None = None, names=None) -> dict:
    """Score several clips: clips is a list of (tracks, truth, duration_s or None). Returns the report (JSON-ready):
    pd (all windows), pd_within_range (range < pd_range_max_m), pd_by_range, pd_by_snr, false_tracks,
    false_tracks_per_hour, hours, doa (great-circle) and azimuth error statistics, fragmentation, per clip."""
    cfg = ScoreConfig() if config is None else config
    per_clip = [score_clip(t, tr, d, cfg) for t, tr, d in clips]
    windows = [w for c in per_clip for w in c["windows"]]
    errors = [e for c in per_clip for e in c["doa_errors_deg"]]
    az_errors = [e for c in per_clip for e in c["azimuth_errors_deg"]]
    hours = sum(c["duration_s"] for c in per_clip) / 3600.0
    n_false = sum(t["false"] for c in per_clip for t in c["tracks"])
    frags = [n for c in per_clip for n in c["fragments"].values() if n > 0]
    det = np.array([w["detected"] for w in windows], dtype=bool)
    near = np.array([w["range_m"] < cfg.pd_range_max_m for w in windows], dtype=bool)
    noise_only = [c for c in per_clip if c["n_drones"] == 0]
    report = {
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cfg).items()},
        "clips": len(per_clip), "hours": hours, "windows": int(det.size),
        "pd": float(det.mean()) if det.size else None,
        "pd_within_range": float(det[near].mean()) if near.any() else None,
        "windows_within_range": int(near.sum()),
        "pd_by_range": _pd_by(windows, "range_m", cfg.range_bins_m),
        "pd_by_snr": _pd_by(windows, "snr_db", cfg.snr_bins_db),
        "confirmed_tracks": sum(len(c["tracks"]) for c in per_clip),
        "false_tracks": int(n_false), "false_tracks_per_hour": n_false / hours if hours > 0 else None,
        "noise_only_hours": sum(c["duration_s"] for c in noise_only) / 3600.0,
        "noise_only_false_tracks": int(sum(t["false"] for c in noise_only for t in c["tracks"])),
        "doa": _stats(errors), "azimuth": _stats(az_errors),
        "fragmentation": {"drones_tracked": len(frags), "mean_tracks_per_drone": float(np.mean(frags)) if frags
                          else None, "max_tracks_per_drone": int(max(frags)) if frags else None},
        "per_clip": [{"name": (names[i] if names else str(i)), "duration_s": c["duration_s"],
                      "n_drones": c["n_drones"], "windows": len(c["windows"]),
                      "detected_windows": sum(w["detected"] for w in c["windows"]),
                      "confirmed_tracks": len(c["tracks"]), "false_tracks": sum(t["false"] for t in c["tracks"]),
                      "fragments": {str(k): v for k, v in c["fragments"].items()}}
                     for i, c in enumerate(per_clip)],
    }
    nh = report["noise_only_hours"]
    report["noise_only_false_tracks_per_hour"] = report["noise_only_false_tracks"] / nh if nh > 0 else None
    return report


def write_report(report: dict, out_dir) -> list[Path]:
    """Write <out_dir>/score_drones.json and score_drones_pd.png (Pd against range and SNR); returns the paths."""
    from sensorkit.plots_drone import plot_pd_curves

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "score_drones.json"
    json_path.write_text(json.dumps(report, indent=1, allow_nan=False) + "\n")
    png = plot_pd_curves(report, out / "score_drones_pd.png")
    return [json_path, png]
