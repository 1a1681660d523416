"""The mine/clutter score of the landmine pipeline: a logistic model over a few object features, and its training.

score = 1 / (1 + exp(-(bias + sum_i w_i (f_i - mean_i) / std_i)))   in [0, 1]

with the inputs of MODEL_FEATURES (feature_vector, from sensorkit.pipelines.landmine_features). Grids: the
polarity of the top echo and its signed central lobe (main_lobe: an object faster than the soil, plastic or air,
+; metal or a wetter stone or root, -), the log of the detected volume (how large and strong the object stands
out of the CFAR noise), the log of its elongation (roots and lying cans are long), bottom_echo (an opposite echo
under the top: a plastic case's bottom) and, for positive polarity only ("dielectric:" inputs), log depth and
depth (echoes of positive polarity at the very surface are ground residue). Lines: polarity, log detected
volume, log depth, the SNR of positive-polarity objects, and for negative polarity ("metal:") the vertical
extent and the lower echo. One model for grids ("grid") and one for single lines ("line"); each standardised
input's weight is in the JSON, with its name. Inputs were chosen by greedy forward selection on the lane-grouped
cross-validation below (the train split only; the mean PD over 0.02-0.3 false alarms per m2).

The packaged model (landmine_model.json) is trained on the TRAIN split of the synthetic mines-lanes dataset
(never its test split) plus 48 extra simulated lanes:

    python -m sensorkit.pipelines.landmine_classifier DATASET_DIR --extra-train 48 [--extra-dir DIR]
        [--spec datasets/mines-lanes/spec.json] [--out sensorkit/pipelines/landmine_model.json]

DATASET_DIR holds the lanes as `sensorkit dataset make mines-lanes` writes them (<split>/<lane>.h5 and
<lane>.truth.csv), or flat (<lane>.h5 and one truth.csv). Each train lane is run through the pipeline as a grid,
and the channels of its swath within 5 cm of each object (at least the nearest) as single lines; a detection is
labelled a mine when it lies within the halo (0.15 m) of a mine (sensorkit.scoring.mines), clutter otherwise.
The fit is an L2-regularised logistic regression with the two classes weighted equally.

Extra lanes (--extra-train N): extra_lane_plan(spec, k) for k < N draws a lane (soil cycling like the spec's,
1-4 mines and 2-4 clutter objects of any type, roughness and bounce in the spec's ranges) from
SeedSequence([EXTRA_SEED_ENTROPY, k]); sensorkit.synth.demining.random_lane simulates it with the spec's
settings. Its seeds are disjoint from the spec's lanes' (SeedSequence([spec seed, lane seed])), and they are
made once into --extra-dir (about 5 s a lane) and kept.

Validation and calibration: each model is cross-validated over the spec's train lanes in 4 lane-grouped folds
(every extra lane stays in every fit), scored like the acceptance (halo, false alarms per m2 of the folds'
lanes); the bias is then shifted so that score 0.5 is the cross-validated threshold at CALIBRATION_FA_PER_M2.
The JSON keeps the cross-validated ROC and PD at 0.05, 0.1, 0.2 and 0.3 false alarms per m2.

--evaluate test scores the packaged model on the test split (the numbers of the acceptance; run it once, at the
end, never to choose anything):

    python -m sensorkit.pipelines.landmine_classifier DATASET_DIR --evaluate test
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

__all__ = ["CALIBRATION_FA_PER_M2", "EXTRA_SEED_ENTROPY", "MODEL_FEATURES", "MODEL_PATH", "collect_samples",
           "cross_validate", "evaluate_split", "extra_lane_plan", "feature_vector", "fit_logistic", "load_model",
           "make_extra_lanes", "score", "train_from_dataset"]

MODEL_PATH = Path(__file__).with_name("landmine_model.json")
LINE_REACH_M = 0.05  # single-line training: the swath channels within this distance of an object (and the nearest)
MODEL_FEATURES = {  # greedy forward selection on the train split's lane-grouped cross-validation (module docstring)
    "grid": ("polarity", "log_detected_volume", "dielectric:log_depth", "log_elongation", "main_lobe", "bottom_echo",
             "dielectric:depth_m"),
    "line": ("polarity", "log_detected_volume", "log_depth", "dielectric:snr_db", "metal:extent_z_m",
             "metal:log_lower_echo"),
}
# the bias is shifted so that score 0.5 is the cross-validated threshold at this false-alarm rate: the knee of the
# train split's cross-validated grid ROC (PD 0.89 there, 0.74 at 0.1 FA/m2, both stored in the model's JSON);
# at 0.1 the 6 cm plastic AP mine of tests/pipelines/test_landmine.py's grid scores below 0.5
CALIBRATION_FA_PER_M2 = 0.2
# without a trained model: a score rising with SNR only (12 dB -> 0.5)
_FALLBACK = {"name": "snr-only fallback", "models": {
    kind: {"features": ["snr_db"], "mean": [12.0], "std": [3.0], "weights": [1.5], "bias": 0.0}
    for kind in ("grid", "line")}}


def _input(features: dict, name: str) -> float:
    """One model input (feature_vector)."""
    for prefix, sign in (("dielectric:", 1.0), ("metal:", -1.0)):
        if name.startswith(prefix):
            return _input(features, name[len(prefix):]) if features["polarity"] == sign else 0.0
    return feature_vector(features, [name])[0]


def feature_vector(features: dict, names) -> list[float]:
    """The model inputs named ``names`` from an object's features (logs of sizes in cm, floored at 1 mm).
    "dielectric:<input>" is <input> for an object whose top reflects with positive polarity (faster than the soil:
    plastic, air) and 0 otherwise; "metal:<input>" the same for negative polarity (metal, wetter than the soil):
    the model weighs the evidence of each kind of reflector separately."""
    out = []
    for name in names:
        if ":" in name:
            out.append(_input(features, name))
        elif name == "log_size":
            out.append(math.log(max(features["size_m"], 1e-3) * 100.0))
        elif name == "log_width":
            out.append(math.log(max(features["width_m"], 1e-3) * 100.0))
        elif name == "log_volume":
            out.append(math.log(max(features["volume_cm3"], 1e-3)))
        elif name == "log_detected_volume":
            out.append(math.log(max(features["detected_volume_cm3"], 1e-3)))
        elif name == "log_elongation":
            out.append(math.log(max(features["elongation"], 1.0)))
        elif name == "log_depth":
            out.append(math.log(max(features["depth_m"], 0.005) * 100.0))
        elif name == "log_late_energy":
            out.append(math.log(max(features["late_energy"], 1e-3)))
        elif name == "log_lower_echo":
            out.append(math.log(max(features["lower_echo_ratio"], 1e-3)))
        else:
            out.append(float(features[name]))
    return out


def load_model(path=None) -> dict:
    """The classifier dict from a JSON file (default: the packaged landmine_model.json; the SNR-only fallback
    when that file does not exist)."""
    p = MODEL_PATH if path is None else Path(path)
    if path is None and not p.exists():
        return _FALLBACK
    try:
        model = json.loads(p.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{p}: expected a landmine model JSON, could not read it: {exc}") from None
    if not isinstance(model, dict) or not isinstance(model.get("models"), dict):
        raise ValueError(f"{p}: models: expected an object {{'grid': ..., 'line': ...}}")
    return model


def score(model: dict, kind: str, features: list[dict]) -> np.ndarray:
    """Scores in [0, 1] (n,) of objects' features with the model of ``kind`` ("grid" or "line")."""
    if not features:
        return np.zeros(0)
    m = model["models"].get(kind) or _FALLBACK["models"][kind]
    x = np.array([feature_vector(f, m["features"]) for f in features], dtype=np.float64)
    z = (x - np.asarray(m["mean"])) / np.asarray(m["std"])
    logit = float(m["bias"]) + z @ np.asarray(m["weights"], dtype=np.float64)
    return 1.0 / (1.0 + np.exp(-np.clip(logit, -50.0, 50.0)))


def fit_logistic(x: np.ndarray, y: np.ndarray, *, l2: float = 1.0, names=()) -> dict:
    """L2-regularised logistic regression (balanced classes) on x (n, k), labels y (n,) in {0, 1}; returns
    {"features", "mean", "std", "weights", "bias"}."""
    from scipy.optimize import minimize

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.shape != (x.shape[0],) or x.shape[0] < 2:
        raise ValueError(f"x, y: expected (n, k) features and (n,) labels, found {x.shape} and {y.shape}")
    n_pos, n_neg = float(y.sum()), float((1 - y).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"y: expected both classes among the labels, found {int(n_pos)} mines, {int(n_neg)} others")
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std[std == 0] = 1.0
    z = (x - mean) / std
    w_sample = np.where(y > 0, 0.5 / n_pos, 0.5 / n_neg)

    def loss(p):
        t = p[0] + z @ p[1:]
        nll = np.sum(w_sample * (np.logaddexp(0.0, t) - y * t))
        grad_t = w_sample * (1.0 / (1.0 + np.exp(-t)) - y)
        reg = 0.5 * l2 / x.shape[0] * np.sum(p[1:] ** 2)
        g = np.concatenate([[grad_t.sum()], z.T @ grad_t + l2 / x.shape[0] * p[1:]])
        return nll + reg, g

    res = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B")
    p = res.x
    return {"features": list(names), "mean": [float(v) for v in mean], "std": [float(v) for v in std],
            "weights": [round(float(v), 6) for v in p[1:]], "bias": round(float(p[0]), 6)}


def _lane_lines(line):
    """Single lines (channel c of a swath, with its y) of a lane recording's swath."""
    import dataclasses

    ch = np.asarray(line.attrs["channel_y_m"], dtype=np.float64)
    out = []
    for c, yc in enumerate(ch):
        meta = np.array(line.trace_meta, copy=True)
        meta["y_m"] = yc
        out.append(dataclasses.replace(line, traces=np.ascontiguousarray(line.traces[:, c, :]), trace_meta=meta,
                                       name=f"{line.name}", attrs={**line.attrs, "channel": c}))
    return out


def collect_samples(dataset_dir, lanes, truth, config=None, progress=None) -> dict:
    """Detections of the named lanes, labelled: {"grid": [(features, label, lane)...], "line": [...], "areas":
    {"grid": {lane: m2}, "line": {lane: m2}}, "truth": {"grid": rows, "line": rows}} (a line's truth rows are
    the objects within 0.15 m of it, its survey named "<lane>/<channel>")."""
    from sensorkit.gpr.load import load_gpr
    from sensorkit.pipelines.landmine import LandmineConfig, detect_mines
    from sensorkit.scoring.mines import match_detections

    config = LandmineConfig() if config is None else config
    samples = {"grid": [], "line": [], "areas": {"grid": {}, "line": {}}, "truth": {"grid": [], "line": []}}
    for n, lane in enumerate(lanes):
        rows = [r for r in truth if r["lane"] == lane]
        (line,) = load_gpr([lane_file(dataset_dir, lane)])
        result = detect_mines([line], config, model=_FALLBACK, source=lane)
        dets = [{"x_m": d.x_m, "y_m": d.y_m, "score": 1.0, "source": lane} for d in result.detections]
        _, in_mine = match_detections(dets, rows)
        samples["grid"] += [(d.features | {"size_m": d.size_m, "depth_m": d.depth_m, "x_m": d.x_m, "y_m": d.y_m},
                             int(hit), lane) for d, hit in zip(result.detections, in_mine)]
        samples["areas"]["grid"][lane] = result.area_m2
        samples["truth"]["grid"] += rows
        singles = _lane_lines(line)
        ch = np.asarray(line.attrs["channel_y_m"], dtype=np.float64)
        chosen = sorted({c for r in rows for c in np.nonzero(np.abs(ch - r["y_m"]) <= LINE_REACH_M)[0]}
                        | {int(np.argmin(np.abs(ch - r["y_m"]))) for r in rows})
        for c in chosen:
            survey = f"{lane}/{c}"
            res = detect_mines([singles[c]], config, model=_FALLBACK, source=survey)
            near = [r | {"lane": survey} for r in rows if abs(r["y_m"] - ch[c]) <= 0.15]
            dets = [{"x_m": d.x_m, "y_m": ch[c], "score": 1.0, "source": survey} for d in res.detections]
            _, in_mine = match_detections(dets, near)
            samples["line"] += [(d.features | {"size_m": d.size_m, "depth_m": d.depth_m, "x_m": d.x_m,
                                               "y_m": float(ch[c])}, int(hit), survey)
                                for d, hit in zip(res.detections, in_mine)]
            samples["areas"]["line"][survey] = res.area_m2
            samples["truth"]["line"] += near
        if progress is not None:
            progress(n + 1, len(lanes), lane)
    return samples


def _lane_of(survey: str) -> str:
    return survey.split("/")[0]


def _logistic(model: dict, x: np.ndarray) -> np.ndarray:
    z = (x - np.asarray(model["mean"])) / np.asarray(model["std"])
    return 1.0 / (1.0 + np.exp(-np.clip(float(model["bias"]) + z @ np.asarray(model["weights"]), -50.0, 50.0)))


def cross_validate(samples: dict, kind: str, names, *, held_out_lanes, n_folds: int = 4, l2: float = 1.0,
                   fa_per_m2: float = 0.1) -> dict:
    """Lane-grouped cross-validation of the logistic model of ``kind`` on collect_samples' output: the lanes
    held_out_lanes are cut into n_folds folds (lane i in fold i % n_folds); each fold is scored by a model fitted
    on every other sample (other folds and lanes not held out, e.g. extra training lanes). Returns the pooled
    out-of-fold report of sensorkit.scoring.mines.score_mines over the held-out lanes (threshold 0.5), plus
    "threshold_at_fa": the lowest out-of-fold score threshold keeping false alarms <= fa_per_m2 and
    "pd_at_fa": the PD there."""
    from sensorkit.scoring.mines import score_mines

    rows = samples[kind]
    held = list(held_out_lanes)
    lanes = np.array([_lane_of(r[2]) for r in rows])
    x = np.array([feature_vector(f, names) for f, _, _ in rows])
    y = np.array([label for _, label, _ in rows])
    scores = np.full(len(rows), np.nan)
    for k in range(n_folds):
        fold = held[k::n_folds]
        test = np.isin(lanes, fold)
        if test.any():
            scores[test] = _logistic(fit_logistic(x[~test], y[~test], l2=l2, names=names), x[test])
    keep = np.isin(lanes, held)
    dets = [{"x_m": f["x_m"], "y_m": f["y_m"], "score": float(sc), "source": survey}
            for (f, _, survey), sc, k in zip(rows, scores, keep) if k]
    truth = [r for r in samples["truth"][kind] if _lane_of(r["lane"]) in set(held)]
    areas = {s: a for s, a in samples["areas"][kind].items() if _lane_of(s) in set(held)}
    report = score_mines(dets, truth, area_m2=sum(areas.values()), threshold=0.5, area_by_lane=areas)
    ok = [p for p in report["roc"] if p["fa_per_m2"] <= fa_per_m2 and p["threshold"] is not None]
    best = max(ok, key=lambda p: (p["pd"], -p["threshold"])) if ok else None
    report["threshold_at_fa"] = best["threshold"] if best else None
    report["pd_at_fa"] = best["pd"] if best else 0.0
    report["fa_target_per_m2"] = fa_per_m2
    return report


EXTRA_SEED_ENTROPY = 7_301_985  # extra training lanes: seeds SeedSequence([EXTRA_SEED_ENTROPY, k]), k = 0, 1, ...
EXTRA_ROUGHNESS_M = (0.002, 0.008)  # surface roughness rms of extra lanes, as the spec's lanes (m)
EXTRA_BOUNCE_M = (0.002, 0.006)  # antenna bounce rms of extra lanes (m)


def extra_lane_plan(spec: dict, k: int) -> dict:
    """The k-th extra training lane (k >= 0) for a gpr-mines spec: {"id": "X<k>", "soil", "seed", "mines",
    "clutter", "roughness_rms_m", "height_variation_m"}, drawn from default_rng(SeedSequence([EXTRA_SEED_ENTROPY,
    k])). Its random_lane seed is disjoint from the spec's lane seeds (those come from SeedSequence([spec seed,
    lane seed]) with the spec's own entropy); the soils cycle like the spec's, 1-4 mines and 2-4 clutter objects
    of any catalogue type."""
    from sensorkit.synth.mines import CLUTTER_TYPES, MINE_TYPES, SOIL_TYPES

    seq = np.random.SeedSequence([EXTRA_SEED_ENTROPY, int(k)])
    rng = np.random.default_rng(seq)
    soils = list(SOIL_TYPES)
    mines = [str(t) for t in rng.choice(list(MINE_TYPES), size=int(rng.integers(1, 5)))]
    clutter = [str(t) for t in rng.choice(list(CLUTTER_TYPES), size=int(rng.integers(2, 5)))]
    return {"id": f"X{k:03d}", "soil": soils[k % len(soils)], "seed": int(seq.generate_state(1)[0]),
            "mines": mines, "clutter": clutter,
            "roughness_rms_m": round(float(rng.uniform(*EXTRA_ROUGHNESS_M)), 4),
            "height_variation_m": round(float(rng.uniform(*EXTRA_BOUNCE_M)), 4)}


def make_extra_lanes(spec: dict, n: int, out_dir, progress=None) -> list[str]:
    """Simulate the extra training lanes 0 .. n-1 (extra_lane_plan) with the spec's settings into
    out_dir/<id>.h5 and out_dir/<id>.truth.csv (kept when both exist); returns their ids."""
    from sensorkit.synth.demining import (DEFAULT_ANTENNA, DEFAULT_LANE, DEFAULT_NOISE, _section, random_lane,
                                          simulate_lane, spec_sampling, write_lane_recording, write_truth_csv)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    settings = spec.get("settings", {})
    sampling = spec_sampling(spec)
    ids = []
    for k in range(int(n)):
        plan = extra_lane_plan(spec, k)
        ids.append(plan["id"])
        h5, csv_path = out / f"{plan['id']}.h5", out / f"{plan['id']}.truth.csv"
        if not (h5.is_file() and csv_path.is_file()):
            options = {**_section(settings, "antenna", DEFAULT_ANTENNA), **_section(settings, "noise", DEFAULT_NOISE),
                       **_section(settings, "lane_defaults", DEFAULT_LANE),
                       "roughness_rms_m": plan["roughness_rms_m"], "height_variation_m": plan["height_variation_m"]}
            options["antenna_height_m"] = options.pop("height_m")
            options["time_zero_s"] = sampling["time_zero_s"]
            lane = random_lane(plan["id"], plan["soil"], plan["mines"], plan["clutter"], seed=plan["seed"],
                               **options)
            line, rows = simulate_lane(lane, dx_m=sampling["dx_m"], channel_spacing_m=sampling["channel_spacing_m"],
                                       n_samples=int(sampling["n_samples"]), dt_s=sampling["dt_s"])
            write_lane_recording(line, h5)
            write_truth_csv(rows, csv_path)
        if progress is not None:
            progress(k + 1, int(n), plan["id"])
    return ids


def lane_file(dataset_dir, lane: str) -> Path:
    """The recording of a lane: DATASET_DIR/<lane>.h5, or DATASET_DIR/<split>/<lane>.h5 (the catalogue's
    layout, `sensorkit dataset make`)."""
    root = Path(dataset_dir)
    flat = root / f"{lane}.h5"
    if flat.is_file():
        return flat
    found = sorted(root.glob(f"*/{lane}.h5"))
    if not found:
        raise ValueError(f"{root}: lane {lane!r}: expected {flat.name} or <split>/{flat.name}, found neither")
    return found[0]


def lane_truth(dataset_dir, lanes, spec_path=None) -> list[dict]:
    """Truth rows of ``lanes``: DATASET_DIR/truth.csv, else the <split>/<lane>.truth.csv files, else the truth.csv
    beside the spec."""
    from sensorkit.scoring.mines import read_truth

    root = Path(dataset_dir)
    if (root / "truth.csv").is_file():
        rows = read_truth(root / "truth.csv")
    else:
        per_lane = [p for lane in lanes for p in sorted(root.glob(f"*/{lane}.truth.csv"))]
        if per_lane:
            rows = [r for p in per_lane for r in read_truth(p)]
        elif spec_path is not None and (Path(spec_path).parent / "truth.csv").is_file():
            rows = read_truth(Path(spec_path).parent / "truth.csv")
        else:
            raise ValueError(f"{root}: truth.csv: expected the dataset's ground truth, found none")
    wanted = set(lanes)
    return [r for r in rows if r.get("lane") in wanted]


def split_lanes(spec: dict, split: str) -> list[str]:
    """Names of the lanes of a gpr-mines spec in ``split``: lanes with "split" (and "id" or "name"), or a
    "splits" object {split: [lane names]}."""
    splits = spec.get("splits")
    if isinstance(splits, dict):
        return list(splits.get(split, []))
    return [str(lane.get("id", lane.get("name"))) for lane in spec.get("lanes", [])
            if isinstance(lane, dict) and lane.get("split") == split]


def train_from_dataset(dataset_dir, spec_path, *, split: str = "train", l2: float = 1.0, extra_train: int = 0,
                       extra_dir=None, progress=None) -> dict:
    """The model dict trained on the ``split`` lanes of a gpr-mines dataset folder (module docstring), plus
    extra_train extra lanes (make_extra_lanes, simulated into extra_dir, default DATASET_DIR/extra-train), with
    the lane-grouped cross-validation of each model on the split's lanes and the calibration of its bias."""
    spec = json.loads(Path(spec_path).read_text())
    lanes = split_lanes(spec, split)
    if not lanes:
        raise ValueError(f"{spec_path}: lanes: expected lanes of split {split!r}, found none")
    truth = lane_truth(dataset_dir, lanes, spec_path)
    samples = collect_samples(dataset_dir, lanes, truth, progress=progress)
    extra = []
    if extra_train > 0:
        from sensorkit.scoring.mines import read_truth

        folder = Path(extra_dir) if extra_dir is not None else Path(dataset_dir) / "extra-train"
        extra = make_extra_lanes(spec, extra_train, folder, progress=progress)
        rows = [r for lane in extra for r in read_truth(folder / f"{lane}.truth.csv")]
        more = collect_samples(folder, extra, rows, progress=progress)
        for kind in ("grid", "line"):
            samples[kind] += more[kind]
            samples["areas"][kind].update(more["areas"][kind])
            samples["truth"][kind] += more["truth"][kind]
    models, counts, validation = {}, {}, {}
    for kind in ("grid", "line"):
        names = MODEL_FEATURES[kind]
        x = np.array([feature_vector(f, names) for f, _, _ in samples[kind]])
        y = np.array([label for _, label, _ in samples[kind]])
        model = fit_logistic(x, y, l2=l2, names=names)
        cv = cross_validate(samples, kind, names, held_out_lanes=lanes, l2=l2, fa_per_m2=CALIBRATION_FA_PER_M2)
        t = cv["threshold_at_fa"]
        if t is not None and 0.0 < t < 1.0:  # score 0.5 where the cross-validated false alarms meet the target
            model["bias"] = round(float(model["bias"]) - math.log(t / (1.0 - t)), 6)
        models[kind] = model
        counts[kind] = {"detections": int(y.size), "on_mines": int(y.sum())}
        validation[kind] = {"folds": 4, "held_out": f"{split} lanes", "pd_at_fa": cv["pd_at_fa"],
                            "fa_target_per_m2": CALIBRATION_FA_PER_M2, "threshold_at_fa": t,
                            "pd_at_0.5_uncalibrated": cv["pd"], "fa_per_m2_at_0.5_uncalibrated": cv["fa_per_m2"],
                            "area_m2": cv.get("area_m2"), "n_mines": cv.get("n_mines"),
                            "pd_at": {str(fa): max([q["pd"] for q in cv["roc"] if q["fa_per_m2"] <= fa] or [0.0])
                                      for fa in (0.05, 0.1, 0.2, 0.3)},
                            "roc": [{k: p[k] for k in ("threshold", "pd", "fa_per_m2")} for p in cv["roc"]]}
    return {"name": f"logistic, {spec.get('name', '')} {split} split", "trained_on": {
        "dataset": spec.get("name", ""), "split": split, "lanes": lanes, "extra_train": int(extra_train),
        "extra_seed_entropy": EXTRA_SEED_ENTROPY if extra_train else None, "samples": counts, "l2": l2},
        "cross_validation": validation, "models": models}


def evaluate_split(dataset_dir, spec_path, *, split: str = "test", model: dict | None = None, config=None,
                   halo_m: float = 0.15, progress=None) -> dict:
    """Run the pipeline (grid mode) on every lane of ``split`` and score it (sensorkit.scoring.mines.score_mines,
    area: the lanes' surveyed cells); returns the report."""
    from sensorkit.gpr.load import load_gpr
    from sensorkit.pipelines.landmine import LandmineConfig, detect_mines
    from sensorkit.scoring.mines import score_mines

    config = LandmineConfig() if config is None else config
    spec = json.loads(Path(spec_path).read_text())
    lanes = split_lanes(spec, split)
    truth = lane_truth(dataset_dir, lanes, spec_path)
    dets, areas = [], {}
    for n, lane in enumerate(lanes):
        result = detect_mines(load_gpr([lane_file(dataset_dir, lane)]), config, model=model, source=lane)
        dets += [{"x_m": d.x_m, "y_m": d.y_m, "score": d.score, "source": lane} for d in result.detections]
        areas[lane] = result.area_m2
        if progress is not None:
            progress(n + 1, len(lanes), lane)
    return score_mines(dets, truth, area_m2=sum(areas.values()), halo_m=halo_m,
                       threshold=config.score_threshold, area_by_lane=areas)


def main(argv=None) -> int:
    import argparse
    import sys

    parser = argparse.ArgumentParser(description="train the landmine score on a gpr-mines dataset's train split")
    parser.add_argument("dataset_dir", type=Path)
    parser.add_argument("--spec", type=Path, default=Path("datasets/mines-lanes/spec.json"))
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--extra-train", type=int, default=0, metavar="N",
                        help="also train on N extra simulated lanes (seeds disjoint from the spec's, see "
                             "extra_lane_plan), made once into --extra-dir")
    parser.add_argument("--extra-dir", type=Path, default=None,
                        help="folder of the extra lanes (default: DATASET_DIR/extra-train)")
    parser.add_argument("--evaluate", metavar="SPLIT", help="score the packaged model on SPLIT instead of training")
    args = parser.parse_args(argv)
    if args.evaluate:
        report = evaluate_split(args.dataset_dir, args.spec, split=args.evaluate,
                                progress=lambda n, total, lane: print(f"{n}/{total} {lane}", file=sys.stderr))
        from sensorkit.scoring.mines import _jsonable

        print(json.dumps(_jsonable({k: v for k, v in report.items() if k != "truth"})))
        return 0
    if args.extra_train < 0:
        parser.error(f"--extra-train: expected a number of lanes >= 0, found {args.extra_train}")
    model = train_from_dataset(args.dataset_dir, args.spec, l2=args.l2, extra_train=args.extra_train,
                               extra_dir=args.extra_dir,
                               progress=lambda n, total, lane: print(f"{n}/{total} {lane}", file=sys.stderr))
    args.out.write_text(json.dumps(model, indent=1) + "\n")
    print(json.dumps({"trained_on": model["trained_on"],
                      "cross_validation": {k: {n: v for n, v in cv.items() if n != "roc"}
                                           for k, cv in model["cross_validation"].items()}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
