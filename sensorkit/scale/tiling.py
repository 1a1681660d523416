"""A large 3D GPR survey migrated in tiles with overlap halos on a Dask cluster, equal to the one-piece run.

    tiles = plan_tiles(nx, ny, 64, 64, halo_nx, halo_ny)
    image = migrate_tiled(cube, dt_s=dt, dx_m=dx, dy_m=dy, depth_m=z, velocity_mps=v, aperture_m=0.3,
                          tile_nx=64, tile_ny=64, client=client)

Why it is exact. Kirchhoff migration (sensorkit.kernels.kirchhoff) sums, for each output column, the traces
within the aperture: at most floor(aperture_m / dx_m) cells away along x (dy_m along y). A tile's interior
migrated with a halo of ceil(aperture_m / dx_m) cells along x (ceil(aperture_m / dy_m) along y) on each side
(halo_cells) sees every trace that the one-piece migration adds to it. The operator tables depend on the
sampling, the depths and the aperture, not on the grid's extent (a window with its halo is wider than the
aperture, or is the whole axis), the sums of each column run in the same order in float32, and the
pre-filter and the trace integration act on each trace alone. So each interior is bit for bit that of the
one-piece migration, and the stitched image equals it (tests/scale/test_batch.py asserts array_equal).

The cube is an array in memory or an H5Dataset (file path and dataset name) that each worker opens by path
and reads only its tile's window of, so the survey need not fit in one machine's memory; the image can go
into an array-like ``out`` (an h5py dataset) as the tiles arrive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sensorkit.kernels.kirchhoff import check_depth_axis, check_height, check_velocity, kirchhoff_migrate_3d
from sensorkit.kernels.validate import float_in_range, positive_float

__all__ = ["H5Dataset", "Tile", "halo_cells", "migrate_tiled", "plan_tiles", "warm_up_kirchhoff"]


@dataclass(frozen=True)
class Tile:
    """One tile of an (nx, ny) grid: interior [x0, x1) x [y0, y1) (the cells it produces) and the window
    [wx0, wx1) x [wy0, wy1) read to produce it (the interior and its halo, clipped to the grid)."""

    x0: int
    x1: int
    y0: int
    y1: int
    wx0: int
    wx1: int
    wy0: int
    wy1: int

    @property
    def interior_in_window(self) -> tuple[slice, slice]:
        """Slices of the interior inside the window's (x, y) axes."""
        return (slice(self.x0 - self.wx0, self.x1 - self.wx0), slice(self.y0 - self.wy0, self.y1 - self.wy0))


@dataclass(frozen=True)
class H5Dataset:
    """A cube (nx, ny, nt) stored in an HDF5 file: ``path`` and the dataset's ``name`` inside it."""

    path: str
    name: str


def _count(name: str, value, lo: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < lo:
        raise ValueError(f"{name}: expected an integer >= {lo}, found {value!r}")
    return int(value)


def plan_tiles(nx: int, ny: int, tile_nx: int, tile_ny: int, halo_nx: int, halo_ny: int) -> list[Tile]:
    """Tiles of tile_nx x tile_ny cells (smaller at the far edges) covering an (nx, ny) grid once, each with a
    window widened by halo_nx, halo_ny cells on each side (clipped to the grid); x-major order."""
    nx, ny = _count("nx", nx, 1), _count("ny", ny, 1)
    tile_nx, tile_ny = _count("tile_nx", tile_nx, 1), _count("tile_ny", tile_ny, 1)
    halo_nx, halo_ny = _count("halo_nx", halo_nx, 0), _count("halo_ny", halo_ny, 0)
    tiles = []
    for x0 in range(0, nx, tile_nx):
        x1 = min(nx, x0 + tile_nx)
        for y0 in range(0, ny, tile_ny):
            y1 = min(ny, y0 + tile_ny)
            tiles.append(Tile(x0, x1, y0, y1, max(0, x0 - halo_nx), min(nx, x1 + halo_nx), max(0, y0 - halo_ny),
                              min(ny, y1 + halo_ny)))
    return tiles


def halo_cells(aperture_m: float, step_m: float) -> int:
    """Halo (cells) that makes tiled Kirchhoff migration exact: ceil(aperture_m / step_m), with the kernel's
    1e-9 tolerance on the ratio (0.1 / 0.02 is 5 cells, not 6), so never less than the kernel's largest trace
    offset floor(aperture_m / step_m + 1e-9)."""
    return max(0, int(math.ceil(aperture_m / step_m - 1e-9)))


def _read_window(source, tile: Tile) -> np.ndarray:
    if isinstance(source, H5Dataset):
        import h5py

        with h5py.File(source.path, "r") as f:
            return np.asarray(f[source.name][tile.wx0:tile.wx1, tile.wy0:tile.wy1, :], dtype=np.float32)
    return source


def _migrate_tile(source, tile: Tile, kwargs: dict) -> np.ndarray:
    """The interior of one tile (x1 - x0, y1 - y0, nz) float32; source: the window's traces or an H5Dataset."""
    image = kirchhoff_migrate_3d(_read_window(source, tile), **kwargs)
    ix, iy = tile.interior_in_window
    return np.ascontiguousarray(image[ix, iy])


def warm_up_kirchhoff() -> None:
    """Compile (or load from the cache) the 3D Kirchhoff kernels with a tiny migration (4 x 4 x 32)."""
    rng = np.random.default_rng(0)
    kirchhoff_migrate_3d(rng.standard_normal((4, 4, 32)).astype(np.float32), dt_s=1e-10, dx_m=0.02, dy_m=0.02,
                         depth_m=np.arange(0.0, 0.1, 0.01), velocity_mps=1e8, aperture_m=0.05)


_migrate_tile.warm_up = warm_up_kirchhoff


def _cube_shape(cube) -> tuple[int, int, int]:
    if isinstance(cube, H5Dataset):
        import h5py

        try:
            with h5py.File(cube.path, "r") as f:
                shape = f[cube.name].shape
        except (OSError, KeyError) as error:
            raise ValueError(f"cube: could not read dataset {cube.name!r} of {cube.path}: {error}") from None
    else:
        shape = np.shape(cube)
    if len(shape) != 3 or shape[2] < 2:
        raise ValueError(f"cube: expected traces (nx, ny, n_samples) with n_samples >= 2, found shape {shape}")
    return tuple(int(n) for n in shape)


def migrate_tiled(cube, *, dt_s: float, dx_m: float, dy_m: float, depth_m, velocity_mps: float, client,
                  tile_nx: int = 64, tile_ny: int = 64, height_m: float = 0.0, refraction: bool = True,
                  aperture_m: float = 0.5, max_angle_deg: float = 60.0, antialias: bool = True,
                  rho_filter: bool = True, out=None, progress: bool = False):
    """Kirchhoff 3D migration of ``cube`` (nx, ny, nt) in tiles on the Dask ``client``; image (nx, ny, nz) float32.

    cube: an array (each tile's window is sent to a worker) or an H5Dataset (each worker reads its window by
    path). The parameters are those of sensorkit.kernels.kirchhoff.kirchhoff_migrate_3d; tiles of tile_nx x
    tile_ny cells with halos of halo_cells(aperture_m, dx_m / dy_m). out: None (a new array) or an array-like
    shaped (nx, ny, nz) (e.g. an h5py dataset) that receives the tiles' interiors; returned. The result equals
    kirchhoff_migrate_3d(cube, ...) bit for bit (module docstring).
    """
    from distributed import as_completed
    from tqdm import tqdm

    nx, ny, nt = _cube_shape(cube)
    z = check_depth_axis(depth_m)
    dx, dy = positive_float("dx_m", dx_m), positive_float("dy_m", dy_m)
    kwargs = dict(dt_s=positive_float("dt_s", dt_s), dx_m=dx, dy_m=dy, depth_m=z,
                  velocity_mps=check_velocity("velocity_mps", velocity_mps), height_m=check_height(height_m),
                  refraction=refraction, aperture_m=positive_float("aperture_m", aperture_m),
                  max_angle_deg=float_in_range("max_angle_deg", max_angle_deg, 0.0, 90.0, lo_open=True),
                  antialias=antialias, rho_filter=rho_filter)
    for name in ("refraction", "antialias", "rho_filter"):
        if not isinstance(kwargs[name], (bool, np.bool_)):
            raise ValueError(f"{name}: expected True or False, found {kwargs[name]!r}")
    if out is None:
        out = np.zeros((nx, ny, z.size), np.float32)
    elif tuple(out.shape) != (nx, ny, z.size):
        raise ValueError(f"out: expected shape {(nx, ny, z.size)}, found {tuple(out.shape)}")
    if not isinstance(cube, H5Dataset):
        cube = np.asarray(cube)
        if not np.all(np.isfinite(cube)):
            raise ValueError(f"cube: expected finite samples, found {int((~np.isfinite(cube)).sum())} non-finite")
    tiles = plan_tiles(nx, ny, tile_nx, tile_ny, halo_cells(aperture_m, dx), halo_cells(aperture_m, dy))

    from sensorkit.scale.batch import WarmUpPlugin

    plugin = WarmUpPlugin("sensorkit.scale.tiling:_migrate_tile")
    client.register_plugin(plugin, name=plugin.name)
    futures = {}
    for tile in tiles:
        if isinstance(cube, H5Dataset):
            source = cube
        else:
            source = client.scatter(np.ascontiguousarray(cube[tile.wx0:tile.wx1, tile.wy0:tile.wy1], np.float32),
                                    hash=False)
        futures[client.submit(_migrate_tile, source, tile, kwargs, pure=False)] = tile
    try:
        with tqdm(total=len(tiles), desc="migrate tiles", unit="tile", disable=not progress) as bar:
            for future in as_completed(futures, loop=client.loop):
                tile = futures[future]
                out[tile.x0:tile.x1, tile.y0:tile.y1, :] = future.result()
                bar.update(1)
    finally:
        client.cancel(list(futures))
    return out
