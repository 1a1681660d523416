"""PNG plots of GPR data and migrated images: B-scans, depth slices, cross-sections. Files only, never a window.

Every function draws on its own matplotlib Figure rendered by the Agg canvas (no pyplot, no global backend
state) and writes a PNG of exactly figsize_in x dpi pixels (default 8 x 5 in at 100 dpi: 800 x 500). Axes are
in metres (x, y, depth) or nanoseconds (two-way time), each plot has a colour bar.

    plot_bscan(traces, x_m=x, dt_s=dt, out="line.png")                # time in ns down
    plot_depth_slice(image, x_m, y_m, depth_m, depth=0.4, out="slice.png")
    plot_section(image, x_m, y_m, depth_m, y=1.2, out="xz.png")       # x-z section at y = 1.2 m

Images are (nx, ny, nz) with coordinates x_m (nx,), y_m (ny,), depth_m (nz,), or (nx, nz) for a line
(y_m None). ``envelope=True`` draws the amplitude envelope along depth (sensorkit.kernels envelope) rather
than the signed amplitude.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["FIGSIZE_IN", "DPI", "brightest_depth_index", "image_envelope", "new_figure", "pixel_edges", "plot_bscan",
           "plot_depth_slice", "plot_section", "save_png"]

FIGSIZE_IN = (8.0, 5.0)
DPI = 100


def new_figure(figsize_in=FIGSIZE_IN):
    """A matplotlib Figure of figsize_in (width, height) inches at DPI, constrained layout, on the Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize_in, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_png(fig, out) -> Path:
    """Write fig as a PNG at DPI to out (its folder made when missing); returns the path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png", dpi=DPI)
    return out


def pixel_edges(centres: np.ndarray) -> tuple[float, float]:
    """Extent of pixel edges around regularly spaced centres (half a step beyond each end)."""
    c = np.asarray(centres, dtype=np.float64)
    if c.size < 2:
        return float(c[0]) - 0.5, float(c[0]) + 0.5
    step = (c[-1] - c[0]) / (c.size - 1)
    return float(c[0] - step / 2), float(c[-1] + step / 2)


def _limits(values: np.ndarray, signed: bool) -> tuple[float, float]:
    """Colour limits: +-99th percentile of |v| (signed) or 0..99.5th percentile (non-negative)."""
    a = np.abs(values[np.isfinite(values)])
    top = float(np.percentile(a, 99.0 if signed else 99.5)) if a.size else 1.0
    top = top if top > 0 else (float(a.max()) if a.size and a.max() > 0 else 1.0)
    return (-top, top) if signed else (0.0, top)


def _draw(fig, panel: np.ndarray, extent, xlabel: str, ylabel: str, title: str, label: str, signed: bool,
          aspect="auto", origin="upper"):
    """imshow of panel (rows down the plot for origin "upper", up the plot for "lower") with a colour bar."""
    ax = fig.add_subplot(1, 1, 1)
    vmin, vmax = _limits(panel, signed)
    im = ax.imshow(panel, extent=extent, aspect=aspect, cmap="seismic" if signed else "viridis", vmin=vmin,
                   vmax=vmax, interpolation="nearest", origin=origin)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label=label)
    return ax


def image_envelope(image: np.ndarray) -> np.ndarray:
    """Amplitude envelope along the last (depth) axis, float32 of the image's shape.

    The depth axis is zero-padded to twice its length first, so that the circular Hilbert transform does not
    wrap the strong shallow image into the deepest depths.
    """
    from sensorkit.kernels.gpr_filters import envelope

    a = np.asarray(image, dtype=np.float32)
    n = a.shape[-1]
    padded = np.zeros(a.shape[:-1] + (2 * n,), dtype=np.float32)
    padded[..., :n] = a
    return np.ascontiguousarray(envelope(padded)[..., :n])


def brightest_depth_index(image: np.ndarray, depth_m: np.ndarray, *, min_depth_m: float = 0.0,
                          max_depth_m: float = np.inf, is_envelope: bool = False) -> int:
    """Index of the depth whose slice has the largest RMS envelope, among min_depth_m <= depth <= max_depth_m.

    image (nx, nz) or (nx, ny, nz) (is_envelope: already its envelope); depth_m (nz,). When no depth lies in
    that range, all depths count.
    """
    z = np.asarray(depth_m, dtype=np.float64)
    env = np.asarray(image) if is_envelope else image_envelope(image)
    rms = np.sqrt(np.mean(env.reshape(-1, env.shape[-1]).astype(np.float64) ** 2, axis=0))
    allowed = (z >= min_depth_m) & (z <= max_depth_m)
    if not allowed.any():
        allowed[:] = True
    rms[~allowed] = -1.0
    return int(np.argmax(rms))


def _check_image(image, x_m, y_m, depth_m) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    a = np.asarray(image, dtype=np.float32)
    x = np.asarray(x_m, dtype=np.float64)
    z = np.asarray(depth_m, dtype=np.float64)
    y = None if y_m is None else np.asarray(y_m, dtype=np.float64)
    expected = (x.size, z.size) if y is None else (x.size, y.size, z.size)
    if a.shape != expected:
        raise ValueError(f"image: expected shape {expected} from the coordinates (x_m, {'' if y is None else 'y_m, '}"
                         f"depth_m), found {a.shape}")
    return a, x, y, z


def _nearest(name: str, axis: np.ndarray, value: float) -> int:
    lo, hi = float(axis.min()), float(axis.max())
    step = float(np.median(np.abs(np.diff(axis)))) if axis.size > 1 else 0.0
    if not (lo - step / 2 - 1e-9 <= value <= hi + step / 2 + 1e-9):
        raise ValueError(f"{name}: expected a value within the image's {lo:.4g} .. {hi:.4g} m, found {value!r}")
    return int(np.argmin(np.abs(axis - value)))


def plot_bscan(traces, *, out, x_m=None, dt_s: float | None = None, depth_m=None, title: str = "B-scan",
               envelope: bool = False, figsize_in=FIGSIZE_IN) -> Path:
    """B-scan of a line: traces (n_traces, n_samples), x along the line (x_m (n_traces,), m; None: trace index),
    down: two-way time in ns (dt_s) or depth in m (depth_m (n_samples,)). Returns the PNG path."""
    a = np.asarray(traces, dtype=np.float32)
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"traces: expected a line (n_traces, n_samples), found shape {a.shape}")
    if (dt_s is None) == (depth_m is None):
        raise ValueError("plot_bscan: expected exactly one of dt_s (time axis) or depth_m (depth axis)")
    if x_m is None:
        x, xlabel = np.arange(a.shape[0], dtype=np.float64), "trace"
    else:
        x, xlabel = np.asarray(x_m, dtype=np.float64), "x (m)"
        if x.shape != (a.shape[0],):
            raise ValueError(f"x_m: expected {a.shape[0]} positions (one per trace), found shape {x.shape}")
    if depth_m is None:
        down, ylabel = np.arange(a.shape[1]) * float(dt_s) * 1e9, "two-way time (ns)"
    else:
        down, ylabel = np.asarray(depth_m, dtype=np.float64), "depth (m)"
        if down.shape != (a.shape[1],):
            raise ValueError(f"depth_m: expected {a.shape[1]} depths (one per sample), found shape {down.shape}")
    panel = image_envelope(a) if envelope else a
    x0, x1 = pixel_edges(x)
    d0, d1 = pixel_edges(down)
    fig = new_figure(figsize_in)
    _draw(fig, panel.T, (x0, x1, d1, d0), xlabel, ylabel, title, "envelope" if envelope else "amplitude",
          signed=not envelope)
    return save_png(fig, out)


def plot_depth_slice(image, x_m, y_m, depth_m, *, depth: float, out, title: str | None = None,
                     envelope: bool = True, is_envelope: bool = False, figsize_in=FIGSIZE_IN) -> Path:
    """Map (x, y) of a 3D image (nx, ny, nz) at the depth nearest ``depth`` (m). Returns the PNG path.

    envelope: map the envelope along depth (else the signed amplitude); is_envelope: ``image`` is already
    an envelope (image_envelope), drawn as it is."""
    if y_m is None:
        raise ValueError("image: a depth slice needs a 3D image (nx, ny, nz) with y_m; this is a line (nx, nz): "
                         "plot a section instead")
    a, x, y, z = _check_image(image, x_m, y_m, depth_m)
    k = _nearest("depth", z, float(depth))
    if is_envelope:
        envelope = True
        panel = a[:, :, k].T  # rows y, columns x
    else:
        panel = (image_envelope(a) if envelope else a)[:, :, k].T
    x0, x1 = pixel_edges(x)
    y0, y1 = pixel_edges(y)
    ratio = (y1 - y0) / (x1 - x0)
    fig = new_figure(figsize_in)
    _draw(fig, panel, (x0, x1, y0, y1), "x (m)", "y (m)", title or f"depth slice at {z[k]:.3f} m",
          "envelope" if envelope else "amplitude", signed=not envelope,
          aspect="equal" if 0.25 <= ratio <= 4.0 else "auto", origin="lower")  # a map: y grows upward
    return save_png(fig, out)


def plot_section(image, x_m, y_m, depth_m, *, out, x: float | None = None, y: float | None = None,
                 title: str | None = None, envelope: bool = False, figsize_in=FIGSIZE_IN) -> Path:
    """Vertical section of an image: x-z at ``y`` (m) or y-z at ``x`` (m) of a 3D image (nx, ny, nz); the whole
    x-z image of a line (nx, nz) (x and y None). Returns the PNG path."""
    a, xs, ys, z = _check_image(image, x_m, y_m, depth_m)
    if ys is None:
        if x is not None or y is not None:
            raise ValueError("section: a line image (nx, nz) has a single x-z section; give neither x nor y")
        panel, across, label, where = a, xs, "x (m)", ""
    elif (x is None) == (y is None):
        raise ValueError("section: expected exactly one of x=... (a y-z section) or y=... (an x-z section) in m")
    elif y is not None:
        j = _nearest("y", ys, float(y))
        panel, across, label, where = a[:, j, :], xs, "x (m)", f" at y = {ys[j]:.3f} m"
    else:
        i = _nearest("x", xs, float(x))
        panel, across, label, where = a[i, :, :], ys, "y (m)", f" at x = {xs[i]:.3f} m"
    if envelope:
        panel = image_envelope(panel)
    h0, h1 = pixel_edges(across)
    d0, d1 = pixel_edges(z)
    fig = new_figure(figsize_in)
    _draw(fig, panel.T, (h0, h1, d1, d0), label, "depth (m)", title or f"section{where}",
          "envelope" if envelope else "amplitude", signed=not envelope)
    return save_png(fig, out)
