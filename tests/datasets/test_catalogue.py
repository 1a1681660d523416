"""The dataset catalogue: making drones-small into a cache, the manifest, idempotence, changed specs, truth that
matches the scene and the sound, clear spec errors, the generator registry and the `sensorkit dataset` command."""

import argparse
import copy
import json
import math
from pathlib import Path

import h5py
import numpy as np
import pytest

from sensorkit.datasets import catalogue as cat
from sensorkit.datasets import dataset_path, dataset_status, load_spec, make_dataset, read_index, register_generator
from sensorkit.datasets.drone_acoustic import build_scene, read_truth, resolve_settings, truth_rows
from sensorkit.errors import FormatError
from sensorkit.formats.array_geometry import circular_array
from sensorkit.store import Recording
from sensorkit.synth.air_absorption import speed_of_sound_mps

REPO_CATALOGUE = Path(__file__).resolve().parents[2] / "datasets"
SMALL_SPEC = json.loads((REPO_CATALOGUE / "drones-small" / "spec.json").read_text())


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """drones-small made once into a temporary cache: (report, cache root)."""
    cache = tmp_path_factory.mktemp("cache")
    report = make_dataset("drones-small", cache, progress=False)
    return report, cache


def write_spec(catalogue: Path, spec: dict, folder_name: str | None = None) -> Path:
    folder = catalogue / (folder_name or spec["name"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "spec.json").write_text(json.dumps(spec, indent=1))
    return folder / "spec.json"


def tiny_spec(name="tiny", **settings) -> dict:
    """drones-small cut to two 0.6 s clips (int16 unless told), for the cache-logic tests."""
    spec = copy.deepcopy(SMALL_SPEC)
    spec["name"] = name
    spec["settings"].update({"sample_format": "int16", "full_scale_pa": 20.0, **settings})
    spec["clips"] = spec["clips"][:2]
    for clip in spec["clips"]:
        clip["duration_s"] = 0.6
    return spec


# ------------------------------------------------------------------------------------------------ drones-small


def test_make_drones_small_writes_recordings_truth_index_and_manifest(small):
    report, cache = small
    folder = cache / "drones-small"
    assert report.path == folder and report.made == ["one-drone", "two-drones", "noise-only"] and not report.kept
    manifest = cat.read_manifest(folder)
    spec = load_spec("drones-small")
    assert manifest["spec_sha256"] == spec.sha256 and manifest["kind"] == "drone-acoustic"
    assert sorted(manifest["items"]) == ["noise-only", "one-drone", "two-drones"]
    for entry in manifest["items"].values():
        assert len(entry["files"]) == 2
        for rel, info in entry["files"].items():
            assert cat.sha256_file(folder / rel) == info["sha256"]
            assert (folder / rel).stat().st_size == info["bytes"]
    index = read_index(folder)
    assert index["splits"] == {"test": ["one-drone", "two-drones", "noise-only"]}
    assert [i["files"] for i in index["items"]][0] == ["test/one-drone.h5", "test/one-drone.truth.csv"]
    assert not (folder / ".staging").exists()
    with Recording(folder / "test" / "one-drone.h5") as rec:
        stream = rec.acoustic("mic")
        assert stream.fs_hz == 16000.0 and stream.n_frames == 160000 and stream.n_channels == 8
        np.testing.assert_array_equal(stream.mic_positions_m, circular_array(8, 0.1))
        assert stream.units == "Pa" and stream.samples.dtype == np.float32
        config = rec.device("mic").config
        assert config["clip"]["seed"] == 101 and config["generator"] == "drone-acoustic/1"
    assert dataset_status("drones-small", cache) == "complete"


def test_second_make_is_a_no_op(small):
    _, cache = small
    folder = cache / "drones-small"
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*.h5")}
    again = make_dataset("drones-small", cache, progress=False)
    assert again.up_to_date and again.made == [] and sorted(again.kept) == ["noise-only", "one-drone", "two-drones"]
    assert again.seconds < 2.0
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*.h5")} == before


def test_recorded_samples_and_truth_are_those_of_the_scene(small):
    _, cache = small
    spec = load_spec("drones-small")
    settings = resolve_settings(spec)
    for clip in spec.data["clips"]:
        path = cache / "drones-small" / "test"
        scene = build_scene(settings, clip)
        with h5py.File(path / f"{clip['id']}.h5", "r") as f:
            head = f["acoustic/mic/samples"][:9000]
        assert np.array_equal(head, scene.render_frames(0, 9000))  # bit for bit
        truth = read_truth(path / f"{clip['id']}.truth.csv")
        rows = truth_rows(scene, clip, 0.1)
        assert len(truth) == len(rows) == 101 * len(clip["sources"])
        np.testing.assert_allclose(truth["azimuth_deg"], [r[4] for r in rows], atol=1e-4)
        np.testing.assert_allclose(truth["range_m"], [r[6] for r in rows], atol=1e-3)
        np.testing.assert_allclose(truth["snr_db"], [r[12] for r in rows], atol=0.01)
    two = read_truth(cache / "drones-small" / "test" / "two-drones.truth.csv")
    a, b = two[two["source_id"] == 0], two[two["source_id"] == 1]
    np.testing.assert_allclose(a["azimuth_deg"], 30.0, atol=1e-3)  # hovering 30 deg apart
    np.testing.assert_allclose(b["azimuth_deg"], 60.0, atol=1e-3)
    np.testing.assert_allclose(a["range_m"], 70.0, atol=1e-3)
    assert np.median(a["fundamental_hz"]) == pytest.approx(160.0, rel=0.03)  # 4800 rpm x 2 blades / 60
    assert np.median(b["fundamental_hz"]) == pytest.approx(210.0, rel=0.03)
    one = read_truth(cache / "drones-small" / "test" / "one-drone.truth.csv")
    closest = one[np.argmin(one["range_m"])]
    assert closest["range_m"] == pytest.approx(math.hypot(50.0, 28.5), abs=0.01)  # 57.57 m, 30 m up
    assert closest["time_s"] == pytest.approx(5.0 + 57.57 / speed_of_sound_mps(20.0), abs=0.06)
    assert closest["azimuth_deg"] == pytest.approx(60.0, abs=0.5)
    noise = read_truth(cache / "drones-small" / "test" / "noise-only.truth.csv")
    assert set(noise["kind"]) == {"interferer"} and set(noise["type"]) == {"car"}


def test_the_recorded_sound_comes_from_the_truth_directions(small):
    """Delay-and-sum power at harmonics of each drone clear of the other's peaks at its truth azimuth."""
    _, cache = small
    with Recording(cache / "drones-small" / "test" / "two-drones.h5") as rec:
        stream = rec.acoustic("mic")
        x = np.asarray(stream.samples[:], dtype=np.float64)  # 10 s: the 0.2 m array needs long averages
        mics = stream.mic_positions_m
    truth = read_truth(cache / "drones-small" / "test" / "two-drones.truth.csv")
    c = speed_of_sound_mps(20.0)
    spec = np.fft.rfft(x * np.hanning(len(x))[:, None], axis=0)
    f = np.fft.rfftfreq(len(x), 1 / 16000.0)
    az = np.radians(np.arange(0.0, 360.0, 0.5))
    for k, harmonics in ((0, (1, 2, 3)), (1, (1, 2, 5))):  # 160, 320, 480 Hz and 210, 420, 1050 Hz
        rows = truth[truth["source_id"] == k]
        f0, el = np.median(rows["fundamental_hz"]), math.radians(np.median(rows["elevation_deg"]))
        u = np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.full(az.shape, np.sin(el))], axis=1)
        lead = mics @ u.T / c
        power = np.zeros(az.size)
        for h in harmonics:
            for i in np.nonzero(np.abs(f - h * f0) < 0.025 * h * f0)[0]:
                power += np.abs(np.sum(spec[i][:, None] * np.exp(-2j * np.pi * f[i] * lead), axis=0)) ** 2
        assert math.degrees(az[np.argmax(power)]) == pytest.approx(np.median(rows["azimuth_deg"]), abs=2.0)


# ------------------------------------------------------------------------------------------------ cache logic


def test_a_changed_spec_remakes_only_what_changed(tmp_path):
    catalogue, cache = tmp_path / "catalogue", tmp_path / "cache"
    spec = tiny_spec()
    write_spec(catalogue, spec)
    first = make_dataset("tiny", cache, catalogue=catalogue, progress=False)
    assert first.made == ["one-drone", "two-drones"]
    folder = cache / "tiny"
    with h5py.File(folder / "test" / "one-drone.h5", "r") as f:
        samples = f["acoustic/mic/samples"]
        assert samples.dtype == np.int16 and samples.shape == (9600, 8)
        assert samples.attrs["units"] == "counts"
        assert samples.attrs["pa_per_count"] == pytest.approx(20.0 / 32767)
        counts = samples[:4000].astype(np.float64)
    pressure = build_scene(resolve_settings(load_spec("tiny", catalogue)), spec["clips"][0]).render_frames(0, 4000)
    assert np.max(np.abs(counts * 20.0 / 32767 - pressure)) <= 0.5 * 20.0 / 32767 + 1e-9  # rounded to the count
    kept_mtime = (folder / "test" / "two-drones.h5").stat().st_mtime_ns

    spec["description"] = "edited words only"  # the spec hash changes, no item does
    write_spec(catalogue, spec)
    assert dataset_status("tiny", cache, catalogue) == "outdated"
    report = make_dataset("tiny", cache, catalogue=catalogue, progress=False)
    assert report.made == [] and cat.read_manifest(folder)["spec_sha256"] == load_spec("tiny", catalogue).sha256
    assert dataset_status("tiny", cache, catalogue) == "complete"

    spec["clips"][0]["seed"] = 999
    write_spec(catalogue, spec)
    report = make_dataset("tiny", cache, catalogue=catalogue, progress=False)
    assert report.made == ["one-drone"] and report.kept == ["two-drones"]
    assert (folder / "test" / "two-drones.h5").stat().st_mtime_ns == kept_mtime

    spec["clips"] = spec["clips"][:1]
    write_spec(catalogue, spec)
    report = make_dataset("tiny", cache, catalogue=catalogue, progress=False)
    assert report.removed == ["test/two-drones.h5", "test/two-drones.truth.csv"]
    assert not (folder / "test" / "two-drones.h5").exists()
    assert read_index(folder)["splits"] == {"test": ["one-drone"]}

    with open(folder / "test" / "one-drone.truth.csv", "a") as f:  # damaged: another size
        f.write("junk\n")
    assert dataset_status("tiny", cache, catalogue) == "partial"
    assert make_dataset("tiny", cache, catalogue=catalogue, progress=False).made == ["one-drone"]
    assert make_dataset("tiny", cache, catalogue=catalogue, progress=False, force=True).made == ["one-drone"]


def test_same_spec_makes_the_same_samples_in_another_cache(tmp_path):
    catalogue = tmp_path / "catalogue"
    write_spec(catalogue, tiny_spec())
    data = []
    for cache in (tmp_path / "a", tmp_path / "b"):
        make_dataset("tiny", cache, catalogue=catalogue, progress=False)
        with h5py.File(cache / "tiny" / "test" / "two-drones.h5", "r") as f:
            data.append(f["acoustic/mic/samples"][:])
        data.append((cache / "tiny" / "test" / "two-drones.truth.csv").read_bytes())
    assert np.array_equal(data[0], data[2]) and data[1] == data[3]


def test_cache_root_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("SENSORKIT_DATA_DIR", raising=False)
    assert dataset_path("drones-small") == Path("~/.cache/sensorkit/datasets/drones-small").expanduser()
    monkeypatch.setenv("SENSORKIT_DATA_DIR", str(tmp_path))
    assert dataset_path("drones-small") == tmp_path / "drones-small"
    assert dataset_path("drones-small", tmp_path / "x") == tmp_path / "x" / "drones-small"
    assert dataset_status("drones-small") == "missing"


# ------------------------------------------------------------------------------------------------ spec errors


def broken(mutate):
    spec = tiny_spec()
    mutate(spec)
    return spec


@pytest.mark.parametrize("mutate, field, expected", [
    (lambda s: s.pop("kind"), "kind", "required field"),
    (lambda s: s.update(name="other"), "name", "the spec folder's name"),
    (lambda s: s.update(kind="no-such-kind"), "kind", "registered generator kind"),
    (lambda s: s.update(seed=-1), "seed", "an integer"),
    (lambda s: s.update(splits=[]), "splits", "split names"),
    (lambda s: s["settings"].update(fs_hz="16k"), "settings.fs_hz", "a number in [8000, 192000] Hz"),
    (lambda s: s["settings"].update(array={"kind": "hexagonal"}), "settings.array.kind", "one of"),
    (lambda s: s["clips"][0].update(duration_s=-1), "clips[0].duration_s", "a number in [0.1, 600] s"),
    (lambda s: s["clips"][1].update(split="train"), "clips[1].split", "one of the spec's splits"),
    (lambda s: s["clips"][0].update(colour="red"), "clips[0].colour", "one of the fields"),
    (lambda s: s["clips"][0]["sources"][0]["motion"].update(speed_mps=500), "clips[0].sources[0].motion.speed_mps",
     "[0, 60] m/s"),
    (lambda s: s["clips"][1]["sources"][0]["motion"].update(position_m=[10.0, 0.0, -5.0]),
     "clips[1].sources[0].motion", "above the ground"),
    (lambda s: s["clips"][1]["sources"][1].update(type="helicopter"), "clips[1].sources[1].type", "one of"),
    (lambda s: s["clips"][0]["noise"].update(wind_db="loud"), "clips[0].noise.wind_db", "dB re 20 uPa"),
    (lambda s: s["clips"][1].update(id="one-drone"), "clips", "distinct item ids"),
])
def test_spec_errors_name_the_file_and_the_field(tmp_path, mutate, field, expected):
    path = write_spec(tmp_path, broken(mutate), "tiny")
    with pytest.raises(FormatError) as info:
        cat.plan_dataset(load_spec("tiny", tmp_path))
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert message.startswith(f"{path}: {field}: expected"), message
    assert expected in message, message


def test_unreadable_specs_and_unknown_names(tmp_path):
    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny" / "spec.json").write_text("{\"name\": \"tiny\",,}")
    with pytest.raises(FormatError, match=r"tiny/spec.json: JSON: expected a valid JSON object"):
        load_spec("tiny", tmp_path)
    with pytest.raises(FileNotFoundError, match="no such dataset spec .*datasets in .*: tiny"):
        load_spec("nothing-here", tmp_path)
    with pytest.raises(ValueError, match="dataset name"):
        load_spec("../etc", tmp_path)


def test_repository_specs_are_valid_and_drones_field_is_big_enough():
    assert {"drones-small", "drones-field"} <= set(cat.dataset_names(REPO_CATALOGUE))
    for name in ("drones-small", "drones-field"):
        assert (REPO_CATALOGUE / name / "README.md").is_file()
    items = cat.plan_dataset(load_spec("drones-field"))
    assert sum(i.weight for i in items) >= 30 * 60
    assert {i.split for i in items} == {"train", "test"}
    clips = [i.params for i in items]
    types = {s["type"] for c in clips for s in c["sources"]}
    assert types == {"drone", "car", "motorbike", "lawnmower", "generator"}
    assert {k for c in clips for k in c["noise"]} >= {"wind_db", "traffic_db", "birds_per_s", "sensor_db"}
    drones = [len([s for s in c["sources"] if s["type"] == "drone"]) for c in clips]
    assert min(drones) == 0 and max(drones) >= 2 and sum(d == 0 for d in drones) * 30 >= 5 * 60
    assert items == cat.plan_dataset(load_spec("drones-field"))  # the plan is a function of the spec


@pytest.mark.parametrize("ring_name", ["drones-field", "drones-noise"])
def test_the_3d_sets_hold_the_scenes_of_the_ring_sets_heard_by_a_3d_array(ring_name):
    """The array study's premise: the same clips, splits and source draws; only the microphones differ."""
    ring_spec, spec_3d = load_spec(ring_name), load_spec(f"{ring_name}-3d")
    ring, tall = cat.plan_dataset(ring_spec), cat.plan_dataset(spec_3d)
    assert [(i.id, i.split, i.params) for i in ring] == [(i.id, i.split, i.params) for i in tall]
    assert (REPO_CATALOGUE / f"{ring_name}-3d" / "README.md").is_file()
    same = {k: v for k, v in ring_spec.data["settings"].items() if k != "array"}
    assert {k: v for k, v in spec_3d.data["settings"].items() if k != "array"} == same
    p = np.asarray(spec_3d.data["settings"]["array"]["mic_positions_m"])
    assert p.shape == (16, 3)
    assert np.ptp(p[:, 2]) == pytest.approx(0.8)  # vertical aperture
    assert np.ptp(p[:, 0]) == pytest.approx(0.8) and np.ptp(p[:, 1]) == pytest.approx(0.8)
    # the array is written out in each 3D spec: every copy is drones-field-3d's
    assert p.tolist() == load_spec("drones-field-3d").data["settings"]["array"]["mic_positions_m"]


# ------------------------------------------------------------------------------------------------ registry, CLI


def test_a_generator_kind_plugs_in_by_registering(tmp_path, monkeypatch):
    monkeypatch.setattr(cat, "_GENERATORS", dict(cat._GENERATORS))
    calls = []

    def make_item(spec, item, out_dir, progress):
        calls.append(item.id)
        path = out_dir / item.split / f"{item.id}.txt"
        path.parent.mkdir(parents=True)
        path.write_text(f"{spec.seed} {item.params['depth_m']}\n")
        progress(item.weight / 2)
        return [path]

    register_generator("gpr-survey-toy", make_item, version="3", unit="line")
    spec = {"name": "toy", "kind": "gpr-survey-toy", "version": 1, "description": "", "seed": 7,
            "splits": ["train", "test"],
            "items": [{"id": "line-0", "split": "train", "depth_m": 0.1, "weight": 2},
                      {"id": "line-1", "split": "test", "depth_m": 0.2}]}
    write_spec(tmp_path / "catalogue", spec)
    report = make_dataset("toy", tmp_path / "cache", catalogue=tmp_path / "catalogue", progress=False)
    assert report.made == ["line-0", "line-1"] and calls == ["line-0", "line-1"]
    assert (tmp_path / "cache" / "toy" / "test" / "line-1.txt").read_text() == "7 0.2\n"
    assert cat.read_manifest(tmp_path / "cache" / "toy")["generator_version"] == "3"
    assert make_dataset("toy", tmp_path / "cache", catalogue=tmp_path / "catalogue", progress=False).up_to_date
    register_generator("gpr-survey-toy", make_item, version="4")  # new generator version: remade
    assert make_dataset("toy", tmp_path / "cache", catalogue=tmp_path / "catalogue",
                        progress=False).made == ["line-0", "line-1"]
    spec["items"][1]["weight"] = 0
    write_spec(tmp_path / "catalogue", spec)
    with pytest.raises(FormatError, match=r"items\[1\].weight: expected a number > 0"):
        make_dataset("toy", tmp_path / "cache", catalogue=tmp_path / "catalogue", progress=False)


def run_cli(argv, capsys):
    from sensorkit.cli import dataset_cmd

    parser = argparse.ArgumentParser(prog="sensorkit")
    dataset_cmd.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    code = args.run(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_dataset_command_list_make_path(tmp_path, capsys):
    catalogue, cache = tmp_path / "catalogue", tmp_path / "cache"
    write_spec(catalogue, tiny_spec())
    common = ["--catalogue", str(catalogue), "--cache", str(cache)]
    code, out, _ = run_cli(["dataset", "list", "--json", *common], capsys)
    rows = json.loads(out)
    assert code == 0 and rows[0]["name"] == "tiny" and rows[0]["status"] == "missing" and rows[0]["items"] == 2
    assert rows[0]["size"] == pytest.approx(1.2) and rows[0]["unit"] == "s"
    code, out, err = run_cli(["dataset", "path", "tiny", *common], capsys)
    assert code == 1 and out.strip() == str(cache / "tiny") and "missing" in err
    code, out, err = run_cli(["dataset", "make", "tiny", "--quiet", *common], capsys)
    assert code == 0 and out.strip() == str(cache / "tiny") and "2 made" in err
    code, out, err = run_cli(["dataset", "make", "tiny", *common], capsys)
    assert code == 0 and "up to date" in err
    code, out, _ = run_cli(["dataset", "make", "tiny", "--json", "--verify", *common], capsys)
    assert json.loads(out)["kept"] == ["one-drone", "two-drones"]
    code, out, _ = run_cli(["dataset", "path", "tiny", *common], capsys)
    assert code == 0 and out.strip() == str(cache / "tiny")
    code, out, _ = run_cli(["dataset", "list", *common], capsys)
    assert "tiny" in out and "complete" in out and "1.2 s" in out
    with pytest.raises(FileNotFoundError):
        run_cli(["dataset", "make", "nope", *common], capsys)


def test_array_geometries_and_sample_formats_from_the_spec(tmp_path):
    from sensorkit.datasets.drone_acoustic import quantise
    from sensorkit.formats.array_geometry import uma16_array, write_array_geometry_json

    folder = write_spec(tmp_path, tiny_spec(array={"kind": "uma16"})).parent
    np.testing.assert_array_equal(resolve_settings(load_spec("tiny", tmp_path))["mic_positions_m"], uma16_array())
    write_array_geometry_json(folder / "geometry.json", circular_array(6, 0.2))
    write_spec(tmp_path, tiny_spec(array={"kind": "file", "path": "geometry.json"}))
    np.testing.assert_array_equal(resolve_settings(load_spec("tiny", tmp_path))["mic_positions_m"],
                                  circular_array(6, 0.2))
    (folder / "array.xml").write_text('<?xml version="1.0"?>\n<MicArray name="two">\n'
                                      '  <pos Name="1" x="0.1" y="0" z="0"/>\n  <pos Name="2" x="-0.1" y="0" z="0"/>\n'
                                      '</MicArray>\n')
    write_spec(tmp_path, tiny_spec(array={"kind": "file", "path": "array.xml"}))
    assert resolve_settings(load_spec("tiny", tmp_path))["mic_positions_m"] == [[0.1, 0.0, 0.0], [-0.1, 0.0, 0.0]]
    write_spec(tmp_path, tiny_spec(array={"kind": "file", "path": "missing.xml"}))
    with pytest.raises(FormatError, match="missing.xml: file: expected an existing file"):
        resolve_settings(load_spec("tiny", tmp_path))
    write_spec(tmp_path, tiny_spec(array={"kind": "positions", "mic_positions_m": [[0, 0, 0], [0.1, 0, 0.05]]}))
    assert resolve_settings(load_spec("tiny", tmp_path))["mic_positions_m"] == [[0, 0, 0], [0.1, 0, 0.05]]
    # int24 counts in int32, +-8388607 = +-full scale; beyond it saturates and is counted
    counts, clipped = quantise(np.array([[10.0, -20.0, 25.0, 1e-6]]), "int24", 20.0)
    assert counts.dtype == np.int32 and counts.tolist() == [[4194304, -8388607, 8388607, 0]] and clipped == 1
