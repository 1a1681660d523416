"""Inputs and outputs of the drone pipeline: recordings and WAV/FLAC in; tracks as JSON/CSV, /results/drone in the
recording; following a recording as it is written; the per-file batch job.

    audio = load_audio("rec.h5")                        # or a .wav/.flac with geometry=...
    result = detect_drones(audio.samples, audio.fs_hz, audio.mic_positions_m, config)
    write_tracks(result, "tracks.json")                 # or .csv (one row per track update)
    write_results(Path("rec.h5"), result)               # /results/drone/{tracks, detections}, attrs parameters
    result = follow_recording("live.h5", config)        # processes blocks as they are committed
"""

from __future__ import annotations

import csv
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sensorkit.errors import FormatError
from sensorkit.pipelines.drone import DroneConfig, DroneDetector, DroneResult, detect_drones

__all__ = ["AudioInput", "RESULTS_GROUP", "TRACK_CSV_COLUMNS", "batch_job", "follow_recording", "load_audio",
           "read_tracks", "result_to_dict", "track_rows", "write_results", "write_tracks"]

RESULTS_GROUP = "results/drone"
RECORDING_SUFFIXES = (".h5", ".hdf5")
AUDIO_SUFFIXES = (".wav", ".flac")
TRACK_CSV_COLUMNS = ("track_id", "state", "start_time_s", "end_time_s", "time_s", "azimuth_deg", "elevation_deg",
                     "bearing_deg", "f0_hz", "snr_db", "score")
TRACK_ROW_DTYPE = np.dtype([("track_id", "<i4"), ("state", "S10"), ("time_s", "<f8"), ("azimuth_deg", "<f8"),
                            ("elevation_deg", "<f8"), ("bearing_deg", "<f8"), ("f0_hz", "<f8"), ("snr_db", "<f8"),
                            ("score", "<f8")])


@dataclass
class AudioInput:
    """Samples (n_frames, n_channels) as stored (counts or Pa), fs_hz, mic_positions_m or None, the array's GNSS
    position (median of the fixes; None without GNSS) and a name."""

    samples: np.ndarray
    fs_hz: float
    mic_positions_m: np.ndarray | None
    name: str
    lat: float | None = None
    lon: float | None = None


def _gnss_position(rec) -> tuple[float | None, float | None]:
    for name in rec.gnss_names:
        fixes = rec.gnss_fixes(name)
        if len(fixes):
            lat = np.asarray(fixes["lat"], dtype=np.float64)
            lon = np.asarray(fixes["lon"], dtype=np.float64)
            ok = np.isfinite(lat) & np.isfinite(lon) & ~((lat == 0) & (lon == 0))
            if ok.any():
                return float(np.median(lat[ok])), float(np.median(lon[ok]))
    return None, None


def load_audio(path, *, geometry=None, stream: str | None = None) -> AudioInput:
    """A recording (.h5: the acoustic stream ``stream``, or the only one) or a WAV/FLAC file (geometry: an array
    geometry file, else no direction) as an AudioInput. Raises FormatError/KeyError on bad input."""
    from sensorkit.formats import array_geometry

    path = Path(path)
    if path.suffix.lower() in RECORDING_SUFFIXES:
        from sensorkit.store import Recording

        with Recording(path) as rec:
            a = rec.acoustic(stream)
            samples = np.asarray(a.samples[:])
            positions = a.mic_positions_m
            lat, lon = _gnss_position(rec)
            name = a.name
        if geometry is not None:
            positions = array_geometry.read_array_geometry(geometry)
            if positions.shape[0] != samples.shape[1]:
                raise FormatError(path, "channels", f"{positions.shape[0]} channels, one per microphone in "
                                                    f"{geometry}", samples.shape[1])
        return AudioInput(samples, a.fs_hz, positions, name, lat, lon)
    from sensorkit.formats.registry import read_any

    if path.suffix.lower() not in AUDIO_SUFFIXES:
        raise FormatError(path, "file", "a recording (.h5) or an audio file (" + ", ".join(AUDIO_SUFFIXES) + ")",
                          path.suffix or "(no extension)")
    imported = read_any(path, geometry=geometry)
    if not imported.audio:
        raise FormatError(path, "audio", "an audio file", imported.format)
    rec = imported.audio[0]
    return AudioInput(np.asarray(rec.samples), rec.fs_hz, rec.mic_positions_m, path.stem)


# ------------------------------------------------------------------------------------------------ outputs

def _num(v):
    v = float(v)
    return v if math.isfinite(v) else None


def track_rows(result: DroneResult) -> list[dict]:
    """One dict per track update (TRACK_CSV_COLUMNS); degrees; None where a value is unknown."""
    rows = []
    for t in result.tracks:
        az, el = t.azimuth_deg(), t.elevation_deg()
        for k in range(t.n_updates):
            rows.append({"track_id": t.track_id, "state": t.state, "start_time_s": t.start_time_s,
                         "end_time_s": t.end_time_s, "time_s": float(t.time_s[k]), "azimuth_deg": _num(az[k]),
                         "elevation_deg": _num(el[k]),
                         "bearing_deg": None if t.bearing_deg is None else _num(t.bearing_deg[k]),
                         "f0_hz": _num(t.f0_hz[k]), "snr_db": _num(t.snr_db[k]), "score": _num(t.score[k])})
    return rows


def result_to_dict(result: DroneResult, source: str = "", extra: dict | None = None) -> dict:
    """The tracks as a JSON-ready document: {"pipeline", "source", "frame", "parameters", "tracks": [{track_id,
    state, start_time_s, end_time_s, time_s[], azimuth_deg[], elevation_deg[], bearing_deg[] | null, f0_hz[],
    snr_db[], score[]}], "n_frames", "duration_s"}."""
    tracks = []
    for t in result.tracks:
        tracks.append({"track_id": t.track_id, "state": t.state, "start_time_s": t.start_time_s,
                       "end_time_s": t.end_time_s, "time_s": [float(v) for v in t.time_s],
                       "azimuth_deg": [_num(v) for v in t.azimuth_deg()],
                       "elevation_deg": [_num(v) for v in t.elevation_deg()],
                       "bearing_deg": None if t.bearing_deg is None else [_num(v) for v in t.bearing_deg],
                       "f0_hz": [_num(v) for v in t.f0_hz], "snr_db": [_num(v) for v in t.snr_db],
                       "score": [_num(v) for v in t.score]})
    frames = result.frame_times_s
    p = result.parameters
    doc = {"pipeline": "drone", "source": source,
           "frame": "array frame: azimuth counter-clockwise from +x seen from above, elevation up (degrees); "
                    "bearing clockwise from true north where the heading is known",
           "has_direction": result.has_direction,
           "duration_s": p.get("frames_in", 0) / p["fs_hz"] if p.get("fs_hz") else None,
           "n_frames": int(frames.size), "parameters": p, "tracks": tracks}
    doc.update(extra or {})
    return doc


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".partial")
    try:
        write(tmp)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_tracks(result: DroneResult, path, source: str = "", extra: dict | None = None) -> Path:
    """Tracks to path: .json (result_to_dict) or .csv (one row per update, TRACK_CSV_COLUMNS); written to
    <path>.partial first, then renamed."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".json", ".csv"):
        raise ValueError(f"--out {path}: expected a .json or .csv file name, found suffix {path.suffix!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".json":
        text = json.dumps(result_to_dict(result, source, extra), indent=1, allow_nan=False)
        _atomic_write(path, lambda p: p.write_text(text + "\n"))
    else:
        def write_csv(p):
            with open(p, "w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=TRACK_CSV_COLUMNS, lineterminator="\n")
                w.writeheader()
                for row in track_rows(result):
                    w.writerow({k: "" if row[k] is None else (f"{row[k]:.6g}" if isinstance(row[k], float)
                                                              else row[k]) for k in TRACK_CSV_COLUMNS})
        _atomic_write(path, write_csv)
    return path


def read_tracks(path) -> list[dict]:
    """Tracks from a JSON or CSV file written by write_tracks: a list of dicts with track_id, state and numpy
    arrays time_s, azimuth_deg, elevation_deg, f0_hz, snr_db, score (NaN where unknown)."""
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(path, "file", "a readable tracks file (JSON or CSV)", str(exc)) from None
    fields = ("time_s", "azimuth_deg", "elevation_deg", "f0_hz", "snr_db", "score")
    if path.suffix.lower() == ".json":
        try:
            doc = json.loads(text)
            out = []
            for t in doc["tracks"]:
                d = {"track_id": int(t["track_id"]), "state": str(t["state"])}
                for f in fields:
                    d[f] = np.array([np.nan if v is None else float(v) for v in t[f]], dtype=np.float64)
                out.append(d)
            return out
        except (ValueError, KeyError, TypeError) as exc:
            raise FormatError(path, "tracks", "a JSON document with a 'tracks' list (sensorkit detect drones)",
                              f"{type(exc).__name__}: {exc}") from None
    rows = list(csv.DictReader(text.splitlines()))
    if not rows and not text.startswith("track_id"):
        raise FormatError(path, "header", ",".join(TRACK_CSV_COLUMNS), text[:60])
    by_id: dict[int, dict] = {}
    try:
        for row in rows:
            tid = int(row["track_id"])
            d = by_id.setdefault(tid, {"track_id": tid, "state": row["state"], **{f: [] for f in fields}})
            for f in fields:
                d[f].append(float(row[f]) if row[f] not in ("", None) else np.nan)
    except (KeyError, ValueError, TypeError) as exc:
        raise FormatError(path, "rows", f"the columns {','.join(TRACK_CSV_COLUMNS)} with numbers",
                          f"{type(exc).__name__}: {exc}") from None
    for d in by_id.values():
        for f in fields:
            d[f] = np.asarray(d[f], dtype=np.float64)
    return [by_id[k] for k in sorted(by_id)]


def write_results(recording, result: DroneResult, *, force: bool = False) -> str:
    """Add /results/drone (datasets ``tracks``: one row per update, ``detections``: DETECTION_DTYPE rows; attrs
    ``parameters`` JSON, created_utc) to a recording opened 'r+'. Refuses while a live writer holds the file,
    and when results exist without force. Returns the group path."""
    from sensorkit.store.results import write_results_group

    rows = track_rows(result)
    table = np.zeros(len(rows), dtype=TRACK_ROW_DTYPE)
    for i, r in enumerate(rows):
        table[i] = (r["track_id"], r["state"].encode(), r["time_s"],
                    *(np.nan if r[k] is None else r[k] for k in ("azimuth_deg", "elevation_deg", "bearing_deg",
                                                                 "f0_hz", "snr_db", "score")))
    return write_results_group(
        recording, RESULTS_GROUP,
        {"tracks": (table, "s (time_s), degrees (azimuth_deg, elevation_deg, bearing_deg), Hz (f0_hz), dB (snr_db)"),
         "detections": (result.detections, None)},
        {"parameters": json.dumps(result.parameters, allow_nan=True),
         "n_confirmed": len(result.confirmed_tracks())}, force=force)


# ------------------------------------------------------------------------------------------------ live, batch

def follow_recording(path, config: DroneConfig | None = None, *, stream: str | None = None,
                     heading_deg: float | None = None, poll_s: float = 0.2, idle_timeout_s: float = 10.0,
                     max_duration_s: float | None = None, on_update=None, include_tentative: bool = False
                     ) -> DroneResult:
    """Run the pipeline on a recording while it is written: every poll_s, pick up the frames the writer has
    committed (Recording.refresh), process them and call on_update(detector) when new DOA frames came.

    Latency: a block is processed within poll_s of the writer's flush (<= 1 s) once its last sample is in, so a
    detection lags the sound by at most nfft / fs + flush interval + poll_s + processing time. Ends when the
    writer has closed the file (its .writing marker is gone) and everything committed was processed, when nothing
    new came for idle_timeout_s, or after max_duration_s of wall time. Returns the result.
    """
    from sensorkit.store import Recording
    from sensorkit.store.writer import writer_alive

    path = Path(path)
    started = time.monotonic()
    last_data = started
    with Recording(path) as rec:
        a = rec.acoustic(stream)
        name = a.name
        det = DroneDetector(a.n_channels, a.fs_hz, a.mic_positions_m, config, heading_deg=heading_deg,
                            include_tentative=include_tentative)
        done = 0
        while True:
            rec.refresh()
            a = rec.acoustic(name)
            n = a.n_frames
            if n > done:
                step = max(det.nfft, int(10.0 * det.fs_hz))
                while done < n:
                    stop = min(n, done + step)
                    if det.process(np.asarray(a.samples[done:stop], dtype=np.float32)) and on_update is not None:
                        on_update(det)
                    done = stop
                last_data = time.monotonic()
                continue
            now = time.monotonic()
            if writer_alive(path) is None:
                rec.refresh()
                if rec.acoustic(name).n_frames <= done:
                    break
                continue
            if now - last_data > idle_timeout_s or (max_duration_s is not None and now - started > max_duration_s):
                break
            time.sleep(poll_s)
    return det.result()


def batch_job(path, out_dir, config: DroneConfig | dict | None = None, *, heading_deg: float | None = None
              ) -> dict:
    """The per-file job of the batch layer: open ``path`` (recording or WAV/FLAC), run the pipeline, write
    <out_dir>/<stem>.tracks.json, and return a JSON-able summary (source, out, duration_s, n_tracks,
    n_confirmed, tracks: id/state/start/end/median azimuth/f0, seconds)."""
    t0 = time.perf_counter()
    if isinstance(config, dict):
        config = DroneConfig.from_dict(config)
    path = Path(path)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    audio = load_audio(path)
    result = detect_drones(audio.samples, audio.fs_hz, audio.mic_positions_m, config, heading_deg=heading_deg)
    out = write_tracks(result, out_dir / f"{path.stem}.tracks.json", source=str(path),
                       extra={"array_lat": audio.lat, "array_lon": audio.lon})
    confirmed = result.confirmed_tracks()
    return {"source": str(path), "out": str(out), "duration_s": audio.samples.shape[0] / audio.fs_hz,
            "n_channels": int(audio.samples.shape[1]), "n_tracks": len(result.tracks), "n_confirmed": len(confirmed),
            "tracks": [{"track_id": t.track_id, "state": t.state, "start_time_s": t.start_time_s,
                        "end_time_s": t.end_time_s,
                        "azimuth_deg": _num(np.nanmedian(t.azimuth_deg())) if t.has_direction else None,
                        "f0_hz": _num(np.nanmedian(t.f0_hz))} for t in result.tracks],
            "seconds": round(time.perf_counter() - t0, 3)}
