"""Repairing a recording left by a killed writer: a clean copy cut at the committed lengths."""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py

from sensorkit.store.reader import open_h5_for_reading
from sensorkit.store.writer import writer_alive, writing_marker


def needs_repair(path) -> bool:
    """True when a plain (non-SWMR) open fails or a dataset holds rows beyond its committed length."""
    try:
        with h5py.File(path, "r") as h5:
            return _uncommitted_rows(h5) > 0
    except OSError:
        return True


def _uncommitted_rows(h5: h5py.File) -> int:
    if "committed" not in h5:
        return 0
    paths = json.loads(h5["committed"].attrs.get("paths", "[]"))
    lengths = h5["committed"][()]
    return sum(max(0, h5[p].shape[0] - int(n)) for p, n in zip(paths, lengths) if p in h5)


def repair_recording(path, backup_suffix: str = ".unrepaired") -> dict:
    """Rewrite ``path`` as a clean, closed file holding exactly the committed rows.

    The original is kept beside it as PATH + backup_suffix (nothing already recorded is lost).
    Returns {"dropped_rows": {dataset: n}, "backup": path}.
    """
    path = Path(path)
    pid = writer_alive(path)
    if pid is not None:
        raise ValueError(f"{path}: is being written by process {pid}; stop the recorder before repairing")
    source = open_h5_for_reading(path)
    tmp = path.with_name(path.name + ".repairing")
    dropped = {}
    try:
        paths = json.loads(source["committed"].attrs.get("paths", "[]")) if "committed" in source else []
        committed = dict(zip(paths, (int(n) for n in source["committed"][()]))) if paths else {}
        with h5py.File(tmp, "w", libver="latest") as target:
            for key, value in source.attrs.items():
                target.attrs[key] = value
            _copy_group(source, target, committed, dropped)
        backup = path.with_name(path.name + backup_suffix)
    finally:
        source.close()
    os.replace(path, backup)
    os.replace(tmp, path)
    writing_marker(path).unlink(missing_ok=True)
    return {"dropped_rows": dropped, "backup": str(backup)}


def _copy_group(source: h5py.Group, target: h5py.Group, committed: dict, dropped: dict) -> None:
    for name, item in source.items():
        if isinstance(item, h5py.Group):
            group = target.create_group(name)
            for key, value in item.attrs.items():
                group.attrs[key] = value
            _copy_group(item, group, committed, dropped)
            continue
        path = item.name.lstrip("/")
        if path in committed:
            n = min(committed[path], item.shape[0])
            if item.shape[0] > n:
                dropped[path] = int(item.shape[0] - n)
            dataset = target.create_dataset(
                name, data=item[:n], maxshape=item.maxshape, chunks=item.chunks, compression=item.compression,
                compression_opts=item.compression_opts, shuffle=item.shuffle)
        else:
            dataset = target.create_dataset(name, data=item[()], maxshape=item.maxshape, chunks=item.chunks)
        for key, value in item.attrs.items():
            dataset.attrs[key] = value
