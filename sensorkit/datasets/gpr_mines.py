"""Generator kind ``gpr-mines``: demining lanes surveyed by a GPR antenna array (sensorkit.synth.demining).

Each lane (one item) is written as

    <split>/<id>.h5          a sensorkit recording with one GPR stream named <id>: traces (n_x, n_channels,
                             n_samples) float32, trace_meta x_m (along the lane) and y_m (the array's centre),
                             attrs channel_y_m (y of each channel), dt_s, time_zero_s, centre_frequency_hz,
                             antenna_offset_m, antenna_height_m, soil, split, lane
    <split>/<id>.truth.csv   ground truth: id, kind (mine | clutter), type, x_m, y_m, depth_m (of the top),
                             size_m, soil, lane

The spec's fields are documented in sensorkit.synth.demining.check_spec; its ``datasets/<name>/truth.csv``
holds the truth of every lane (made without simulating: sensorkit.synth.demining.mine_lanes_truth).
"""

from __future__ import annotations

from pathlib import Path

from sensorkit.datasets.catalogue import DatasetSpec, Item, register_generator
from sensorkit.synth import demining

GENERATOR_VERSION = "1"


def _checked_lanes(spec: DatasetSpec) -> list[dict]:
    try:
        return demining.check_spec(spec.data)
    except demining.SpecError as exc:
        raise spec.error(exc.field, exc.expected, exc.found) from None


def plan(spec: DatasetSpec) -> list[Item]:
    """One item per lane: id, split and the lane's entry as params (weight 1 lane)."""
    return [Item(lane["id"], lane["split"], dict(lane), 1.0) for lane in _checked_lanes(spec)]


def make_item(spec: DatasetSpec, item: Item, out_dir: Path, progress) -> list[Path]:
    """Simulate one lane into out_dir/<split>/<id>.h5 and <id>.truth.csv."""
    lanes = _checked_lanes(spec)
    index = next(i for i, lane in enumerate(lanes) if lane["id"] == item.id)
    return demining.make_lane_files(spec.data, index, out_dir)


register_generator(demining.DATASET_KIND, make_item, plan=plan, version=GENERATOR_VERSION, unit="lane")
