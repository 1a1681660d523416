"""The mine/clutter score of the landmine pipeline: a logistic model over a few object features, and its training.

score = 1 / (1 + exp(-(bias + sum_i w_i (f_i - mean_i) / std_i)))   in [0, 1]

with the features f of MODEL_FEATURES (sensorkit.pipelines.landmine_features): the log of the detected volume
(how large and how strong the object stands out of the CFAR noise), its depth, the polarity of its top echo
(plastic and air +1, metal and wet or stony soil -1) and, in grids, the log of its elongation (roots are long).
One model for grids ("grid") and one for single lines ("line"). The weights say what makes a mine: each
standardised feature's weight is in the JSON. feature_vector also knows snr_db, log_size, log_width, log_volume,
extent_z_m and lower_echo_ratio, which cross-validation on the train split did not keep.

The packaged model (landmine_model.json) is trained on the TRAIN split of the synthetic mines-lanes dataset
only (never its test split):

    python -m sensorkit.pipelines.landmine_classifier DATASET_DIR [--spec datasets/mines-lanes/spec.json]
        [--out sensorkit/pipelines/landmine_model.json]

DATASET_DIR holds the lanes as `sensorkit dataset make mines-lanes` writes them (<split>/<lane>.h5 and
<lane>.truth.csv), or flat (<lane>.h5 and one truth.csv). Each train lane is run through the pipeline as a grid,
and the channels of its swath within 5 cm of each object (at least the nearest) as single lines; a detection is
labelled a mine when it lies within the halo (0.15 m) of a mine (sensorkit.scoring.mines), clutter otherwise.
The fit is an L2-regularised logistic regression with the two classes weighted equally. --evaluate test scores
the packaged model on the test split (the numbers of the acceptance):

    python -m sensorkit.pipelines.landmine_classifier DATASET_DIR --evaluate test
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

__all__ = ["MODEL_FEATURES", "MODEL_PATH", "feature_vector", "fit_logistic", "load_model", "score",
           "train_from_dataset"]

MODEL_PATH = Path(__file__).with_name("landmine_model.json")
LINE_REACH_M = 0.05  # single-line training: the swath channels within this distance of an object (and the nearest)
MODEL_FEATURES = {  # chosen by 5-fold cross-validation on the train split's detections (TPR at 5 % FPR)
    "grid": ("log_detected_volume", "depth_m", "polarity", "log_elongation"),
    "line": ("log_detected_volume", "depth_m", "polarity"),
}
# without a trained model: a score rising with SNR only (12 dB -> 0.5)
_FALLBACK = {"name": "snr-only fallback", "models": {
    kind: {"features": ["snr_db"], "mean": [12.0], "std": [3.0], "weights": [1.5], "bias": 0.0}
    for kind in ("grid", "line")}}


def feature_vector(features: dict, names) -> list[float]:
    """The model inputs named ``names`` from an object's features (logs of sizes in cm, floored at 1 mm)."""
    out = []
    for name in names:
        if name == "log_size":
            out.append(math.log(max(features["size_m"], 1e-3) * 100.0))
        elif name == "log_width":
            out.append(math.log(max(features["width_m"], 1e-3) * 100.0))
        elif name == "log_volume":
            out.append(math.log(max(features["volume_cm3"], 1e-3)))
        elif name == "log_detected_volume":
            out.append(math.log(max(features["detected_volume_cm3"], 1e-3)))
        elif name == "log_elongation":
            out.append(math.log(max(features["elongation"], 1.0)))
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
    """Detections (features, label) of the named lanes: {"grid": [(features, label)...], "line": [...]}."""
    from sensorkit.gpr.load import load_gpr
    from sensorkit.pipelines.landmine import LandmineConfig, detect_mines
    from sensorkit.scoring.mines import match_detections

    config = LandmineConfig() if config is None else config
    samples = {"grid": [], "line": []}
    for n, lane in enumerate(lanes):
        rows = [r for r in truth if r["lane"] == lane]
        (line,) = load_gpr([lane_file(dataset_dir, lane)])
        result = detect_mines([line], config, model=_FALLBACK, source=lane)
        dets = [{"x_m": d.x_m, "y_m": d.y_m, "score": 1.0, "source": lane} for d in result.detections]
        _, in_mine = match_detections(dets, rows)
        samples["grid"] += [(d.features | {"size_m": d.size_m, "depth_m": d.depth_m}, int(hit))
                            for d, hit in zip(result.detections, in_mine)]
        singles = _lane_lines(line)
        ch = np.asarray(line.attrs["channel_y_m"], dtype=np.float64)
        chosen = sorted({c for r in rows for c in np.nonzero(np.abs(ch - r["y_m"]) <= LINE_REACH_M)[0]}
                        | {int(np.argmin(np.abs(ch - r["y_m"]))) for r in rows})
        for c in chosen:
            res = detect_mines([singles[c]], config, model=_FALLBACK, source=lane)
            near = [r for r in rows if abs(r["y_m"] - ch[c]) <= 0.15]
            dets = [{"x_m": d.x_m, "y_m": ch[c], "score": 1.0, "source": lane} for d in res.detections]
            _, in_mine = match_detections(dets, near)
            samples["line"] += [(d.features | {"size_m": d.size_m, "depth_m": d.depth_m}, int(hit))
                                for d, hit in zip(res.detections, in_mine)]
        if progress is not None:
            progress(n + 1, len(lanes), lane)
    return samples


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


def train_from_dataset(dataset_dir, spec_path, *, split: str = "train", l2: float = 1.0, progress=None) -> dict:
    """The model dict trained on the ``split`` lanes of a gpr-mines dataset folder (module docstring)."""
    spec = json.loads(Path(spec_path).read_text())
    lanes = split_lanes(spec, split)
    if not lanes:
        raise ValueError(f"{spec_path}: lanes: expected lanes of split {split!r}, found none")
    truth = lane_truth(dataset_dir, lanes, spec_path)
    samples = collect_samples(dataset_dir, lanes, truth, progress=progress)
    models = {}
    counts = {}
    for kind, rows in samples.items():
        names = MODEL_FEATURES[kind]
        x = np.array([feature_vector(f, names) for f, _ in rows])
        y = np.array([label for _, label in rows])
        models[kind] = fit_logistic(x, y, l2=l2, names=names)
        counts[kind] = {"detections": int(y.size), "on_mines": int(y.sum())}
    return {"name": f"logistic, {spec.get('name', '')} {split} split", "trained_on": {
        "dataset": spec.get("name", ""), "split": split, "lanes": lanes, "samples": counts, "l2": l2},
        "models": models}


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
    parser.add_argument("--evaluate", metavar="SPLIT", help="score the packaged model on SPLIT instead of training")
    args = parser.parse_args(argv)
    if args.evaluate:
        report = evaluate_split(args.dataset_dir, args.spec, split=args.evaluate,
                                progress=lambda n, total, lane: print(f"{n}/{total} {lane}", file=sys.stderr))
        from sensorkit.scoring.mines import _jsonable

        print(json.dumps(_jsonable({k: v for k, v in report.items() if k != "truth"})))
        return 0
    model = train_from_dataset(args.dataset_dir, args.spec, l2=args.l2,
                               progress=lambda n, total, lane: print(f"{n}/{total} {lane}", file=sys.stderr))
    args.out.write_text(json.dumps(model, indent=1) + "\n")
    print(json.dumps(model["trained_on"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
