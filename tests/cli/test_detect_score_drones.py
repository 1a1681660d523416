"""`sensorkit detect drones` and `sensorkit score drones`: outputs, results in the recording, exit codes."""

import json
import math

import h5py
import numpy as np
import pytest

from sensorkit.cli import detect_cmd, main, score_cmd
from sensorkit.datasets.drone_acoustic import truth_rows, write_truth_csv
from sensorkit.formats.array_geometry import circular_array, write_array_geometry_json
from sensorkit.formats.audio import write_audio
from sensorkit.formats.base import AudioRecord, DeviceInfo
from sensorkit.store import RecordingWriter
from sensorkit.store.schema import BLOCK_META_DTYPE, empty_records
from sensorkit.synth.acoustic import SoundScene
from sensorkit.synth.background_noise import SensorNoise, Wind
from sensorkit.synth.drone_sound import Drone
from sensorkit.synth.trajectory import Trajectory

FS = 16000.0


@pytest.fixture(autouse=True)
def _with_detect_and_score(monkeypatch):
    """Run through sensorkit.cli.main (its error handling and exit codes) with `detect` and `score` registered,
    whether or not main.py lists them yet."""
    commands = tuple(main.COMMANDS)
    for module in (detect_cmd, score_cmd):
        if module not in commands:
            commands += (module,)
    monkeypatch.setattr(main, "COMMANDS", commands)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 4 s recording of a drone hovering at azimuth 40 deg, elevation 25 deg, 60 m, and its truth CSV."""
    folder = tmp_path_factory.mktemp("drones")
    mics = circular_array(8, 0.1)
    az, el, r = math.radians(40.0), math.radians(25.0), 60.0
    scene = SoundScene(mics, FS, sources=[Drone(Trajectory.hover(
        [r * math.cos(el) * math.cos(az), r * math.cos(el) * math.sin(az), r * math.sin(el)]), rpm=5400.0)],
        noise=[SensorNoise(32.0), Wind(45.0)], seed=21)
    x = scene.render_all(4.0)
    path = folder / "clip.h5"
    with RecordingWriter(path) as w:
        w.add_device("mic", DeviceInfo(kind="acoustic"))
        w.add_audio_stream("mic", n_channels=8, fs_hz=FS, dtype="float32", mic_positions_m=mics, units="Pa")
        w.append_audio("mic", x, empty_records(BLOCK_META_DTYPE, 1))
    truth = folder / "clip.truth.csv"
    write_truth_csv(truth, truth_rows(scene, {"duration_s": 4.0, "sources": [{"type": "drone"}]}, 0.1))
    wav = folder / "clip.wav"
    write_audio(wav, AudioRecord(name="clip", samples=(x / np.abs(x).max() * 0.5).astype(np.float32), fs_hz=FS,
                                 device=DeviceInfo(kind="acoustic")))
    geometry = folder / "array.json"
    write_array_geometry_json(geometry, mics)
    return {"folder": folder, "h5": path, "truth": truth, "wav": wav, "geometry": geometry}


def _run(capsys, *argv):
    code = main.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_detect_recording_writes_tracks_results_and_plots(clip, tmp_path, capsys):
    rec = tmp_path / "rec.h5"
    rec.write_bytes(clip["h5"].read_bytes())
    code, out, err = _run(capsys, "detect", "drones", rec, "--out", tmp_path / "t.json", "--plot", tmp_path / "p",
                          "--heading-deg", "100", "--json")
    assert code == 0, err
    s = json.loads(out)
    assert s["n_confirmed"] == 1 and s["has_direction"] and s["results"] == "/results/drone"
    t = s["tracks"][0]
    assert abs(t["azimuth_deg"] - 40.0) <= 2.0 and abs(t["bearing_deg"] - 60.0) <= 2.0
    assert abs(t["f0_hz"] - 180.0) <= 6.0
    doc = json.loads((tmp_path / "t.json").read_text())
    assert doc["parameters"]["config"]["pfa"] == 1e-2 and doc["tracks"][0]["state"] == "confirmed"
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["rec_azimuth_time.png", "rec_polar.png",
                                                                 "rec_spectrogram.png"]
    with h5py.File(rec, "r") as f:
        assert len(f["results/drone/tracks"]) == len(doc["tracks"][0]["time_s"])
        assert json.loads(f["results/drone"].attrs["parameters"])["heading_deg"] == 100.0
    # results exist: refused without --force (exit 2, one line), replaced with it
    code, out, err = _run(capsys, "detect", "drones", rec)
    assert code == 2 and "exists; use --force" in err and len(err.strip().splitlines()) == 1
    code, out, err = _run(capsys, "detect", "drones", rec, "--force")
    assert code == 0 and "1 confirmed track" in out


def test_detect_wav_with_and_without_geometry_then_score(clip, tmp_path, capsys):
    code, out, err = _run(capsys, "detect", "drones", clip["wav"], "--array", clip["geometry"], "--out",
                          tmp_path / "t.csv", "--json")
    assert code == 0, err
    assert json.loads(out)["n_confirmed"] == 1
    assert (tmp_path / "t.csv").read_text().splitlines()[0].startswith("track_id,state,start_time_s")
    code, out, err = _run(capsys, "score", "drones", tmp_path / "t.csv", clip["truth"], "--out", tmp_path / "s",
                          "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["windows"] == 5 and report["pd"] >= 0.8 and report["false_tracks"] == 0
    assert report["doa"]["rmse_deg"] <= 2.0
    assert (tmp_path / "s" / "score_drones_pd.png").is_file()
    # one channel: fundamentals without direction
    mono = tmp_path / "mono.wav"
    import soundfile

    data, fs = soundfile.read(str(clip["wav"]), dtype="float32", always_2d=True)
    soundfile.write(str(mono), data[:, :1], fs, subtype="FLOAT")
    code, out, err = _run(capsys, "detect", "drones", mono, "--json")
    assert code == 0, err
    s = json.loads(out)
    assert not s["has_direction"] and s["tracks"][0]["azimuth_deg"] is None
    assert abs(s["tracks"][0]["f0_hz"] - 180.0) <= 6.0


def test_exit_codes_on_bad_input(clip, tmp_path, capsys):
    code, _, err = _run(capsys, "detect", "drones", tmp_path / "missing.h5")
    assert code == 2 and "no such file" in err
    code, _, err = _run(capsys, "detect", "drones", clip["h5"], "--out", tmp_path / "t.txt", "--no-results")
    assert code == 2 and ".json or .csv" in err
    bad = tmp_path / "bad.json"
    bad.write_text('{"pfa": 2}')
    code, _, err = _run(capsys, "detect", "drones", clip["h5"], "--config", bad, "--no-results")
    assert code == 2 and "DroneConfig.pfa" in err
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"RIFF1234WAVEjunk")
    code, _, err = _run(capsys, "detect", "drones", garbage)
    assert code == 2 and "garbage.wav" in err
    gpr_file = tmp_path / "line.DZT"  # a GPR file is not audio: one line, not a traceback
    gpr_file.write_bytes(b"\0" * 1024)
    code, _, err = _run(capsys, "detect", "drones", gpr_file)
    assert code == 2 and "expected a recording (.h5) or an audio file" in err and len(err.strip().splitlines()) == 1
    holes = tmp_path / "holes.wav"  # a readable file whose samples the pipeline refuses: the error names it
    samples = np.where(np.arange(16000) > 8000, np.nan, 0.1).astype(np.float32)[:, None]
    write_audio(holes, AudioRecord(name="holes", samples=samples, fs_hz=16000.0, device=DeviceInfo(kind="acoustic")))
    code, _, err = _run(capsys, "detect", "drones", holes)
    assert code == 2 and "holes.wav: frames: expected finite values" in err and "first nan at index (8001, 0)" in err
    slow = tmp_path / "slow.wav"
    write_audio(slow, AudioRecord(name="slow", samples=np.full((800, 1), 0.1, np.float32), fs_hz=800.0,
                                  device=DeviceInfo(kind="acoustic")))
    code, _, err = _run(capsys, "detect", "drones", slow)
    assert code == 2 and "slow.wav: fs_hz: expected a sampling rate >= 1000 Hz, found 800.0" in err
    slow_h5 = tmp_path / "slow.h5"  # followed as a live recording: the same refusal names the file
    with RecordingWriter(slow_h5) as w:
        w.add_device("mic", DeviceInfo(kind="acoustic"))
        w.add_audio_stream("mic", n_channels=1, fs_hz=800.0, dtype="float32")
        w.append_audio("mic", np.full((800, 1), 0.1, np.float32), empty_records(BLOCK_META_DTYPE, 1))
    code, _, err = _run(capsys, "detect", "drones", slow_h5, "--follow", "--no-results", "--idle-timeout", "1")
    assert code == 2 and "slow.h5: fs_hz: expected a sampling rate >= 1000 Hz, found 800.0" in err
    code, _, err = _run(capsys, "score", "drones", clip["truth"])
    assert code == 2 and "pairs" in err
    code, _, err = _run(capsys, "score", "drones", clip["truth"], clip["truth"])
    assert code == 2 and "track_id" in err
