"""Results written back into a finished recording: never while a recorder writes it, never over earlier results
without force, readable by plain h5py with units and parameters."""

import json
import os
import socket

import h5py
import numpy as np
import pytest

from sensorkit.store import RecordingWriter
from sensorkit.store.results import write_results_group
from sensorkit.store.writer import writing_marker


def _recording(path):
    with RecordingWriter(path) as writer:
        writer.add_gpr_stream("cart", n_samples=8, dt_s=1e-10)
    return path


def test_results_land_with_units_and_parameters_and_replace_only_with_force(tmp_path):
    rec = _recording(tmp_path / "rec.h5")
    rows = np.array([(1.0, 0.5)], dtype=[("x_m", "<f8"), ("score", "<f8")])
    where = write_results_group(rec, "results/landmine/cart", {"detections": (rows, "m (x_m)")},
                                {"parameters": {"pfa": 1e-4}, "area_m2": 5.0}, force=False)
    assert where == "/results/landmine/cart"
    with h5py.File(rec, "r") as f:
        group = f["results/landmine/cart"]
        assert group["detections"][0]["x_m"] == 1.0 and group["detections"].attrs["units"] == "m (x_m)"
        assert json.loads(group.attrs["parameters"]) == {"pfa": 1e-4} and group.attrs["area_m2"] == 5.0
        assert "gpr/cart/traces" in f  # the recording itself untouched
    with pytest.raises(FileExistsError, match="results/landmine/cart exists; use --force"):
        write_results_group(rec, "results/landmine/cart", {"detections": (rows[:0], None)}, {}, force=False)
    write_results_group(rec, "results/landmine/cart", {"detections": (rows[:0], None)}, {}, force=True)
    with h5py.File(rec, "r") as f:
        assert len(f["results/landmine/cart/detections"]) == 0


def test_a_recording_still_being_written_is_refused(tmp_path):
    rec = _recording(tmp_path / "live.h5")
    writing_marker(rec).write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
    with pytest.raises(ValueError, match=rf"live.h5: a recorder \(pid {os.getpid()}\) is still writing it"):
        write_results_group(rec, "results/drone", {}, {}, force=True)
