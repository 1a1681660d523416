"""PNG plots of landmine detections: a map over a depth slice of the envelope and a section through each
detection. Files only (Agg canvas, no pyplot), 8 x 5 in at 100 dpi like sensorkit.plots.

    paths = plot_detections(result, out_dir, stem="lane")

Grids: <stem>_map_<depth>m.png (envelope at the depth of the strongest alarm, or the brightest depth when there
is none, with every detection: circle size its size_m, colour its score, alarms outlined) and
<stem>_det<NN>_section.png (x-z section of the envelope at the detection's y, with the detection marked) for
the first max_sections detections by score. Lines: <stem>_section.png, the whole x-z section with every
detection.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sensorkit.plots import new_figure, pixel_edges, save_png

__all__ = ["plot_detections"]


def _top(panel: np.ndarray) -> float:
    a = panel[np.isfinite(panel)]
    v = float(np.percentile(a, 99.5)) if a.size else 1.0
    return v if v > 0 else 1.0


def _marks(ax, dets, threshold, horizontal: str, vertical: str):
    import matplotlib

    cmap = matplotlib.colormaps["autumn_r"]
    for d in dets:
        h = getattr(d, horizontal)
        v = getattr(d, vertical)
        alarm = d.score >= threshold
        ax.plot([h], [v], marker="o", ms=6 + 30 * min(d.size_m, 0.4), mfc="none", mec=cmap(d.score),
                mew=2.5 if alarm else 1.0, ls="none")
        ax.annotate(f"{d.score:.2f}", (h, v), xytext=(4, 4), textcoords="offset points", fontsize=7,
                    color="white" if alarm else "lightgrey")


def _section(result, out: Path, title: str, j: int | None, dets, threshold) -> str:
    env = result.envelope if j is None else result.envelope[:, j, :]
    fig = new_figure()
    ax = fig.add_subplot(1, 1, 1)
    x0, x1 = pixel_edges(result.x_m)
    z0, z1 = pixel_edges(result.depth_m)
    im = ax.imshow(env.T, extent=(x0, x1, z1, z0), aspect="auto", cmap="viridis", vmin=0.0, vmax=_top(env),
                   interpolation="nearest")
    _marks(ax, dets, threshold, "x_m", "depth_m")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("depth (m)")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label="envelope")
    return str(save_png(fig, out))


def plot_detections(result, out_dir, *, stem: str = "detections", threshold: float | None = None,
                    max_sections: int = 12) -> list[str]:
    """Write the PNGs of the module docstring for a LandmineResult; returns their paths."""
    out = Path(out_dir)
    t = result.parameters["config"]["score_threshold"] if threshold is None else threshold
    dets = result.detections
    if result.y_m is None:
        return [_section(result, out / f"{stem}_section.png", f"{stem}: envelope, {len(dets)} detections "
                         f"({sum(d.score >= t for d in dets)} with score >= {t:.2f})", None, dets, t)]
    alarms = [d for d in dets if d.score >= t]
    if alarms:
        k = int(np.argmin(np.abs(result.depth_m - alarms[0].depth_m)))
    else:
        rms = np.sqrt(np.mean(result.envelope.astype(np.float64) ** 2, axis=(0, 1)))
        k = int(np.argmax(rms))
    z = float(result.depth_m[k])
    fig = new_figure()
    ax = fig.add_subplot(1, 1, 1)
    panel = result.envelope[:, :, k].T
    x0, x1 = pixel_edges(result.x_m)
    y0, y1 = pixel_edges(result.y_m)
    ratio = (y1 - y0) / (x1 - x0)
    im = ax.imshow(panel, extent=(x0, x1, y0, y1), origin="lower", cmap="viridis", vmin=0.0, vmax=_top(panel),
                   aspect="equal" if 0.25 <= ratio <= 4.0 else "auto", interpolation="nearest")
    _marks(ax, dets, t, "x_m", "y_m")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.set_title(f"{stem}: envelope at {z:.3f} m, {len(dets)} detections ({len(alarms)} with score >= {t:.2f})")
    fig.colorbar(im, ax=ax, label="envelope")
    paths = [str(save_png(fig, out / f"{stem}_map_{z:.3f}m.png"))]
    for n, d in enumerate(dets[:max_sections]):
        j = int(np.argmin(np.abs(result.y_m - d.y_m)))
        same = [e for e in dets if abs(e.y_m - result.y_m[j]) <= 0.5 * abs(result.y_m[1] - result.y_m[0]) + 1e-9
                or e is d]
        paths.append(_section(result, out / f"{stem}_det{n + 1:02d}_section.png",
                              f"{stem}: detection {n + 1} (score {d.score:.2f}), x-z section at y = "
                              f"{result.y_m[j]:.3f} m", j, same, t))
    return paths
