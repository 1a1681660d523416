"""Drone scoring on hand-made tracks and truth, with the numbers worked out by hand."""

import json
import math

import numpy as np
import pytest

from sensorkit.datasets.drone_acoustic import TRUTH_DTYPE
from sensorkit.scoring.drones import ScoreConfig, angle_between_deg, score_clip, score_drones, write_report


def _truth(sources, duration_s=4.0, step_s=0.1):
    """sources: list of (source_id, kind, az_deg, el_deg, range_m, snr_db), constant over the clip."""
    times = np.round(np.arange(0.0, duration_s + 1e-9, step_s), 6)
    rows = []
    for t in times:
        for sid, kind, az, el, r, snr in sources:
            rows.append((t, sid, kind, "drone" if kind == "drone" else "car", az, el, r, 0, 0, 0, 180.0, 40.0, snr))
    return np.array(rows, dtype=TRUTH_DTYPE)


def _track(track_id, times, az, el, state="confirmed"):
    times = np.asarray(times, dtype=float)
    return {"track_id": track_id, "state": state, "time_s": times,
            "azimuth_deg": np.broadcast_to(np.asarray(az, dtype=float), times.shape).copy(),
            "elevation_deg": np.broadcast_to(np.asarray(el, dtype=float), times.shape).copy(),
            "f0_hz": np.full(times.shape, 180.0), "snr_db": np.zeros(times.shape), "score": np.ones(times.shape)}


def test_angle_between():
    assert angle_between_deg(10.0, 0.0, 350.0, 0.0) == pytest.approx(20.0)
    assert angle_between_deg(0.0, 90.0, 123.0, 90.0) == pytest.approx(0.0, abs=1e-6)
    assert angle_between_deg(0.0, 30.0, 0.0, 33.0) == pytest.approx(3.0)


def test_windows_doa_false_tracks_and_fragmentation_exact():
    # drone 0 at az 40, el 30, 120 m, SNR 5 dB; drone 1 at az 100, el 20, 250 m, SNR -12 dB; a car (not a drone)
    truth = _truth([(0, "drone", 40.0, 30.0, 120.0, 5.0), (1, "drone", 100.0, 20.0, 250.0, -12.0),
                    (2, "interferer", 200.0, 0.0, 50.0, 10.0)])
    tracks = [
        # track 1 on drone 0 for 0.0..1.9 s, 2 deg off in azimuth at el 30 (1.732 deg of arc): 20 updates
        _track(1, np.arange(0.0, 2.0, 0.1), 42.0, 30.0),
        # track 2 on drone 0 again for 2.5..3.4 s (a fragment), 3 deg off in elevation: 10 updates
        _track(2, np.arange(2.5, 3.45, 0.1), 40.0, 33.0),
        # track 3 at the car's direction: a false track (no drone within 10 deg)
        _track(3, np.arange(0.0, 1.0, 0.1), 200.0, 0.0),
        # track 4 tentative on drone 1: never counts
        _track(4, np.arange(0.0, 4.0, 0.1), 100.0, 20.0, state="tentative"),
    ]
    raw = score_clip(tracks, truth, duration_s=4.0)
    det0 = [w["detected"] for w in raw["windows"] if w["source_id"] == 0]
    det1 = [w["detected"] for w in raw["windows"] if w["source_id"] == 1]
    assert det0 == [True, True, True, True]   # windows [0,1) [1,2) by track 1, [2,3) [3,4) by track 2
    assert det1 == [False, False, False, False]
    assert raw["fragments"] == {0: 2, 1: 0}
    assert [t["false"] for t in raw["tracks"]] == [False, False, True]

    report = score_drones([(tracks, truth, 4.0)], names=["clip"])
    assert report["windows"] == 8 and report["pd"] == 0.5
    # drone 0 (120 m) in range < 200 m: 4/4; drone 1 (250 m) outside
    assert report["pd_within_range"] == 1.0 and report["windows_within_range"] == 4
    by_range = {(b["lo"], b["hi"]): (b["windows"], b["pd"]) for b in report["pd_by_range"]}
    assert by_range[(100.0, 150.0)] == (4, 1.0) and by_range[(250.0, 300.0)] == (4, 0.0)
    by_snr = {(b["lo"], b["hi"]): (b["windows"], b["pd"]) for b in report["pd_by_snr"]}
    assert by_snr[(5.0, 10.0)] == (4, 1.0) and by_snr[(-20.0, -10.0)] == (4, 0.0)
    e1 = float(angle_between_deg(42.0, 30.0, 40.0, 30.0))  # 1.7318 deg
    assert e1 == pytest.approx(2.0 * math.cos(math.radians(30.0)), rel=1e-3)
    errors = np.array([e1] * 20 + [3.0] * 10)
    assert report["doa"]["n"] == 30
    assert report["doa"]["rmse_deg"] == pytest.approx(math.sqrt(np.mean(errors ** 2)))
    assert report["doa"]["p90_deg"] == pytest.approx(np.percentile(errors, 90))
    assert report["azimuth"]["rmse_deg"] == pytest.approx(math.sqrt((20 * 4.0 + 10 * 0.0) / 30))
    assert report["confirmed_tracks"] == 3 and report["false_tracks"] == 1
    assert report["hours"] == pytest.approx(4.0 / 3600.0)
    assert report["false_tracks_per_hour"] == pytest.approx(900.0)
    assert report["fragmentation"] == {"drones_tracked": 1, "mean_tracks_per_drone": 2.0, "max_tracks_per_drone": 2}


def test_noise_only_clip_counts_false_tracks_per_hour():
    truth = _truth([(0, "interferer", 200.0, 0.0, 50.0, 10.0)], duration_s=9.9)
    tracks = [_track(7, np.arange(1.0, 3.0, 0.1), 30.0, 40.0)]
    quiet = []
    report = score_drones([(tracks, truth, 1800.0), (quiet, truth, 1800.0)])
    assert report["windows"] == 0 and report["pd"] is None
    assert report["hours"] == 1.0 and report["false_tracks"] == 1 and report["false_tracks_per_hour"] == 1.0
    assert report["noise_only_hours"] == 1.0 and report["noise_only_false_tracks_per_hour"] == 1.0


def test_tolerance_and_window_are_configurable_and_direction_free_tracks_match():
    truth = _truth([(0, "drone", 40.0, 30.0, 80.0, 0.0)], duration_s=1.9)
    off = [_track(1, np.arange(0.0, 1.0, 0.1), 52.0, 30.0)]  # 10.4 deg away (great circle at el 30)
    assert score_drones([(off, truth, 2.0)])["pd"] == 0.0
    assert score_drones([(off, truth, 2.0)], ScoreConfig(tolerance_deg=15.0))["pd"] == 0.5
    assert score_drones([(off, truth, 2.0)], ScoreConfig(tolerance_deg=15.0, window_s=2.0))["pd"] == 1.0
    no_direction = [_track(1, np.arange(0.0, 2.0, 0.1), np.nan, np.nan)]
    report = score_drones([(no_direction, truth, 2.0)])
    assert report["pd"] == 1.0 and report["doa"]["n"] == 0 and report["false_tracks"] == 0
    with pytest.raises(ValueError, match="tolerance_deg"):
        ScoreConfig(tolerance_deg=0.0)


def test_write_report(tmp_path):
    truth = _truth([(0, "drone", 40.0, 30.0, 80.0, 0.0)], duration_s=2.9)
    report = score_drones([([_track(1, np.arange(0.0, 3.0, 0.1), 41.0, 30.0)], truth, 3.0)])
    paths = write_report(report, tmp_path / "score")
    assert [p.name for p in paths] == ["score_drones.json", "score_drones_pd.png"]
    assert json.loads(paths[0].read_text())["pd"] == 1.0
    assert paths[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
