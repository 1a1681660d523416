"""The health of a recording, read back from the file: per stream the records, their rate, the gaps (and the
records they lost), reconnects, resets and errors, all from the data and the /events table.

    health = recording_health(Path("demo.h5"))
    health["streams"]["gpr/gpr"]["rate_per_s"], health["events"]
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

__all__ = ["recording_health", "health_lines"]


def _span_s(host_ns: np.ndarray) -> float:
    t = np.asarray(host_ns, dtype=np.int64)
    t = t[t > 0]
    return float(t.max() - t.min()) * 1e-9 if t.size >= 2 else math.nan


def _rate(n: int, span_s: float) -> float:
    return (n - 1) / span_s if n >= 2 and span_s > 0 else math.nan


def _detail(text) -> dict:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return {"text": str(text)}
    return value if isinstance(value, dict) else {"value": value}


def recording_health(path: Path) -> dict:
    """Per stream (keys like 'gpr/gpr', 'acoustic/acoustic', 'gnss/gnss'): records, unit, span_s, rate_per_s,
    gaps, missing (records lost per the gap events), reconnects, resets, errors (and for GPR the traces with
    a GNSS position; for audio the frames and seconds); plus every event (time s from the first one, stream,
    kind, detail)."""
    from sensorkit.store import Recording
    from sensorkit.store.schema import FLAG_POSITION_INTERPOLATED

    streams: dict[str, dict] = {}
    with Recording(path) as rec:
        events = rec.events
        for name in rec.gpr_names:
            g = rec.gpr(name)
            meta = g.trace_meta[:]
            span = _span_s(meta["host_time_ns"])
            streams[f"gpr/{name}"] = {
                "kind": "gpr", "records": int(len(meta)), "unit": "traces", "span_s": span,
                "rate_per_s": _rate(len(meta), span), "channels": g.n_channels or 1, "samples": g.n_samples,
                "with_position": int(np.count_nonzero(meta["flags"] & FLAG_POSITION_INTERPOLATED)),
                "x_range_m": [float(np.nanmin(meta["x_m"])), float(np.nanmax(meta["x_m"]))] if len(meta) else None}
        for name in rec.acoustic_names:
            a = rec.acoustic(name)
            blocks = a.blocks[:]
            span = _span_s(blocks["host_time_ns"])
            streams[f"acoustic/{name}"] = {
                "kind": "acoustic", "records": int(len(blocks)), "unit": "blocks", "span_s": span,
                "rate_per_s": _rate(len(blocks), span), "frames": int(a.n_frames), "channels": int(a.n_channels),
                "fs_hz": float(a.fs_hz), "audio_s": float(a.n_frames / a.fs_hz) if a.fs_hz else math.nan}
        for name in rec.gnss_names:
            fixes = rec.gnss_fixes(name)
            span = _span_s(fixes["host_time_ns"])
            streams[f"gnss/{name}"] = {"kind": "gnss", "records": int(len(fixes)), "unit": "fixes", "span_s": span,
                                       "rate_per_s": _rate(len(fixes), span)}
    for s in streams.values():
        s.update(gaps=0, missing=0, reconnects=0, resets=0, errors=0, incomplete_traces=0)
    t_first = int(events["host_time_ns"].min()) if len(events) else 0
    listed = []
    for e in events:
        stream, kind, detail = str(e["stream"]), str(e["kind"]), _detail(e["detail"])
        s = streams.get(stream)
        if s is not None:
            if kind == "gap":
                s["gaps"] += 1
                s["missing"] += int(detail.get("n_missing", 0) or 0)
            elif kind == "reconnect":
                s["reconnects"] += 1
            elif kind == "reset":
                s["resets"] += 1
            elif kind == "error":
                s["errors"] += 1
                if detail.get("what") == "incomplete trace not stored":
                    s["incomplete_traces"] += 1
        listed.append({"t_s": (int(e["host_time_ns"]) - t_first) * 1e-9, "stream": stream, "kind": kind,
                       "detail": detail})
    return {"path": str(path), "streams": streams, "events": listed}


def health_lines(health: dict) -> list[str]:
    """One line per stream for the terminal and the report."""
    lines = []
    for key, s in health["streams"].items():
        rate = f"{s['rate_per_s']:.1f}/s" if math.isfinite(s["rate_per_s"]) else "n/a"
        extra = ""
        if s["kind"] == "gpr":
            extra = f", {s['channels']} channels, {s['with_position']} with GNSS position"
            if s["incomplete_traces"]:
                extra += f", {s['incomplete_traces']} incomplete traces not stored"
        elif s["kind"] == "acoustic":
            extra = f", {s['audio_s']:.1f} s of audio at {s['fs_hz']:.0f} Hz x {s['channels']} channels"
        lines.append(f"{key}: {s['records']} {s['unit']} ({rate}), gaps {s['gaps']} ({s['missing']} missing), "
                     f"reconnects {s['reconnects']}, resets {s['resets']}, errors {s['errors']}{extra}")
    return lines
