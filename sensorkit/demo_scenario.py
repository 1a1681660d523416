"""The demo's world: a demining lane surveyed by a GPR cart with GNSS, and drones flying past a microphone array.

Everything here is deterministic (seeds), so the simulator process and the demo build the same scene and the
demo knows the ground truth:

- the lane: ``sensorkit.synth.demining.random_lane`` (mines and clutter in a catalogue soil), x along the lane
  from 0 to size_x_m, y across it from 0 to size_y_m;
- the GPR cart: an antenna array with one channel every ``channel_spacing_m`` across the whole lane (channel y =
  lane y), wheel-triggered every ``trace_spacing_m``, on a CartTrack whose distance along the lane is the lane's
  x. The recorder stores the array centre at y = 0, so survey y = lane y - size_y_m / 2;
- the sound: ``sensorkit.synth.acoustic.SoundScene`` at an 8-microphone circular array: the drones of
  ``DemoScenario.drones`` flying straight and level past it, with wind, microphone self-noise and birds.
  Scene time is seconds since the microphone simulator was made.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["DemoDrone", "DemoScenario", "LaneTraceSource", "DroneSceneFactory", "build_lane", "mine_truth_survey",
           "drone_truth"]


@dataclass(frozen=True)
class DemoDrone:
    """A drone flying straight and level: closest point (x, y, z) m in the array frame at scene time
    closest_s, speed m/s, heading rad (counter-clockwise from +x), rotor speed rpm."""

    closest_m: tuple[float, float, float]
    speed_mps: float
    heading_rad: float
    closest_s: float
    rpm: float = 5400.0


@dataclass(frozen=True)
class DemoScenario:
    """Everything the demo simulates. ``full()`` is `sensorkit demo`; ``short()`` the quick version for tests."""

    name: str
    # lane
    soil: str = "loam"
    mine_types: tuple[str, ...] = ("ap-plastic", "ap-metal", "at-plastic", "at-metal")
    clutter_types: tuple[str, ...] = ("stone", "can", "root", "metal-scrap")
    lane_seed: int = 11
    size_x_m: float = 5.0
    size_y_m: float = 1.0
    # GPR cart
    cart_speed_mps: float = 0.2
    trace_spacing_m: float = 0.02
    channel_spacing_m: float = 0.05
    n_samples: int = 256
    dt_s: float = 8.0e-11
    origin_lat: float = 52.0
    origin_lon: float = 5.0
    heading_deg: float = 90.0
    # microphone array
    fs_hz: float = 16000.0
    n_mics: int = 8
    array_radius_m: float = 0.1
    block_frames: int = 256
    drones: tuple[DemoDrone, ...] = ()
    sound_seed: int = 3
    # link noise (per byte corruption, per frame drop, one disconnect of the microphone array)
    corrupt_rate: float = 2e-6
    drop_rate: float = 0.001
    gnss_corrupt_rate: float = 1e-5
    mic_disconnect_after_s: float = 17.0
    down_time_s: float = 0.5
    # timing
    lead_s: float = 3.0  # from the go signal to the cart leaving the origin (the recorder starts meanwhile)

    @classmethod
    def full(cls) -> "DemoScenario":
        """A 5 x 1 m lane with four mines and four clutter objects; two drones passing in ~30 s."""
        return cls(name="full", drones=(
            DemoDrone((0.0, 30.0, 20.0), 12.0, 0.0, 11.0, rpm=5400.0),
            DemoDrone((-25.0, 0.0, 25.0), 10.0, math.pi / 2, 19.0, rpm=6600.0)))

    @classmethod
    def short(cls) -> "DemoScenario":
        """A 2 x 1 m lane with two mines and two clutter objects; one drone passing in ~12 s."""
        return cls(name="short", mine_types=("ap-metal", "at-plastic"), clutter_types=("stone", "can"),
                   lane_seed=5, size_x_m=2.0, cart_speed_mps=0.25, mic_disconnect_after_s=7.0,
                   drones=(DemoDrone((0.0, 25.0, 15.0), 12.0, 0.0, 6.0, rpm=5400.0),))

    def __post_init__(self):
        if self.record_s > 50.0:  # the simulator's sound scene repeats every 60 s (firmware_sims.mic_array)
            raise ValueError(f"DemoScenario {self.name}: expected a recording under 50 s (lead + size_x_m / "
                             f"cart_speed_mps), found {self.record_s:.1f} s")

    # ------------------------------------------------------------------ derived
    @property
    def lane_duration_s(self) -> float:
        """Seconds the cart takes along the lane."""
        return self.size_x_m / self.cart_speed_mps

    @property
    def record_s(self) -> float:
        """Recording length: the lead, one pass of the lane, a little margin."""
        return self.lead_s + self.lane_duration_s

    @property
    def channel_y_m(self) -> list[float]:
        """Lane y of each GPR channel (0 .. size_y_m)."""
        n = int(round(self.size_y_m / self.channel_spacing_m)) + 1
        return [round(c * self.channel_spacing_m, 6) for c in range(n)]

    @property
    def gpr_config(self) -> dict:
        """The GPR unit's `configure` arguments (docs/protocol.md section 6)."""
        return {"n_samples": self.n_samples, "time_window_ns": self.n_samples * self.dt_s * 1e9, "trigger": "wheel",
                "trace_spacing_m": self.trace_spacing_m, "ticks_per_m": 1000.0, "stacks": 1}

    @property
    def mic_config(self) -> dict:
        return {"channels": self.n_mics, "fs_hz": self.fs_hz, "block_frames": self.block_frames,
                "sample_format": "int16"}

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "DemoScenario":
        values = dict(values)
        values["drones"] = tuple(DemoDrone(**{**d, "closest_m": tuple(d["closest_m"])}) for d in values["drones"])
        for key in ("mine_types", "clutter_types"):
            values[key] = tuple(values[key])
        return cls(**values)


def build_lane(scn: DemoScenario):
    """The demining lane (sensorkit.synth.demining.Lane) of the scenario."""
    from sensorkit.synth.demining import random_lane

    return random_lane(f"demo-{scn.name}", scn.soil, list(scn.mine_types), list(scn.clutter_types),
                       seed=scn.lane_seed, size_x_m=scn.size_x_m, size_y_m=scn.size_y_m)


class LaneTraceSource:
    """GprUnitSim trace source for a lane: the background (direct wave, surface, noise) on every trace, and each
    object only on the traces within REACH_M (plus its half size) of it, as sensorkit.synth.demining renders a
    lane (the rest of the scene is below 1e-3 of an object's apex there); much cheaper than the whole scene on
    every trace. Callable (xy_m (n, 2), n_samples, dt_s, stacks, seed) -> (n, n_samples)."""

    REACH_M = 0.5

    def __init__(self, lane):
        from sensorkit.synth import simulate_traces

        self._simulate = simulate_traces
        scene = lane.scene
        self.background = dataclasses.replace(scene, scatterers=[])
        quiet = dataclasses.replace(scene, noise_rms=0.0, clutter_rms=0.0, direct_wave=False,
                                    surface_reflection=False, layer_reflections=False)
        self.objects = []
        for row, obj in zip(lane.truth, lane.objects):
            parts = [s for s in scene.scatterers if s.name.split(":")[0] == row["id"]]
            reach = self.REACH_M + 0.5 * max(obj.size_m, obj.height_m)
            self.objects.append((obj.footprint(), reach, dataclasses.replace(quiet, scatterers=parts)))

    def __call__(self, xy_m, n_samples, dt_s, stacks, seed):
        from sensorkit.synth.demining import distance_to_segment

        xy = np.asarray(xy_m, dtype=np.float64)
        bg = self.background
        if stacks > 1 and bg.noise_rms > 0:
            bg = dataclasses.replace(bg, noise_rms=bg.noise_rms / math.sqrt(stacks))
        out = np.asarray(self._simulate(bg, xy, n_samples, dt_s, seed=seed), dtype=np.float64)
        for ((x0, y0), (x1, y1)), reach, scene in self.objects:
            near = distance_to_segment(xy[:, 0], xy[:, 1], (x0, y0), (x1, y1)) <= reach
            if near.any():
                out[near] += self._simulate(scene, xy[near], n_samples, dt_s, seed=0)
        return out


@dataclass
class DroneSceneFactory:
    """MicArraySim source factory: the scenario's drones over a quiet field (wind, self-noise, birds)."""

    drones: tuple = field(default_factory=tuple)

    def scene(self, mic_positions_m, fs_hz: float, seed: int):
        from sensorkit.synth.acoustic import SoundScene
        from sensorkit.synth.background_noise import Birds, SensorNoise, Wind
        from sensorkit.synth.drone_sound import Drone
        from sensorkit.synth.trajectory import Trajectory

        sources = [Drone(Trajectory.flyby(d.closest_m, d.speed_mps, heading_rad=d.heading_rad,
                                          time_at_closest_s=d.closest_s), rpm=d.rpm) for d in self.drones]
        return SoundScene(mic_positions_m, fs_hz, sources=sources, noise=[Wind(), SensorNoise(), Birds()],
                          seed=seed)

    def __call__(self, mic_positions_m, fs_hz, seed):
        return self.scene(mic_positions_m, fs_hz, seed)


def mine_truth_survey(lane, scn: DemoScenario) -> list[dict]:
    """The lane's truth rows in the recording's survey frame (x along the lane, y from the array centre), with
    lane = the GPR stream name's source so sensorkit.scoring.mines can group by survey."""
    centre = float(np.mean(scn.channel_y_m))
    rows = []
    for row in lane.truth:
        r = dict(row)
        r["y_m"] = round(float(row["y_m"]) - centre, 6)
        r["x_m"] = float(row["x_m"])
        rows.append(r)
    return rows


def drone_truth(scn: DemoScenario, mic_positions_m, scene_times_s) -> list[dict]:
    """Ground truth of each drone at scene times: azimuth/elevation (deg, array frame), range (m), f0 (Hz) and
    the scene's SNR estimate (dB)."""
    scene = DroneSceneFactory(scn.drones).scene(np.asarray(mic_positions_m, dtype=np.float64), scn.fs_hz,
                                                scn.sound_seed)
    out = []
    for k, truth in enumerate(scene.truth(np.asarray(scene_times_s, dtype=np.float64))):
        out.append({"drone": k + 1, "azimuth_deg": np.mod(np.degrees(truth.azimuth_rad), 360.0),
                    "elevation_deg": np.degrees(truth.elevation_rad), "range_m": truth.range_m,
                    "f0_hz": truth.f0_hz, "snr_db": truth.snr_db})
    return out
