"""The pipelines over many files, or over tiles of a survey too large for one process, on a Dask cluster.

sensorkit.scale.jobs    the per-file jobs by name (detect-mines, detect-drones, migrate, info) -> "module:function",
                        resolved on first use
sensorkit.scale.batch   run_batch(job, paths, out_dir=, scheduler=, n_workers=, config=) -> BatchReport
sensorkit.scale.tiling  plan_tiles, migrate_tiled: 3D Kirchhoff migration in tiles with overlap halos

The names below are importable from this package too; they are loaded on first use, so importing the package
does not load Dask, Numba or the pipelines.
"""

from sensorkit._lazy import lazy_exports

_LAZY = {
    "JOBS": "sensorkit.scale.jobs", "JobUnavailable": "sensorkit.scale.jobs", "resolve_job": "sensorkit.scale.jobs",
    "BatchReport": "sensorkit.scale.batch", "FileResult": "sensorkit.scale.batch", "run_batch": "sensorkit.scale.batch",
    "start_local_cluster": "sensorkit.scale.batch", "WarmUpPlugin": "sensorkit.scale.batch",
    "H5Dataset": "sensorkit.scale.tiling", "Tile": "sensorkit.scale.tiling", "halo_cells": "sensorkit.scale.tiling",
    "migrate_tiled": "sensorkit.scale.tiling", "plan_tiles": "sensorkit.scale.tiling",
}

__getattr__, __all__ = lazy_exports(__name__, _LAZY)
