"""A GPR unit, a microphone array and a GNSS receiver on one cart, recorded at once for 30 s into one file: the GPR
traces carry GNSS positions within 0.05 m of the simulated track (noise-free GNSS, 5 fixes per second)."""

import json
import math

import numpy as np

from firmware_sims import CartTrack, GnssReceiverSim, GprUnitSim, MicArraySim, ToneSource
from sensorkit.store import Recording
from sensorkit.store.schema import FLAG_POSITION_FROM_WHEEL, FLAG_POSITION_INTERPOLATED

from ._helpers import RecorderProcess, ramp_traces

DURATION_S = 30.0
GPR_CONFIG = {"n_samples": 128, "time_window_ns": 20.0, "trigger": "time", "trace_rate_hz": 20.0,
              "ticks_per_m": 1000.0}
MIC_CONFIG = {"channels": 4, "fs_hz": 16000.0, "block_frames": 512, "sample_format": "int24"}


def metres_between(lat0, lon0, lat1, lon1, track: CartTrack) -> np.ndarray:
    """Horizontal distance (m) between points a few metres apart near the track's origin (local tangent plane)."""
    north_per_deg = track.offset_lat_lon(0.0, 1.0)[0] - track.origin_lat
    east_per_deg = track.offset_lat_lon(1.0, 0.0)[1] - track.origin_lon
    return np.hypot((lat1 - lat0) / north_per_deg, (lon1 - lon0) / east_per_deg)


def test_three_devices_in_one_file_with_gnss_positions_on_the_traces(tmp_path):
    # 0.5 m/s on a 20 m lane: the cart goes out for the whole recording (15 m), heading 60 degrees
    track = CartTrack.starting_now(origin_lat=52.1, origin_lon=5.2, heading_deg=60.0, speed_mps=0.5, length_m=20.0)
    out = tmp_path / "cart.h5"
    gpr = GprUnitSim(track=track, trace_source=ramp_traces, warm_up=False, link_path=tmp_path / "tty-gpr",
                     drift_ppm=40.0, clock_offset_ns=123_456_789)
    mic = MicArraySim(source_factory=lambda pos, fs, s: ToneSource(pos, fs, s), link_path=tmp_path / "tty-mic",
                      drift_ppm=-25.0)
    gnss = GnssReceiverSim(track=track, link_path=tmp_path / "tty-gnss", position_noise_m=0.0, rate_hz=5.0)
    with gpr, mic, gnss:
        with RecorderProcess(tmp_path, "--gpr", gpr.port_url, "--gpr-config", json.dumps(GPR_CONFIG),
                             "--acoustic", mic.port_url, "--acoustic-config", json.dumps(MIC_CONFIG),
                             "--gnss", gnss.port_url, "--duration", DURATION_S, "--out", out, "--quiet") as recorder:
            assert recorder.wait(DURATION_S + 30) == 0, recorder.stderr[-2000:]

    with Recording(out) as rec:
        assert rec.device_names == ["acoustic", "gnss", "gpr"]
        assert rec.device("gpr").model == "SK-GPR-SIM" and rec.device("acoustic").model == "SK-MIC-SIM"
        meta = rec.gpr().trace_meta[:]
        blocks = rec.acoustic().blocks[:]
        fixes = rec.gnss_fixes()
        events = rec.events
    assert not (set(events["kind"]) & {"gap", "reset", "reconnect", "error"})
    n = len(meta)
    assert abs(n - 20.0 * DURATION_S) <= 40  # 20 traces/s
    assert abs(len(blocks) - 16000 / 512 * DURATION_S) <= 60  # 31.25 blocks/s
    assert abs(len(fixes) - 5.0 * DURATION_S) <= 15  # 5 fixes/s
    assert meta["seq"].tolist() == list(range(n)) and blocks["seq"].tolist() == list(range(len(blocks)))

    # the wheel gives x; GNSS interpolated at each trace's trigger time gives lat/lon
    np.testing.assert_allclose(meta["x_m"], meta["encoder_ticks"] / 1000.0)
    assert np.all(meta["flags"] & FLAG_POSITION_FROM_WHEEL)
    positioned = (meta["flags"] & FLAG_POSITION_INTERPOLATED) > 0
    assert positioned.sum() >= n - 5  # only traces outside the span of the fixes (first, last) have no position
    assert np.array_equal(np.isfinite(meta["lat"]), positioned)
    # the truth: the cart's point at the wheel's distance (encoder ticks = floor(x * 1000), so x to 1 mm)
    x_true = meta["encoder_ticks"][positioned] / 1000.0 + 0.0005
    h = math.radians(track.heading_deg)
    truth = np.array([track.offset_lat_lon(x * math.sin(h), x * math.cos(h)) for x in x_true])
    error_m = metres_between(truth[:, 0], truth[:, 1], meta["lat"][positioned], meta["lon"][positioned], track)
    assert error_m.max() < 0.05, f"max {error_m.max():.4f} m, median {np.median(error_m):.4f} m"
    assert np.median(error_m) < 0.01
    assert np.allclose(meta["alt_m"][positioned], 10.0)
    assert 10.0 < x_true.max() - x_true.min() < 16.0  # the cart moved 0.5 m/s x 30 s
