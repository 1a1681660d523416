"""On-disk cache of deterministic, expensive results (calibrations by simulation), outside the pure kernels.

    memo = DiskMemo("comb_null")                         # files under cache_dir("comb_null")
    scores = memo(key, compute, accept)                  # key: a text naming every input of compute()

The folder is $SENSORKIT_CACHE_DIR/<name>, else ~/.cache/sensorkit/<name>. A value is stored as one .npy file
named by the SHA-256 of its key, written to a temporary file and renamed into place, so that a reader never sees
half a file and two processes computing the same value both end with a whole one. A file that cannot be read,
or whose array ``accept`` refuses (damaged, truncated, from an older layout), is computed again and replaced;
a folder that cannot be written leaves the value computed but not stored. Nothing here changes a result: the
cache only saves the time of computing it again (the comb detector's null simulation: 1 to 60 s per set-up).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

__all__ = ["DiskMemo", "cache_dir"]


def cache_dir(name: str) -> Path:
    """$SENSORKIT_CACHE_DIR/<name>, else ~/.cache/sensorkit/<name>."""
    root = os.environ.get("SENSORKIT_CACHE_DIR") or os.path.join("~", ".cache", "sensorkit")
    return Path(root).expanduser() / name


class DiskMemo:
    """memo(key, compute, accept=None) -> np.ndarray: the array stored under ``key`` in cache_dir(name) when it
    reads back and accept(array) is true, else compute() (stored for next time)."""

    def __init__(self, name: str):
        if not name or os.sep in name or name in (".", ".."):
            raise ValueError(f"name: expected a plain folder name, found {name!r}")
        self.name = name

    def path(self, key: str) -> Path:
        return cache_dir(self.name) / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".npy")

    def __call__(self, key: str, compute: Callable[[], np.ndarray],
                 accept: Callable[[np.ndarray], bool] | None = None) -> np.ndarray:
        path = self.path(key)
        try:
            value = np.load(path, allow_pickle=False)
            if accept is None or accept(value):
                return value
        except (OSError, ValueError, EOFError):
            pass
        value = np.asarray(compute())
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as f:
                tmp = f.name
                np.save(f, value, allow_pickle=False)
            os.replace(tmp, path)
            tmp = None
        except OSError:
            pass
        finally:
            if tmp is not None:  # written but not renamed: leave no temporary file behind
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
        return value
