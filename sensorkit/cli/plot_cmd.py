"""`sensorkit plot FILE (--bscan | --depth-slice D | --section x=X|y=Y) --out PNG`: GPR data or images to PNG.

FILE is a migrated image (IMG.h5 from `sensorkit migrate`, or a recording with /results/migration/<name>),
a recording with GPR streams, or a raw GPR file. On an image: --depth-slice D (m) maps a 3D image at depth D,
--section y=Y / x=X draws the x-z / y-z section, --bscan (or --section alone) the x-z image of a line. On GPR
data: --bscan draws one line (--stream NAME; two-way time in ns, or depth in m with --velocity); --depth-slice
and --section grid the lines (--line-spacing for files without y) and convert time to depth with --velocity.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "plot", help="B-scans, depth slices and cross-sections to PNG",
        description="Plot a migrated image (IMG.h5) or GPR data (recording or raw file) to a PNG with axes in "
                    "metres (or ns) and a colour bar.")
    parser.add_argument("file", type=Path, metavar="FILE", help="IMG.h5, a recording (.h5) or a GPR file")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--bscan", action="store_true", help="a B-scan of a line (or the x-z image of a line)")
    what.add_argument("--depth-slice", type=float, metavar="D", help="x-y map at depth D (m)")
    what.add_argument("--section", nargs="?", const="", metavar="x=X|y=Y",
                      help="vertical section: x-z at y=Y (m) or y-z at x=X (m); alone for a line image")
    parser.add_argument("--out", required=True, type=Path, help="the PNG to write")
    parser.add_argument("--force", action="store_true", help="overwrite an existing PNG")
    parser.add_argument("--stream", help="the GPR stream (line) to plot (default: the first)")
    parser.add_argument("--velocity", type=float, metavar="M_PER_NS",
                        help="GPR data: convert two-way time to depth with this ground velocity (m/ns)")
    parser.add_argument("--line-spacing", type=float, metavar="M", help="GPR data: line n at y = n * M")
    parser.add_argument("--envelope", action="store_true", help="plot the amplitude envelope")
    parser.add_argument("--signed", action="store_true", help="depth slice: signed amplitude, not the envelope")
    parser.add_argument("--json", action="store_true", help="print what was written as JSON")
    parser.set_defaults(run=run)


def _section_position(text: str) -> tuple[str, float] | None:
    if text == "":
        return None
    key, sep, value = text.partition("=")
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not sep or key.strip() not in ("x", "y") or not math.isfinite(number):
        raise ValueError(f"--section: expected x=X or y=Y in metres, found {text!r}")
    return key.strip(), number


def _velocity_mps(args) -> float:
    if args.velocity is None:
        raise ValueError("--velocity: expected the ground velocity (m/ns) to convert the GPR data's time to depth")
    if not (0 < args.velocity < 0.3):
        raise ValueError(f"--velocity: expected a ground velocity in m/ns between 0 and 0.3, found {args.velocity!r}")
    return args.velocity * 1e9


def _pick_line(lines, name: str | None):
    if name is None:
        return lines[0]
    for line in lines:
        if line.name == name:
            return line
    raise ValueError(f"--stream: expected one of {[line.name for line in lines]}, found {name!r}")


def _data_volume(args):
    """(image, x_m, y_m, depth_m) of GPR data gridded and converted to depth (t >= time zero only)."""
    from sensorkit.gpr.gridding import grid_lines
    from sensorkit.gpr.load import load_gpr

    lines = load_gpr([args.file], line_spacing_m=args.line_spacing)
    v = _velocity_mps(args)
    cube = grid_lines(lines)
    k0 = int(math.ceil(max(0.0, float(lines[0].time_zero_s)) / cube.dt_s - 1e-9))
    data = cube.data[..., k0:]
    depth = (np.arange(data.shape[-1]) + k0) * cube.dt_s - float(lines[0].time_zero_s)
    depth = depth * v / 2.0
    if data.shape[1] == 1:
        return data[:, 0, :], cube.x_m, None, depth
    return data, cube.x_m, cube.y_m, depth


def run(args) -> int:
    from sensorkit import plots
    from sensorkit.gpr.load import is_migrated_image, load_gpr, load_image

    if args.out.exists() and not args.force:
        raise FileExistsError(f"{args.out}: exists; use --force to overwrite it")
    if not args.file.is_file():
        raise FileNotFoundError(f"{args.file}: no such file")
    section = _section_position(args.section) if args.section is not None else None
    is_image = args.file.suffix.lower() in (".h5", ".hdf5") and is_migrated_image(args.file)
    title = args.file.stem
    if args.bscan and not is_image:
        line = _pick_line(load_gpr([args.file], line_spacing_m=args.line_spacing), args.stream)
        traces = np.asarray(line.traces)
        if traces.ndim != 2:
            raise ValueError(f"{args.file}: stream {line.name!r} is a multi-channel swath {traces.shape}; plot its "
                             f"gridded sections with --section")
        x = np.asarray(line.trace_meta["x_m"], dtype=np.float64)
        x = x if np.all(np.isfinite(x)) else None
        if args.velocity is None:
            path = plots.plot_bscan(traces, x_m=x, dt_s=line.dt_s, out=args.out, envelope=args.envelope,
                                    title=title if line.name == title else f"{title}: {line.name}")
        else:
            depth = (np.arange(line.n_samples) * line.dt_s - line.time_zero_s) * _velocity_mps(args) / 2.0
            path = plots.plot_bscan(traces, x_m=x, depth_m=depth, out=args.out, envelope=args.envelope,
                                    title=title if line.name == title else f"{title}: {line.name}")
    else:
        if is_image:
            img = load_image(args.file)
            image, x, y, depth = img.image, img.x_m, img.y_m, img.depth_m
            title = f"{title}: {img.method}"
        else:
            image, x, y, depth = _data_volume(args)
        if args.depth_slice is not None:
            path = plots.plot_depth_slice(image, x, y, depth, depth=args.depth_slice, out=args.out,
                                          envelope=not args.signed, title=f"{title}, depth slice at "
                                          f"{depth[int(np.argmin(np.abs(depth - args.depth_slice)))]:.3f} m")
        elif y is None:
            if section is not None:
                raise ValueError(f"--section: {args.file} holds a line (x-z image); give --section alone or "
                                 f"--bscan")
            path = plots.plot_section(image, x, None, depth, out=args.out, envelope=args.envelope, title=title)
        else:
            if section is None:
                raise ValueError(f"--section: {args.file} holds a 3D image; expected x=X or y=Y (m)")
            key, value = section
            path = plots.plot_section(image, x, y, depth, out=args.out, envelope=args.envelope,
                                      x=value if key == "x" else None, y=value if key == "y" else None,
                                      title=f"{title}, section at {key} = {value:g} m")
    width, height = (int(round(v * plots.DPI)) for v in plots.FIGSIZE_IN)
    if args.json:
        print(json.dumps({"out": str(path), "width_px": width, "height_px": height}))
    else:
        print(f"{path}: {width} x {height} px")
    return 0
