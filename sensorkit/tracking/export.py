"""Tracks to rows and JSON in the DESIGN.md drone-track fields, degrees at the interface.

A row per update: track_id, state, start_time_s, end_time_s, time_s, azimuth_deg in [0, 360), elevation_deg,
f0_hz (None while unknown), snr_db, score.
"""

import json
import math

from .config import TrackerConfig
from .tracker import Track

ROW_FIELDS = ("track_id", "state", "start_time_s", "end_time_s", "time_s", "azimuth_deg", "elevation_deg",
              "f0_hz", "snr_db", "score")


def _deg_az(az_rad: float) -> float:
    d = math.degrees(az_rad) % 360.0
    return 0.0 if d >= 360.0 else d


def _f0(v: float):
    return None if math.isnan(v) else v


def tracks_to_rows(tracks) -> list[dict]:
    """One dict per track update, keys ``ROW_FIELDS``, tracks in the given order."""
    rows = []
    for t in _checked(tracks):
        for k in range(t.n_updates):
            rows.append({"track_id": t.track_id, "state": t.state, "start_time_s": t.start_time_s,
                         "end_time_s": t.end_time_s, "time_s": t.time_s[k],
                         "azimuth_deg": _deg_az(t.azimuth_rad[k]), "elevation_deg": math.degrees(t.elevation_rad[k]),
                         "f0_hz": _f0(t.f0_hz[k]), "snr_db": t.snr_db[k], "score": t.score[k]})
    return rows


def track_to_dict(track: Track) -> dict:
    """A track as a JSON-ready dict: id, state, start/end time and per-update lists (degrees)."""
    return {"track_id": track.track_id, "state": track.state,
            "start_time_s": track.start_time_s, "end_time_s": track.end_time_s,
            "time_s": list(track.time_s),
            "azimuth_deg": [_deg_az(a) for a in track.azimuth_rad],
            "elevation_deg": [math.degrees(e) for e in track.elevation_rad],
            "f0_hz": [_f0(f) for f in track.f0_hz],
            "snr_db": list(track.snr_db), "score": list(track.score)}


def tracks_to_json(tracks, config: TrackerConfig | None = None, indent: int | None = None) -> str:
    """JSON text {"parameters": config (or null), "tracks": [track_to_dict...]}."""
    if config is not None and not isinstance(config, TrackerConfig):
        raise ValueError(f"config: expected a TrackerConfig or None, found {type(config).__name__}")
    doc = {"parameters": config.to_dict() if config is not None else None,
           "tracks": [track_to_dict(t) for t in _checked(tracks)]}
    return json.dumps(doc, indent=indent, allow_nan=False)


def _checked(tracks) -> list[Track]:
    tracks = list(tracks)
    for k, t in enumerate(tracks):
        if not isinstance(t, Track):
            raise ValueError(f"tracks[{k}]: expected a Track, found {type(t).__name__}")
        if t.n_updates == 0:
            raise ValueError(f"tracks[{k}]: expected a track with at least one update, found none")
    return tracks
