"""A summary of a recording: devices, streams, durations, counts, gaps, GPS extent."""

from __future__ import annotations

import json
import math

import numpy as np

from sensorkit.store import Recording


def _time_span_s(host_time_ns: np.ndarray) -> float | None:
    known = host_time_ns[host_time_ns >= 0]
    return float((known.max() - known.min()) * 1e-9) if len(known) > 1 else None


def _extent(lat: np.ndarray, lon: np.ndarray) -> dict | None:
    ok = np.isfinite(lat) & np.isfinite(lon)
    if not ok.any():
        return None
    return {"lat_min": float(lat[ok].min()), "lat_max": float(lat[ok].max()),
            "lon_min": float(lon[ok].min()), "lon_max": float(lon[ok].max()), "n_positioned": int(ok.sum())}


def _gaps(events: np.ndarray, stream: str) -> dict:
    mine = events[events["stream"] == stream]
    missing = 0
    for event in mine[mine["kind"] == "gap"]:
        try:
            missing += int(json.loads(event["detail"]).get("n_missing", 0))
        except (ValueError, AttributeError):
            pass
    counts = {kind: int((mine["kind"] == kind).sum()) for kind in ("gap", "reconnect", "reset", "overrun", "error")}
    return {**counts, "missing_records": missing}


def summarize(path) -> dict:
    """Everything `sensorkit info` shows, as plain JSON-able data."""
    with Recording(path) as rec:
        events = rec.events
        summary = {"file": str(path), **{k: rec.attrs.get(k) for k in ("format", "format_version", "created_utc",
                                                                        "software")},
                   "devices": {}, "gpr": {}, "acoustic": {}, "gnss": {},
                   "events": {"total": int(len(events)),
                              **{k: int((events["kind"] == k).sum()) for k in set(events["kind"])}}}
        for name in rec.device_names:
            device = rec.device(name)
            summary["devices"][name] = {"kind": device.kind, "model": device.model, "serial": device.serial,
                                        "firmware": device.firmware, "port": device.port}
        for name in rec.gpr_names:
            stream = rec.gpr(name)
            meta = stream.trace_meta[:]
            x = meta["x_m"][np.isfinite(meta["x_m"])]
            summary["gpr"][name] = {
                "n_traces": stream.n_traces, "n_samples": stream.n_samples, "n_channels": stream.n_channels,
                "dtype": str(stream.traces.dtype), "dt_s": stream.dt_s,
                "time_window_s": stream.dt_s * stream.n_samples,
                "centre_frequency_hz": None if math.isnan(stream.centre_frequency_hz) else stream.centre_frequency_hz,
                "length_m": float(x.max() - x.min()) if len(x) > 1 else None,
                "duration_s": _time_span_s(meta["host_time_ns"]),
                "gps_extent": _extent(meta["lat"], meta["lon"]),
                "gaps": _gaps(events, f"gpr/{name}"),
            }
        for name in rec.acoustic_names:
            stream = rec.acoustic(name)
            summary["acoustic"][name] = {
                "n_frames": stream.n_frames, "n_channels": stream.n_channels, "fs_hz": stream.fs_hz,
                "dtype": str(stream.samples.dtype), "duration_s": stream.duration_s,
                "n_blocks": len(stream.blocks), "has_geometry": stream.mic_positions_m is not None,
                "gaps": _gaps(events, f"acoustic/{name}"),
            }
        for name in rec.gnss_names:
            fixes = rec.gnss_fixes(name)
            summary["gnss"][name] = {
                "n_fixes": int(len(fixes)), "duration_s": _time_span_s(fixes["host_time_ns"]),
                "gps_extent": _extent(fixes["lat"], fixes["lon"]), "gaps": _gaps(events, f"gnss/{name}"),
            }
    return summary


def _fmt_s(value) -> str:
    return "-" if value is None else f"{value:.3f} s"


def format_summary(summary: dict) -> str:
    """The summary as text a person reads."""
    lines = [f"{summary['file']}: {summary['format']} {summary['format_version']}, created {summary['created_utc']} "
             f"by {summary['software']}"]
    if summary["devices"]:
        lines.append("devices:")
        for name, d in summary["devices"].items():
            lines.append(f"  {name:<16} {d['kind']:<9} {d['model'] or '-'} serial {d['serial'] or '-'} "
                         f"firmware {d['firmware'] or '-'} ({d['port'] or '-'})")
    for name, s in summary["gpr"].items():
        shape = f"{s['n_traces']} traces x " + (f"{s['n_channels']} ch x " if s["n_channels"] else "") + \
            f"{s['n_samples']} samples"
        freq = f", {s['centre_frequency_hz'] / 1e6:g} MHz" if s["centre_frequency_hz"] else ""
        length = f", {s['length_m']:.2f} m" if s["length_m"] is not None else ""
        lines.append(f"gpr/{name}: {shape} ({s['dtype']}), dt {s['dt_s'] * 1e9:.4g} ns, window "
                     f"{s['time_window_s'] * 1e9:.4g} ns{freq}{length}, duration {_fmt_s(s['duration_s'])}")
        lines += _gap_lines(s["gaps"]) + _extent_lines(s["gps_extent"])
    for name, s in summary["acoustic"].items():
        lines.append(f"acoustic/{name}: {s['n_frames']} frames x {s['n_channels']} ch ({s['dtype']}) at "
                     f"{s['fs_hz']:g} Hz, {s['duration_s']:.3f} s, {s['n_blocks']} blocks, "
                     f"geometry {'yes' if s['has_geometry'] else 'no'}")
        lines += _gap_lines(s["gaps"])
    for name, s in summary["gnss"].items():
        lines.append(f"gnss/{name}: {s['n_fixes']} fixes, duration {_fmt_s(s['duration_s'])}")
        lines += _gap_lines(s["gaps"]) + _extent_lines(s["gps_extent"])
    events = summary["events"]
    lines.append("events: " + (", ".join(f"{k} {v}" for k, v in sorted(events.items()) if k != "total")
                               if events["total"] else "none"))
    return "\n".join(lines)


def _gap_lines(gaps: dict) -> list[str]:
    if not any(gaps.values()):
        return []
    return ["  losses: " + ", ".join(f"{k} {v}" for k, v in gaps.items() if v)]


def _extent_lines(extent: dict | None) -> list[str]:
    if not extent:
        return []
    return [f"  GPS: lat {extent['lat_min']:.7f} .. {extent['lat_max']:.7f}, lon {extent['lon_min']:.7f} .. "
            f"{extent['lon_max']:.7f} ({extent['n_positioned']} positioned)"]
