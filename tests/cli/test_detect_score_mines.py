"""`sensorkit detect mines` and `sensorkit score mines` on a synthetic lane recording and on every real GPR file."""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys

import h5py
import numpy as np
import pytest

from sensorkit.cli import detect_cmd, score_cmd
from sensorkit.synth.demining import make_lane, simulate_lane, write_lane_recording, write_truth_csv
from sensorkit.synth.mines import BuriedObject


def _main(argv: list[str]) -> int:
    """sensorkit.cli.main.main once detect/score are registered there; until then the same handling here."""
    from sensorkit.cli import main as cli_main

    if detect_cmd in cli_main.COMMANDS and score_cmd in cli_main.COMMANDS:
        return cli_main.main(argv)
    parser = argparse.ArgumentParser(prog="sensorkit")
    sub = parser.add_subparsers(dest="command")
    detect_cmd.add_parser(sub)
    score_cmd.add_parser(sub)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (FileExistsError, FileNotFoundError, ValueError) as error:
        print(f"sensorkit {args.command}: error: {error}", file=sys.stderr)
        return 2


@pytest.fixture(scope="module")
def lane(tmp_path_factory):
    """A 1.4 m x 0.6 m lane in moist sand: a plastic AP mine, a metal AT mine and a stone; recording + truth."""
    folder = tmp_path_factory.mktemp("lane")
    objects = [BuriedObject("ap-plastic", 0.35, 0.3, 0.07, 0.09, 0.045, eps_r=2.9, parts={"air_gap": False}),
               BuriedObject("at-metal", 1.0, 0.3, 0.10, 0.30, 0.10),
               BuriedObject("stone", 0.7, 0.45, 0.12, 0.05, 0.05, eps_r=6.0,
                            parts={"radii_m": [0.025], "offsets_m": [(0.0, 0.0, 0.0)]})]
    lane = make_lane("moist-sand", objects, seed=21, name="T01", size_x_m=1.4, size_y_m=0.6)
    line, truth = simulate_lane(lane, dx_m=0.02, channel_spacing_m=0.05, n_samples=256, dt_s=8e-11)
    rec = write_lane_recording(line, folder / "T01.h5")
    return rec, write_truth_csv(truth, folder / "truth.csv")


def test_detect_then_score_a_lane(lane, tmp_path, capsys):
    rec, truth = lane
    local = tmp_path / "T01.h5"
    local.write_bytes(rec.read_bytes())
    out = tmp_path / "T01.geojson"
    plots = tmp_path / "plots"
    assert _main(["detect", "mines", str(local), "--out", str(out), "--plot", str(plots), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["dims"] == 3 and summary["source"] == "T01"
    assert summary["results"] == "/results/landmine/T01"
    assert summary["area_m2"] == pytest.approx(71 * 13 * 0.02 * 0.05)
    assert summary["velocity_source"] == "file rel_permittivity"
    assert summary["velocity_m_per_ns"] == pytest.approx(0.299792458 / 3.0)
    # both mines are alarms, within the halo and 4 cm in depth
    for x, y, depth in ((0.35, 0.3, 0.07), (1.0, 0.3, 0.10)):
        near = [a for a in summary["alarms"] if math.hypot(a["x_m"] - x, a["y_m"] - y) <= 0.15]
        assert len(near) == 1
        assert abs(near[0]["depth_m"] - depth) <= 0.04
    doc = json.loads(out.read_text())
    assert doc["type"] == "FeatureCollection"
    assert doc["properties"]["surveys"] == [{"source": "T01", "area_m2": summary["area_m2"]}]
    assert doc["properties"]["parameters"]["config"]["score_threshold"] == 0.5
    assert len(doc["features"]) == summary["n_detections"]
    for feature in doc["features"]:
        assert feature["geometry"] is None  # synthetic: no GNSS
        p = feature["properties"]
        assert 0.0 <= p["score"] <= 1.0 and p["alarm"] == (p["score"] >= 0.5) and p["lat"] is None
    with h5py.File(local, "r") as f:
        ds = f["results/landmine/T01/detections"]
        assert ds.shape == (summary["n_detections"],)
        np.testing.assert_allclose(np.sort(ds["score"]), np.sort([f["properties"]["score"] for f in doc["features"]]))
        params = json.loads(f["results/landmine/T01"].attrs["parameters"])
        assert params["config"]["pfa"] == 1e-4 and params["velocity_source"] == "file rel_permittivity"
        assert "gpr" in f  # the recording itself is untouched
    pngs = sorted(p.name for p in plots.iterdir())
    assert pngs[0].startswith("T01_det01_section") and any(p.startswith("T01_map_") for p in pngs)

    # again: the results exist -> exit 2 with one line, nothing written
    out.unlink()
    assert _main(["detect", "mines", str(local), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "/results/landmine/T01 exists; use --force" in err[0]
    assert not out.exists()
    assert _main(["detect", "mines", str(local), "--out", str(out), "--force"]) == 0
    capsys.readouterr()

    report_dir = tmp_path / "score"
    # a truth file with another lane too: only the surveyed lane T01 is scored
    truth_more = tmp_path / "truth.csv"
    truth_more.write_text(truth.read_text() + "T99-01,mine,ap-metal,0.5,0.3,0.05,0.08,loam,T99\n")
    assert _main(["score", "mines", str(out), str(truth_more), "--out", str(report_dir), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["n_mines"], report["n_clutter"], report["found"]) == (2, 1, 2)
    assert report["pd"] == 1.0
    assert report["fa_per_m2"] == pytest.approx(report["false_alarms"] / summary["area_m2"])
    assert report["by_type"] == {"ap-plastic": {"mines": 1, "found": 1, "pd": 1.0},
                                 "at-metal": {"mines": 1, "found": 1, "pd": 1.0}}
    assert (report_dir / "score_mines_roc.png").read_bytes()[:4] == b"\x89PNG"
    saved = json.loads((report_dir / "score_mines.json").read_text())
    assert saved["roc"][-1]["pd"] == 1.0


def test_detect_mines_bad_input_exits_2(tmp_path, capsys):
    assert _main(["detect", "mines", str(tmp_path / "missing.DZT"), "--out", str(tmp_path / "d.csv")]) == 2
    assert "missing.DZT" in capsys.readouterr().err
    assert _main(["detect", "mines", str(tmp_path / "x.DZT"), "--out", str(tmp_path / "d.txt")]) == 2
    assert "expected a .geojson or .csv" in capsys.readouterr().err
    cfg = tmp_path / "c.json"
    cfg.write_text('{"pfa": 3}')
    assert _main(["detect", "mines", str(tmp_path / "x.DZT"), "--config", str(cfg)]) == 2
    assert "config.pfa" in capsys.readouterr().err


REAL_FILES = [
    ("gprpy-examples/GSSI/FILE____032.DZT", False),
    ("gprpy-examples/SnS/ComOffs/XLINE00.DT1", False),
    ("gprpy-examples/SnS/WARR/XLINE00.DT1", False),
    ("impdar-tests/test_gssi.DZT", True),
    ("impdar-tests/ten_col.rd3", True),
    ("grid3d-dune400/FILE____001.DZT", False),
]


def _check_csv(path, has_gnss: bool):
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == detect_cmd.CSV_COLUMNS
        rows = list(reader)
    for row in rows:
        for key in ("x_m", "y_m", "depth_m", "size_m", "amplitude", "score", "area_m2"):
            assert math.isfinite(float(row[key]))
        assert 0.0 <= float(row["score"]) <= 1.0 and float(row["depth_m"]) >= 0.0
        assert row["alarm"] in ("True", "False")
        assert (row["lat"] != "") == has_gnss
    return rows


@pytest.mark.parametrize("name, has_gnss", REAL_FILES)
def test_detect_mines_runs_on_real_files(shared_data, tmp_path, capsys, name, has_gnss):
    path = shared_data / "gpr" / name
    geo, table = tmp_path / "d.geojson", tmp_path / "d.csv"
    assert _main(["detect", "mines", str(path), "--out", str(geo), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["dims"] == 2 and summary["results"] is None  # a raw file: nothing written into it
    doc = json.loads(geo.read_text())
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == summary["n_detections"]
    for feature in doc["features"]:
        p = feature["properties"]
        assert math.isfinite(p["x_m"]) and math.isfinite(p["depth_m"]) and 0.0 <= p["score"] <= 1.0
        if has_gnss:
            lon, lat = feature["geometry"]["coordinates"]
            assert (lat, lon) == (p["lat"], p["lon"]) and -90 <= lat <= 90 and -180 <= lon <= 180
        else:
            assert feature["geometry"] is None
    assert _main(["detect", "mines", str(path), "--out", str(table)]) == 0
    capsys.readouterr()
    rows = _check_csv(table, has_gnss)
    assert len(rows) == summary["n_detections"]


def test_detect_mines_on_three_dune_lines_as_a_grid(shared_data, tmp_path, capsys):
    files = [str(shared_data / "gpr" / "grid3d-dune400" / f"FILE____00{i}.DZT") for i in (1, 2, 3)]
    out = tmp_path / "dune.csv"
    assert _main(["detect", "mines", *files, "--line-spacing", "0.2", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["dims"] == 3
    rows = _check_csv(out, has_gnss=False)
    assert {float(r["y_m"]) for r in rows} <= {0.0, 0.2, 0.4} or all(0.0 <= float(r["y_m"]) <= 0.4 for r in rows)
