"""The demo's report: one HTML page (report/index.html) with the PNGs beside it, made from the results dict of
sensorkit.demo.run_demo. Every score row carries its key (``<tr class="score" data-key="mines.pd">``) and the
same text the demo prints, so a script can check one against the other.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

__all__ = ["write_report"]

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .6em 0; } td, th { border: 1px solid #ccc; padding: .25em .6em; }
th { background: #f3f3f3; text-align: left; } .value { font-family: monospace; text-align: right; }
.missing { background: #fff3cd; border: 1px solid #e0c060; padding: .6em; }
.failed { background: #f8d7da; border: 1px solid #d08080; padding: .6em; }
img { max-width: 100%; border: 1px solid #ddd; margin: .3em 0; } figure { margin: .8em 0; }
figcaption { font-size: .9em; color: #555; } pre { background: #f6f6f6; padding: .6em; overflow-x: auto; }
"""


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _img(name: str | None, caption: str) -> str:
    if not name:
        return ""
    return f'<figure><img src="{_e(name)}" alt="{_e(caption)}"><figcaption>{_e(caption)}</figcaption></figure>'


def _not_ok(part: dict, what: str) -> str:
    status = part.get("status")
    if status == "failed":
        return f'<div class="failed"><b>{_e(what)} failed:</b> {_e(part.get("error", ""))}' \
               f'<pre>{_e(part.get("traceback", ""))}</pre></div>'
    return f'<div class="missing"><b>{_e(what)}:</b> {_e(part.get("reason", status))}</div>'


def _table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(v, spec=".1f") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return format(v, spec)


def _scores(results: dict) -> str:
    rows = "".join(f'<tr class="score" data-key="{_e(k)}"><td>{_e(label)}</td><td class="value">{_e(v)}</td></tr>'
                   for k, label, v in results["scores"])
    notes = []
    for key, what in (("mines", "mine detection"), ("drones", "drone detection")):
        part = results.get(key, {})
        if part.get("status") != "ok":
            notes.append(_not_ok(part, what))
        elif part.get("score", {}).get("status") != "ok":
            notes.append(_not_ok(part["score"], f"{what} scoring"))
    table = f"<table><tr><th>score</th><th>value</th></tr>{rows}</table>" if rows else "<p>No scores.</p>"
    return table + "".join(notes)


def _health(rec: dict) -> str:
    if rec.get("status") != "ok":
        return _not_ok(rec, "recording")
    health = rec["health"]
    rows = []
    for key, s in health["streams"].items():
        rows.append([key, f"{s['records']} {s['unit']}", _fmt(s["rate_per_s"]) + "/s", _fmt(s["span_s"]) + " s",
                     s["gaps"], s["missing"], s["reconnects"], s["resets"], s["errors"]])
    out = [f"<p>File: <code>{_e(Path(rec['path']).name)}</code> (beside this report folder), recorded live for "
           f"{rec['record_wall_s']:.1f} s through the real drivers from three simulated devices, each on its own "
           f"pseudo-terminal.</p>",
           _table(["stream", "records", "rate", "span", "gaps", "records missing", "reconnects", "resets",
                   "errors"], rows)]
    extra = []
    for key, s in health["streams"].items():
        if s["kind"] == "gpr":
            extra.append(f"{key}: {s['channels']} channels x {s['samples']} samples per trace, "
                         f"{s['with_position']} of {s['records']} traces with a GNSS position, "
                         f"{s['incomplete_traces']} multi-channel traces not stored because a channel's frame was "
                         f"lost, x from {_fmt(s['x_range_m'][0], '.2f')} to {_fmt(s['x_range_m'][1], '.2f')} m"
                         if s["x_range_m"] else f"{key}: no traces")
        elif s["kind"] == "acoustic":
            extra.append(f"{key}: {s['audio_s']:.1f} s of audio, {s['channels']} channels at {s['fs_hz']:.0f} Hz")
    out.append("<ul>" + "".join(f"<li>{_e(x)}</li>" for x in extra) + "</ul>")
    inj = rec.get("injected", {})
    if inj:
        rows = [[name, c.get("sent", 0), c.get("corrupted", 0), c.get("dropped", 0), c.get("lost_disconnected", 0),
                 c.get("after_corrupted_delimiter", 0), c.get("disconnects", 0)] for name, c in inj.items()]
        out.append("<p>Link noise injected by the simulators (their logs; data frames, NMEA sentences for GNSS):</p>")
        out.append(_table(["simulator", "sent untouched", "corrupted", "dropped", "lost while disconnected",
                           "lost after a corrupted delimiter", "disconnects"], rows))
    events = [e for e in health["events"] if e["kind"] != "note"]
    if events:
        shown = events[:60]
        rows = [[f"{e['t_s']:.2f}", e["stream"], e["kind"], _short(e["detail"])] for e in shown]
        more = ", first 60 shown" if len(events) > 60 else ""
        out.append(f"<p>Events in the file ({len(events)}, notes left out{more}):</p>")
        out.append(_table(["t (s)", "stream", "kind", "detail"], rows))
    return "".join(out)


def _short(detail: dict) -> str:
    keys = ("what", "n_missing", "first_missing", "trace_index", "channels_missing", "why", "error", "reason")
    parts = [f"{k}={detail[k]}" for k in keys if k in detail]
    text = ", ".join(parts) if parts else ", ".join(f"{k}={v}" for k, v in list(detail.items())[:4])
    return text[:160]


def _mines(m: dict) -> str:
    if m.get("status") != "ok":
        return _not_ok(m, "mine detection")
    out = [f"<p>Lane <code>{_e(m['lane'])}</code> in {_e(m['soil'])}: {m['n_detections']} objects detected, "
           f"{m['n_alarms']} alarms (score &ge; {m['threshold']:.2f}) over {m['area_m2']:.2f} m&sup2;; ground velocity "
           f"{m['velocity_m_per_ns']:.4f} m/ns ({_e(m['velocity_source'])}). Detections: "
           f'<a href="{_e(m["geojson"])}">{_e(m["geojson"])}</a> (GeoJSON) and <code>{_e(m["results"])}</code> in '
           f"the recording.</p>"]
    p = m.get("plots", {})
    out.append(_img(p.get("truth_map"), "The lane seen from above (envelope, max over depth) with the ground truth "
                                        "and the detections."))
    out.append(_img(p.get("map"), "Depth-slice map of the detections (the pipeline's plot: envelope at the depth of "
                                  "the strongest alarm; circles: detections, colour and label: score)."))
    for name in p.get("bscans", []):
        out.append(_img(name, "Raw recorded B-scan through a detection."))
    for name in p.get("sections", []):
        out.append(_img(name, "Migrated x-z section (envelope) through a detection."))
    s = m.get("score", {})
    if s.get("status") == "ok":
        rows = [[t.get("id", ""), t.get("kind", ""), t.get("type", ""), "yes" if t["found"] else "no",
                 _fmt(t.get("best_score"), ".2f")] for t in s["truth"]]
        out.append("<p>Ground truth against the detections (a mine is found when an alarm lies within the halo; a "
                   "clutter object with an alarm on it is a false alarm):</p>")
        out.append(_table(["id", "kind", "type", "alarm within the halo", "best score within the halo"], rows))
    dets = m.get("detections", [])[:20]
    if dets:
        rows = [[i + 1, f"{d['x_m']:.3f}", f"{d['y_m']:.3f}", f"{d['depth_m']:.3f}", f"{d['size_m']:.3f}",
                 f"{d['score']:.2f}", _fmt(d.get("lat"), ".7f"), _fmt(d.get("lon"), ".7f")] for i, d in enumerate(dets)]
        out.append("<p>Detections (strongest score first; x along the lane, y across from the array centre; lat/lon "
                   "of the nearest trace with GNSS):</p>")
        out.append(_table(["#", "x (m)", "y (m)", "depth (m)", "size (m)", "score", "lat", "lon"], rows))
    return "".join(out)


def _drones(d: dict) -> str:
    if d.get("status") != "ok":
        return _not_ok(d, "drone detection")
    out = [f"<p>{d['audio_s']:.1f} s of audio; {d['n_drones']} drone(s) flew past; the pipeline confirmed "
           f"{d['n_tracks']} track(s) ({d['n_tracks_all']} in all).</p>"]
    p = d.get("plots", {})
    out.append(_img(p.get("spectrogram"), "Spectrogram (channel mean) with the drones' true blade-passing "
                                          "frequencies and harmonics."))
    out.append(_img(p.get("bearing_time"), "Bearing-time: true azimuths and the confirmed tracks."))
    for name in p.get("pipeline", []):
        out.append(_img(name, "The drone pipeline's own plot (sensorkit.plots_drone): detections and tracks."))
    if p.get("pipeline_error"):
        out.append(f'<div class="failed">The pipeline\'s plots failed: {_e(p["pipeline_error"])}</div>')
    if d["tracks"]:
        rows = [[t["id"], t["state"], f"{t['start_s']:.1f}", f"{t['end_s']:.1f}", t["n_updates"], f"{t['f0_hz']:.0f}",
                 _fmt(t["azimuth_deg_median"], ".0f")] for t in d["tracks"]]
        out.append(_table(["track", "state", "start (s)", "end (s)", "updates", "f0 (Hz)", "mean azimuth (deg)"],
                          rows))
    rows = [[t["drone"], f"{t['f0_hz_median']:.0f}", f"{t['closest_range_m']:.0f}"] for t in d["truth"]]
    out.append(_table(["drone (truth)", "f0 (Hz)", "closest range (m)"], rows))
    return "".join(out)


def write_report(results: dict, report_dir: Path) -> Path:
    """Write report_dir/index.html from the demo's results; returns its path."""
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    scn = results["scenario"]
    times = results.get("times_s", {})
    timing = ", ".join(f"{k} {v:.1f} s" for k, v in times.items())
    drones = "; ".join(f"closest at {d['closest_m'][0]:g}, {d['closest_m'][1]:g}, {d['closest_m'][2]:g} m "
                       f"(t = {d['closest_s']:g} s of the scene), {d['speed_mps']:g} m/s, {d['rpm']:g} rpm"
                       for d in scn["drones"])
    body = f"""<h1>sensorkit demo ({'short' if results['short'] else 'full'})</h1>
<p>The whole chain on simulated devices, no hardware: a GPR cart ({len(scn['mine_types'])} mines and
{len(scn['clutter_types'])} clutter objects buried in a {scn['size_x_m']:g} x {scn['size_y_m']:g} m lane of
{_e(scn['soil'])}, antenna array every {scn['channel_spacing_m']:g} m across the lane, a trace every
{scn['trace_spacing_m']:g} m at {scn['cart_speed_mps']:g} m/s) with a GNSS receiver on the same cart, and an
{scn['n_mics']}-microphone array (radius {scn['array_radius_m']:g} m, {scn['fs_hz']:g} Hz) hearing drones fly past
({_e(drones)}) over wind, microphone self-noise and birds. Link noise: byte corruption {scn['corrupt_rate']:g}
(GNSS {scn['gnss_corrupt_rate']:g}), frame drops {scn['drop_rate']:g}, the array's cable pulled
{scn['mic_disconnect_after_s']:g} s into the recording for {scn['down_time_s']:g} s. Steps: {_e(timing)}.</p>
<h2>Scores</h2>
{_scores(results)}
<h2>Recording health</h2>
{_health(results.get('recording', {}))}
<h2>Landmines (GPR)</h2>
{_mines(results.get('mines', {}))}
<h2>Drones (microphone array)</h2>
{_drones(results.get('drones', {}))}
<p>Everything in numbers: <a href="results.json">results.json</a>.</p>
"""
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>sensorkit demo report</title>'
            f"<style>{CSS}</style></head><body>\n{body}</body></html>\n")
    index = report_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
