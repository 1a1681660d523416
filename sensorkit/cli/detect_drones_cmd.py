"""`sensorkit detect drones REC.h5|FILE.wav [--array GEOMETRY] [--out TRACKS.json|.csv]`: drone tracks from a
microphone array (or fundamentals alone from one microphone).

    sensorkit detect drones field.h5 --out tracks.json --plot plots/ --heading-deg 30
    sensorkit detect drones clip.wav --array uma16.xml --out tracks.csv --json
    sensorkit detect drones live.h5 --follow --out tracks.json      # while a recorder writes live.h5

The pipeline is sensorkit.pipelines.drone with its DroneConfig (defaults, or --config C: a JSON object of some of
its fields, the tracker's as a nested object). Tracks (id, state, times, azimuth, elevation, bearing from true
north with --heading-deg, fundamental, SNR, score) go to --out (JSON, or CSV by the suffix; written as .partial
then renamed) and, for a recording, to /results/drone in it (refused while a recorder writes it; --no-results to
skip, --force to replace). --plot DIR: spectrogram with the detected harmonics, azimuth-time map, polar plot.
--follow: process a recording as it is written, until its writer closes it. Exit 0 on success (whatever was
found), 2 on bad input.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

from sensorkit.errors import FormatError


def add_parser(kinds) -> None:
    p = kinds.add_parser(
        "drones", help="drones in microphone-array audio -> tracks (JSON/CSV, recording results)",
        description="STFT, harmonic-comb detection of rotor fundamentals, SRP-PHAT direction of each comb, "
                    "multi-target direction tracking. Angles in degrees: azimuth counter-clockwise from +x of the "
                    "array, elevation up; bearings clockwise from true north with --heading-deg.")
    p.add_argument("input", type=Path, metavar="REC.h5|FILE.wav", help="a recording or a WAV/FLAC file")
    p.add_argument("--array", type=Path, metavar="GEOMETRY",
                   help="array geometry (acoular XML or JSON); default: the recording's mic_positions_m")
    p.add_argument("--stream", metavar="NAME", help="acoustic stream of the recording (default: the only one)")
    p.add_argument("--out", type=Path, metavar="TRACKS.json|.csv", help="write the tracks there")
    p.add_argument("--config", type=Path, metavar="C", help="JSON file of DroneConfig fields")
    p.add_argument("--heading-deg", type=float, metavar="DEG",
                   help="bearing of the array's +x axis clockwise from true north: adds bearings to the tracks")
    p.add_argument("--follow", action="store_true", help="follow a recording while it is written")
    p.add_argument("--idle-timeout", type=float, default=10.0, metavar="S",
                   help="--follow: stop after this long without new data (default 10 s)")
    p.add_argument("--tentative", action="store_true", help="report tentative tracks too")
    p.add_argument("--no-results", action="store_true", help="do not write /results/drone into the recording")
    p.add_argument("--force", action="store_true", help="overwrite --out and earlier results in the recording")
    p.add_argument("--plot", type=Path, metavar="DIR", help="write PNGs: spectrogram, azimuth-time map, polar plot")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(run=run)


def _config(path: Path | None):
    from sensorkit.pipelines.drone import DroneConfig

    if path is None:
        return DroneConfig()
    try:
        values = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"--config {path}: expected a JSON object of DroneConfig fields, could not read it: "
                         f"{exc}") from None
    try:
        return DroneConfig.from_dict(values)
    except TypeError as exc:
        raise ValueError(f"--config {path}: {exc}") from None


def run(args) -> int:
    from sensorkit.pipelines.drone import detect_drones
    from sensorkit.pipelines.drone_io import (RECORDING_SUFFIXES, follow_recording, load_audio, write_results,
                                              write_tracks)
    from sensorkit.store.writer import writer_alive

    wall0 = time.perf_counter()
    if not args.input.is_file():
        raise FileNotFoundError(f"{args.input}: no such file")
    if args.out is not None:
        if args.out.suffix.lower() not in (".json", ".csv"):
            raise ValueError(f"--out {args.out}: expected a .json or .csv file name, found suffix "
                             f"{args.out.suffix!r}")
        if args.out.exists() and not args.force:
            raise FileExistsError(f"{args.out}: exists; use --force to overwrite it")
    if args.heading_deg is not None and not math.isfinite(args.heading_deg):
        raise ValueError(f"--heading-deg: expected a finite bearing in degrees, found {args.heading_deg!r}")
    config = _config(args.config)
    is_recording = args.input.suffix.lower() in RECORDING_SUFFIXES
    if args.follow and not is_recording:
        raise ValueError(f"--follow: expected a recording (.h5), found {args.input.suffix!r}")
    if args.follow and args.array is not None:
        raise ValueError("--follow: uses the recording's own geometry; --array is not supported with it")
    write_back = is_recording and not args.no_results
    if write_back and not args.follow:
        pid = writer_alive(args.input)
        if pid is not None:
            raise ValueError(f"{args.input}: a recorder (pid {pid}) is still writing it; use --follow, or "
                             f"--no-results")
        _check_no_results(args.input, args.force)

    lat = lon = None
    try:
        if args.follow:
            result = follow_recording(args.input, config, stream=args.stream, heading_deg=args.heading_deg,
                                      idle_timeout_s=args.idle_timeout, include_tentative=args.tentative)
            name = args.input.stem
            duration_s = result.parameters["frames_in"] / result.parameters["fs_hz"]
        else:
            from tqdm import tqdm

            audio = load_audio(args.input, geometry=args.array, stream=args.stream)
            lat, lon = audio.lat, audio.lon
            name = audio.name if is_recording else args.input.stem
            duration_s = audio.samples.shape[0] / audio.fs_hz
            with tqdm(total=100, file=sys.stderr, leave=False, dynamic_ncols=True, desc="detect drones",
                      unit="%") as bar:
                def progress(fraction):
                    bar.update(round(100 * fraction) - bar.n)

                result = detect_drones(audio.samples, audio.fs_hz, audio.mic_positions_m, config,
                                       heading_deg=args.heading_deg, include_tentative=args.tentative,
                                       progress=progress)
    except FormatError:  # the readers' errors name the file already
        raise
    except ValueError as exc:  # the pipeline's checks of the input's samples, rate and geometry
        raise ValueError(f"{args.input}: {exc}") from None
    extra = {"array_lat": lat, "array_lon": lon}
    if args.out is not None:
        write_tracks(result, args.out, source=str(args.input), extra=extra)
    results_path = None
    if write_back:
        results_path = write_results(args.input, result, force=args.force)
    plots = []
    if args.plot is not None:
        from sensorkit.plots_drone import plot_drone_result

        plots = plot_drone_result(result, args.plot, stem=args.input.stem or "drones")
    confirmed = result.confirmed_tracks()
    summary = {
        "input": str(args.input), "source": name, "duration_s": duration_s, "has_direction": result.has_direction,
        "n_channels": result.parameters["n_channels"], "fs_hz": result.parameters["fs_hz"],
        "n_detections": int(len(result.detections)), "n_used_detections": int(result.detections["used"].sum()),
        "n_tracks": len(result.tracks), "n_confirmed": len(confirmed), "array_lat": lat, "array_lon": lon,
        "heading_deg": args.heading_deg, "out": str(args.out) if args.out is not None else None,
        "results": results_path, "plots": plots, "tracks": [_track_summary(t) for t in result.tracks],
        "wall_s": round(time.perf_counter() - wall0, 3)}
    if args.json:
        print(json.dumps(summary, allow_nan=False))
    else:
        print(_format(summary))
    return 0


def _check_no_results(recording: Path, force: bool) -> None:
    import h5py

    from sensorkit.pipelines.drone_io import RESULTS_GROUP

    if force:
        return
    try:
        with h5py.File(recording, "r") as f:
            exists = RESULTS_GROUP in f
    except OSError:
        return  # load_audio reports an unreadable file
    if exists:
        raise FileExistsError(f"{recording}: /{RESULTS_GROUP} exists; use --force to replace it (or --no-results)")


def _median(values):
    import numpy as np

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else None


def _track_summary(t) -> dict:
    import numpy as np

    az = None
    if t.has_direction:  # circular median: rotate to the first azimuth, take the median of the differences
        a = t.azimuth_deg()
        az = float((a[0] + np.median((a - a[0] + 180.0) % 360.0 - 180.0)) % 360.0)
    return {"track_id": t.track_id, "state": t.state, "start_time_s": t.start_time_s, "end_time_s": t.end_time_s,
            "n_updates": t.n_updates, "azimuth_deg": az,
            "elevation_deg": _median(t.elevation_deg()) if t.has_direction else None,
            "bearing_deg": None if t.bearing_deg is None else _median(t.bearing_deg),
            "f0_hz": _median(t.f0_hz), "snr_db": _median(t.snr_db)}


def _format(s: dict) -> str:
    rows = [f"{s['source']}: {s['duration_s']:.1f} s, {s['n_channels']} channels at {s['fs_hz']:g} Hz, "
            f"{s['n_detections']} comb detections ({s['n_used_detections']} tracked), {s['n_confirmed']} confirmed "
            f"track(s){'' if s['has_direction'] else ' (no direction: one microphone or no geometry)'}"]
    for t in s["tracks"]:
        where = ""
        if t["azimuth_deg"] is not None:
            where = f", azimuth {t['azimuth_deg']:.1f} deg, elevation {t['elevation_deg']:.1f} deg"
            if t["bearing_deg"] is not None:
                where += f", bearing {t['bearing_deg']:.1f} deg"
        f0 = f", f0 {t['f0_hz']:.1f} Hz" if t["f0_hz"] is not None else ""
        rows.append(f"  track {t['track_id']} ({t['state']}) {t['start_time_s']:.2f}-{t['end_time_s']:.2f} s, "
                    f"{t['n_updates']} updates{where}{f0}")
    if s["out"]:
        rows.append(f"tracks: {s['out']}")
    if s["results"]:
        rows.append(f"results: {s['results']}")
    if s["plots"]:
        rows.append("plots: " + ", ".join(s["plots"]))
    rows.append(f"wall time {s['wall_s']:.1f} s")
    return "\n".join(rows)
