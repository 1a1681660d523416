"""Multi-target tracking of drone directions (azimuth, elevation) with the rotor fundamental f0 as a feature.

Use: ``DirectionTracker(TrackerConfig()).step(time_s, detections)`` per DOA frame, or
``track_detections(detections, config, frame_times_s)`` for a whole recording; export with
``tracks_to_rows`` / ``tracks_to_json`` (degrees at the interface).

Why not a library (checked with ``pip download``, 2026-11). Stone Soup 1.9.1 is well kept, but it would bring
plotly, pymap3d, rtree, utm, ruamel.yaml and ordered-set into the core dependencies (1.9 MB, 243 files, for a
few hundred lines of use), and its bearing/elevation measurement models observe a Cartesian position: with a
single passive array the range is unobservable, so the state we need lives on the sphere of directions and we
would have to build that model inside it anyway. filterpy 2.0.0 is light (numpy, scipy, matplotlib, all already
here) but was dormant from 1.4.5 (2018) to 2.0.0 (October 2026; its metadata still lists Python 2.7-3.6) and
offers only the textbook linear KF/IMM algebra on a
Euclidean state (some 30 lines here); the parts that matter (tangent-plane state on the sphere, gating,
assignment, M-of-N, coasting) would be ours anyway. So the tracker is small and explicit, on NumPy and SciPy
(``scipy.optimize.linear_sum_assignment`` for global nearest neighbour).

Model: each track is a Kalman filter in the local tangent plane of its direction (unit vector), with the
frame parallel-transported along great circles; measurements enter through the log map, so 359 deg and 1 deg
are 2 deg apart and a target at or through the zenith needs no special case. By default an IMM of hover
(constant direction) and manoeuvre (nearly constant angular velocity, NCV) (``imm_filter``); the NCV filter
alone with ``motion_model="ncv"`` (``direction_filter``). f0 is a slowly drifting random walk used in the gate
and the assignment cost, so crossing drones with different f0 keep their ids.
"""

from .config import TrackerConfig
from .export import ROW_FIELDS, track_to_dict, tracks_to_json, tracks_to_rows
from .tracker import CONFIRMED, LOST, TENTATIVE, Detection, DirectionTracker, Track, track_detections

__all__ = ["TrackerConfig", "Detection", "DirectionTracker", "Track", "track_detections", "tracks_to_rows",
           "tracks_to_json", "track_to_dict", "ROW_FIELDS", "TENTATIVE", "CONFIRMED", "LOST"]
