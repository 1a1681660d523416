"""GPR lines from what a user has on disk: sensorkit recordings (.h5) or raw field files (DZT, DT1, RD3, ...).

    lines = load_gpr([Path("FILE____001.DZT"), Path("FILE____002.DZT")], line_spacing_m=0.2)

Raw files go through sensorkit.formats.read_any; recordings through sensorkit.store.Recording (every GPR
stream). The lines keep the order of ``inputs`` (and of the streams inside a recording, by name).
"""

from __future__ import annotations

import math
from pathlib import Path

from sensorkit.errors import FormatError
from sensorkit.formats.base import GprLine

__all__ = ["RECORDING_SUFFIXES", "check_same_sampling", "is_migrated_image", "load_gpr", "load_image"]

RECORDING_SUFFIXES = (".h5", ".hdf5")


def _recording_lines(path: Path) -> list[GprLine]:
    from sensorkit.store import Recording

    if not path.is_file():
        raise FormatError(path, "file", "an existing sensorkit recording", "no such file")
    with Recording(path) as rec:
        names = rec.gpr_names
        if not names:
            raise FormatError(path, "/gpr", "at least one GPR stream", "none")
        return [rec.gpr(name).to_line() for name in names]


def load_gpr(inputs, *, line_spacing_m: float | None = None, line_start_m: float = 0.0) -> list[GprLine]:
    """All GPR lines of ``inputs`` (paths to recordings .h5 or raw files any importer reads), in order.

    line_spacing_m: the lines are parallel lines along x and line n (counting every line of every input, in
    order) lies at y = line_start_m + n * line_spacing_m (sensorkit.gpr.gridding.assign_line_offsets); the
    x of each trace is kept from the file (distance along the line). None keeps the y the files give.
    Raises FormatError naming the file for unreadable input or an input without GPR data.
    """
    from sensorkit.formats.registry import read_any

    paths = [Path(p) for p in inputs]
    if not paths:
        raise ValueError("inputs: expected at least one recording or GPR file, found none")
    lines: list[GprLine] = []
    for path in paths:
        if path.suffix.lower() in RECORDING_SUFFIXES:
            lines += _recording_lines(path)
            continue
        imported = read_any(path)
        if not imported.gpr:
            raise FormatError(path, "GPR traces", f"a GPR line (the file is {imported.format!r})", "none")
        lines += imported.gpr
    if line_spacing_m is not None:
        from sensorkit.gpr.gridding import assign_line_offsets

        if not (math.isfinite(line_spacing_m) and line_spacing_m > 0):
            raise ValueError(f"line_spacing_m: expected a spacing > 0 m, found {line_spacing_m!r}")
        lines = assign_line_offsets(lines, line_spacing_m, line_start_m)
    return lines


def check_same_sampling(lines, what: str) -> None:
    """ValueError naming ``what`` (the argument, e.g. "inputs") unless every line has the first one's dt_s
    (relative tolerance 1e-9) and n_samples."""
    first = lines[0]
    for line in lines[1:]:
        if not math.isclose(line.dt_s, first.dt_s, rel_tol=1e-9) or line.n_samples != first.n_samples:
            raise ValueError(f"{what}: expected lines sharing one sampling, found {first.name!r} with "
                             f"{first.n_samples} samples of {first.dt_s * 1e9:.5g} ns and {line.name!r} with "
                             f"{line.n_samples} of {line.dt_s * 1e9:.5g} ns")


def is_migrated_image(path) -> bool:
    """True when ``path`` is an HDF5 file holding a migrated image (a root dataset ``image``, as written by
    ``sensorkit migrate --out``, or a recording with /results/migration/<name>/image)."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return "image" in f or _result_images(f) != []
    except OSError:
        return False


def _result_images(f) -> list[str]:
    group = f.get("results/migration")
    if group is None:
        return []
    return [f"results/migration/{name}" for name in sorted(group) if "image" in group[name]]


def load_image(path, name: str | None = None):
    """The migrated image of ``path`` as a sensorkit.gpr.migration.MigratedImage.

    Reads the layout of DESIGN.md: dataset ``image`` (nx, nz) or (nx, ny, nz) float32 with x_m, y_m (3D only)
    and depth_m beside it, attributes method and parameters (JSON text). The image is at the file's root, or
    at /results/migration/<name> of a recording (name None: the first). Raises FormatError naming the file
    and the field.
    """
    import json

    import h5py
    import numpy as np

    from sensorkit.gpr.migration import MigratedImage

    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except (OSError, ValueError) as exc:
        raise FormatError(path, "file", "an HDF5 file holding a migrated image", str(exc)) from None
    with f:
        if name is not None:
            where = f"results/migration/{name}"
            if where not in f:
                raise FormatError(path, f"/{where}", "a migrated image", "missing")
        elif "image" in f:
            where = ""
        else:
            found = _result_images(f)
            if not found:
                raise FormatError(path, "/image", "a migrated image (sensorkit migrate --out)", "missing")
            where = found[0]
        group = f[where] if where else f
        image = group["image"]
        if image.ndim not in (2, 3):
            raise FormatError(path, f"/{where}/image".replace("//", "/"), "shape (nx, nz) or (nx, ny, nz)",
                              image.shape)
        needed = ("x_m", "depth_m") + (("y_m",) if image.ndim == 3 else ())
        for key in needed:
            if key not in group:
                raise FormatError(path, f"/{where}/{key}".replace("//", "/"), "a 1-D coordinate dataset", "missing")
        data = np.asarray(image[()], dtype=np.float32)
        x = np.asarray(group["x_m"][()], dtype=np.float64)
        y = np.asarray(group["y_m"][()], dtype=np.float64) if image.ndim == 3 else None
        z = np.asarray(group["depth_m"][()], dtype=np.float64)
        expected = (x.size, z.size) if y is None else (x.size, y.size, z.size)
        if data.shape != expected:
            raise FormatError(path, f"/{where}/image".replace("//", "/"),
                              f"shape {expected} from the coordinate datasets", data.shape)
        method = image.attrs.get("method", group.attrs.get("method", ""))
        text = image.attrs.get("parameters", group.attrs.get("parameters", "{}"))
        try:
            params = json.loads(text)
        except (TypeError, ValueError):
            params = {}
    return MigratedImage(image=data, x_m=x, y_m=y, depth_m=z, method=str(method), params=params)
