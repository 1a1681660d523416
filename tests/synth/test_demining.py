"""Demining lanes: object catalogue, echo polarity and timing, lane placement, dataset specs and generation."""

import dataclasses
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from sensorkit.errors import FormatError
from sensorkit.kernels.traveltime import C0_MPS
from sensorkit.scoring.mines import read_truth
from sensorkit.store import Recording
from sensorkit.synth import demining as dm
from sensorkit.synth.gpr import simulate_swath, simulate_traces
from sensorkit.synth.mines import (CLUTTER_TYPES, MINE_TYPES, SOIL_TYPES, conductivity_from_attenuation, draw_object,
                                   make_soil)
from sensorkit.synth.soil import attenuation_np_per_m

DATASETS = Path(__file__).resolve().parents[2] / "datasets"
DT = 8.0e-11
N_SAMPLES = 256


def draws(type_name, n=300, seed=0):
    rng = np.random.default_rng(seed)
    return [draw_object(type_name, rng) for _ in range(n)]


# ----------------------------------------------------------------------------------------------- catalogue

def test_mines_are_within_the_issue_ranges():
    for t in ("ap-plastic", "ap-low-metal", "ap-metal"):
        objs = draws(t)
        assert all(0.05 <= o.size_m <= 0.15 for o in objs), t  # AP: 5 to 15 cm wide
        assert all(0.0 < o.depth_m <= 0.20 for o in objs), t  # buried 0 to 20 cm
        assert max(o.depth_m for o in objs) > 0.17 and min(o.depth_m for o in objs) < 0.03, t
    for t in ("at-plastic", "at-metal"):
        objs = draws(t)
        assert all(0.24 <= o.size_m <= 0.34 for o in objs), t  # AT: about 30 cm
        assert all(0.0 < o.depth_m <= 0.30 for o in objs), t  # to 30 cm deep
        assert max(o.depth_m for o in objs) > 0.27, t
    for t in ("ap-plastic", "ap-low-metal", "at-plastic"):
        assert all(2.5 <= o.eps_r <= 3.0 for o in draws(t, 20)), t
    for t in ("ap-metal", "at-metal", "metal-scrap", "can"):
        assert all(o.eps_r == "metal" for o in draws(t, 20)), t
    assert {o.category for t in MINE_TYPES for o in draws(t, 3)} == {"mine"}
    assert {o.category for t in CLUTTER_TYPES for o in draws(t, 3)} == {"clutter"}


def test_clutter_shapes_and_permittivities():
    stones = draws("stone")
    assert all(0.03 - 1e-9 <= s.size_m <= 0.20 + 1e-9 and 5.0 <= s.eps_r <= 9.0 for s in stones)
    assert {len(s.parts["radii_m"]) for s in stones} == {1, 2, 3}  # irregular: 1 to 3 lumps
    roots = draws("root")
    assert all(0.3 <= r.size_m <= 0.8 and r.parts["diameter_m"] <= 0.06 for r in roots)  # long and thin
    assert all(v.eps_r == 1.0 for v in draws("void", 20))
    assert all(s.size_m <= 0.06 for s in draws("metal-scrap"))  # small
    cans = draws("can")
    assert {c.parts["lying"] for c in cans} == {True, False}


def test_soil_attenuation_matches_the_catalogue_db_per_m():
    for name, t in SOIL_TYPES.items():
        soil = make_soil(name)
        db_per_m = attenuation_np_per_m(soil.conductivity_s_per_m, soil.eps_r) * 20 / math.log(10)
        assert db_per_m == pytest.approx(t.attenuation_db_per_m, rel=1e-12), name
    assert make_soil("dry-sand").eps_r == 4.0 and make_soil("wet-clay").eps_r == 20.0
    assert make_soil("loam").eps_r_at(0.1) == 12.0  # under the dry crust
    assert conductivity_from_attenuation(40.0, 20.0) == pytest.approx(0.1093, abs=1e-4)  # wet clay, S/m
    with pytest.raises(ValueError, match="soil: expected one of"):
        make_soil("peat")


# ----------------------------------------------------------------------------------------------- echoes

def single_object_trace(soil, type_name, depth_m, seed=3, size_m=None):
    """(trace above the object's centre, noiseless, objects only; expected apex sample; lane)."""
    rng = np.random.default_rng(seed)
    obj = draw_object(type_name, rng, x_m=0.5, y_m=0.5, depth_m=depth_m)
    if size_m is not None:
        obj.size_m = size_m
    obj.parts["air_gap"] = False
    lane = dm.make_lane(soil, [obj], seed=1, size_x_m=1.0, size_y_m=1.0, noise_rms=0.0, clutter_rms=0.0)
    scene = dataclasses.replace(lane.scene, direct_wave=False, surface_reflection=False, layer_reflections=False)
    h = scene.antenna.height_m
    trace = simulate_traces(scene, [[0.5, 0.5]], N_SAMPLES, DT, height_m=h)[0]
    # vertical two-way time to the top: air and soil (the 4 cm offset changes it by less than 0.02 ns)
    t = scene.soil.two_way_time_s(depth_m, h) + scene.time_zero_s
    return trace, t / DT, lane


def leading_apex(trace, k):
    """Sample of the echo's leading lobe: the largest |sample| from 4 samples before the expected arrival k
    to k (an 8 cm disc is small at 1 GHz: its echo leans towards dw/dt, whose first lobe comes ~0.15 ns early)."""
    k = int(round(k))
    return k - 4 + int(np.argmax(np.abs(trace[k - 4:k + 1])))


def test_plastic_mine_echo_has_the_opposite_polarity_of_a_metal_mine():
    plastic, k_p, _ = single_object_trace("moist-sand", "ap-plastic", 0.10, size_m=0.08)
    metal, k_m, _ = single_object_trace("moist-sand", "ap-metal", 0.10, size_m=0.08)
    assert k_p == k_m
    apex = leading_apex(metal, k_m)
    assert metal[apex] < 0 and plastic[apex] > 0  # metal: r = -1; eps 2.9 in eps 9: r = +0.276
    assert abs(metal[apex]) == pytest.approx(np.abs(metal).max(), rel=0.05)  # the strongest sample here
    assert plastic[apex] == pytest.approx(plastic[apex - 2:apex + 3].max())  # the plastic top echo peaks there too
    # the plastic-to-metal ratio follows the top reflection coefficient of the case in each soil
    for soil, r_top in (("dry-sand", 0.080), ("moist-sand", 0.276), ("loam", 0.342), ("wet-clay", 0.449)):
        p, k, _ = single_object_trace(soil, "ap-plastic", 0.10, size_m=0.08)
        m, _, _ = single_object_trace(soil, "ap-metal", 0.10, size_m=0.08)
        apex = leading_apex(m, k)
        assert m[apex] < 0 and p[apex] > 0, soil
        assert p[apex] / -m[apex] == pytest.approx(r_top, rel=0.2), soil


def extreme_near(trace, k, half=2):
    """The sample of largest magnitude within +-half samples of k (sign kept)."""
    window = trace[int(round(k)) - half:int(round(k)) + half + 1]
    return float(window[np.argmax(np.abs(window))])


def test_plastic_case_gives_a_top_and_a_bottom_reflection_of_opposite_signs():
    trace, k_top, lane = single_object_trace("moist-sand", "at-plastic", 0.10, size_m=0.30)
    obj = lane.objects[0]
    # the bottom echo arrives after the two-way time through the case (eps 2.9) over its height
    delay_m_in_soil = obj.height_m * math.sqrt(2.9 / 9.0)
    k_bottom = k_top + 2 * obj.height_m * math.sqrt(2.9) / C0_MPS / DT
    assert k_bottom - k_top > 12  # 10-13 cm cases: the two echoes are apart at 1 GHz
    top, bottom = extreme_near(trace, k_top), extreme_near(trace, k_bottom)
    assert top > 0 and bottom < 0
    # a metal disc at each depth gives the spreading and losses: |r_bottom| (1 - r_top**2) / r_top = 1
    m_top, _, _ = single_object_trace("moist-sand", "at-metal", 0.10, size_m=0.30)
    m_bottom, _, _ = single_object_trace("moist-sand", "at-metal", 0.10 + delay_m_in_soil, size_m=0.30)
    r_top = 0.276
    ratio = (bottom / extreme_near(m_bottom, k_bottom)) / (top / -extreme_near(m_top, k_top))
    assert ratio == pytest.approx((1 - r_top ** 2), rel=0.15)


@pytest.mark.parametrize("soil", sorted(SOIL_TYPES))
def test_mine_apex_arrives_at_the_two_way_time_of_its_depth(soil):
    for depth in (0.05, 0.15, 0.25):
        trace, k_expected, _ = single_object_trace(soil, "at-metal", depth)
        k = int(np.argmin(trace))  # metal: the most negative sample
        assert abs(k - k_expected) <= 1.5, (soil, depth, k, k_expected)


# ----------------------------------------------------------------------------------------------- lanes

def test_random_lane_respects_spacing_margins_and_counts():
    mines = ["ap-plastic", "ap-low-metal", "at-metal"]
    clutter = ["root", "root", "stone", "can", "void"]
    lane = dm.random_lane("X1", "loam", mines, clutter, seed=42)
    assert [r["kind"] for r in lane.truth].count("mine") == 3
    assert [r["kind"] for r in lane.truth].count("clutter") == 5
    assert sorted(r["type"] for r in lane.truth) == sorted(mines + clutter)
    assert len({r["id"] for r in lane.truth}) == 8
    for a, b in itertools.combinations(lane.objects, 2):
        assert dm._segment_distance_m(a, b) >= 0.4 - 1e-9
    for o in lane.objects:
        for x, y in o.footprint():
            assert 0.2 - 1e-9 <= x <= 4.8 + 1e-9 and 0.2 - 1e-9 <= y <= 0.8 + 1e-9
    assert {r["soil"] for r in lane.truth} == {"loam"} and {r["lane"] for r in lane.truth} == {"X1"}
    assert dm.random_lane("X1", "loam", mines, clutter, seed=42).truth == lane.truth
    assert dm.random_lane("X1", "loam", mines, clutter, seed=43).truth != lane.truth
    with pytest.raises(ValueError, match="could not place"):
        dm.random_lane("X2", "loam", ["ap-plastic"] * 12, [], seed=1, size_x_m=1.0, size_y_m=1.0,
                       max_restarts=3)
    with pytest.raises(ValueError, match=r"mine_types\[0\]"):
        dm.random_lane("X3", "loam", ["stone"], [], seed=1)


def test_antenna_heights_follow_roughness_and_bounce():
    x = np.arange(0, 5.0, 0.02)
    y = np.arange(0, 1.01, 0.05)
    flat = dm.lane_antenna_heights(x, y, antenna_height_m=0.06, roughness_rms_m=0.0, roughness_correlation_m=0.1,
                                   height_variation_m=0.0, seed=1)
    assert np.all(flat == 0.06)
    h = dm.lane_antenna_heights(x, y, antenna_height_m=0.06, roughness_rms_m=0.005, roughness_correlation_m=0.1,
                                height_variation_m=0.0, seed=1)
    assert h.shape == (x.size, y.size)
    assert 0.003 < h.std() < 0.007 and abs(h.mean() - 0.06) < 0.002
    bounce = dm.lane_antenna_heights(x, y, antenna_height_m=0.06, roughness_rms_m=0.0, roughness_correlation_m=0.1,
                                     height_variation_m=0.004, seed=1)
    assert np.all(bounce == bounce[:, :1])  # the rigid array bounces as a whole
    assert bounce.std() > 0.001


def test_object_wise_rendering_equals_the_full_scene():
    # loam: a crust over moist loam, so the straight-ray velocity differs from the local one at the objects
    lane = dm.random_lane("T", "loam", ["ap-low-metal"], ["root", "stone"], seed=7, size_x_m=1.6, size_y_m=0.6,
                          min_spacing_m=0.3, margin_m=0.15, noise_rms=0.0, clutter_rms=0.0)
    line, truth = dm.simulate_lane(lane, dx_m=0.04, channel_spacing_m=0.1, n_samples=N_SAMPLES, dt_s=DT)
    x = line.trace_meta["x_m"]
    y = np.asarray(line.attrs["channel_y_m"])
    full, _ = simulate_swath(lane.scene, x, y, N_SAMPLES, DT, height_m=lane.antenna_heights(x, y))
    assert line.traces.shape == full.traces.shape == (41, 7, N_SAMPLES)
    echoes = full.traces - np.median(full.traces, axis=0)
    assert np.abs(echoes).max() > 0.05
    assert np.abs(line.traces - full.traces).max() < 1e-3 * np.abs(echoes).max()
    assert truth == lane.truth


# ----------------------------------------------------------------------------------------------- datasets

def test_mines_lanes_spec_counts_from_its_truth():
    spec = dm.load_spec(DATASETS / "mines-lanes" / "spec.json")
    assert spec["name"] == "mines-lanes" and spec["kind"] == dm.DATASET_KIND
    lanes = dm.check_spec(spec)
    assert len(lanes) >= 20
    defaults = spec["settings"]["lane_defaults"]
    assert defaults["size_x_m"] == 5.0 and defaults["size_y_m"] == 1.0 and defaults["min_spacing_m"] >= 0.4
    assert all("size_x_m" not in lane and "size_y_m" not in lane for lane in lanes)
    truth = dm.mine_lanes_truth(spec)
    kinds = [r["kind"] for r in truth]
    assert kinds.count("mine") >= 40 and kinds.count("clutter") >= 60
    assert {r["soil"] for r in truth} == set(SOIL_TYPES)
    assert {r["type"] for r in truth} == set(MINE_TYPES) | set(CLUTTER_TYPES)
    assert {lane["split"] for lane in lanes} == {"train", "test"}
    test_lanes = {lane["id"] for lane in lanes if lane["split"] == "test"}
    test_rows = [r for r in truth if r["lane"] in test_lanes]
    assert {r["type"] for r in test_rows if r["kind"] == "mine"} == set(MINE_TYPES)
    assert {r["soil"] for r in test_rows} == set(SOIL_TYPES)
    # the committed ground truth is what the generator makes
    assert read_truth(DATASETS / "mines-lanes" / "truth.csv") == _csv_rows(truth)


def _csv_rows(truth):
    return [{k: (float(f"{r[k]:.4f}") if isinstance(r[k], float) else r[k]) for k in dm.TRUTH_COLUMNS}
            for r in truth]


def test_mines_small_spec_keeps_objects_near_the_centre_line():
    spec = dm.load_spec(DATASETS / "mines-small" / "spec.json")
    truth = dm.mine_lanes_truth(spec)
    assert 2 <= len(spec["lanes"]) <= 3
    centre = 0.5 * spec["settings"]["lane_defaults"]["size_y_m"]
    assert all(abs(r["y_m"] - centre) <= 0.1 + 1e-9 for r in truth)  # a B-scan at the centre passes over all
    assert [r["kind"] for r in truth].count("mine") == 6
    assert read_truth(DATASETS / "mines-small" / "truth.csv") == _csv_rows(truth)


def tiny_spec():
    return {"name": "tiny-mines", "kind": "gpr-mines", "version": 1, "description": "one small lane", "seed": 5,
            "splits": ["train", "test"],
            "settings": {"sampling": {"n_samples": 128, "dt_s": DT, "time_zero_s": 1.5e-9, "dx_m": 0.05,
                                      "channel_spacing_m": 0.1},
                         "lane_defaults": {"size_x_m": 1.0, "size_y_m": 0.4, "margin_m": 0.15}},
            "lanes": [{"id": "T01", "split": "test", "soil": "wet-clay", "seed": 11, "mines": ["ap-metal"],
                       "clutter": ["void"], "roughness_rms_m": 0.0}]}


def test_tiny_lane_end_to_end_reads_back_from_the_recording(tmp_path):
    spec = tiny_spec()
    calls = []
    paths = dm.generate_mine_lanes(spec, tmp_path / "cache", progress=lambda *a: calls.append(a))
    assert [p.relative_to(tmp_path / "cache").as_posix() for p in paths] == [
        "test/T01.h5", "test/T01.truth.csv", "truth.csv"]
    assert calls == [(1, 1, "T01")]
    lane = dm.lane_from_spec(spec, 0)
    line, truth = dm.simulate_lane(lane, dx_m=0.05, channel_spacing_m=0.1, n_samples=128, dt_s=DT)
    with Recording(paths[0]) as rec:
        assert rec.gpr_names == ["T01"]
        stream = rec.gpr("T01")
        traces = stream.traces[:]
        meta = stream.trace_meta[:]
        assert traces.shape == (21, 5, 128) and traces.dtype == np.float32
        np.testing.assert_array_equal(traces, line.traces)  # bit-exact round trip, and reproducible
        np.testing.assert_allclose(meta["x_m"], np.arange(21) * 0.05, atol=1e-12)
        np.testing.assert_allclose(meta["y_m"], 0.2)  # the array's centre
        assert stream.extra_attrs["channel_y_m"] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])  # a list again
        assert stream.n_channels == 5
        assert stream.extra_attrs["soil"] == "wet-clay" and stream.extra_attrs["split"] == "test"
        assert stream.dt_s == DT and stream.time_zero_s == 1.5e-9
        assert stream.centre_frequency_hz == 1.0e9 and stream.antenna_height_m == 0.06
    rows = read_truth(paths[1])
    assert rows == _csv_rows(truth) == read_truth(paths[2])
    assert [r["type"] for r in rows if r["kind"] == "mine"] == ["ap-metal"]
    # the metal mine's echo is on the trace above it, at its two-way time
    mine = next(r for r in rows if r["kind"] == "mine")
    ix, iy = int(round(mine["x_m"] / 0.05)), int(round(mine["y_m"] / 0.1))
    echoes = traces - np.median(traces, axis=0)
    k = (lane.scene.soil.two_way_time_s(mine["depth_m"], 0.06) + 1.5e-9) / DT
    window = echoes[ix, iy, int(k) - 6:int(k) + 7]
    assert window.min() < -5 * np.abs(echoes[:, :, -20:]).std()


def test_the_catalogue_makes_a_gpr_mines_dataset(tmp_path):
    from sensorkit.datasets import make_dataset, read_index

    spec = tiny_spec()
    (tmp_path / "catalogue" / "tiny-mines").mkdir(parents=True)
    (tmp_path / "catalogue" / "tiny-mines" / "spec.json").write_text(json.dumps(spec))
    report = make_dataset("tiny-mines", tmp_path / "cache", catalogue=tmp_path / "catalogue", progress=False)
    assert report.made == ["T01"]
    folder = tmp_path / "cache" / "tiny-mines"
    index = read_index(folder)
    assert index["items"][0]["files"] == ["test/T01.h5", "test/T01.truth.csv"]
    with Recording(folder / "test" / "T01.h5") as rec:
        assert rec.gpr("T01").traces.shape == (21, 5, 128)
    assert read_truth(folder / "test" / "T01.truth.csv") == _csv_rows(dm.mine_lanes_truth(spec))
    spec["lanes"][0]["soil"] = "peat"
    (tmp_path / "catalogue" / "tiny-mines" / "spec.json").write_text(json.dumps(spec))
    with pytest.raises(FormatError, match=r"spec.json: lanes\[0\].soil: expected one of dry-sand"):
        make_dataset("tiny-mines", tmp_path / "cache", catalogue=tmp_path / "catalogue", progress=False)


def test_repository_specs_load_in_the_catalogue():
    from sensorkit.datasets import load_spec, plan_dataset

    for name, n_lanes in (("mines-small", 3), ("mines-lanes", 24)):
        spec = load_spec(name, DATASETS)
        assert spec.kind == "gpr-mines" and (DATASETS / name / "README.md").is_file()
        items = plan_dataset(spec)
        assert len(items) == n_lanes and {i.split for i in items} == {"train", "test"}


@pytest.mark.parametrize("mutate, field", [
    (lambda s: s["lanes"][0].update(soil="peat"), r"lanes\[0\].soil: expected one of"),
    (lambda s: s["lanes"][0].update(colour="red"), r"lanes\[0\].colour: expected a known field"),
    (lambda s: s["lanes"][0].update(split="validation"), r"lanes\[0\].split: expected one of the spec's splits"),
    (lambda s: s["lanes"][0].update(mines=["ap-plastic", "stone"]), r"lanes\[0\].mines\[1\]: expected one of"),
    (lambda s: s["settings"]["sampling"].update(dx=0.1), r"settings.sampling.dx: expected a known field"),
    (lambda s: s["settings"].update(noise={"noise_rms": "loud"}), r"settings.noise.noise_rms: expected a finite"),
    (lambda s: s.update(lanes=[]), r"spec.lanes: expected a non-empty list"),
    (lambda s: s["lanes"].append(dict(s["lanes"][0])), r"lanes\[1\].id: expected a unique id"),
])
def test_spec_errors_name_the_field(mutate, field):
    spec = tiny_spec()
    mutate(spec)
    with pytest.raises(dm.SpecError, match=field):
        dm.mine_lanes_truth(spec)


def test_unreadable_spec_file_is_named(tmp_path):
    bad = tmp_path / "spec.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="spec.json: expected a JSON dataset spec"):
        dm.load_spec(bad)
