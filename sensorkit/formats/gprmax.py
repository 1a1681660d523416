"""gprMax output files (.out, HDF5): simulated A-scans and merged B-scans.

Layout (gprMax 3.x ``write_hdf5_outputfile``)::

    /            attrs: gprMax (version), Title, Iterations, dt (s), nx_ny_nz, dx_dy_dz (m),
                        nsrc, nrx, srcsteps, rxsteps (cells per model run)
    /srcs/srcN   attrs: Type, Position (x, y, z in m)
    /rxs/rxN     attrs: Name (optional), Position (x, y, z in m);
                 datasets Ex Ey Ez (V/m), Hx Hy Hz (A/m), Ix Iy Iz (A):
                 shape (Iterations,) for one A-scan, or (Iterations, n_traces) in a B-scan merged by
                 ``tools.outputfiles_merge`` (which keeps fewer attributes: gprMax 3 only Title, gprMax,
                 Iterations, dt and nrx; later versions also the grid, steps and counts, never Position).

Trace positions x_m (the model's x axis taken as the survey line):

- ``trace_step_m`` given: x0 + index x trace_step_m;
- otherwise rxsteps[0] x dx when non-zero, else srcsteps[0] x dx (a common-receiver gather), else
  0 (a single A-scan, or a model that did not move);
- x0 = the receiver's Position x (the source's when only the source moves); when the file has no
  Position (merged files), x0 = 0; ``attrs["x_origin"]`` says which: "receiver", "source" or "first trace".
  When nothing gives a step for a merged file with several traces, x_m stays NaN.

Older files name two attributes "nx, ny, nz" and "dx, dy, dz"; both spellings are read.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from sensorkit.errors import FormatError
from sensorkit.formats.base import DeviceInfo, GprLine, Imported, new_trace_meta

COMPONENTS = ("Ex", "Ey", "Ez", "Hx", "Hy", "Hz", "Ix", "Iy", "Iz")
_UNITS = {"E": "V/m", "H": "A/m", "I": "A"}


def _plain(value):
    """An HDF5 attribute value as a JSON-able Python value (arrays to lists, bytes to text)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()] if value.ndim else _plain(value.item())
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _attrs(path: Path, obj) -> dict:
    try:
        return {str(key): _plain(obj.attrs[key]) for key in obj.attrs}
    except (OSError, KeyError, ValueError, TypeError) as error:
        raise FormatError(path, f"{obj.name} attributes", "readable HDF5 attributes", str(error)) from None


def _triple(path: Path, attrs: dict, names: tuple[str, ...], where: str = "/") -> list[float] | None:
    """The first present attribute of ``names`` as three finite floats; None when none is present."""
    for name in names:
        if name in attrs:
            value = attrs[name]
            try:
                triple = [float(v) for v in value]
            except (TypeError, ValueError):
                triple = []
            if len(triple) != 3 or not all(math.isfinite(v) for v in triple):
                field = name if where == "/" else f"{where} {name}"
                raise FormatError(path, field, "three finite numbers", value)
            return triple
    return None


def _scalar(path: Path, attrs: dict, name: str, *, positive: bool) -> float:
    if name not in attrs:
        raise FormatError(path, name, "a root attribute", "missing")
    value = attrs[name]
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise FormatError(path, name, "a number", value) from None
    if not math.isfinite(number) or (positive and number <= 0):
        raise FormatError(path, name, "a finite number > 0" if positive else "a finite number", value)
    return number


def _read_receiver(path: Path, handle, component: str, rx: int) -> tuple[dict, dict, dict, np.ndarray]:
    """(root attrs, receiver attrs, source attrs, data) of an open .out file, checked against Iterations."""
    import h5py

    root = _attrs(path, handle)
    iterations = _scalar(path, root, "Iterations", positive=True)
    if iterations != int(iterations):
        raise FormatError(path, "Iterations", "a whole number", root["Iterations"])
    iterations = int(iterations)
    rx_path = f"rxs/rx{rx}"
    group = handle.get(rx_path)
    if not isinstance(group, h5py.Group):
        raise FormatError(path, f"/{rx_path}", f"a receiver group (nrx = {root.get('nrx')})", "missing")
    if component not in group:
        raise FormatError(path, f"/{rx_path}/{component}", "a dataset of the requested component",
                          "missing; present: " + ", ".join(sorted(group.keys())))
    dataset = group[component]
    shape = getattr(dataset, "shape", None)
    if not isinstance(dataset, h5py.Dataset) or len(shape) not in (1, 2) or shape[0] != iterations or (
            len(shape) == 2 and shape[1] == 0):
        raise FormatError(path, f"/{rx_path}/{component}",
                          f"shape ({iterations},) or ({iterations}, n_traces > 0) (Iterations = {iterations})", shape)
    data = np.asarray(dataset[()])
    source = handle.get("srcs/src1")
    src_attrs = _attrs(path, source) if isinstance(source, h5py.Group) else {}
    return root, _attrs(path, group), src_attrs, data


def read_gprmax(path, component: str = "Ez", rx: int = 1, trace_step_m: float | None = None) -> Imported:
    """Read receiver ``rx`` of a gprMax .out file as one GprLine of float32 traces (n_traces, n_samples).

    component: one of Ex Ey Ez Hx Hy Hz Ix Iy Iz (units V/m, A/m or A). trace_step_m overrides the
    trace spacing taken from rxsteps/srcsteps (see the module docstring for x_m).
    """
    import h5py

    path = Path(path)
    if component not in COMPONENTS:
        raise ValueError(f"component must be one of {', '.join(COMPONENTS)}, got {component!r}")
    if trace_step_m is not None and not (math.isfinite(trace_step_m) and trace_step_m > 0):
        raise ValueError(f"trace_step_m must be finite and > 0, got {trace_step_m!r}")
    if not path.is_file():
        raise FormatError(path, "file", "an existing file", "no such file")
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise FormatError(path, "file", "an HDF5 file (gprMax .out)", str(error)) from None
    try:
        with handle:
            root, rx_attrs, src_attrs, data = _read_receiver(path, handle, component, rx)
    except FormatError:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as error:
        raise FormatError(path, f"/rxs/rx{rx}/{component}", "a readable gprMax output file", str(error)) from None
    dt_s = _scalar(path, root, "dt", positive=True)
    if data.dtype.kind not in "fiu":
        raise FormatError(path, f"/rxs/rx{rx}/{component}", "real numbers", str(data.dtype))

    traces = np.ascontiguousarray(np.atleast_2d(data.T), dtype=np.float32)
    n_traces = traces.shape[0]
    spacing = _triple(path, root, ("dx_dy_dz", "dx, dy, dz"))
    rx_steps = _triple(path, root, ("rxsteps",))
    src_steps = _triple(path, root, ("srcsteps",))
    rx_position = _triple(path, rx_attrs, ("Position",), f"/rxs/rx{rx}")
    src_position = _triple(path, src_attrs, ("Position",), "/srcs/src1")

    mover, step = "rx", trace_step_m
    if step is None and spacing is not None:
        if rx_steps is not None and rx_steps[0] != 0:
            step = rx_steps[0] * spacing[0]
        elif src_steps is not None and src_steps[0] != 0:
            mover, step = "src", src_steps[0] * spacing[0]
        elif rx_steps is not None or src_steps is not None:
            step = 0.0
    if step is None and n_traces == 1:
        step = 0.0
    origin = rx_position if mover == "rx" else src_position
    attrs: dict = {"component": component, "receiver": rx, "title": str(root.get("Title", "")),
                   "gprmax_version": str(root.get("gprMax", ""))}
    if isinstance(root.get("nrx"), int):
        attrs["nrx"] = root["nrx"]
    meta = new_trace_meta(n_traces)
    if step is not None:
        meta["x_m"] = (origin[0] if origin is not None else 0.0) + np.arange(n_traces) * step
        attrs["trace_step_m"] = step
        attrs["x_origin"] = "first trace" if origin is None else ("source" if mover == "src" else "receiver")
    for label, position in (("rx", rx_position), ("src", src_position)):
        if position is not None:
            for axis, value in zip("xyz", position):
                attrs[f"{label}_{axis}_m"] = value
    offset = math.dist(rx_position, src_position) if rx_position and src_position else math.nan

    device = DeviceInfo(kind="gpr", model="gprMax", firmware=str(root.get("gprMax", "")), port=str(path),
                        config={"title": attrs["title"], "dx_dy_dz_m": spacing, "source_type": src_attrs.get("Type")})
    name = path.stem if root.get("nrx", 1) == 1 else f"{path.stem}_rx{rx}"
    line = GprLine(name=name, traces=traces, dt_s=dt_s, trace_meta=meta, device=device,
                   antenna_offset_m=offset, units=_UNITS[component[0]], attrs=attrs,
                   source_header={"root": root, f"rxs/rx{rx}": rx_attrs, "srcs/src1": src_attrs})
    return Imported(source=path, format="gprmax", gpr=[line])
