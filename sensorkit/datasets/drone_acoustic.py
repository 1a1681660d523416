"""Generator kind ``drone-acoustic``: clips of a microphone array hearing drones, interferers and background noise.

Each clip is rendered by the library's forward model (sensorkit.synth.acoustic.SoundScene) and written as

    <split>/<id>.h5          a sensorkit recording: /acoustic/mic/samples (n_frames, n_mics), attrs fs_hz,
                             mic_positions_m, units ("Pa" for float32; "counts" for int16/int24 with
                             full_scale_pa and pa_per_count: p = counts x pa_per_count); the clip's parameters
                             in /devices/mic config
    <split>/<id>.truth.csv   ground truth every truth_interval_s: time_s, source_id, kind (drone | interferer),
                             type (drone, car, motorbike, lawnmower, generator), azimuth_deg, elevation_deg,
                             range_m, x_m, y_m, z_m (array frame, where the sound heard at time_s left the
                             source), fundamental_hz (received, with Doppler), level_db (SPL of the direct sound
                             at the array), snr_db (in-band source power over the nominal stationary background at
                             one microphone; see sensorkit.synth.acoustic.SourceTruth)

Spec fields read here (all SI; positions in the array frame: x, y horizontal, z up from the array centre, which
stands ``array_height_m`` above the ground):

    settings  {fs_hz, array, array_height_m, ground_reflection, temperature_c, humidity_pct, pressure_kpa,
               sample_format (float32 | int16 | int24), full_scale_pa, truth_interval_s}; array is
               {"kind": "circular", "n_mics", "radius_m"} | {"kind": "uma16"} |
               {"kind": "file", "path"} (acoular XML or JSON, relative to the spec folder) |
               {"kind": "positions", "mic_positions_m": [[x, y, z], ...]}
    clips     explicit clips: {id, split, duration_s, seed, sources: [...], noise: {...}, and optionally
               group, temperature_c, humidity_pct, ground_reflection}
    groups    clips drawn at random from the spec's seed (see :func:`expand_group`), after the explicit ones

A source is {"type": "drone", "motion": M, "rpm", "n_rotors", "blades", "level_db", "broadband_level_db"} (all but
type and motion optional: sensorkit.synth.drone_sound.Drone defaults), {"type": "car" | "motorbike" |
"lawnmower", "motion": M} or {"type": "generator", "position_m": [x, y, z]}. A motion M is
{"kind": "hover", "position_m"} | {"kind": "flyby", "closest_point_m", "speed_mps", "heading_deg",
"time_at_closest_s"} | {"kind": "waypoints", "points_m", "speeds_mps", "dwell_s", "start_time_s"}.
noise is {"sensor_db", "wind_db", "traffic_db", "birds_per_s", "birds_db"}: each present and not null adds that
background (SensorNoise, Wind, Traffic, Birds at the level given).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from sensorkit.datasets.catalogue import DatasetSpec, Item, check_item_id, check_split, check_unique_ids, \
    register_generator

GENERATOR_VERSION = "1"
STREAM_NAME = "mic"
SAMPLE_FORMATS = {"float32": ("float32", None), "int16": ("int16", (1 << 15) - 1),
                  "int24": ("int32", (1 << 23) - 1)}
INTERFERER_TYPES = ("car", "motorbike", "lawnmower", "generator")
MOTION_KINDS = ("hover", "flyby", "waypoints")
TRUTH_COLUMNS = ("time_s", "source_id", "kind", "type", "azimuth_deg", "elevation_deg", "range_m", "x_m", "y_m",
                 "z_m", "fundamental_hz", "level_db", "snr_db")
DEFAULT_SETTINGS = {"fs_hz": 16000.0, "array": {"kind": "circular", "n_mics": 8, "radius_m": 0.1},
                    "array_height_m": 1.5, "ground_reflection": 0.7, "temperature_c": 20.0, "humidity_pct": 70.0,
                    "pressure_kpa": 101.325, "sample_format": "float32", "full_scale_pa": 20.0,
                    "truth_interval_s": 0.1}
MAX_CLIP_S = 600.0
MAX_RANGE_M = 5000.0


# --------------------------------------------------------------------------------------------------- checks


class _Checker:
    """Field checks raising FormatError(spec file, field, expected, found)."""

    def __init__(self, spec: DatasetSpec):
        self.spec = spec

    def obj(self, where: str, value, required=(), optional=()) -> dict:
        if not isinstance(value, dict):
            raise self.spec.error(where, "an object", value)
        for key in required:
            if key not in value:
                raise self.spec.error(f"{where}.{key}", "a value (required field)", None)
        unknown = set(value) - set(required) - set(optional)
        if unknown:
            raise self.spec.error(f"{where}.{sorted(unknown)[0]}", f"one of the fields {sorted(required)} + "
                                                                   f"{sorted(optional)}", "an unknown field")
        return value

    def number(self, where: str, value, lo: float, hi: float, unit: str = "") -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                math.isfinite(value) and lo <= value <= hi):
            raise self.spec.error(where, f"a number in [{lo:g}, {hi:g}]{' ' + unit if unit else ''}", value)
        return float(value)

    def integer(self, where: str, value, lo: int, hi: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise self.spec.error(where, f"an integer in [{lo}, {hi}]", value)
        return int(value)

    def point(self, where: str, value) -> list:
        if (not isinstance(value, list) or len(value) != 3 or any(
                isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) for v in value)
                or max(abs(v) for v in value) > MAX_RANGE_M):
            raise self.spec.error(where, f"a point [x, y, z] in metres within {MAX_RANGE_M:g} m", value)
        return [float(v) for v in value]

    def choice(self, where: str, value, options) -> str:
        if value not in options:
            raise self.spec.error(where, f"one of {list(options)}", value)
        return value

    def interval(self, where: str, value, lo: float, hi: float) -> tuple[float, float]:
        if not isinstance(value, list) or len(value) != 2:
            raise self.spec.error(where, f"[low, high] within [{lo:g}, {hi:g}]", value)
        a = self.number(f"{where}[0]", value[0], lo, hi)
        b = self.number(f"{where}[1]", value[1], lo, hi)
        if a > b:
            raise self.spec.error(where, "[low, high] with low <= high", value)
        return a, b


def resolve_settings(spec: DatasetSpec) -> dict:
    """The spec's settings over DEFAULT_SETTINGS, checked; 'mic_positions_m' added (n_mics, 3) as a list."""
    check = _Checker(spec)
    given = spec.data.get("settings", {})
    check.obj("settings", given, optional=DEFAULT_SETTINGS)
    s = {**DEFAULT_SETTINGS, **given}
    s["fs_hz"] = check.number("settings.fs_hz", s["fs_hz"], 8000.0, 192000.0, "Hz")
    s["array_height_m"] = check.number("settings.array_height_m", s["array_height_m"], 0.0, 100.0, "m")
    s["ground_reflection"] = check.number("settings.ground_reflection", s["ground_reflection"], 0.0, 1.0)
    s["temperature_c"] = check.number("settings.temperature_c", s["temperature_c"], -20.0, 50.0, "deg C")
    s["humidity_pct"] = check.number("settings.humidity_pct", s["humidity_pct"], 5.0, 100.0, "%")
    s["pressure_kpa"] = check.number("settings.pressure_kpa", s["pressure_kpa"], 50.0, 110.0, "kPa")
    check.choice("settings.sample_format", s["sample_format"], SAMPLE_FORMATS)
    s["full_scale_pa"] = check.number("settings.full_scale_pa", s["full_scale_pa"], 0.01, 1e4, "Pa")
    s["truth_interval_s"] = check.number("settings.truth_interval_s", s["truth_interval_s"], 0.005, 10.0, "s")
    s["mic_positions_m"] = array_positions(spec, s["array"]).tolist()
    return s


def array_positions(spec: DatasetSpec, array) -> np.ndarray:
    """Microphone positions (n_mics, 3) of a settings ``array`` entry."""
    from sensorkit.formats.array_geometry import circular_array, read_array_geometry, uma16_array

    check = _Checker(spec)
    check.obj("settings.array", array, required=("kind",), optional=("n_mics", "radius_m", "path",
                                                                      "mic_positions_m"))
    kind = check.choice("settings.array.kind", array["kind"], ("circular", "uma16", "file", "positions"))
    if kind == "circular":
        n = check.integer("settings.array.n_mics", array.get("n_mics", 8), 2, 1024)
        r = check.number("settings.array.radius_m", array.get("radius_m", 0.1), 0.001, 100.0, "m")
        return circular_array(n, r)
    if kind == "uma16":
        return uma16_array()
    if kind == "file":
        path = array.get("path")
        if not isinstance(path, str) or not path:
            raise spec.error("settings.array.path", "a geometry file (acoular XML or JSON) relative to the spec",
                             path)
        return read_array_geometry(spec.folder / path)
    positions = array.get("mic_positions_m")
    try:
        p = np.asarray(positions, dtype=float)
    except (TypeError, ValueError):
        p = np.zeros((0,))
    if p.ndim != 2 or p.shape[1] != 3 or not 1 <= p.shape[0] <= 1024 or not np.all(np.isfinite(p)):
        raise spec.error("settings.array.mic_positions_m", "a list of [x, y, z] positions in metres", positions)
    return p


# --------------------------------------------------------------------------------------------------- clips

SOURCE_FIELDS = {"drone": ("rpm", "n_rotors", "blades", "level_db", "broadband_level_db")}
NOISE_FIELDS = ("sensor_db", "wind_db", "traffic_db", "birds_per_s", "birds_db")
CLIP_FIELDS = ("id", "split", "duration_s", "seed", "sources", "noise", "group", "temperature_c", "humidity_pct",
               "ground_reflection")


def check_clip(spec: DatasetSpec, where: str, clip, settings: dict) -> dict:
    """Check one explicit clip (FormatError naming ``where`` and the field); returns it unchanged."""
    check = _Checker(spec)
    check.obj(where, clip, required=("id", "split", "duration_s", "seed", "sources"), optional=CLIP_FIELDS)
    check_item_id(spec, f"{where}.id", clip["id"])
    check_split(spec, f"{where}.split", clip["split"])
    duration = check.number(f"{where}.duration_s", clip["duration_s"], 0.1, MAX_CLIP_S, "s")
    check.integer(f"{where}.seed", clip["seed"], 0, 2 ** 63 - 1)
    if "group" in clip and not isinstance(clip["group"], str):
        raise spec.error(f"{where}.group", "a string", clip["group"])
    if "temperature_c" in clip:
        check.number(f"{where}.temperature_c", clip["temperature_c"], -20.0, 50.0, "deg C")
    if "humidity_pct" in clip:
        check.number(f"{where}.humidity_pct", clip["humidity_pct"], 5.0, 100.0, "%")
    if "ground_reflection" in clip:
        check.number(f"{where}.ground_reflection", clip["ground_reflection"], 0.0, 1.0)
    if not isinstance(clip["sources"], list) or len(clip["sources"]) > 16:
        raise spec.error(f"{where}.sources", "a list of at most 16 sources", clip["sources"])
    for k, source in enumerate(clip["sources"]):
        _check_source(spec, f"{where}.sources[{k}]", source, duration, settings)
    noise = check.obj(f"{where}.noise", clip.get("noise", {}), optional=NOISE_FIELDS)
    for key in NOISE_FIELDS:
        value = noise.get(key)
        if value is None:
            continue
        if key == "birds_per_s":
            check.number(f"{where}.noise.{key}", value, 0.0, 20.0, "calls/s")
        else:
            check.number(f"{where}.noise.{key}", value, -20.0, 140.0, "dB re 20 uPa")
    if noise.get("birds_per_s") and settings["fs_hz"] < 13200.0:
        raise spec.error(f"{where}.noise.birds_per_s", "no birds below fs_hz 13200 Hz (calls reach 6 kHz)",
                         noise["birds_per_s"])
    return clip


def _check_source(spec, where, source, duration_s, settings) -> None:
    check = _Checker(spec)
    check.obj(where, source, required=("type",), optional=("motion", "position_m") + SOURCE_FIELDS["drone"])
    kind = check.choice(f"{where}.type", source["type"], ("drone",) + INTERFERER_TYPES)
    if kind == "generator":
        check.obj(where, source, required=("type", "position_m"))
        check.point(f"{where}.position_m", source["position_m"])
        trajectory = _motion({"kind": "hover", "position_m": source["position_m"]})
    else:
        allowed = ("type", "motion") + SOURCE_FIELDS.get(kind, ())
        check.obj(where, source, required=("type", "motion"), optional=allowed)
        trajectory = _check_motion(spec, f"{where}.motion", source["motion"])
    if kind == "drone":
        if "rpm" in source:
            check.number(f"{where}.rpm", source["rpm"], 600.0, 30000.0, "rpm")
        if "n_rotors" in source:
            check.integer(f"{where}.n_rotors", source["n_rotors"], 1, 16)
        if "blades" in source:
            check.integer(f"{where}.blades", source["blades"], 1, 8)
        if "level_db" in source:
            check.number(f"{where}.level_db", source["level_db"], 0.0, 140.0, "dB re 20 uPa at 1 m")
        if source.get("broadband_level_db") is not None:
            check.number(f"{where}.broadband_level_db", source["broadband_level_db"], 0.0, 140.0,
                         "dB re 20 uPa at 1 m")
    times = np.linspace(-1.0, duration_s + 1.0, int(duration_s * 4) + 9)
    z = trajectory.position_m(times)[:, 2]
    ground = -settings["array_height_m"]
    if np.any(z < ground + 0.05):
        t = float(times[int(np.argmin(z))])
        raise spec.error(f"{where}.motion", f"a path at least 0.05 m above the ground (z >= {ground + 0.05:g} m in "
                                            f"the array frame)", f"z = {z.min():.2f} m at t = {t:.2f} s")


def _check_motion(spec, where, motion):
    check = _Checker(spec)
    check.obj(where, motion, required=("kind",), optional=(
        "position_m", "closest_point_m", "speed_mps", "heading_deg", "time_at_closest_s", "points_m",
        "speeds_mps", "dwell_s", "start_time_s"))
    kind = check.choice(f"{where}.kind", motion["kind"], MOTION_KINDS)
    if kind == "hover":
        check.obj(where, motion, required=("kind", "position_m"))
        check.point(f"{where}.position_m", motion["position_m"])
    elif kind == "flyby":
        check.obj(where, motion, required=("kind", "closest_point_m", "speed_mps"),
                  optional=("heading_deg", "time_at_closest_s"))
        check.point(f"{where}.closest_point_m", motion["closest_point_m"])
        check.number(f"{where}.speed_mps", motion["speed_mps"], 0.0, 60.0, "m/s")
        check.number(f"{where}.heading_deg", motion.get("heading_deg", 0.0), -360.0, 360.0, "deg")
        check.number(f"{where}.time_at_closest_s", motion.get("time_at_closest_s", 0.0), -1e4, 1e4, "s")
    else:
        check.obj(where, motion, required=("kind", "points_m", "speeds_mps"), optional=("dwell_s", "start_time_s"))
        points = motion["points_m"]
        if not isinstance(points, list) or len(points) < 2:
            raise spec.error(f"{where}.points_m", "a list of at least 2 points [x, y, z]", points)
        for k, p in enumerate(points):
            check.point(f"{where}.points_m[{k}]", p)
        speeds = motion["speeds_mps"]
        for k, v in enumerate(speeds if isinstance(speeds, list) else [speeds]):
            check.number(f"{where}.speeds_mps" + (f"[{k}]" if isinstance(speeds, list) else ""), v, 0.1, 60.0,
                         "m/s")
        if isinstance(speeds, list) and len(speeds) != len(points) - 1:
            raise spec.error(f"{where}.speeds_mps", f"one speed or {len(points) - 1} (one per leg)", speeds)
        dwell = motion.get("dwell_s", 0.0)
        for k, d in enumerate(dwell if isinstance(dwell, list) else [dwell]):
            check.number(f"{where}.dwell_s" + (f"[{k}]" if isinstance(dwell, list) else ""), d, 0.0, 1e4, "s")
        if isinstance(dwell, list) and len(dwell) != len(points):
            raise spec.error(f"{where}.dwell_s", f"one time or {len(points)} (one per point)", dwell)
        check.number(f"{where}.start_time_s", motion.get("start_time_s", 0.0), -1e4, 1e4, "s")
        if any(p == q for p, q in zip(points[:-1], points[1:])):
            raise spec.error(f"{where}.points_m", "consecutive points that differ", points)
    return _motion(motion)


def _motion(motion: dict):
    from sensorkit.synth.trajectory import Trajectory

    kind = motion["kind"]
    if kind == "hover":
        return Trajectory.hover(motion["position_m"])
    if kind == "flyby":
        return Trajectory.flyby(motion["closest_point_m"], motion["speed_mps"],
                                math.radians(motion.get("heading_deg", 0.0)), motion.get("time_at_closest_s", 0.0))
    return Trajectory.waypoints(motion["points_m"], motion["speeds_mps"], motion.get("start_time_s", 0.0),
                                motion.get("dwell_s", 0.0))


# --------------------------------------------------------------------------------------------------- scenes


def build_scene(settings: dict, clip: dict):
    """The SoundScene of a checked clip with resolved settings (what make_item renders)."""
    from sensorkit.synth.acoustic import SoundScene
    from sensorkit.synth.background_noise import Birds, SensorNoise, Traffic, Wind
    from sensorkit.synth.drone_sound import Drone
    from sensorkit.synth.interferers import Interferer

    sources = []
    for source in clip["sources"]:
        kind = source["type"]
        if kind == "drone":
            options = {k: source[k] for k in SOURCE_FIELDS["drone"] if k in source}
            sources.append(Drone(_motion(source["motion"]), **options))
        elif kind == "generator":
            sources.append(Interferer.generator(source["position_m"]))
        else:
            sources.append(getattr(Interferer, kind)(_motion(source["motion"])))
    noise_spec = clip.get("noise", {})
    noise = []
    if noise_spec.get("sensor_db") is not None:
        noise.append(SensorNoise(noise_spec["sensor_db"]))
    if noise_spec.get("wind_db") is not None:
        noise.append(Wind(noise_spec["wind_db"]))
    if noise_spec.get("traffic_db") is not None:
        noise.append(Traffic(noise_spec["traffic_db"]))
    if noise_spec.get("birds_per_s"):
        noise.append(Birds(noise_spec["birds_per_s"], noise_spec.get("birds_db", 80.0)))
    return SoundScene(np.asarray(settings["mic_positions_m"]), settings["fs_hz"], sources=sources, noise=noise,
                      array_height_m=settings["array_height_m"],
                      temperature_c=clip.get("temperature_c", settings["temperature_c"]),
                      humidity_pct=clip.get("humidity_pct", settings["humidity_pct"]),
                      pressure_kpa=settings["pressure_kpa"],
                      ground_reflection=clip.get("ground_reflection", settings["ground_reflection"]),
                      seed=clip["seed"])


def truth_rows(scene, clip: dict, interval_s: float) -> list[tuple]:
    """Ground-truth rows (TRUTH_COLUMNS) of a clip every ``interval_s`` from 0 to its end, source by source."""
    n = int(math.floor(clip["duration_s"] / interval_s + 1e-9)) + 1
    times = np.arange(n) * interval_s
    times = times[times <= clip["duration_s"] + 1e-9]
    rows = []
    for k, (truth, source) in enumerate(zip(scene.truth(times), clip["sources"])):
        kind = "drone" if source["type"] == "drone" else "interferer"
        for i, t in enumerate(times):
            x, y, z = truth.position_m[i]
            rows.append((float(t), k, kind, source["type"], math.degrees(truth.azimuth_rad[i]),
                         math.degrees(truth.elevation_rad[i]), float(truth.range_m[i]), float(x), float(y), float(z),
                         float(truth.f0_hz[i]), float(truth.level_db[i]), float(truth.snr_db[i])))
    rows.sort(key=lambda r: (r[0], r[1]))
    return rows


def write_truth_csv(path, rows) -> None:
    """Write truth rows as CSV with a header line (TRUTH_COLUMNS)."""
    formats = ("{:.4f}", "{:d}", "{}", "{}", "{:.4f}", "{:.4f}", "{:.3f}", "{:.3f}", "{:.3f}", "{:.3f}", "{:.3f}",
               "{:.2f}", "{:.2f}")
    with open(path, "w", newline="", encoding="ascii") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(TRUTH_COLUMNS)
        for row in rows:
            writer.writerow([fmt.format(v) for fmt, v in zip(formats, row)])


TRUTH_DTYPE = np.dtype([("time_s", "f8"), ("source_id", "i4"), ("kind", "U10"), ("type", "U10"),
                        ("azimuth_deg", "f8"), ("elevation_deg", "f8"), ("range_m", "f8"), ("x_m", "f8"),
                        ("y_m", "f8"), ("z_m", "f8"), ("fundamental_hz", "f8"), ("level_db", "f8"),
                        ("snr_db", "f8")])


def read_truth(path) -> np.ndarray:
    """A truth CSV as a structured array (TRUTH_DTYPE), one row per time and source."""
    from sensorkit.errors import FormatError

    path = Path(path)
    try:
        with open(path, newline="", encoding="ascii") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(path, "file", "a readable ASCII CSV file", str(exc)) from None
    if not rows or tuple(rows[0]) != TRUTH_COLUMNS:
        raise FormatError(path, "header", ",".join(TRUTH_COLUMNS), ",".join(rows[0]) if rows else "(empty)")
    out = np.zeros(len(rows) - 1, TRUTH_DTYPE)
    for i, row in enumerate(rows[1:]):
        if len(row) != len(TRUTH_COLUMNS):
            raise FormatError(path, f"line {i + 2}", f"{len(TRUTH_COLUMNS)} columns", len(row))
        try:
            out[i] = tuple(int(v) if name == "source_id" else v if name in ("kind", "type") else float(v)
                           for name, v in zip(TRUTH_COLUMNS, row))
        except ValueError as exc:
            raise FormatError(path, f"line {i + 2}", "numbers in the numeric columns", str(exc)) from None
    return out


def quantise(pressure_pa: np.ndarray, sample_format: str, full_scale_pa: float) -> tuple[np.ndarray, int]:
    """(samples, number of clipped samples): float32 pascals, or counts rint(p / full_scale_pa x max_count)."""
    dtype, top = SAMPLE_FORMATS[sample_format]
    if top is None:
        return np.asarray(pressure_pa, dtype=np.float32), 0
    counts = np.rint(np.asarray(pressure_pa, dtype=np.float64) * (top / full_scale_pa))
    clipped = int(np.count_nonzero((counts > top) | (counts < -top - 1)))
    np.clip(counts, -top - 1, top, out=counts)
    return counts.astype(dtype), clipped


def write_clip(path, settings: dict, clip: dict, scene, dataset: str, progress=None, block_s: float = 1.0) -> None:
    """Render a clip and write it as a sensorkit recording (stream 'mic')."""
    from sensorkit import __version__
    from sensorkit.formats.base import DeviceInfo
    from sensorkit.store.schema import BLOCK_META_DTYPE, empty_records
    from sensorkit.store.writer import RecordingWriter

    fs = settings["fs_hz"]
    fmt = settings["sample_format"]
    dtype, top = SAMPLE_FORMATS[fmt]
    n_total = int(round(clip["duration_s"] * fs))
    block = max(1, int(round(block_s * fs)))
    attrs = {"sample_format": fmt, "dataset": dataset, "clip_id": clip["id"], "split": clip["split"]}
    if top is None:
        units = "Pa"
    else:
        units = "counts"
        attrs.update(full_scale_pa=settings["full_scale_pa"], max_count=top,
                     pa_per_count=settings["full_scale_pa"] / top)
    config = {"generator": f"drone-acoustic/{GENERATOR_VERSION}", "dataset": dataset, "clip": clip,
              "settings": {k: v for k, v in settings.items() if k != "mic_positions_m"}}
    clipped = 0
    with RecordingWriter(path, overwrite=True, flush_interval_s=1.0) as writer:
        writer.add_device(STREAM_NAME, DeviceInfo(kind="acoustic", model="sensorkit synthetic microphone array",
                                                  serial=f"{dataset}/{clip['id']}", firmware=f"sensorkit {__version__}",
                                                  port="", config=config))
        writer.add_audio_stream(STREAM_NAME, n_channels=scene.n_mics, fs_hz=fs, dtype=dtype,
                                mic_positions_m=scene.mic_positions_m, units=units, attrs=attrs)
        for seq, first in enumerate(range(0, n_total, block)):
            n = min(block, n_total - first)
            samples, c = quantise(scene.render_frames(first, n), fmt, settings["full_scale_pa"])
            clipped += c
            record = empty_records(BLOCK_META_DTYPE, 1)
            record["seq"] = seq
            record["first_frame"] = first
            record["device_time_ns"] = int(round(first * 1e9 / fs))
            record["host_time_ns"] = -1
            record["flags"] = 0
            writer.append_audio(STREAM_NAME, samples, record)
            if progress is not None:
                progress(n / fs)
        writer.h5[f"acoustic/{STREAM_NAME}/samples"].attrs["clipped_samples"] = clipped


# --------------------------------------------------------------------------------------------------- groups

GROUP_FIELDS = {
    "name": None, "count": None, "duration_s": 30.0, "test_every": 4, "drones": [1, 1], "motions": ["hover"],
    "range_m": [25.0, 300.0], "height_m": [10.0, 150.0], "speed_mps": [2.0, 20.0], "rpm": [4000.0, 7000.0],
    "rotors": [4], "drone_level_db": [70.0, 82.0], "max_separation_deg": 180.0, "interferers": [0, 0],
    "interferer_types": list(INTERFERER_TYPES[:3]), "sensor_db": [30.0, 35.0], "wind_db": [40.0, 65.0],
    "wind_probability": 0.7, "traffic_db": [35.0, 55.0], "traffic_probability": 0.5, "birds_per_s": [0.1, 1.0],
    "birds_probability": 0.4, "generator_probability": 0.15, "temperature_c": [5.0, 30.0],
    "humidity_pct": [30.0, 90.0],
}


def check_group(spec: DatasetSpec, where: str, group) -> dict:
    """A group over spec["group_defaults"] and GROUP_FIELDS, checked."""
    check = _Checker(spec)
    defaults = spec.data.get("group_defaults", {})
    check.obj("group_defaults", defaults, optional=[k for k in GROUP_FIELDS if k not in ("name", "count")])
    check.obj(where, group, required=("name", "count"), optional=GROUP_FIELDS)
    g = {**GROUP_FIELDS, **defaults, **group}
    check_item_id(spec, f"{where}.name", g["name"])
    check.integer(f"{where}.count", g["count"], 1, 10000)
    check.number(f"{where}.duration_s", g["duration_s"], 0.5, MAX_CLIP_S, "s")
    check.integer(f"{where}.test_every", g["test_every"], 0, 10000)
    if g["test_every"] and not {"train", "test"} <= set(spec.splits):
        raise spec.error("splits", "'train' and 'test' (groups split their clips into them)", spec.splits)
    if not g["test_every"] and "train" not in spec.splits:
        raise spec.error("splits", "'train' (test_every 0 puts every clip of a group there)", spec.splits)
    for key, lo, hi in (("drones", 0, 8), ("interferers", 0, 8)):
        a, b = check.interval(f"{where}.{key}", g[key], lo, hi)
        if a != int(a) or b != int(b):
            raise spec.error(f"{where}.{key}", "[low, high] integers", g[key])
    for key, lo, hi in (("range_m", 5.0, 2000.0), ("height_m", 1.0, 1000.0), ("speed_mps", 0.1, 40.0),
                        ("rpm", 1000.0, 20000.0), ("drone_level_db", 40.0, 110.0), ("sensor_db", 0.0, 60.0),
                        ("wind_db", 0.0, 100.0), ("traffic_db", 0.0, 90.0), ("birds_per_s", 0.0, 10.0),
                        ("temperature_c", -20.0, 50.0), ("humidity_pct", 5.0, 100.0)):
        check.interval(f"{where}.{key}", g[key], lo, hi)
    for key in ("wind_probability", "traffic_probability", "birds_probability", "generator_probability"):
        check.number(f"{where}.{key}", g[key], 0.0, 1.0)
    check.number(f"{where}.max_separation_deg", g["max_separation_deg"], 15.0, 180.0, "deg")
    if not isinstance(g["motions"], list) or not g["motions"]:
        raise spec.error(f"{where}.motions", f"a non-empty list of {list(MOTION_KINDS)}", g["motions"])
    for k, m in enumerate(g["motions"]):
        check.choice(f"{where}.motions[{k}]", m, MOTION_KINDS)
    if not isinstance(g["rotors"], list) or not g["rotors"]:
        raise spec.error(f"{where}.rotors", "a non-empty list of rotor counts", g["rotors"])
    for k, r in enumerate(g["rotors"]):
        check.integer(f"{where}.rotors[{k}]", r, 1, 16)
    if not isinstance(g["interferer_types"], list) or (g["interferers"][1] > 0 and not g["interferer_types"]):
        raise spec.error(f"{where}.interferer_types", f"a list of {list(INTERFERER_TYPES)}", g["interferer_types"])
    for k, t in enumerate(g["interferer_types"]):
        check.choice(f"{where}.interferer_types[{k}]", t, INTERFERER_TYPES)
    if g["range_m"][0] <= g["height_m"][0]:
        raise spec.error(f"{where}.range_m", f"a lowest range above the lowest height {g['height_m'][0]} m",
                         g["range_m"])
    return g


def _r3(values) -> list:
    return [round(float(v), 3) for v in values]


def _point(r_m, az, z):
    horizontal = math.sqrt(max(r_m * r_m - z * z, 1.0))
    return _r3([horizontal * math.cos(az), horizontal * math.sin(az), z])


def expand_group(spec: DatasetSpec, g: dict, group_index: int, first_index: int, settings: dict) -> list[dict]:
    """The clips of one group, drawn from np.random.default_rng([spec seed, group index, clip number]).

    Per drone: slant range log-uniform in range_m (at hover, at the closest approach of a flyby, at the first
    waypoint), height above the ground uniform in height_m (below the range), azimuth uniform (within
    max_separation_deg of the clip's first drone), motion uniform among motions; speed uniform in speed_mps;
    waypoints: 2..3 legs of 40..200 m with a height change of up to 20 m, hovering 0..6 s at each corner with
    probability 0.5. Rotor model: rpm uniform, 2 blades, rotors from the list, tonal level uniform in
    drone_level_db, broadband 5..9 dB below it. Interferers: car and motorbike on a straight road 20..150 m away
    at 8..25 and 10..30 m/s, a lawnmower going back and forth 10..60 m away at 1.2 m/s, a generator standing
    20..100 m away; generator_probability adds one more generator as background. Noise: sensor always, wind,
    traffic, birds each with its probability and a level drawn uniformly. Weather: temperature and humidity
    uniform. Every number is rounded to 1 mm / 1 ms / 0.001 and written out in the plan.
    """
    h = settings["array_height_m"]
    clips = []
    for k in range(g["count"]):
        rng = np.random.default_rng([spec.seed, group_index, k])
        duration = g["duration_s"]
        clip_id = f"{g['name']}-{k:03d}"
        split = "train"
        if g["test_every"] and k % g["test_every"] == g["test_every"] - 1:
            split = "test"
        sources = []
        n_drones = int(rng.integers(g["drones"][0], g["drones"][1] + 1))
        first_az = rng.uniform(0.0, 2.0 * math.pi)
        for d in range(n_drones):
            az = first_az if d == 0 else first_az + rng.choice([-1.0, 1.0]) * rng.uniform(
                math.radians(15.0), math.radians(g["max_separation_deg"]))
            r = math.exp(rng.uniform(math.log(g["range_m"][0]), math.log(g["range_m"][1])))
            height = rng.uniform(g["height_m"][0], min(g["height_m"][1], 0.9 * r))
            z = height - h
            motion_kind = g["motions"][int(rng.integers(len(g["motions"])))]
            speed = rng.uniform(*g["speed_mps"])
            if motion_kind == "hover":
                motion = {"kind": "hover", "position_m": _point(r, az, z)}
            elif motion_kind == "flyby":
                heading = math.degrees(az) + rng.choice([-90.0, 90.0])
                motion = {"kind": "flyby", "closest_point_m": _point(r, az, z), "speed_mps": round(speed, 3),
                          "heading_deg": round(heading % 360.0, 3),
                          "time_at_closest_s": round(rng.uniform(0.2, 0.8) * duration, 3)}
            else:
                points = [_point(r, az, z)]
                n_legs = int(rng.integers(2, 4))
                for _ in range(n_legs):
                    while True:
                        step = rng.uniform(40.0, 200.0)
                        direction = rng.uniform(0.0, 2.0 * math.pi)
                        x = points[-1][0] + step * math.cos(direction)
                        y = points[-1][1] + step * math.sin(direction)
                        zz = float(np.clip(points[-1][2] + rng.uniform(-20.0, 20.0), g["height_m"][0] - h,
                                           g["height_m"][1] - h))
                        if math.hypot(x, y) <= g["range_m"][1]:
                            break
                    points.append(_r3([x, y, zz]))
                dwell = [round(float(rng.uniform(0.0, 6.0)) if rng.uniform() < 0.5 else 0.0, 3)
                         for _ in points]
                motion = {"kind": "waypoints", "points_m": points, "speeds_mps": round(max(speed, 1.0), 3),
                          "dwell_s": dwell, "start_time_s": round(rng.uniform(0.0, 0.2) * duration, 3)}
            level = rng.uniform(*g["drone_level_db"])
            sources.append({"type": "drone", "motion": motion, "rpm": round(rng.uniform(*g["rpm"]), 1),
                            "n_rotors": int(g["rotors"][int(rng.integers(len(g["rotors"])))]), "blades": 2,
                            "level_db": round(level, 2), "broadband_level_db": round(level - rng.uniform(5.0, 9.0),
                                                                                      2)})
        n_int = int(rng.integers(g["interferers"][0], g["interferers"][1] + 1))
        types = [g["interferer_types"][int(rng.integers(len(g["interferer_types"])))] for _ in range(n_int)]
        if rng.uniform() < g["generator_probability"]:
            types.append("generator")
        for kind in types:
            az = rng.uniform(0.0, 2.0 * math.pi)
            if kind in ("car", "motorbike"):
                d = rng.uniform(20.0, 150.0)
                speed = rng.uniform(8.0, 25.0) if kind == "car" else rng.uniform(10.0, 30.0)
                heading = math.degrees(az) + rng.choice([-90.0, 90.0])
                motion = {"kind": "flyby", "closest_point_m": _r3([d * math.cos(az), d * math.sin(az), 0.5 - h]),
                          "speed_mps": round(speed, 3), "heading_deg": round(heading % 360.0, 3),
                          "time_at_closest_s": round(rng.uniform(0.1, 0.9) * duration, 3)}
                sources.append({"type": kind, "motion": motion})
            elif kind == "lawnmower":
                d = rng.uniform(10.0, 60.0)
                a = _r3([d * math.cos(az), d * math.sin(az), 0.3 - h])
                turn = az + math.pi / 2
                b = _r3([a[0] + 15.0 * math.cos(turn), a[1] + 15.0 * math.sin(turn), 0.3 - h])
                laps = int(math.ceil(duration * 1.2 / 15.0)) + 1
                sources.append({"type": kind, "motion": {"kind": "waypoints", "points_m": [a, b] * laps,
                                                         "speeds_mps": 1.2, "dwell_s": 0.0, "start_time_s": 0.0}})
            else:
                d = rng.uniform(20.0, 100.0)
                sources.append({"type": "generator", "position_m": _r3([d * math.cos(az), d * math.sin(az),
                                                                         0.5 - h])})
        noise = {"sensor_db": round(rng.uniform(*g["sensor_db"]), 2)}
        if rng.uniform() < g["wind_probability"]:
            noise["wind_db"] = round(rng.uniform(*g["wind_db"]), 2)
        if rng.uniform() < g["traffic_probability"]:
            noise["traffic_db"] = round(rng.uniform(*g["traffic_db"]), 2)
        if rng.uniform() < g["birds_probability"]:
            noise["birds_per_s"] = round(rng.uniform(*g["birds_per_s"]), 3)
        clips.append({"id": clip_id, "split": split, "group": g["name"], "duration_s": duration,
                      "seed": int(spec.seed % 1_000_000_007 * 1000 + first_index + k),
                      "temperature_c": round(rng.uniform(*g["temperature_c"]), 1),
                      "humidity_pct": round(rng.uniform(*g["humidity_pct"]), 1), "sources": sources, "noise": noise})
    return clips


# --------------------------------------------------------------------------------------------------- plan, make


def plan(spec: DatasetSpec) -> list[Item]:
    """Items of a drone-acoustic spec: its explicit clips, then the clips drawn for its groups, all checked."""
    settings = resolve_settings(spec)
    clips = spec.data.get("clips", [])
    groups = spec.data.get("groups", [])
    if not isinstance(clips, list):
        raise spec.error("clips", "a list of clips", clips)
    if not isinstance(groups, list):
        raise spec.error("groups", "a list of clip groups", groups)
    if not clips and not groups:
        raise spec.error("clips", "at least one clip (or a 'groups' entry)", None)
    unknown = set(spec.data) - {"name", "kind", "version", "description", "seed", "splits", "settings", "clips",
                                "groups", "group_defaults", "notes"}
    if unknown:
        raise spec.error(sorted(unknown)[0], "a known field (name, kind, version, description, seed, splits, "
                                             "settings, clips, groups, group_defaults, notes)", "an unknown field")
    items = []
    for i, clip in enumerate(clips):
        check_clip(spec, f"clips[{i}]", clip, settings)
        items.append(Item(clip["id"], clip["split"], clip, float(clip["duration_s"])))
    for j, group in enumerate(groups):
        g = check_group(spec, f"groups[{j}]", group)
        for clip in expand_group(spec, g, j, len(items), settings):
            check_clip(spec, f"groups[{j}] ({clip['id']})", clip, settings)
            items.append(Item(clip["id"], clip["split"], clip, float(clip["duration_s"])))
    check_unique_ids(spec, items, "clips")
    return items


def make_item(spec: DatasetSpec, item: Item, out_dir: Path, progress) -> list[Path]:
    """Render one clip into out_dir/<split>/<id>.h5 and its truth into <id>.truth.csv."""
    settings = resolve_settings(spec)
    clip = item.params
    scene = build_scene(settings, clip)
    folder = Path(out_dir) / item.split
    folder.mkdir(parents=True, exist_ok=True)
    h5_path = folder / f"{item.id}.h5"
    csv_path = folder / f"{item.id}.truth.csv"
    write_truth_csv(csv_path, truth_rows(scene, clip, settings["truth_interval_s"]))
    write_clip(h5_path, settings, clip, scene, spec.name, progress)
    return [h5_path, csv_path]


def clip_paths(folder, item: dict) -> tuple[Path, Path]:
    """(recording, truth CSV) of an index.json item in a made dataset's folder."""
    folder = Path(folder)
    return folder / item["split"] / f"{item['id']}.h5", folder / item["split"] / f"{item['id']}.truth.csv"


def summary(spec: DatasetSpec, times_step_s: float = 1.0) -> dict:
    """Statistics of a drone-acoustic dataset from its plan and truth, without rendering: per split the clip
    count and duration; drone ranges, heights, speeds and SNRs (percentiles); noise and interferer counts."""
    settings = resolve_settings(spec)
    items = plan(spec)
    out = {"clips": len(items), "duration_s": sum(i.weight for i in items), "splits": {}, "noise": {},
           "interferers": {}, "drones_per_clip": {}}
    ranges, heights, speeds, snrs = [], [], [], []
    for item in items:
        clip = item.params
        split = out["splits"].setdefault(item.split, {"clips": 0, "duration_s": 0.0})
        split["clips"] += 1
        split["duration_s"] += clip["duration_s"]
        for key in clip.get("noise", {}):
            out["noise"][key] = out["noise"].get(key, 0) + 1
        n_drones = sum(s["type"] == "drone" for s in clip["sources"])
        out["drones_per_clip"][n_drones] = out["drones_per_clip"].get(n_drones, 0) + 1
        scene = build_scene(settings, clip)
        t = np.arange(0.0, clip["duration_s"], times_step_s)
        for source, truth in zip(clip["sources"], scene.truth(t)):
            if source["type"] != "drone":
                out["interferers"][source["type"]] = out["interferers"].get(source["type"], 0) + 1
                continue
            ranges.extend(truth.range_m)
            heights.extend(truth.position_m[:, 2] + settings["array_height_m"])
            speeds.extend(np.linalg.norm(scene.sources[truth.index].trajectory.velocity_mps(
                truth.emission_time_s), axis=1))
            snrs.extend(truth.snr_db)
    q = (0, 5, 25, 50, 75, 95, 100)
    for name, values in (("range_m", ranges), ("height_m", heights), ("speed_mps", speeds), ("snr_db", snrs)):
        if values:
            out[name] = dict(zip((f"p{p}" for p in q), np.round(np.percentile(values, q), 1).tolist()))
    return out


register_generator("drone-acoustic", make_item, plan=plan, version=GENERATOR_VERSION, unit="s")
