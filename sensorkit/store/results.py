"""Results written back into a finished recording: /results/<pipeline>/... (DESIGN.md, "The recording format").

The recording is otherwise append-only; a pipeline opens it read-write only to add its group, never while a
live recorder holds it (the ``.writing`` marker), and replaces an earlier group only when asked to.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from sensorkit.store.writer import writer_alive


def check_not_being_recorded(recording) -> None:
    """ValueError when a live recorder still writes ``recording`` (results would race its writer)."""
    pid = writer_alive(recording)
    if pid is not None:
        raise ValueError(f"{recording}: a recorder (pid {pid}) is still writing it; detect after it has finished "
                         f"or give --no-results")


def write_results_group(recording, where: str, datasets: dict[str, tuple[np.ndarray, str | None]], attrs: dict,
                        *, force: bool) -> str:
    """Write the group /``where`` (e.g. "results/landmine/line1") into ``recording``: each dataset name ->
    (array, units text or None), the group's attributes (dicts and lists as JSON text) and created_utc.

    Refuses while a live recorder writes the file (ValueError), and an existing group unless ``force``
    (FileExistsError). Returns the group's path ("/results/...").
    """
    import h5py

    recording = Path(recording)
    check_not_being_recorded(recording)
    try:
        f = h5py.File(recording, "r+")
    except OSError as exc:
        raise ValueError(f"{recording}: could not open the recording to add results: {exc}") from None
    with f:
        if where in f:
            if not force:
                raise FileExistsError(f"{recording}: /{where} exists; use --force to replace it")
            del f[where]
        group = f.require_group(where)
        for name, (data, units) in datasets.items():
            ds = group.create_dataset(name, data=data)
            if units:
                ds.attrs["units"] = units
        for key, value in attrs.items():
            group.attrs[key] = json.dumps(value, allow_nan=True) if isinstance(value, (dict, list)) else value
        group.attrs["created_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return "/" + where
