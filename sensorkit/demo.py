"""`sensorkit demo`: the main job end to end on simulated devices, no hardware.

1. simulate   a GPR cart (antenna array, survey wheel) over a demining lane with mines and clutter, a GNSS
              receiver on the same cart, and a microphone array hearing drones fly past, each on its own
              pseudo-terminal (firmware_sims, in a child process; sensorkit.demo_scenario, sensorkit.demo_devices),
              with a little link noise: corrupted bytes, dropped frames, one pulled cable on the array;
2. record     live through the real drivers (sensorkit.recorder.Recorder) into <out>/demo.h5, one pass of the
              cart along the lane; the recording's health (rates, gaps, reconnects) is read back from the file;
3. mines      sensorkit.pipelines.landmine on the GPR swath; detections to <out>/report/detections.geojson and
              /results/landmine in the recording; scored with sensorkit.scoring.mines against the lane's truth;
4. drones     sensorkit.pipelines.drone on the audio; tracks compared with the simulator's truth (scored with
              sensorkit.scoring.drones when this build has it);
5. report     <out>/report/index.html (sensorkit.demo_report) with PNGs beside it.

Meanwhile a second process compiles the pipelines' Numba kernels (sensorkit.demo_warmup), so that a fresh
clone's first run also stays well under three minutes.

A missing pipeline is said plainly (in the output and in the report); nothing is made up. The printed scores
are the report's (one formatting function for both).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import threading
import time
import traceback
from pathlib import Path

import numpy as np

from sensorkit.demo_scenario import DemoScenario, build_lane, drone_truth, mine_truth_survey

__all__ = ["run_demo", "score_items", "format_score"]

GPR_NAME = "gpr"


def _available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


class _Steps:
    """Runs the demo's steps, timing each and keeping going (or not) after a failure."""

    def __init__(self, log, keep_going: bool):
        self.log = log
        self.keep_going = keep_going
        self.failed: list[str] = []
        self.times_s: dict[str, float] = {}

    def run(self, name: str, func, *args, **kwargs):
        if self.failed and not self.keep_going:
            self.log(f"[{name}] skipped after the failure of {self.failed[0]} (--keep-going runs it anyway)")
            return {"status": "skipped", "reason": f"skipped after the failure of {self.failed[0]}"}
        t = time.perf_counter()
        try:
            out = func(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - a failing step is reported, the report is still written
            self.failed.append(name)
            self.log(f"[{name}] FAILED: {type(error).__name__}: {error}")
            out = {"status": "failed", "error": f"{type(error).__name__}: {error}",
                   "traceback": traceback.format_exc()}
        self.times_s[name] = time.perf_counter() - t
        return out


# ------------------------------------------------------------------------------------------------ 1-2 record

def _record(scn: DemoScenario, out_dir: Path, log) -> dict:
    """Start the simulators, record one pass of the cart, stop; returns paths, health, injected faults."""
    from sensorkit.demo_devices import SimulatorProcess
    from sensorkit.demo_health import health_lines, recording_health
    from sensorkit.recorder import DeviceSpec, Recorder

    h5 = out_dir / "demo.h5"
    logs = out_dir / "simulator-logs"
    t = time.perf_counter()
    log(f"[simulate] starting the GPR cart ({len(scn.channel_y_m)} channels, {scn.size_x_m:g} x {scn.size_y_m:g} m "
        f"lane), the GNSS receiver and the {scn.n_mics}-microphone array ({len(scn.drones)} drone(s) flying past)")
    with SimulatorProcess(scn, logs) as sims:
        log(f"[simulate] forward models ready in {time.perf_counter() - t:.1f} s")
        t0_utc_ns = time.time_ns() + int(scn.lead_s * 1e9)
        info = sims.go(t0_utc_ns)
        log(f"[simulate] ports: GPR {info['gpr']}, microphone array {info['acoustic']}, GNSS {info['gnss']}")
        specs = [DeviceSpec("gpr", info["gpr"], name=GPR_NAME, config=scn.gpr_config),
                 DeviceSpec("acoustic", info["acoustic"], name="mic", config=scn.mic_config),
                 DeviceSpec("gnss", info["gnss"], name="gnss")]
        last = [0.0]

        def progress(lines):
            now = time.monotonic()
            if now - last[0] >= 5.0:
                last[0] = now
                log("[record] " + "; ".join(lines))

        recorder = Recorder(h5, specs, overwrite=True, progress=progress)
        stop = threading.Event()
        # the cart reaches the end of the lane at t0 + lane duration; stop just before it turns back
        end_ns = t0_utc_ns + int((scn.lane_duration_s - 0.5 * scn.trace_spacing_m / scn.cart_speed_mps) * 1e9)
        timer = threading.Timer(max(0.0, (end_ns - time.time_ns()) * 1e-9), stop.set)
        timer.daemon = True
        timer.start()
        log(f"[record] recording into {h5} for {scn.record_s:.0f} s (one pass of the cart at "
            f"{scn.cart_speed_mps:g} m/s)")
        t_rec = time.perf_counter()
        try:
            recorder.run(duration_s=scn.record_s + 30.0, stop=stop)
        finally:
            timer.cancel()
        record_wall_s = time.perf_counter() - t_rec
        fates = sims.stop()
    health = recording_health(h5)
    for line in health_lines(health):
        log(f"[record] {line}")
    injected = {name: {k: v for k, v in counts.items()} for name, counts in fates.items()}
    for name, counts in injected.items():
        log(f"[record] injected on the {name} link: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return {"status": "ok", "path": str(h5), "health": health, "injected": injected, "t0_utc_ns": t0_utc_ns,
            "record_wall_s": record_wall_s, "mic_clock": {k: info[k] for k in info if k.startswith("mic_")},
            "logs": str(logs)}


# ------------------------------------------------------------------------------------------------ 3 mines

def _mines(scn: DemoScenario, h5: Path, report_dir: Path, log) -> dict:
    if not _available("sensorkit.pipelines.landmine"):
        log("[mines] the landmine pipeline is not available in this build")
        return {"status": "unavailable", "reason": "landmine pipeline not available in this build"}
    from sensorkit.cli.detect_cmd import write_geojson, write_results
    from sensorkit.gpr.load import load_gpr
    from sensorkit.pipelines.landmine import LandmineConfig, detect_mines
    from sensorkit.pipelines.landmine_plots import plot_detections

    lane = build_lane(scn)
    truth = mine_truth_survey(lane, scn)
    lines = load_gpr([h5])
    config = LandmineConfig(antenna_height_m=float(lane.scene.antenna.height_m))
    log(f"[mines] detecting mines in {lines[0].n_traces} traces x {lines[0].traces.shape[1]} channels "
        f"(landmine pipeline, Kirchhoff migration, CFAR, classifier)")
    result = detect_mines(lines, config, source=lane.name)
    alarms = result.alarms()
    log(f"[mines] {len(result.detections)} objects, {len(alarms)} alarms (score >= {config.score_threshold:g}), "
        f"velocity {result.parameters['velocity_m_per_ns']:.4f} m/ns ({result.parameters['velocity_source']}), "
        f"{result.times_s.get('total_s', math.nan):.1f} s")
    geojson = report_dir / "detections.geojson"
    write_geojson(geojson, result, lane.name)
    where = write_results(h5, GPR_NAME, result, force=True)
    out = {"status": "ok", "lane": lane.name, "soil": scn.soil, "truth": truth, "n_detections": len(result.detections),
           "n_alarms": len(alarms), "threshold": config.score_threshold, "area_m2": result.area_m2,
           "velocity_m_per_ns": result.parameters["velocity_m_per_ns"],
           "velocity_source": result.parameters["velocity_source"], "geojson": geojson.name, "results": where,
           "detections": [d.to_json() for d in result.detections], "times_s": result.times_s}
    plots = [Path(p) for p in plot_detections(result, report_dir, stem="lane", max_sections=4)]
    from sensorkit.demo_plots import plot_lane_truth_map, plot_raw_bscans

    out["plots"] = {"map": plots[0].name if plots else None, "sections": [p.name for p in plots[1:]],
                    "truth_map": plot_lane_truth_map(result, truth, report_dir / "lane_truth_map.png").name,
                    "bscans": [p.name for p in plot_raw_bscans(lines[0], result, report_dir, max_plots=4)]}
    if not _available("sensorkit.scoring.mines"):
        log("[mines] mine scoring is not available in this build")
        out["score"] = {"status": "unavailable", "reason": "mine scoring not available in this build"}
        return out
    from sensorkit.scoring.mines import score_mines

    dets = [{"x_m": d.x_m, "y_m": d.y_m, "score": d.score, "source": lane.name} for d in result.detections]
    report = score_mines(dets, truth, area_m2=result.area_m2, threshold=config.score_threshold)
    out["score"] = {"status": "ok", **{k: report[k] for k in (
        "halo_m", "threshold", "area_m2", "n_detections", "n_alarms", "n_mines", "n_clutter", "found",
        "false_alarms", "pd", "fa_per_m2", "pd_at_0.1_fa_per_m2", "by_type", "truth")}}
    return out


# ------------------------------------------------------------------------------------------------ 4 drones

def _audio_scene_times(blocks: np.ndarray, fs_hz: float, n_frames: int, clock: dict) -> np.ndarray:
    """Scene time (s) of every recorded frame index, from each block's device time (the recording concatenates
    blocks; a lost block makes a jump here, never a silent shift)."""
    first = blocks["first_frame"].astype(np.int64)
    dev = blocks["device_time_ns"].astype(np.int64)
    scene_s = (clock["mic_boot_true_ns"] + dev - clock["mic_clock_offset_ns"]) * 1e-9
    frames = np.arange(n_frames)
    k = np.clip(np.searchsorted(first, frames, side="right") - 1, 0, len(first) - 1)
    return scene_s[k] + (frames - first[k]) / fs_hz


def _drones(scn: DemoScenario, h5: Path, clock: dict, report_dir: Path, log) -> dict:
    if not _available("sensorkit.pipelines.drone"):
        log("[drones] the drone pipeline is not available in this build")
        return {"status": "unavailable", "reason": "drone pipeline not available in this build"}
    from sensorkit.pipelines.drone import detect_drones
    from sensorkit.store import Recording

    with Recording(h5) as rec:
        audio = rec.acoustic("mic")
        samples = audio.samples[:]
        blocks = audio.blocks[:]
        fs = audio.fs_hz
        positions = audio.mic_positions_m
    log(f"[drones] detecting drones in {samples.shape[0] / fs:.1f} s of {samples.shape[1]}-channel audio "
        f"(STFT, harmonic combs, SRP-PHAT, tracker)")
    t = time.perf_counter()
    result = detect_drones(samples, fs, positions)
    run_s = time.perf_counter() - t
    confirmed = result.confirmed_tracks()
    log(f"[drones] {len(confirmed)} confirmed track(s) ({len(result.tracks)} in all), "
        f"{len(result.detections)} comb detections, {run_s:.1f} s")
    scene_of_frame = _audio_scene_times(blocks, fs, samples.shape[0], clock)

    def scene_time(t_s):
        idx = np.clip(np.round(np.asarray(t_s) * fs).astype(np.int64), 0, len(scene_of_frame) - 1)
        return scene_of_frame[idx]

    duration_s = samples.shape[0] / fs
    truth_times = np.arange(0.0, duration_s, 0.1)
    truth = drone_truth(scn, positions, scene_time(truth_times))
    tracks = [{"id": int(tr.track_id), "state": tr.state, "start_s": tr.start_time_s, "end_s": tr.end_time_s,
               "n_updates": tr.n_updates, "f0_hz": float(np.median(tr.f0_hz)),
               "azimuth_deg_median": float(np.degrees(np.angle(np.mean(np.exp(1j * tr.azimuth_rad)))) % 360.0)
               if tr.has_direction else None} for tr in confirmed]
    out = {"status": "ok", "n_tracks": len(confirmed), "n_tracks_all": len(result.tracks), "tracks": tracks,
           "n_drones": len(scn.drones), "audio_s": samples.shape[0] / fs, "run_s": run_s,
           "truth": [{"drone": d["drone"], "f0_hz_median": float(np.median(d["f0_hz"])),
                      "closest_range_m": float(np.min(d["range_m"]))} for d in truth]}
    from sensorkit.demo_plots import plot_bearing_time, plot_spectrogram

    out["plots"] = {"spectrogram": plot_spectrogram(result, truth, truth_times, report_dir / "spectrogram.png").name,
                    "bearing_time": plot_bearing_time(result, truth, truth_times,
                                                      report_dir / "bearing_time.png").name}
    if _available("sensorkit.plots_drone"):  # the pipeline's own plots: detections, tracks, polar
        from sensorkit.plots_drone import plot_drone_result

        try:
            out["plots"]["pipeline"] = [Path(p).name for p in plot_drone_result(result, report_dir, stem="drones")]
        except Exception as error:  # noqa: BLE001 - the demo's own plots above still show the result
            log(f"[drones] the pipeline's plots failed: {type(error).__name__}: {error}")
            out["plots"]["pipeline_error"] = f"{type(error).__name__}: {error}"
    out["score"] = _score_drones(result, truth, truth_times, duration_s, log)
    return out


def _score_drones(result, truth, truth_times, duration_s: float, log) -> dict:
    """sensorkit.scoring.drones on the confirmed tracks against the truth (recording time axis), when this
    build has it; otherwise says so (no made-up numbers)."""
    if not _available("sensorkit.scoring.drones"):
        log("[drones] drone scoring is not available in this build: tracks are shown against the truth, "
            "not scored")
        return {"status": "unavailable", "reason": "drone scoring not available in this build"}
    from sensorkit.scoring.drones import ScoreConfig, score_drones

    tracks = [{"track_id": int(t.track_id), "state": t.state, "time_s": np.asarray(t.time_s),
               "azimuth_deg": t.azimuth_deg(), "elevation_deg": t.elevation_deg()} for t in result.tracks]
    rows = np.zeros(len(truth) * len(truth_times), dtype=[
        ("time_s", "<f8"), ("source_id", "<i8"), ("kind", "U8"), ("azimuth_deg", "<f8"), ("elevation_deg", "<f8"),
        ("range_m", "<f8"), ("snr_db", "<f8")])
    for k, d in enumerate(truth):
        part = rows[k * len(truth_times):(k + 1) * len(truth_times)]
        part["time_s"], part["source_id"], part["kind"] = truth_times, d["drone"], "drone"
        for key in ("azimuth_deg", "elevation_deg", "range_m", "snr_db"):
            part[key] = d[key]
    config = ScoreConfig()
    report = score_drones([(tracks, rows, duration_s)], config)

    def num(v, fmt):
        return "n/a" if v is None else format(v, fmt)

    windows = report["windows"]
    detected = sum(c["detected_windows"] for c in report["per_clip"])
    items = [
        ("pd", f"drone present in a {config.window_s:g} s window and detected within {config.tolerance_deg:g} deg",
         f"{num(report['pd'], '.3f')} ({detected}/{windows} windows)"),
        ("pd_within_range", f"the same, windows with the drone within {config.pd_range_max_m:g} m",
         f"{num(report['pd_within_range'], '.3f')} ({report['windows_within_range']} windows)"),
        ("doa_rmse_deg", "direction error of matched updates, RMSE (deg)", num(report["doa"]["rmse_deg"], ".2f")),
        ("doa_p90_deg", "direction error, 90th percentile (deg)", num(report["doa"]["p90_deg"], ".2f")),
        ("confirmed_tracks", "confirmed tracks", f"{report['confirmed_tracks']}"),
        ("false_tracks", "false tracks (under half of the updates on a drone)", f"{report['false_tracks']}"),
        ("tracks_per_drone", "confirmed tracks per tracked drone (fragmentation; 1 is ideal)",
         num(report["fragmentation"]["mean_tracks_per_drone"], ".2f")),
    ]
    return {"status": "ok", "items": items, "report": {k: report[k] for k in (
        "pd", "pd_within_range", "windows", "windows_within_range", "confirmed_tracks", "false_tracks", "doa",
        "azimuth", "fragmentation")}}


# ------------------------------------------------------------------------------------------------ scores

def score_items(results: dict) -> list[tuple[str, str, str]]:
    """(key, label, value text) of every score the demo reports: the lines printed at the end and the rows of
    the report's score table are both made from this list."""
    items: list[tuple[str, str, str]] = []
    mines = results.get("mines", {})
    s = mines.get("score", {}) if mines.get("status") == "ok" else {}
    if s.get("status") == "ok":
        items += [
            ("mines.pd", f"mines found (PD) at score >= {s['threshold']:.2f}, halo {s['halo_m']:.2f} m",
             f"{s['pd']:.3f} ({s['found']}/{s['n_mines']})"),
            ("mines.false_alarms", "false alarms", f"{s['false_alarms']}"),
            ("mines.fa_per_m2", f"false alarms per m2 (surveyed {s['area_m2']:.2f} m2)", f"{s['fa_per_m2']:.3f}"),
            ("mines.pd_at_0.1_fa_per_m2", "best PD at <= 0.1 false alarms per m2", f"{s['pd_at_0.1_fa_per_m2']:.3f}"),
            ("mines.alarms", "alarms / objects detected", f"{s['n_alarms']}/{s['n_detections']}"),
        ]
    drones = results.get("drones", {})
    d = drones.get("score", {}) if drones.get("status") == "ok" else {}
    if d.get("status") == "ok":
        items += [(f"drones.{k}", label, text) for k, label, text in d.get("items", [])]
    return items


def format_score(key: str, label: str, value: str) -> str:
    """The stdout line of one score."""
    return f"score {key} = {value}    # {label}"


# ------------------------------------------------------------------------------------------------ main

def _wait_warm(warm, part: str, log, timeout_s: float = 90.0) -> None:
    """Wait for the warm-up process to have compiled ``part``'s kernels (first run on a fresh clone only)."""
    t = time.perf_counter()
    if not warm.wait(part, 0.0):
        log(f"[{part}] waiting for Numba to finish compiling the pipeline (first run only)")
        warm.wait(part, timeout_s)
        log(f"[{part}] compiled in {time.perf_counter() - t:.1f} s more")


def run_demo(out_dir: Path, *, short: bool = False, keep_going: bool = False, log=print) -> dict:
    """Run the whole demo into out_dir (recording out_dir/demo.h5, report out_dir/report/index.html).
    Returns the results dict (also written as out_dir/report/results.json); results["ok"] is False when a
    step failed; results["missing"] names the parts this build lacks."""
    from sensorkit.demo_report import write_report

    wall0 = time.perf_counter()
    scn = DemoScenario.short() if short else DemoScenario.full()
    out_dir = Path(out_dir)
    report_dir = out_dir / "report"
    report_dir.mkdir(parents=True, exist_ok=True)
    for old in report_dir.glob("*.png"):
        old.unlink()
    steps = _Steps(log, keep_going)
    results: dict = {"scenario": dataclasses.asdict(scn), "short": short, "out_dir": str(out_dir)}
    log(f"sensorkit demo ({'short' if short else 'full'}): simulated devices, live recording, both pipelines, "
        f"scores, report in {report_dir}")
    from sensorkit.demo_warmup import WarmUpProcess

    # compiles the pipelines' kernels while the simulators start and the devices are recorded (a fresh clone's
    # first run; the drone step does not wait for it: its start-up is mostly a Monte-Carlo threshold, not Numba)
    warm = WarmUpProcess().start()
    try:
        results["recording"] = steps.run("record", _record, scn, out_dir, log)
        recorded = results["recording"].get("status") == "ok"
        if recorded:
            h5 = Path(results["recording"]["path"])
            _wait_warm(warm, "mines", log)
            results["mines"] = steps.run("mines", _mines, scn, h5, report_dir, log)
            results["drones"] = steps.run("drones", _drones, scn, h5, results["recording"]["mic_clock"],
                                          report_dir, log)
    finally:
        warm.stop()
    if not recorded:
        reason = {"status": "skipped", "reason": "no recording (the recording step failed)"}
        results["mines"], results["drones"] = dict(reason), dict(reason)
    results["times_s"] = dict(steps.times_s)
    results["times_s"]["total_s"] = time.perf_counter() - wall0
    results["scores"] = score_items(results)
    index = write_report(results, report_dir)
    results["report"] = str(index)
    results["times_s"]["total_s"] = time.perf_counter() - wall0
    (report_dir / "results.json").write_text(json.dumps(results, indent=1, default=_json_default))
    missing = [k for k in ("mines", "drones") if results[k].get("status") != "ok"
               or results[k].get("score", {}).get("status") != "ok"]
    results["ok"] = not steps.failed  # a missing pipeline is said plainly, not a failure of the demo
    results["missing"] = missing
    log("")
    log("scores (the same numbers as in the report):")
    for key, label, value in results["scores"]:
        log(format_score(key, label, value))
    for k in ("mines", "drones"):
        r = results[k]
        if r.get("status") != "ok":
            log(f"{k}: {r.get('reason') or r.get('error')}")
        elif r.get("score", {}).get("status") != "ok":
            log(f"{k}: {r['score'].get('reason') or r['score'].get('error')}")
    log(f"demo finished in {results['times_s']['total_s']:.1f} s")
    log(f"report: {index.resolve()}")
    return results


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON-able: {type(value).__name__}")
