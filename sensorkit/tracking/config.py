"""The typed configuration of the direction tracker, with documented defaults (SI units, radians)."""

import dataclasses
import math
import numbers
from dataclasses import dataclass

MOTION_MODELS = ("ncv", "imm")


@dataclass(frozen=True)
class TrackerConfig:
    """Parameters of ``DirectionTracker``. Defaults suit DOA frames every ~0.1 s with 1-2 deg direction error.

    Direction model (in the local tangent plane of the direction on the unit sphere):
      measurement_std_rad: std per tangent axis of a direction measurement when a detection gives none (1.5 deg,
        a little above the ~1 deg of SRP-PHAT peaks: too small a value fragments tracks through too tight gates,
        too large a value only smooths more; with 2 deg true errors, Pd 0.8 and 1 deg assumed, 14 of 20
        simulated crossings broke).
      angular_accel_psd_rad2_s3: power spectral density of the white angular acceleration, per tangent axis;
        the angular rate wanders by sqrt(psd * t) rad/s over t seconds ((3 deg)^2 /s^3: ~3 deg/s per sqrt(s)).
      initial_rate_std_rad_s: std of the angular rate of a new track, whose rate starts at zero (10 deg/s).
      motion_model: "imm" (hover + nearly-constant-angular-velocity manoeuvre, IMM) or "ncv" (the NCV
        filter alone).
      hover_psd_rad2_s: "imm" only: the hovering direction random walk, rad^2/s ((0.3 deg)^2/s).
      mode_switch_rate_per_s: "imm" only: rate of switching between hover and manoeuvre (0.05 /s; faster
        switching let same-f0 crossings swap ids more often in simulation: 21 of 40 at 0.5 /s, 6 at 0.05 /s).
    Fundamental frequency feature (random walk, used in gating and assignment cost):
      use_f0: include f0 in the gate and the cost (detections without f0 are gated on direction only);
        f0 is estimated and reported either way.
      f0_std_hz: std of a measured f0 (3 Hz).
      f0_drift_psd_hz2_s: f0 random-walk variance growth, Hz^2 per second (100: ~10 Hz per sqrt(s); keeps a drone
        whose rotors speed up by 50 Hz/s, while drones 20 Hz apart still cross without swapping in simulation).
    Association:
      gate_probability: chi-square gate probability; the direction innovation (2 dof) and the f0 innovation
        (1 dof) are gated separately at this probability (0.999).
    Track management:
      confirm_m, confirm_n: a new track is confirmed when it has confirm_m hits among its first confirm_n frames
        (itself included), and dropped when it has not (3 of 5). The score of a track is its hit fraction
        over the last confirm_n frames.
      tentative_delete_after_s: a tentative track with no hit for longer than this is dropped (1 s).
      delete_after_s: a confirmed track coasts (keeps its id, predicts) through silences up to this long,
        then becomes lost (2 s).
    """

    measurement_std_rad: float = math.radians(1.5)
    angular_accel_psd_rad2_s3: float = math.radians(3.0) ** 2
    initial_rate_std_rad_s: float = math.radians(10.0)
    motion_model: str = "imm"
    hover_psd_rad2_s: float = math.radians(0.3) ** 2
    mode_switch_rate_per_s: float = 0.05
    use_f0: bool = True
    f0_std_hz: float = 3.0
    f0_drift_psd_hz2_s: float = 100.0
    gate_probability: float = 0.999
    confirm_m: int = 3
    confirm_n: int = 5
    tentative_delete_after_s: float = 1.0
    delete_after_s: float = 2.0

    def __post_init__(self):
        for name in ("measurement_std_rad", "angular_accel_psd_rad2_s3", "initial_rate_std_rad_s",
                     "hover_psd_rad2_s", "mode_switch_rate_per_s", "f0_std_hz", "f0_drift_psd_hz2_s",
                     "tentative_delete_after_s", "delete_after_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
                    or value <= 0:
                raise ValueError(f"TrackerConfig.{name}: expected a finite number > 0, found {value!r}")
        if self.motion_model not in MOTION_MODELS:
            raise ValueError(f"TrackerConfig.motion_model: expected one of {', '.join(map(repr, MOTION_MODELS))}, "
                             f"found {self.motion_model!r}")
        p = self.gate_probability
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 < p < 1.0:
            raise ValueError(f"TrackerConfig.gate_probability: expected a number in (0, 1), found {p!r}")
        if not isinstance(self.use_f0, bool):
            raise ValueError(f"TrackerConfig.use_f0: expected True or False, found {self.use_f0!r}")
        for name in ("confirm_m", "confirm_n"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"TrackerConfig.{name}: expected an integer >= 1, found {value!r}")
        if self.confirm_m > self.confirm_n:
            raise ValueError(f"TrackerConfig.confirm_m: expected at most confirm_n={self.confirm_n}, "
                             f"found {self.confirm_m}")

    def to_dict(self) -> dict:
        """The parameters as a plain dict (JSON-serialisable), to be written next to the tracks."""
        return dataclasses.asdict(self)
