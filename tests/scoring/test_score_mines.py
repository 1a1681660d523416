"""Scoring of mine detections: the halo rule, PD, false alarms per m2, ROC and splits, on hand-made cases."""

from __future__ import annotations

import json

import pytest

from sensorkit.scoring.mines import match_detections, read_detections, read_truth, roc_curve, score_mines, \
    write_report

TRUTH = [
    {"id": "A", "kind": "mine", "type": "ap-plastic", "x_m": 0.0, "y_m": 0.0, "depth_m": 0.03, "soil": "dry-sand",
     "lane": "L1"},
    {"id": "B", "kind": "mine", "type": "at-metal", "x_m": 1.0, "y_m": 0.0, "depth_m": 0.12, "soil": "dry-sand",
     "lane": "L1"},
    {"id": "C", "kind": "mine", "type": "ap-plastic", "x_m": 2.0, "y_m": 0.0, "depth_m": 0.25, "soil": "loam",
     "lane": "L2"},
    {"id": "K", "kind": "clutter", "type": "can", "x_m": 3.0, "y_m": 0.0, "depth_m": 0.05, "soil": "loam",
     "lane": "L2"},
]
DETS = [
    {"x_m": 0.1, "y_m": 0.0, "score": 0.9, "source": "L1"},     # finds A (0.10 m away)
    {"x_m": 0.05, "y_m": 0.05, "score": 0.4, "source": "L1"},   # also in A's halo: not a false alarm
    {"x_m": 1.2, "y_m": 0.0, "score": 0.8, "source": "L1"},     # 0.20 m from B: outside the halo, a false alarm
    {"x_m": 3.0, "y_m": 0.1, "score": 0.7, "source": "L2"},     # on the can: a false alarm
    {"x_m": 2.0, "y_m": 0.15, "score": 0.3, "source": "L2"},    # exactly on C's halo (0.15 m): finds C
]


def test_operating_point_at_threshold_half():
    r = score_mines(DETS, TRUTH, area_m2=10.0, threshold=0.5)
    assert (r["n_mines"], r["n_clutter"], r["found"], r["false_alarms"]) == (3, 1, 1, 2)
    assert r["pd"] == pytest.approx(1 / 3)
    assert r["fa_per_m2"] == pytest.approx(0.2)
    assert r["n_alarms"] == 3
    assert r["clutter_declared_by_type"] == {"can": 1}
    assert r["by_type"] == {"ap-plastic": {"mines": 2, "found": 1, "pd": 0.5},
                            "at-metal": {"mines": 1, "found": 0, "pd": 0.0}}
    assert r["by_depth"]["0-5 cm"] == {"mines": 1, "found": 1, "pd": 1.0}
    assert r["by_depth"][">= 20 cm"] == {"mines": 1, "found": 0, "pd": 0.0}
    assert r["by_soil"]["loam"] == {"mines": 1, "found": 0, "pd": 0.0}
    assert [t["found"] for t in r["truth"]] == [True, False, False, True]


def test_roc_points_exact():
    roc = roc_curve(DETS, TRUTH, area_m2=10.0)
    got = [(p["threshold"], p["found"], p["false_alarms"]) for p in roc]
    assert got == [(None, 0, 0), (0.9, 1, 0), (0.8, 1, 1), (0.7, 1, 2), (0.4, 1, 2), (0.3, 2, 2)]
    assert roc[-1]["pd"] == pytest.approx(2 / 3)
    assert roc[-1]["fa_per_m2"] == pytest.approx(0.2)
    r = score_mines(DETS, TRUTH, area_m2=10.0)
    assert r["pd_at_0.1_fa_per_m2"] == pytest.approx(1 / 3)  # at most 1 false alarm in 10 m2


def test_larger_halo_turns_the_near_miss_into_a_find():
    r = score_mines(DETS, TRUTH, area_m2=10.0, halo_m=0.25, threshold=0.5)
    assert (r["found"], r["false_alarms"]) == (2, 1)


def test_detections_match_only_the_truth_of_their_own_lane():
    dets = [{"x_m": 0.0, "y_m": 0.0, "score": 1.0, "source": "L2"}]  # A's place, but in lane L2
    best, in_mine = match_detections(dets, TRUTH)
    assert list(in_mine) == [False] and list(best) == [-float("inf")] * 4
    r = score_mines(dets, TRUTH, area_m2=5.0)
    assert (r["found"], r["false_alarms"]) == (0, 1)
    # without survey names every detection meets every truth row
    r = score_mines([{"x_m": 0.0, "y_m": 0.0, "score": 1.0}], TRUTH, area_m2=5.0)
    assert (r["found"], r["false_alarms"]) == (1, 0)


def test_false_alarms_per_soil_with_lane_areas():
    r = score_mines(DETS, TRUTH, area_m2=10.0, area_by_lane={"L1": 4.0, "L2": 6.0})
    assert r["by_soil"]["dry-sand"]["false_alarms"] == 1
    assert r["by_soil"]["dry-sand"]["fa_per_m2"] == pytest.approx(0.25)
    assert r["by_soil"]["loam"]["fa_per_m2"] == pytest.approx(1 / 6)


def test_bad_input_raises_naming_the_field():
    with pytest.raises(ValueError, match=r"detections\[0\].x_m"):
        score_mines([{"x_m": "here", "y_m": 0, "score": 1}], TRUTH, area_m2=1.0)
    with pytest.raises(ValueError, match="area_m2"):
        score_mines(DETS, TRUTH, area_m2=0.0)
    with pytest.raises(ValueError, match="halo_m"):
        match_detections(DETS, TRUTH, halo_m=-1)


def test_files_round_trip(tmp_path):
    truth_csv = tmp_path / "truth.csv"
    truth_csv.write_text("id,kind,type,x_m,y_m,depth_m,size_m,soil,lane\n"
                         "A,mine,ap-plastic,0.0,0.0,0.03,0.08,dry-sand,L1\n")
    rows = read_truth(truth_csv)
    assert rows[0]["x_m"] == 0.0 and rows[0]["depth_m"] == 0.03
    geo = tmp_path / "d.geojson"
    geo.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": None, "properties": {"x_m": 0.05, "y_m": 0.0, "score": 0.8, "source": "L1"}}],
        "properties": {"surveys": [{"source": "L1", "area_m2": 2.5}]}}))
    dets, areas = read_detections(geo)
    assert areas == {"L1": 2.5}
    report = score_mines(dets, rows, area_m2=areas["L1"])
    assert report["pd"] == 1.0 and report["false_alarms"] == 0
    paths = write_report(report, tmp_path / "out")
    saved = json.loads(paths[0].read_text())
    assert saved["roc"][0]["threshold"] is None and saved["roc"][-1]["pd"] == 1.0
    assert paths[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="column 'x_m'"):
        read_truth(bad)


@pytest.mark.parametrize("text, message", [
    ("x_m,y_m\n0.5,abc\n", r"row 2, column 'y_m': expected a number, found 'abc'"),
    ("x_m,y_m\n0.5,\n", r"row 2, column 'y_m'"),
    ("x_m,y_m\nnan,0.2\n", r"row 2, column 'x_m'"),
    ("depth_m\n0.1\n", r"column 'x_m'"),
])
def test_a_bad_truth_file_is_a_format_error_naming_file_row_and_column(tmp_path, text, message):
    from sensorkit.errors import FormatError
    from sensorkit.scoring.mines import read_truth

    path = tmp_path / "truth.csv"
    path.write_text(text)
    with pytest.raises(FormatError, match=message) as error:
        read_truth(path)
    assert str(path) in str(error.value)
    with pytest.raises(FormatError, match="readable truth CSV"):
        read_truth(tmp_path / "missing.csv")
