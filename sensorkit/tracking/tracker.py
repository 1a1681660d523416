"""Multi-target tracker of drone directions: GNN assignment with chi-square gates, M-of-N confirmation, coasting.

Each frame (a time and the detections of that frame) runs:
  1. tracks whose last hit is older than their coast limit end: confirmed -> "lost" (kept, with their id),
     tentative -> dropped;
  2. every track is predicted to the frame time (``ImmDirectionFilter`` or ``DirectionFilter``); a detection
     is in a track's gate when its direction innovation passes chi2(2) and, with f0 on both sides, its f0
     innovation passes chi2(1);
  3. confirmed tracks are assigned first, then tentative tracks to what is left, each stage a global nearest
     neighbour (scipy.optimize.linear_sum_assignment) on cost = d2_direction + d2_f0, with one dummy
     "no detection" column per track costing the sum of the two gate thresholds;
  4. each left-over detection outside every track's gate (and outside the direction gate of every confirmed
     track) starts a tentative track; inside, it is taken as a duplicate of that track and dropped. A tentative
     track inside the direction gate of a confirmed track is dropped as a twin (f0 octave errors, split peaks);
  5. M-of-N: a tentative track with confirm_m hits among its first confirm_n frames is confirmed, otherwise
     dropped once confirm_n frames have passed.
Frames without detections count as misses, so pass every frame of the detector, even empty ones.
"""

import math
import numbers
from collections import deque
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np
from scipy.optimize import linear_sum_assignment

from .config import TrackerConfig
from .direction_filter import DirectionFilter
from .imm_filter import ImmDirectionFilter
from .sphere import unit_vectors

FRAME_TIME_TOLERANCE_S = 1e-6
"""A detection belongs to the frame whose time is within this of its own time_s."""

TENTATIVE = "tentative"
CONFIRMED = "confirmed"
LOST = "lost"


def _real(name: str, value) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"Detection.{name}: expected a real number, found {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"Detection.{name}: expected a finite number, found {v!r}")
    return v


@dataclass(frozen=True)
class Detection:
    """One direction detection of a frame: time_s, azimuth_rad (any finite value, wrapped), elevation_rad in
    [-pi/2, pi/2], f0_hz (> 0, or None when unknown), snr_db, and optionally std_rad, the std of the direction
    along each tangent axis (radians of arc; None: TrackerConfig.measurement_std_rad), and elevation_std_rad,
    its std along the elevation alone when that differs (std_rad is then the std along the azimuth; None: the
    same as along the azimuth). A horizontal planar array's elevations can be far worse than its azimuths."""

    time_s: float
    azimuth_rad: float
    elevation_rad: float
    f0_hz: float | None
    snr_db: float
    std_rad: float | None = None
    elevation_std_rad: float | None = None

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "time_s", _real("time_s", self.time_s))
        set_(self, "azimuth_rad", _real("azimuth_rad", self.azimuth_rad))
        el = _real("elevation_rad", self.elevation_rad)
        if abs(el) > math.pi / 2 + 1e-12:
            raise ValueError(f"Detection.elevation_rad: expected a number in [-pi/2, pi/2], found {el!r} "
                             f"({math.degrees(el):.3f} deg; angles are in radians)")
        set_(self, "elevation_rad", el)
        if self.f0_hz is not None:
            f0 = _real("f0_hz", self.f0_hz)
            if f0 <= 0:
                raise ValueError(f"Detection.f0_hz: expected a number > 0 or None, found {f0!r}")
            set_(self, "f0_hz", f0)
        set_(self, "snr_db", _real("snr_db", self.snr_db))
        for name in ("std_rad", "elevation_std_rad"):
            if getattr(self, name) is not None:
                std = _real(name, getattr(self, name))
                if std <= 0:
                    raise ValueError(f"Detection.{name}: expected a number > 0 or None, found {std!r}")
                set_(self, name, std)


def _variances(det: Detection, default_std_rad: float) -> tuple[float, float]:
    """(variance along the azimuth, along the elevation) of a detection's direction, rad^2."""
    std = det.std_rad if det.std_rad is not None else default_std_rad
    std_el = det.elevation_std_rad if det.elevation_std_rad is not None else std
    return std * std, std_el * std_el


@dataclass(eq=False)
class Track:
    """A direction track. track_id: int, unique per tracker, kept through crossings and coasting;
    state: "tentative", "confirmed" or "lost". The history holds one entry per update (hit): the filtered
    time_s, azimuth_rad in [0, 2*pi), elevation_rad, f0_hz (NaN while unknown), the detection's snr_db, and
    the score (hit fraction over the last confirm_n frames)."""

    track_id: int
    state: str
    time_s: list = field(default_factory=list)
    azimuth_rad: list = field(default_factory=list)
    elevation_rad: list = field(default_factory=list)
    f0_hz: list = field(default_factory=list)
    snr_db: list = field(default_factory=list)
    score: list = field(default_factory=list)

    @property
    def start_time_s(self) -> float:
        """Time of the first update."""
        return self.time_s[0]

    @property
    def end_time_s(self) -> float:
        """Time of the last update."""
        return self.time_s[-1]

    @property
    def n_updates(self) -> int:
        return len(self.time_s)

    def __repr__(self) -> str:
        span = f", {self.start_time_s:g}-{self.end_time_s:g} s" if self.time_s else ""
        return f"Track(track_id={self.track_id}, state={self.state!r}, {self.n_updates} updates{span})"


class _ActiveTrack:
    """A track with its filter and bookkeeping while the tracker still updates it."""

    __slots__ = ("track", "filter", "hits", "n_frames", "last_hit_time_s")

    def __init__(self, track: Track, flt: DirectionFilter, n: int, time_s: float):
        self.track = track
        self.filter = flt
        self.hits = deque([1], maxlen=n)
        self.n_frames = 1
        self.last_hit_time_s = time_s


class DirectionTracker:
    """Multi-target tracker of directions (and f0) fed frame by frame with ``step``."""

    def __init__(self, config: TrackerConfig | None = None):
        if config is None:
            config = TrackerConfig()
        if not isinstance(config, TrackerConfig):
            raise ValueError(f"config: expected a TrackerConfig, found {type(config).__name__}")
        self.config = config
        p = config.gate_probability
        self._gate_dir = -2.0 * math.log1p(-p)                                   # chi2 quantile, 2 dof
        self._gate_f0 = NormalDist().inv_cdf(0.5 + 0.5 * p) ** 2 if config.use_f0 else math.inf  # 1 dof
        self._active: list[_ActiveTrack] = []
        self._ended: list[Track] = []
        self._next_id = 1
        self._time_s: float | None = None
        self.n_dropped_tentative = 0
        """Number of tentative tracks dropped without confirmation so far."""

    # ------------------------------------------------------------------ public
    def step(self, time_s: float, detections) -> list[Track]:
        """Process one frame: time_s (s, strictly increasing), detections (iterable of ``Detection`` or of
        dicts with its fields, each with time_s equal to the frame time). Returns the active tracks."""
        time_s = self._check_time(time_s)
        dets = self._check_detections(time_s, detections)
        cfg = self.config
        self._end_stale_tracks(time_s)

        hit_by: dict[int, int] = {}                      # index in self._active -> detection index
        if dets:
            directions = unit_vectors([d.azimuth_rad for d in dets], [d.elevation_rad for d in dets])
            var = np.array([_variances(d, cfg.measurement_std_rad) for d in dets])
            f0 = np.array([d.f0_hz if d.f0_hz is not None else np.nan for d in dets])
            for a in self._active:
                a.filter.predict(time_s)
            self._drop_tentatives_inside_confirmed_gates()
            innovations, covariances, cost, in_direction_gate = self._gated_costs(directions, var, f0)
            free = np.ones(len(dets), dtype=bool)
            for wanted in (CONFIRMED, TENTATIVE):
                rows = [i for i, a in enumerate(self._active) if a.track.state == wanted]
                for i, j in self._assign(cost, rows, free):
                    hit_by[i] = j
                    free[j] = False
            # a left-over detection in the gate of a track is a duplicate of it, not a new drone: for confirmed
            # tracks the direction gate alone decides (an f0 octave error must not start a twin track)
            confirmed = np.array([a.track.state == CONFIRMED for a in self._active], dtype=bool)
            duplicate = np.isfinite(cost).any(axis=0) | in_direction_gate[confirmed].any(axis=0)
            for i, j in hit_by.items():
                a, d = self._active[i], dets[j]
                a.filter.update(innovations[i][j], covariances[i][j], d.f0_hz)

        survivors = []
        for i, a in enumerate(self._active):
            hit = i in hit_by
            a.hits.append(1 if hit else 0)
            a.n_frames += 1
            if hit:
                a.last_hit_time_s = time_s
            if a.track.state == TENTATIVE:
                if sum(a.hits) >= cfg.confirm_m and a.n_frames <= cfg.confirm_n:
                    a.track.state = CONFIRMED
                elif a.n_frames >= cfg.confirm_n:
                    self.n_dropped_tentative += 1
                    continue
            if hit:
                self._record(a, dets[hit_by[i]])
            survivors.append(a)
        self._active = survivors

        if dets:
            for j in np.flatnonzero(free & ~duplicate):
                self._start_track(time_s, dets[j], directions[j], var[j])
        self._time_s = time_s
        return [a.track for a in self._active]

    def tracks(self, include_tentative: bool = False) -> list[Track]:
        """All tracks that ended (lost) or are active, by id; tentative ones only when asked."""
        out = self._ended + [a.track for a in self._active
                             if include_tentative or a.track.state != TENTATIVE]
        return sorted(out, key=lambda t: t.track_id)

    def filter_of(self, track_id: int):
        """The filter (``ImmDirectionFilter`` or ``DirectionFilter``) of an active track, for inspection."""
        for a in self._active:
            if a.track.track_id == track_id:
                return a.filter
        raise ValueError(f"track_id: expected the id of an active track, found {track_id!r}")

    @property
    def active_tracks(self) -> list[Track]:
        """Tracks currently updated (tentative and confirmed)."""
        return [a.track for a in self._active]

    # ----------------------------------------------------------------- helpers
    def _check_time(self, time_s) -> float:
        if isinstance(time_s, (bool, np.bool_)) or not isinstance(time_s, numbers.Real) \
                or not math.isfinite(time_s):
            raise ValueError(f"time_s: expected a finite frame time in seconds, found {time_s!r}")
        time_s = float(time_s)
        if self._time_s is not None and time_s <= self._time_s:
            raise ValueError(f"time_s: expected frame times strictly increasing, found {time_s!r} after "
                             f"{self._time_s!r}")
        return time_s

    @staticmethod
    def _check_detections(time_s: float, detections) -> list[Detection]:
        if detections is None or isinstance(detections, (str, bytes, Detection, dict)):
            raise ValueError(f"detections: expected a list of Detection, found {type(detections).__name__}")
        out = []
        for k, d in enumerate(detections):
            if isinstance(d, dict):
                try:
                    d = Detection(**d)
                except TypeError as exc:
                    raise ValueError(f"detections[{k}]: expected the fields time_s, azimuth_rad, elevation_rad, "
                                     f"f0_hz, snr_db[, std_rad, elevation_std_rad], {exc}") from None
            elif not isinstance(d, Detection):
                raise ValueError(f"detections[{k}]: expected a Detection or a dict, found {type(d).__name__}")
            if abs(d.time_s - time_s) > FRAME_TIME_TOLERANCE_S:
                raise ValueError(f"detections[{k}].time_s: expected the frame time {time_s!r}, found {d.time_s!r}")
            out.append(d)
        return out

    def _end_stale_tracks(self, time_s: float) -> None:
        cfg = self.config
        keep = []
        for a in self._active:
            silent_s = time_s - a.last_hit_time_s
            if a.track.state == CONFIRMED and silent_s > cfg.delete_after_s:
                a.track.state = LOST
                self._ended.append(a.track)
            elif a.track.state == TENTATIVE and silent_s > cfg.tentative_delete_after_s:
                self.n_dropped_tentative += 1
            else:
                keep.append(a)
        self._active = keep

    def _drop_tentatives_inside_confirmed_gates(self) -> None:
        """A tentative track whose direction lies in the direction gate of a confirmed track is a twin of it
        (say from f0 octave errors) and is dropped; confirmed tracks are never merged (crossing drones)."""
        confirmed = [a for a in self._active if a.track.state == CONFIRMED]
        tentative = [a for a in self._active if a.track.state == TENTATIVE]
        if not confirmed or not tentative:
            return
        directions = np.array([a.filter.direction for a in tentative])
        var = np.full((len(tentative), 2), self.config.measurement_std_rad ** 2)
        twin = np.zeros(len(tentative), dtype=bool)
        for c in confirmed:
            twin |= c.filter.direction_distances(directions, var)[1] <= self._gate_dir
        if twin.any():
            self.n_dropped_tentative += int(twin.sum())
            drop = {id(a) for a, t in zip(tentative, twin) if t}
            self._active = [a for a in self._active if id(a) not in drop]

    def _gated_costs(self, directions, var, f0):
        """Innovations and measurement covariances per track, the cost matrix (n_tracks, n_dets) (inf outside
        the gates) and the direction gate alone (n_tracks, n_dets) bool. var (n_dets, 2): the detections'
        variances along the azimuth and the elevation."""
        n_t, n_d = len(self._active), len(directions)
        cost = np.full((n_t, n_d), np.inf)
        in_direction_gate = np.zeros((n_t, n_d), dtype=bool)
        innovations, covariances = [], []
        for i, a in enumerate(self._active):
            y, d2, R = a.filter.direction_distances(directions, var)
            total = d2.copy()
            ok = d2 <= self._gate_dir
            in_direction_gate[i] = ok
            if self.config.use_f0:
                d2f = a.filter.f0.distances(f0)
                ok &= d2f <= self._gate_f0
                total += d2f
            cost[i, ok] = total[ok]
            innovations.append(y)
            covariances.append(R)
        return innovations, covariances, cost, in_direction_gate

    def _assign(self, cost, rows, free):
        """GNN on cost[rows][:, free] with a dummy miss column per row; yields (row, detection) pairs."""
        cols = np.flatnonzero(free)
        if not rows or not len(cols):
            return []
        sub = cost[np.ix_(rows, cols)]
        if len(rows) == 1:  # one track: its cheapest detection in its gates (a gated cost is below the miss cost)
            j = int(np.argmin(sub[0]))
            return [(rows[0], int(cols[j]))] if np.isfinite(sub[0, j]) else []
        miss = self._gate_dir + (self._gate_f0 if self.config.use_f0 else 0.0)
        dummy = np.full((len(rows), len(rows)), np.inf)
        np.fill_diagonal(dummy, miss)
        r, c = linear_sum_assignment(np.hstack([sub, dummy]))
        return [(rows[ri], int(cols[ci])) for ri, ci in zip(r, c) if ci < len(cols) and np.isfinite(sub[ri, ci])]

    def _start_track(self, time_s, det: Detection, direction, var) -> None:
        cfg = self.config
        filter_class = ImmDirectionFilter if cfg.motion_model == "imm" else DirectionFilter
        flt = filter_class(time_s, direction, var, det.f0_hz, cfg)
        state = CONFIRMED if cfg.confirm_m <= 1 else TENTATIVE
        a = _ActiveTrack(Track(self._next_id, state), flt, cfg.confirm_n, time_s)
        self._next_id += 1
        self._record(a, det)
        self._active.append(a)

    def _record(self, a: _ActiveTrack, det: Detection) -> None:
        t = a.track
        az, el = a.filter.azimuth_elevation()
        t.time_s.append(a.filter.time_s)
        t.azimuth_rad.append(az)
        t.elevation_rad.append(el)
        t.f0_hz.append(a.filter.f0.f0_hz if a.filter.f0.f0_hz is not None else math.nan)
        t.snr_db.append(det.snr_db)
        t.score.append(sum(a.hits) / self.config.confirm_n)


def track_detections(detections, config: TrackerConfig | None = None, frame_times_s=None) -> list[Track]:
    """Run a tracker over detections (iterable of ``Detection``) grouped into frames by their time_s.

    frame_times_s: all frame times of the detector (1-D, s, strictly increasing), so that frames without
    detections count as misses; every detection time must match one within FRAME_TIME_TOLERANCE_S.
    None: the distinct detection times (times closer than the tolerance are one frame).
    Returns ``DirectionTracker.tracks()`` at the end (confirmed and lost tracks, by id).
    """
    dets = list(detections)
    for k, d in enumerate(dets):
        if not isinstance(d, Detection):
            raise ValueError(f"detections[{k}]: expected a Detection, found {type(d).__name__}")
    det_times = np.array([d.time_s for d in dets], dtype=np.float64)
    if frame_times_s is None:
        unique = np.unique(det_times)
        keep = np.ones(len(unique), dtype=bool)
        keep[1:] = np.diff(unique) > FRAME_TIME_TOLERANCE_S
        times = unique[keep]
    else:
        try:
            times = np.asarray(frame_times_s, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"frame_times_s: expected a 1-D array of times in seconds, {exc}") from None
        if times.ndim != 1 or not np.all(np.isfinite(times)) or np.any(np.diff(times) <= 0):
            raise ValueError(f"frame_times_s: expected a 1-D array of finite, strictly increasing times in "
                             f"seconds, found shape {times.shape}")
    # frame of each detection: the nearest frame time at or before it, or just after it within the tolerance
    frame_of = np.clip(np.searchsorted(times, det_times + FRAME_TIME_TOLERANCE_S, side="right") - 1, 0, None)
    if len(dets) and (len(times) == 0 or np.any(np.abs(times[frame_of] - det_times) > FRAME_TIME_TOLERANCE_S)):
        bad = int(np.argmax(np.abs(times[frame_of] - det_times) > FRAME_TIME_TOLERANCE_S)) if len(times) else 0
        raise ValueError(f"detections[{bad}].time_s: expected one of frame_times_s (within "
                         f"{FRAME_TIME_TOLERANCE_S} s), found {dets[bad].time_s!r}")
    by_frame: dict[int, list[Detection]] = {}
    for k, d in zip(frame_of.tolist(), dets):
        by_frame.setdefault(k, []).append(d)
    tracker = DirectionTracker(config)
    for k, t in enumerate(times.tolist()):
        tracker.step(t, by_frame.get(k, ()))
    return tracker.tracks()
