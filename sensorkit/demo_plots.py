"""The demo's own PNGs, drawn against the simulators' ground truth (the pipelines' plot modules draw results
alone): the lane map with truth and detections, raw B-scans through detections, the spectrogram with the
drones' true harmonics, and the azimuth-time tracks over the true azimuths. Files only (Agg canvas), 8 x 5 in at
100 dpi like sensorkit.plots.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sensorkit.plots import new_figure, pixel_edges, save_png

__all__ = ["plot_bearing_time", "plot_lane_truth_map", "plot_raw_bscans", "plot_spectrogram"]


def plot_lane_truth_map(result, truth: list[dict], out, halo_m: float = 0.15) -> Path:
    """Map of the lane: the envelope (max over depth) of the migrated image, the true mines (red circles, the
    scoring halo) and clutter (white squares), and the detections (crosses coloured by score, alarms thick)."""
    import matplotlib

    fig = new_figure((8.0, 3.6))
    ax = fig.add_subplot(1, 1, 1)
    t = result.parameters["config"]["score_threshold"]
    if result.y_m is not None:
        panel = np.max(result.envelope, axis=2).T
        x0, x1 = pixel_edges(result.x_m)
        y0, y1 = pixel_edges(result.y_m)
        top = float(np.percentile(panel, 99.5)) or 1.0
        im = ax.imshow(panel, extent=(x0, x1, y0, y1), origin="lower", cmap="gray", vmin=0.0, vmax=top,
                       aspect="equal", interpolation="nearest")
        fig.colorbar(im, ax=ax, label="envelope, max over depth", shrink=0.8)
    for row in truth:
        if row.get("kind") == "mine":
            ax.add_patch(matplotlib.patches.Circle((row["x_m"], row["y_m"]), halo_m, fill=False, ec="red", lw=1.5))
            ax.annotate(row.get("type", "mine"), (row["x_m"], row["y_m"] + halo_m), color="red", fontsize=7,
                        ha="center", va="bottom")
        else:
            ax.plot([row["x_m"]], [row["y_m"]], marker="s", ms=7, mfc="none", mec="white", ls="none")
            ax.annotate(row.get("type", "clutter"), (row["x_m"], row["y_m"] - 0.04), color="white", fontsize=7,
                        ha="center", va="top")
    cmap = matplotlib.colormaps["autumn_r"]
    for d in result.detections:
        alarm = d.score >= t
        ax.plot([d.x_m], [d.y_m], marker="x", ms=9 if alarm else 6, mew=2.5 if alarm else 1.0, color=cmap(d.score),
                ls="none")
    ax.set_xlabel("x along the lane (m)")
    ax.set_ylabel("y across (m)")
    n_alarms = sum(d.score >= t for d in result.detections)
    ax.set_title(f"lane: truth (red: mines with the {halo_m:g} m halo, white: clutter) and {n_alarms} alarms "
                 f"(x, score >= {t:.2f})", fontsize=9)
    return save_png(fig, out)


def plot_raw_bscans(line, result, out_dir, *, max_plots: int = 4) -> list[Path]:
    """Raw recorded B-scans (channel nearest the detection's y, two-way time down) through the strongest
    detections, with the detection's x marked."""
    traces = np.asarray(line.traces, dtype=np.float32)
    if traces.ndim != 3 or result.y_m is None:
        return []
    ch_y = np.asarray(line.attrs.get("channel_y_m"), dtype=np.float64)
    ch_y = ch_y - ch_y.mean()  # the array centre is the trace's y (0)
    x = np.asarray(line.trace_meta["x_m"], dtype=np.float64)
    order = np.argsort(x, kind="stable")
    t = result.parameters["config"]["score_threshold"]
    paths = []
    for n, d in enumerate(result.detections[:max_plots]):
        c = int(np.argmin(np.abs(ch_y - d.y_m)))
        panel = traces[order, c, :]
        panel = panel - np.median(panel, axis=0, keepdims=True)  # the direct wave and the ground echo removed
        fig = new_figure()
        ax = fig.add_subplot(1, 1, 1)
        down = np.arange(panel.shape[1]) * line.dt_s * 1e9
        x0, x1 = pixel_edges(x[order])
        lim = float(np.percentile(np.abs(panel), 99.5)) or 1.0
        im = ax.imshow(panel.T, extent=(x0, x1, down[-1], down[0]), aspect="auto", cmap="gray", vmin=-lim,
                       vmax=lim, interpolation="nearest")
        ax.axvline(d.x_m, color="red" if d.score >= t else "orange", lw=1.0, ls="--")
        ax.set_xlabel("x along the lane (m)")
        ax.set_ylabel("two-way time (ns)")
        ax.set_title(f"raw B-scan, channel {c} (y = {ch_y[c]:+.2f} m), mean trace removed: detection {n + 1} at "
                     f"x {d.x_m:.2f} m, depth {d.depth_m:.2f} m, score {d.score:.2f}", fontsize=9)
        fig.colorbar(im, ax=ax, label="counts")
        paths.append(save_png(fig, Path(out_dir) / f"bscan_det{n + 1:02d}.png"))
    return paths


def plot_spectrogram(result, truth: list[dict], truth_times_s, out, n_harmonics: int = 6) -> Path:
    """Channel-mean spectrogram (dB) of the recording with the drones' true blade-passing frequency and its
    harmonics (dashed) and the fundamentals of the confirmed tracks (dots)."""
    fig = new_figure()
    ax = fig.add_subplot(1, 1, 1)
    spec = np.asarray(result.spectrogram_db, dtype=np.float64)
    times = np.asarray(result.spectrogram_times_s)
    freqs = np.asarray(result.spectrogram_freqs_hz)
    if spec.size:
        f_top = min(float(freqs[-1]), 2000.0)
        keep = freqs <= f_top
        lo, hi = np.percentile(spec[:, keep], [5, 99.5])
        t0, t1 = pixel_edges(times)
        f0, f1 = pixel_edges(freqs[keep])
        im = ax.imshow(spec[:, keep].T, extent=(t0, t1, f0, f1), origin="lower", aspect="auto", cmap="magma",
                       vmin=lo, vmax=hi, interpolation="nearest")
        fig.colorbar(im, ax=ax, label="power (dB)")
        ax.set_ylim(0.0, f_top)
    colours = ["cyan", "lime", "deepskyblue", "yellow"]
    for k, d in enumerate(truth):
        for h in range(1, n_harmonics + 1):
            ax.plot(truth_times_s, h * np.asarray(d["f0_hz"]), ls="--", lw=0.8, color=colours[k % len(colours)],
                    label=f"drone {d['drone']}: true f0 and harmonics" if h == 1 else None)
    for tr in result.confirmed_tracks():
        ax.plot(tr.time_s, tr.f0_hz, ".", ms=2, color="white")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (Hz)")
    ax.set_title("spectrogram (channel mean); dashed: true harmonics; white dots: tracked fundamentals", fontsize=9)
    if truth:
        ax.legend(loc="upper right", fontsize=7)
    return save_png(fig, out)


def plot_bearing_time(result, truth: list[dict], truth_times_s, out) -> Path:
    """Azimuth (array frame, degrees counter-clockwise from +x) against time: the true azimuth of each drone
    (lines) and the updates of each confirmed track (dots, one colour per track)."""
    import matplotlib

    fig = new_figure()
    ax = fig.add_subplot(1, 1, 1)
    for k, d in enumerate(truth):
        az = np.asarray(d["azimuth_deg"], dtype=np.float64).copy()
        jumps = np.abs(np.diff(az)) > 180.0
        az[1:][jumps] = np.nan  # no line across the 360 -> 0 wrap
        ax.plot(truth_times_s, az, lw=6, alpha=0.25, color=f"C{k}", label=f"drone {d['drone']} (truth)")
    cmap = matplotlib.colormaps["tab10"]
    for n, tr in enumerate(result.confirmed_tracks()):
        if tr.has_direction:
            ax.plot(tr.time_s, tr.azimuth_deg(), ".", ms=3, color=cmap((n + 3) % 10),
                    label=f"track {tr.track_id} (f0 {np.median(tr.f0_hz):.0f} Hz)")
    ax.set_ylim(0.0, 360.0)
    ax.set_yticks(range(0, 361, 45))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("azimuth (deg, counter-clockwise from +x)")
    ax.set_title("bearing-time: true azimuths (wide lines) and confirmed tracks (dots)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=7, ncol=2)
    return save_png(fig, out)
