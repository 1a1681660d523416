"""The recording format v1: writer, reader, version check, live reading, kill safety, repair."""

import json
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from sensorkit.errors import FormatError, VersionError
from sensorkit.formats.base import DeviceInfo, new_gnss_fixes, new_trace_meta
from sensorkit.store import Recording, RecordingWriter, needs_repair, repair_recording
from sensorkit.store.schema import BLOCK_META_DTYPE, empty_records


def _block(seq, first_frame):
    block = empty_records(BLOCK_META_DTYPE, 1)
    block["seq"], block["first_frame"], block["flags"] = seq, first_frame, 0
    return block


def _write_small(path, **kw):
    rng = np.random.default_rng(1)
    traces = rng.integers(-30000, 30000, size=(130, 256), dtype=np.int16)
    audio = rng.standard_normal((5000, 4)).astype(np.float32)
    with RecordingWriter(path, **kw) as w:
        w.add_device("cart", DeviceInfo("gpr", "SIM-GPR", "G1", "1.0", "/dev/ttyACM0", {"n_samples": 256}))
        w.add_gpr_stream("cart", n_samples=256, dt_s=0.1e-9, centre_frequency_hz=800e6, antenna_offset_m=0.06)
        w.add_audio_stream("array", n_channels=4, fs_hz=48000.0, dtype="float32",
                           mic_positions_m=[[0.1, 0, 0], [0, 0.1, 0], [-0.1, 0, 0], [0, -0.1, 0]])
        w.add_gnss_stream("puck")
        for start in range(0, 130, 13):
            meta = new_trace_meta(13)
            meta["seq"] += start
            meta["x_m"] = (np.arange(13) + start) * 0.02
            w.append_gpr("cart", traces[start:start + 13], meta)
        w.append_audio("array", audio[:3000], _block(0, 0))
        w.append_audio("array", audio[3000:], _block(1, 3000))
        fixes = new_gnss_fixes(2)
        fixes["lat"], fixes["lon"], fixes["host_time_ns"] = [52.1, 52.2], [4.1, 4.2], [1, 2]
        w.append_gnss("puck", fixes)
        w.append_event("gap", "gpr/cart", {"first_missing_seq": 130, "n_missing": 3})
    return traces, audio


def test_round_trip_values_and_attributes(tmp_path):
    path = tmp_path / "rec.h5"
    traces, audio = _write_small(path)
    with Recording(path) as rec:
        gpr = rec.gpr("cart")
        assert gpr.n_traces == 130 and gpr.n_samples == 256
        np.testing.assert_array_equal(gpr.traces[:], traces)
        np.testing.assert_array_equal(gpr.traces[10:20], traces[10:20])
        np.testing.assert_array_equal(gpr.traces[-1], traces[-1])
        assert gpr.dt_s == 0.1e-9 and gpr.centre_frequency_hz == 800e6
        np.testing.assert_allclose(gpr.trace_meta[:]["x_m"], np.arange(130) * 0.02)
        assert list(gpr.trace_meta[:]["seq"]) == list(range(130))
        acoustic = rec.acoustic("array")
        np.testing.assert_array_equal(acoustic.samples[:], audio)
        assert acoustic.fs_hz == 48000.0 and acoustic.mic_positions_m.shape == (4, 3)
        assert list(acoustic.blocks[:]["first_frame"]) == [0, 3000]
        assert rec.gnss_fixes("puck")["lat"].tolist() == [52.1, 52.2]
        assert rec.device("cart").config == {"n_samples": 256}
        (event,) = rec.events
        assert event["kind"] == "gap" and json.loads(event["detail"])["n_missing"] == 3


def test_truncated_recording_is_a_format_error_not_a_hang(tmp_path, capsys):
    """A recording cut in half (a copy interrupted): refused at once, saying how much is there, exit 2 in the CLI.
    (Falling back to HDF5's SWMR open on such a file retries its metadata for ever.)"""
    from sensorkit.cli.main import main

    full, cut = tmp_path / "full.h5", tmp_path / "cut.h5"
    _write_small(full)
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError, match=rf"cut.h5: file: expected a complete HDF5 file.*eof = {len(data) // 2}"):
        Recording(cut)
    assert main(["info", str(cut)]) == 2
    assert "truncated file" in capsys.readouterr().err


def test_garbage_after_an_hdf5_signature_is_a_format_error(tmp_path):
    path = tmp_path / "garbage.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 8)
    with pytest.raises(FormatError, match="garbage.h5: file: expected an HDF5 file"):
        Recording(path)


def test_numeric_list_attributes_stay_arrays_and_the_rest_json(tmp_path):
    path = tmp_path / "rec.h5"
    attrs = {"channel_y_m": [0.0, 0.05, 0.1], "labels": ["a", "b"], "settings": {"gain": 2}}
    with RecordingWriter(path) as w:
        w.add_gpr_stream("cart", n_samples=8, dt_s=0.1e-9, n_channels=3, attrs=attrs)
    with h5py.File(path, "r") as h5:
        stored = h5["gpr/cart/traces"].attrs
        assert stored["channel_y_m"].dtype == np.float64
        np.testing.assert_array_equal(stored["channel_y_m"], [0.0, 0.05, 0.1])
        assert json.loads(stored["labels"]) == ["a", "b"] and json.loads(stored["settings"]) == {"gain": 2}
    with Recording(path) as rec:
        np.testing.assert_array_equal(rec.gpr("cart").to_line().attrs["channel_y_m"], [0.0, 0.05, 0.1])


def test_plain_h5py_sees_units_and_meanings(tmp_path):
    path = tmp_path / "rec.h5"
    _write_small(path)
    with h5py.File(path, "r") as h5:
        assert h5.attrs["format"] == "sensorkit-recording" and h5.attrs["format_version"].startswith("1.")
        traces = h5["gpr/cart/traces"]
        assert traces.attrs["dt_s"] == pytest.approx(1e-10)
        assert traces.attrs["time_window_s"] == pytest.approx(256e-10)
        assert traces.attrs["units"] == "counts" and "sample" in traces.attrs["dims"]
        assert traces.chunks is not None and traces.compression == "gzip" and traces.maxshape[0] is None
        assert "ns" in h5["gpr/cart/trace_meta"].attrs["field_device_time_ns"]
        assert h5["devices/cart"].attrs["kind"] == "gpr"


def test_newer_major_version_is_refused(tmp_path):
    path = tmp_path / "rec.h5"
    _write_small(path)
    with h5py.File(path, "r+") as h5:
        h5.attrs["format_version"] = "2.0"
    with pytest.raises(VersionError, match="newer sensorkit"):
        Recording(path)


def test_not_a_recording_is_a_format_error(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as h5:
        h5["x"] = 1
    with pytest.raises(FormatError, match="format"):
        Recording(path)
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"not hdf5 at all")
    with pytest.raises(FormatError, match="garbage.h5"):
        Recording(garbage)


def test_writer_refuses_to_overwrite(tmp_path):
    path = tmp_path / "rec.h5"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        RecordingWriter(path)
    assert path.read_bytes() == b"precious"


def test_bad_appends_are_value_errors(tmp_path):
    with RecordingWriter(tmp_path / "rec.h5") as w:
        w.add_gpr_stream("cart", n_samples=16, dt_s=1e-10)
        with pytest.raises(ValueError, match="16"):
            w.append_gpr("cart", np.zeros((2, 15), np.int16), new_trace_meta(2))
        with pytest.raises(ValueError, match="trace_meta"):
            w.append_gpr("cart", np.zeros((2, 16), np.int16), new_trace_meta(3))
        with pytest.raises(ValueError, match="dt_s"):
            w.add_gpr_stream("b", n_samples=16, dt_s=0.0)
        with pytest.raises(KeyError, match="declare"):
            w.append_gnss("nope", new_gnss_fixes(1))


WRITER_SCRIPT = r"""
import sys, time, numpy as np
from sensorkit.store import RecordingWriter
from sensorkit.formats.base import DeviceInfo, new_trace_meta
w = RecordingWriter(sys.argv[1], live=True, flush_interval_s=0.2)
w.add_device("cart", DeviceInfo("gpr", "SIM"))
w.add_gpr_stream("cart", n_samples=128, dt_s=1e-10)
n = 0
while True:
    meta = new_trace_meta(4); meta["seq"] += n
    traces = (np.arange(4)[:, None] + n + np.zeros((4, 128))).astype(np.int16)
    w.append_gpr("cart", traces, meta)
    n += 4
    print(f"{time.time():.6f} {n}", flush=True)
    time.sleep(0.002)
"""


def test_sigkill_leaves_a_file_with_everything_flushed_a_second_before(tmp_path):
    path = tmp_path / "killed.h5"
    proc = subprocess.Popen([sys.executable, "-c", WRITER_SCRIPT, str(path)], stdout=subprocess.PIPE, text=True)
    progress = []
    deadline = time.time() + 30
    while time.time() < deadline:
        line = proc.stdout.readline()
        t, n = line.split()
        progress.append((float(t), int(n)))
        if n and progress[-1][0] - progress[0][0] > 2.5:
            break
    os.kill(proc.pid, signal.SIGKILL)
    kill_time = time.time()
    proc.wait()
    # the writer appended `n` traces by time t; everything appended more than 1 s before the kill was flushed
    must_have = max(n for t, n in progress if t < kill_time - 1.0)
    with Recording(path) as rec:  # opens as it is
        gpr = rec.gpr("cart")
        assert gpr.n_traces >= must_have
        data = gpr.traces[:]
        assert np.array_equal(data[:, 0], np.arange(gpr.n_traces))  # every committed trace complete and in order
        assert np.array_equal(gpr.trace_meta[:]["seq"], np.arange(gpr.n_traces))
    assert needs_repair(path)
    assert (tmp_path / "killed.h5.writing").exists()  # the killed writer's marker; its pid is dead
    report = repair_recording(path)
    assert not (tmp_path / "killed.h5.writing").exists()
    assert not needs_repair(path)
    assert os.path.exists(report["backup"])
    with h5py.File(path, "r") as h5:  # plain h5py opens the repaired file
        assert h5["gpr/cart/traces"].shape[0] >= must_have


def test_live_file_is_readable_while_written(tmp_path):
    path = tmp_path / "live.h5"
    writer = RecordingWriter(path, live=True, flush_interval_s=0.1)
    writer.add_gpr_stream("cart", n_samples=8, dt_s=1e-10)
    writer.append_gpr("cart", np.ones((5, 8), np.int16), new_trace_meta(5))
    writer.flush()
    with pytest.raises(ValueError, match="declared before"):
        writer.add_gnss_stream("late")
    reader = Recording(path)
    try:
        assert reader.gpr("cart").n_traces == 5
        writer.append_gpr("cart", np.full((3, 8), 2, np.int16), new_trace_meta(3))
        writer.flush()
        reader.refresh()
        stream = reader.gpr("cart")
        assert stream.n_traces == 8 and stream.traces[7][0] == 2
    finally:
        reader.close()
        writer.close()
