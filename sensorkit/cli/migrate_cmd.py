"""`sensorkit migrate INPUT... --out IMG.h5`: GPR lines or a grid -> pre-processing -> (gridding) -> migration.

    sensorkit migrate ../shared/data/gpr/grid3d-dune400/*.DZT --line-spacing 0.2 --velocity 0.06 \\
        --time-zero 14 --method kirchhoff --out IMG.h5 --plot DIR

INPUT: recordings (.h5, every GPR stream) and/or raw files (DZT, DT1, RD3, SEG-Y, ...). One line gives a 2D
migration (nx, nz); several lines are gridded (sensorkit.gpr.gridding.grid_lines) and migrated in 3D
(nx, ny, nz). IMG.h5 holds the layout of DESIGN.md ("migrated image"): dataset ``image`` float32 with
``x_m``, ``y_m`` (3D) and ``depth_m`` beside it, attributes method, velocity_mps, velocity_m_per_ns, eps_r,
time_zero_ns and ``parameters`` (JSON text: migration, pre-processing, gridding, inputs); 3D images also get
``mask`` (nx, ny), True where the cell held traces.

Progress bars (stderr): over the lines while pre-processing, and over the migration: Kirchhoff runs in
depth slabs (one tick a slab); Stolt and phase-shift migrate the whole volume at once (one tick).
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

C0_M_PER_NS = 0.299792458
METHODS = {"kirchhoff": "kirchhoff", "stolt": "stolt", "phase-shift": "phase_shift"}
N_SLABS = 20  # Kirchhoff depth slabs (progress ticks)


def _time_zero(text: str):
    if text in ("auto", "file"):
        return text
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"--time-zero: expected a time in ns, 'auto' or 'file', found {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"--time-zero: expected a time >= 0 ns, found {text!r}")
    return value


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "migrate", help="migrate GPR lines (2D) or a grid of lines (3D) into a depth image IMG.h5",
        description="Pre-process (dewow, time zero, background removal, band-pass, gain), grid several lines "
                    "into a cube, and migrate (Kirchhoff, Stolt or phase-shift) into a depth image. Inputs: "
                    "recordings (.h5) or raw GPR files. Velocities in m/ns, times in ns, distances in m.")
    parser.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="recordings (.h5) or GPR files")
    parser.add_argument("--out", required=True, type=Path, help="the image file to write (IMG.h5)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing output file")
    parser.add_argument("--method", choices=sorted(METHODS), default="kirchhoff", help="migration method "
                        "(default kirchhoff)")
    speed = parser.add_mutually_exclusive_group()
    speed.add_argument("--velocity", type=float, metavar="M_PER_NS", help="ground velocity (m/ns)")
    speed.add_argument("--eps-r", type=float, metavar="EPS_R", help="ground relative permittivity")
    speed.add_argument("--auto-velocity", action="store_true",
                       help="estimate the velocity from diffraction hyperbolae (prints estimate and confidence)")
    parser.add_argument("--line-spacing", type=float, metavar="M",
                        help="parallel lines along x, line n at y = n * M (for files without y positions)")
    parser.add_argument("--depth-max", type=float, metavar="M", help="deepest image depth (default: the "
                        "record's reach)")
    parser.add_argument("--dz", type=float, metavar="M", help="depth step (default velocity * dt / 2)")
    parser.add_argument("--aperture", type=float, metavar="M", help="Kirchhoff aperture (default 0.5 m)")
    parser.add_argument("--max-angle", type=float, metavar="DEG", help="Kirchhoff angle limit (default 60)")
    parser.add_argument("--antenna-height", type=float, metavar="M",
                        help="antenna height above the ground (default: the file's, 0 if none)")
    parser.add_argument("--no-refraction", action="store_true",
                        help="straight rays at the ground velocity from a raised antenna (for comparison)")
    parser.add_argument("--time-zero", type=_time_zero, metavar="NS|auto|file",
                        help="time zero in ns from sample 0; 'auto' picks the first break (default), 'file' "
                             "takes the file's (default with --no-preprocess)")
    parser.add_argument("--no-preprocess", action="store_true",
                        help="no dewow, background removal, band-pass or gain (time zero is still applied)")
    parser.add_argument("--plot", type=Path, metavar="DIR",
                        help="write PNGs: a depth slice at the brightest depth and a cross-section through it")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(run=run)


# ---------------------------------------------------------------------------------------------------- stages

def _progress(**kwargs):
    from tqdm import tqdm

    return tqdm(file=sys.stderr, leave=False, dynamic_ncols=True, **kwargs)


def _preprocess_config(args):
    from sensorkit.gpr.preprocess import PreprocessConfig

    if args.no_preprocess:
        return PreprocessConfig(dewow_window_ns=0.0, background="none", bandpass_mhz=(0.0, 0.0), gain="none")
    return PreprocessConfig()


def _time_zero_ns(args, lines) -> tuple[list[float], str]:
    """Time zero of each line (ns from sample 0) and how it was chosen."""
    from sensorkit.gpr.preprocess import pick_time_zero_ns

    mode = args.time_zero if args.time_zero is not None else ("file" if args.no_preprocess else "auto")
    if mode == "file":
        return [max(0.0, float(line.time_zero_s) * 1e9) for line in lines], "file"
    if mode == "auto":
        traces = np.concatenate([np.asarray(line.traces).reshape(-1, line.n_samples) for line in lines])
        t0 = pick_time_zero_ns(traces, lines[0].dt_s)
        return [t0] * len(lines), "first break (median over all traces)"
    return [float(mode)] * len(lines), "given"


def _check_lines(lines) -> None:
    from sensorkit.gpr.load import check_same_sampling

    check_same_sampling(lines, "inputs")
    first = lines[0]
    if len(lines) > 1 or np.asarray(first.traces).ndim == 3:
        for line in lines:
            if not np.all(np.isfinite(line.trace_meta["y_m"])):
                raise ValueError(f"inputs: line {line.name!r} has no y position (the file gives only the distance "
                                 f"along the line); give --line-spacing M for parallel lines")
    for line in lines:
        if not np.all(np.isfinite(line.trace_meta["x_m"])):
            raise ValueError(f"inputs: line {line.name!r} has traces without an x position; record or import it "
                             f"with positions (encoder, scans per metre)")


def _preprocess(lines, config, t0s):
    from sensorkit.gpr.preprocess import preprocess_line

    out = []
    for line, t0 in zip(_progress(iterable=lines, desc="preprocess", unit="line", total=len(lines)), t0s):
        cfg = dataclasses.replace(config, time_zero_ns=t0)
        tr = np.asarray(line.traces)
        if tr.ndim == 3:  # a swath: each channel is a line of its own
            parts = [preprocess_line(tr[:, c, :], line.dt_s, cfg, centre_frequency_hz=line.centre_frequency_hz)[0]
                     for c in range(tr.shape[1])]
            traces = np.stack(parts, axis=1)
        else:
            traces = preprocess_line(tr, line.dt_s, cfg, centre_frequency_hz=line.centre_frequency_hz)[0]
        out.append(dataclasses.replace(line, traces=traces, time_zero_s=0.0))
    return out


def _regular_line(line) -> tuple[np.ndarray, np.ndarray] | None:
    """(traces, x) of a line whose x steps are regular and increasing, else None."""
    x = np.asarray(line.trace_meta["x_m"], dtype=np.float64)
    if x.size < 2:
        return None
    steps = np.diff(x)
    step = float(steps.mean())
    if step > 0 and np.max(np.abs(steps - step)) <= 1e-6 * step:
        return np.asarray(line.traces, dtype=np.float32), x
    return None


def _velocity(args, data, dt_s, x_m, cube, height_m: float) -> tuple[float, str, dict]:
    """(velocity m/s, source, details)."""
    if args.velocity is not None:
        if not (0 < args.velocity < C0_M_PER_NS):
            raise ValueError(f"--velocity: expected a ground velocity in m/ns between 0 and {C0_M_PER_NS}, "
                             f"found {args.velocity!r}")
        return args.velocity * 1e9, "given", {}
    if args.eps_r is not None:
        if not (math.isfinite(args.eps_r) and args.eps_r > 1.0):
            raise ValueError(f"--eps-r: expected a relative permittivity > 1, found {args.eps_r!r}")
        return C0_M_PER_NS / math.sqrt(args.eps_r) * 1e9, "given as eps_r", {}
    if args.auto_velocity:
        try:
            from sensorkit.gpr import velocity as vel
        except ImportError:
            raise ValueError("--auto-velocity: velocity analysis (sensorkit.gpr.velocity) is not available in "
                             "this installation; give --velocity or --eps-r") from None
        if cube is not None:
            est = vel.estimate_velocity_cube(cube, antenna_height_m=height_m)
        else:
            est = vel.estimate_velocity_line(data, dt_s=dt_s, dx_m=float(x_m[1] - x_m[0]), antenna_height_m=height_m)
        if not math.isfinite(est.velocity_mps):
            raise ValueError(f"--auto-velocity: no diffraction hyperbola found ({est.n_hyperbolae} counted); give "
                             f"--velocity M_PER_NS or --eps-r EPS_R")
        details = {"confidence": float(est.confidence), "n_hyperbolae": int(est.n_hyperbolae)}
        print(f"sensorkit migrate: estimated velocity {est.velocity_mps * 1e-9:.4f} m/ns (eps_r {est.eps_r:.2f}, "
              f"confidence {est.confidence:.2f})", file=sys.stderr)
        return float(est.velocity_mps), "estimated from diffractions", details
    raise ValueError("velocity: expected --velocity M_PER_NS, --eps-r EPS_R or --auto-velocity")


def _migration_config(args, velocity_mps: float, height_m: float):
    from sensorkit.gpr.migration import KirchhoffConfig, PhaseShiftConfig, StoltConfig

    refraction = not args.no_refraction
    if args.method != "kirchhoff":
        for flag, value in (("--aperture", args.aperture), ("--max-angle", args.max_angle)):
            if value is not None:
                raise ValueError(f"{flag}: applies to --method kirchhoff only, found --method {args.method}")
    if args.method == "kirchhoff":
        extra = {}
        if args.aperture is not None:
            extra["aperture_m"] = args.aperture
        if args.max_angle is not None:
            extra["max_angle_deg"] = args.max_angle
        return KirchhoffConfig(velocity_mps=velocity_mps, height_m=height_m, refraction=refraction, **extra)
    if args.method == "stolt":
        return StoltConfig(velocity_mps=velocity_mps, height_m=height_m, refraction=refraction)
    return PhaseShiftConfig(layer_tops_m=(0.0,), velocities_mps=(velocity_mps,), height_m=height_m,
                            refraction=refraction)


def _depth_axis(args, n_samples: int, dt_s: float, config) -> np.ndarray:
    from sensorkit.gpr.migration import default_depth_axis_m

    reach = default_depth_axis_m(n_samples, dt_s, config)
    dz = float(reach[1] - reach[0]) if reach.size > 1 else 0.01
    if args.dz is not None:
        if not (math.isfinite(args.dz) and args.dz > 0):
            raise ValueError(f"--dz: expected a depth step > 0 m, found {args.dz!r}")
        dz = args.dz
    z_max = float(reach[-1])
    if args.depth_max is not None:
        if not (math.isfinite(args.depth_max) and args.depth_max > 0):
            raise ValueError(f"--depth-max: expected a depth > 0 m, found {args.depth_max!r}")
        z_max = args.depth_max
    return np.arange(int(math.floor(z_max / dz + 1e-9)) + 1) * dz


def _migrate(data, dt_s, x_m, y_m, depth_m, config):
    """MigratedImage; Kirchhoff in depth slabs with a progress bar."""
    from sensorkit.gpr.migration import KirchhoffConfig, migrate

    if not isinstance(config, KirchhoffConfig):
        with _progress(total=1, desc=f"migrate ({config.method}, whole volume)", unit="run") as bar:
            image = migrate(data, dt_s=dt_s, x_m=x_m, y_m=y_m, depth_m=depth_m, config=config)
            bar.update(1)
        return image
    slabs = [s for s in np.array_split(np.arange(depth_m.size), min(N_SLABS, depth_m.size)) if s.size]
    parts = []
    first = None
    with _progress(total=len(slabs), desc="migrate (kirchhoff, depth slabs)", unit="slab") as bar:
        for s in slabs:
            part = migrate(data, dt_s=dt_s, x_m=x_m, y_m=y_m, depth_m=depth_m[s], config=config)
            first = first or part
            parts.append(part.image)
            bar.update(1)
    return dataclasses.replace(first, image=np.ascontiguousarray(np.concatenate(parts, axis=-1)),
                               depth_m=np.asarray(depth_m, dtype=np.float64))


def write_image(path: Path, image, *, attrs: dict, parameters: dict, mask=None) -> None:
    """Write a MigratedImage as DESIGN.md's layout: datasets image, x_m, (y_m,) depth_m, (mask); attrs on the
    image dataset (and the root): method, the scalar ``attrs``, and ``parameters`` as JSON text."""
    import h5py

    from sensorkit import __version__

    with h5py.File(path, "w") as f:
        f.attrs["format"] = "sensorkit-migrated-image"
        f.attrs["format_version"] = "1.0"
        f.attrs["software"] = f"sensorkit {__version__}"
        f.attrs["created_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        ds = f.create_dataset("image", data=np.asarray(image.image, dtype=np.float32), compression="gzip",
                              compression_opts=1, shuffle=True)
        ds.attrs["dims"] = "x, y, depth" if image.y_m is not None else "x, depth"
        f.create_dataset("x_m", data=np.asarray(image.x_m, dtype=np.float64))
        if image.y_m is not None:
            f.create_dataset("y_m", data=np.asarray(image.y_m, dtype=np.float64))
        f.create_dataset("depth_m", data=np.asarray(image.depth_m, dtype=np.float64))
        if mask is not None:
            f.create_dataset("mask", data=np.asarray(mask, dtype=bool))
        text = json.dumps(parameters)
        for obj in (ds, f):
            obj.attrs["method"] = image.method
            obj.attrs["parameters"] = text
            for key, value in attrs.items():
                obj.attrs[key] = value


def _plots(out_dir: Path, stem: str, image, min_depth_m: float) -> tuple[list[str], dict]:
    """A depth slice (envelope) at the brightest depth (the largest RMS envelope between min_depth_m and 95 %
    of the deepest depth, away from the end of the record) and an x-z section through its brightest voxel."""
    from sensorkit.plots import brightest_depth_index, image_envelope, plot_depth_slice, plot_section

    env = image_envelope(image.image)
    k = brightest_depth_index(env, image.depth_m, min_depth_m=min_depth_m,
                              max_depth_m=0.95 * float(image.depth_m[-1]), is_envelope=True)
    z = float(image.depth_m[k])
    out_dir.mkdir(parents=True, exist_ok=True)
    if image.y_m is None:
        path = plot_section(image.image, image.x_m, None, image.depth_m, out=out_dir / f"{stem}_section.png",
                            title=f"{stem}: {image.method} image")
        return [str(path)], {"brightest_depth_m": z}
    i, j = np.unravel_index(int(np.argmax(env[:, :, k])), env.shape[:2])
    y = float(image.y_m[j])
    p1 = plot_depth_slice(env, image.x_m, image.y_m, image.depth_m, depth=z, is_envelope=True,
                          out=out_dir / f"{stem}_depth_slice_{z:.3f}m.png",
                          title=f"{stem}: {image.method}, depth slice at {z:.3f} m (envelope)")
    p2 = plot_section(image.image, image.x_m, image.y_m, image.depth_m, y=y,
                      out=out_dir / f"{stem}_section_y_{y:.2f}m.png",
                      title=f"{stem}: {image.method}, x-z section at y = {y:.2f} m")
    return [str(p1), str(p2)], {"brightest_depth_m": z, "brightest_x_m": float(image.x_m[i]), "section_y_m": y}


# ----------------------------------------------------------------------------------------------------- run

def run(args) -> int:
    summary = migrate_to_file(args)
    print(json.dumps(summary) if args.json else _format_summary(summary))
    return 0


def migrate_to_file(args) -> dict:
    """Everything `sensorkit migrate` does but the printing: load, pre-process, grid, migrate, write args.out
    (and the plots); returns the summary the command prints (shape, extent, velocity, time zero, times_s)."""
    from sensorkit.gpr.load import load_gpr

    wall0 = time.perf_counter()
    times: dict[str, float] = {}
    if args.out.exists() and not args.force:
        raise FileExistsError(f"{args.out}: exists; use --force to overwrite it")
    if args.line_spacing is not None and not (math.isfinite(args.line_spacing) and args.line_spacing > 0):
        raise ValueError(f"--line-spacing: expected a spacing > 0 m, found {args.line_spacing!r}")

    t = time.perf_counter()
    lines = load_gpr(args.inputs, line_spacing_m=args.line_spacing)
    _check_lines(lines)
    times["load_s"] = time.perf_counter() - t

    t = time.perf_counter()
    t0s, t0_source = _time_zero_ns(args, lines)
    pre_config = _preprocess_config(args)
    lines = _preprocess(lines, pre_config, t0s)
    n_kept = min(line.n_samples for line in lines)
    lines = [line if line.n_samples == n_kept else dataclasses.replace(line, traces=line.traces[..., :n_kept])
             for line in lines]
    times["preprocess_s"] = time.perf_counter() - t

    t = time.perf_counter()
    dt_s = float(lines[0].dt_s)
    cube = None
    mask = None
    regular = _regular_line(lines[0]) if len(lines) == 1 and np.asarray(lines[0].traces).ndim == 2 else None
    if regular is not None:
        data, x_m = regular
        y_m = None
        gridding = {"mode": "line", "cell_x_m": float(x_m[1] - x_m[0])}
    else:
        from sensorkit.gpr.gridding import grid_lines

        if len(lines) == 1 and not np.all(np.isfinite(lines[0].trace_meta["y_m"])):  # one irregular line
            meta = np.array(lines[0].trace_meta, copy=True)
            meta["y_m"] = 0.0
            lines = [dataclasses.replace(lines[0], trace_meta=meta)]
        cube = grid_lines(lines)
        x_m, y_m, mask = cube.x_m, cube.y_m, cube.mask
        gridding = {"mode": "grid", "cell_x_m": cube.cell_x_m, "cell_y_m": cube.cell_y_m,
                    "filled_cells": int(mask.sum()), "cells": int(mask.size)}
        if cube.data.shape[1] == 1:  # one irregular line, or lines all at one y: a 2D image
            data, y_m, mask, cube = cube.data[:, 0, :], None, None, None
            gridding["mode"] = "line (gridded along x)"
        else:
            data = cube.data
    times["grid_s"] = time.perf_counter() - t
    if data.shape[0] < 2:
        raise ValueError(f"inputs: expected at least 2 trace positions along x to migrate, found {data.shape[0]}")

    t = time.perf_counter()
    file_height = float(lines[0].antenna_height_m)
    height_m = args.antenna_height if args.antenna_height is not None else \
        (file_height if math.isfinite(file_height) else 0.0)
    if not (math.isfinite(height_m) and height_m >= 0):
        raise ValueError(f"--antenna-height: expected a height >= 0 m, found {height_m!r}")
    velocity_mps, v_source, v_details = _velocity(args, data, dt_s, x_m, cube, height_m)
    times["velocity_s"] = time.perf_counter() - t
    config = _migration_config(args, velocity_mps, height_m)
    depth_m = _depth_axis(args, data.shape[-1], dt_s, config)

    t = time.perf_counter()
    image = _migrate(data, dt_s, x_m, y_m, depth_m, config)
    times["migrate_s"] = time.perf_counter() - t

    t = time.perf_counter()
    eps_r = (C0_M_PER_NS / (velocity_mps * 1e-9)) ** 2
    parameters = {
        "migration": image.params, "method": image.method,
        "velocity": {"velocity_mps": velocity_mps, "velocity_m_per_ns": velocity_mps * 1e-9, "eps_r": eps_r,
                     "source": v_source, **v_details},
        "time_zero_ns": sorted(set(t0s)) if len(set(t0s)) > 1 else t0s[0], "time_zero_source": t0_source,
        "preprocess": None if args.no_preprocess else pre_config.to_json(),
        "gridding": gridding,
        "inputs": [str(p) for p in args.inputs], "lines": [line.name for line in lines],
    }
    attrs = {"velocity_mps": velocity_mps, "velocity_m_per_ns": velocity_mps * 1e-9, "eps_r": eps_r,
             "time_zero_ns": float(np.median(t0s)), "antenna_height_m": height_m}
    if args.out.exists() and not args.force:
        raise FileExistsError(f"{args.out}: exists; use --force to overwrite it")
    tmp = args.out.with_name(args.out.name + ".partial")
    try:
        write_image(tmp, image, attrs=attrs, parameters=parameters, mask=mask)
        tmp.replace(args.out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    times["write_s"] = time.perf_counter() - t

    pngs, where = [], {}
    if args.plot is not None:
        t = time.perf_counter()
        fc = float(lines[0].centre_frequency_hz)
        min_depth = velocity_mps / fc if math.isfinite(fc) and fc > 0 else 0.1 * float(depth_m[-1])
        pngs, where = _plots(args.plot, args.out.stem, image, min(min_depth, 0.5 * float(depth_m[-1])))
        times["plot_s"] = time.perf_counter() - t
    times["wall_s"] = time.perf_counter() - wall0

    summary = {
        "out": str(args.out), "method": image.method, "dims": 3 if image.y_m is not None else 2,
        "shape": list(image.image.shape), "n_lines": len(lines),
        "x_m": [float(image.x_m[0]), float(image.x_m[-1])],
        "y_m": None if image.y_m is None else [float(image.y_m[0]), float(image.y_m[-1])],
        "depth_m": [float(depth_m[0]), float(depth_m[-1])], "dz_m": float(depth_m[1] - depth_m[0])
        if depth_m.size > 1 else None,
        "velocity_m_per_ns": velocity_mps * 1e-9, "eps_r": eps_r, "velocity_source": v_source, **v_details,
        "time_zero_ns": float(np.median(t0s)), "time_zero_source": t0_source,
        "plots": pngs, **where, "times_s": {k: round(v, 3) for k, v in times.items()},
    }
    return summary


def _format_summary(s: dict) -> str:
    shape = " x ".join(str(n) for n in s["shape"])
    extent = f"x {s['x_m'][0]:.2f}..{s['x_m'][1]:.2f} m"
    if s["y_m"] is not None:
        extent += f", y {s['y_m'][0]:.2f}..{s['y_m'][1]:.2f} m"
    extent += f", depth {s['depth_m'][0]:.3f}..{s['depth_m'][1]:.3f} m"
    rows = [f"{s['out']}: {s['method']} {s['dims']}D image {shape} ({extent}) from {s['n_lines']} line(s)",
            f"velocity {s['velocity_m_per_ns']:.4f} m/ns (eps_r {s['eps_r']:.2f}, {s['velocity_source']}"
            + (f", confidence {s['confidence']:.2f}" if "confidence" in s else "") + ")"
            + f"; time zero {s['time_zero_ns']:.2f} ns ({s['time_zero_source']})"]
    if "brightest_depth_m" in s:
        rows.append(f"brightest depth {s['brightest_depth_m']:.3f} m; plots: " + ", ".join(s["plots"]))
    rows.append("wall time " + f"{s['times_s']['wall_s']:.1f} s (" + ", ".join(
        f"{k[:-2]} {v:.1f}" for k, v in s["times_s"].items() if k != "wall_s") + ")")
    return "\n".join(rows)
