"""The `sensorkit import`, `export` and `info` commands on the real sample files."""

import json
import subprocess
import sys

import numpy as np
import pytest

from sensorkit.cli.main import main
from sensorkit.store import Recording

# file, n_traces, n_samples, time window (ns), sample dtype
REAL_GPR = [
    ("gpr/gprpy-examples/GSSI/FILE____032.DZT", 1040, 512, 48.0, "int16"),
    ("gpr/impdar-tests/test_gssi.DZT", 345, 2048, 2300.0, "int32"),
    ("gpr/grid3d-dune400/FILE____001.DZT", 451, 512, 50.0, "int16"),
    ("gpr/gprpy-examples/SnS/ComOffs/XLINE00.DT1", 531, 1500, 1200.0, None),
    ("gpr/gprpy-examples/SnS/WARR/XLINE00.DT1", 164, 1900, 760.0, None),
    ("gpr/impdar-tests/ten_col.rd3", 10, 512, 422.06, "int16"),
]


def run_cli(*args):
    """Run the command in a subprocess, as a user would: (exit code, stdout, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "sensorkit.cli.main", *map(str, args)], capture_output=True,
                          text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize("relpath, n_traces, n_samples, window_ns, dtype", REAL_GPR)
def test_import_then_info_json_matches_header(shared_data, tmp_path, capsys, relpath, n_traces, n_samples,
                                              window_ns, dtype):
    out = tmp_path / "rec.h5"
    assert main(["import", str(shared_data / relpath), "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["info", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    (stream,) = summary["gpr"].values()
    assert stream["n_traces"] == n_traces
    assert stream["n_samples"] == n_samples
    assert stream["time_window_s"] * 1e9 == pytest.approx(window_ns, rel=2e-3)
    if dtype:
        assert stream["dtype"] == dtype


def test_dzg_positions_reach_the_recording(shared_data, tmp_path, capsys):
    out = tmp_path / "rec.h5"
    assert main(["import", str(shared_data / "gpr/impdar-tests/test_gssi.DZT"), "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["info", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    (stream,) = summary["gpr"].values()
    extent = stream["gps_extent"]
    assert extent is not None and extent["n_positioned"] > 0
    assert -90 <= extent["lat_min"] <= extent["lat_max"] <= 90


def test_segy_round_trip_is_bit_exact(shared_data, tmp_path, capsys):
    rec = tmp_path / "rec.h5"
    sgy = tmp_path / "line.sgy"
    back = tmp_path / "back.h5"
    assert main(["import", str(shared_data / "gpr/gprpy-examples/GSSI/FILE____032.DZT"), "--out", str(rec)]) == 0
    assert main(["export", str(rec), "--to", str(sgy)]) == 0
    assert main(["import", str(sgy), "--out", str(back)]) == 0
    capsys.readouterr()
    with Recording(rec) as a, Recording(back) as b:
        first, second = a.gpr(), b.gpr()
        np.testing.assert_array_equal(first.traces[:], second.traces[:])
        assert first.traces.dtype == second.traces.dtype
        assert second.dt_s == pytest.approx(first.dt_s, rel=1e-9)
        np.testing.assert_allclose(second.trace_meta[:]["x_m"], first.trace_meta[:]["x_m"], atol=1e-3)


def test_wav_round_trip_keeps_samples(shared_data, tmp_path, capsys):
    import soundfile

    wav = shared_data / "acoustic/drone-audio-dataset/yes_drone/B_S2_D1_068-bebop_001_.wav"
    rec = tmp_path / "rec.h5"
    out = tmp_path / "out.wav"
    assert main(["import", str(wav), "--out", str(rec)]) == 0
    assert main(["export", str(rec), "--to", str(out)]) == 0
    capsys.readouterr()
    original, fs = soundfile.read(wav, dtype="int16", always_2d=True)
    again, fs_again = soundfile.read(out, dtype="int16", always_2d=True)
    assert fs == fs_again == 16000
    np.testing.assert_array_equal(original, again)


def test_csv_export_of_trace_positions(shared_data, tmp_path, capsys):
    rec = tmp_path / "rec.h5"
    csv_path = tmp_path / "meta.csv"
    assert main(["import", str(shared_data / "gpr/grid3d-dune400/FILE____001.DZT"), "--out", str(rec)]) == 0
    assert main(["export", str(rec), "--to", str(csv_path)]) == 0
    lines = csv_path.read_text().splitlines()
    assert lines[0].split(",")[:5] == ["seq", "device_time_ns", "host_time_ns", "encoder_ticks", "x_m"]
    assert len(lines) == 1 + 451
    assert float(lines[-1].split(",")[4]) == pytest.approx(450 / 50.0)  # 50 scans per metre


def test_bad_input_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "broken.DZT"
    bad.write_bytes(b"\x00\x01" * 100)
    code, out, err = run_cli("import", bad, "--out", tmp_path / "x.h5")
    assert code == 2
    assert err.count("\n") == 1 and "broken.DZT" in err and "Traceback" not in err
    assert not (tmp_path / "x.h5").exists()
    code, out, err = run_cli("import", tmp_path / "file.xyz", "--out", tmp_path / "x.h5")
    assert code == 2 and "file extension" in err and "Traceback" not in err
    code, out, err = run_cli("info", tmp_path / "missing.h5")
    assert code == 2 and "missing.h5" in err and "Traceback" not in err


def test_import_never_overwrites_without_force(shared_data, tmp_path):
    out = tmp_path / "rec.h5"
    out.write_bytes(b"precious")
    source = shared_data / "gpr/impdar-tests/ten_col.rd3"
    code, _, err = run_cli("import", source, "--out", out)
    assert code == 2 and "--force" in err
    assert out.read_bytes() == b"precious"
    code, _, _ = run_cli("import", source, "--out", out, "--force")
    assert code == 0
    with Recording(out) as rec:
        assert rec.gpr().n_traces == 10


def test_several_files_into_one_recording(shared_data, tmp_path, capsys):
    files = [shared_data / f"gpr/grid3d-dune400/FILE____00{k}.DZT" for k in (1, 2, 3)]
    out = tmp_path / "grid.h5"
    assert main(["import", *map(str, files), "--out", str(out)]) == 0
    capsys.readouterr()
    with Recording(out) as rec:
        assert len(rec.gpr_names) == 3
        assert all(rec.gpr(name).n_traces == 451 for name in rec.gpr_names)


def test_info_reads_a_file_while_it_is_written(tmp_path):
    from sensorkit.formats.base import DeviceInfo, new_trace_meta
    from sensorkit.store import RecordingWriter

    path = tmp_path / "live.h5"
    writer = RecordingWriter(path, live=True)
    writer.add_device("cart", DeviceInfo("gpr", "SIM"))
    writer.add_gpr_stream("cart", n_samples=16, dt_s=1e-10)
    writer.append_gpr("cart", np.zeros((7, 16), np.int16), new_trace_meta(7))
    writer.flush()
    try:
        code, out, err = run_cli("info", path)  # another process, while the writer holds the file
        assert code == 0 and "7 traces" in out, err
        code, out, err = run_cli("info", "--repair", path)  # never swaps the file under a live writer
        assert code == 2 and "being written by process" in err, err
    finally:
        writer.close()


def test_an_option_of_another_format_is_refused_by_name(shared_data):
    from sensorkit.formats.registry import read_any

    with pytest.raises(ValueError, match=r"FILE____032.DZT: option 'geometry' does not apply to \.DZT files"):
        read_any(shared_data / "gpr" / "gprpy-examples" / "GSSI" / "FILE____032.DZT", geometry="array.json")
