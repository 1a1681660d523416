"""Directions on the unit sphere for the tracker: unit vectors, local tangent frames, exp/log maps.

Array frame: x, y horizontal, z up; azimuth counter-clockwise from +x seen from above, elevation up from the
horizontal plane; radians. A *frame* is a (3, 3) array whose rows are the direction u and two unit tangent
vectors e1, e2 with e2 = u x e1; tangent-plane coordinates are taken along (e1, e2) in radians of arc. Nothing
here depends on the azimuth once a frame exists, so the zenith and the 0/2*pi wrap need no special case.
"""

import math

import numpy as np


def unit_vector(azimuth_rad: float, elevation_rad: float) -> np.ndarray:
    """Unit vector (3,) towards (azimuth, elevation)."""
    ce = math.cos(elevation_rad)
    return np.array([ce * math.cos(azimuth_rad), ce * math.sin(azimuth_rad), math.sin(elevation_rad)])


def unit_vectors(azimuth_rad, elevation_rad) -> np.ndarray:
    """Unit vectors (n, 3) towards equal-length 1-D arrays of azimuths and elevations."""
    az = np.asarray(azimuth_rad, dtype=np.float64).ravel()
    el = np.asarray(elevation_rad, dtype=np.float64).ravel()
    ce = np.cos(el)
    return np.stack([ce * np.cos(az), ce * np.sin(az), np.sin(el)], axis=1)


def azimuth_elevation(u: np.ndarray) -> tuple[float, float]:
    """(azimuth in [0, 2*pi), elevation in [-pi/2, pi/2]) of a unit vector (3,)."""
    az = math.atan2(u[1], u[0]) % (2.0 * math.pi)
    if az >= 2.0 * math.pi:  # -tiny % 2pi rounds to 2pi
        az = 0.0
    return az, math.atan2(u[2], math.hypot(u[0], u[1]))


def initial_frame(u: np.ndarray) -> np.ndarray:
    """Frame (3, 3) at u: e1 towards increasing azimuth, e2 = u x e1 (towards increasing elevation).

    At the zenith or nadir the azimuth atan2(0, 0) = 0 still gives a valid orthonormal frame.
    """
    az, _ = azimuth_elevation(u)
    e1 = np.array([-math.sin(az), math.cos(az), 0.0])
    e2 = np.array(_cross(u, e1))
    return np.array([u, e1, e2 / math.sqrt(e2 @ e2)])


def move_frame(frame: np.ndarray, step_rad: np.ndarray) -> np.ndarray:
    """Move a frame along the great circle given by tangent coordinates step_rad (2,) (exp map).

    The whole frame is rotated about u x step, so tangent vectors are parallel-transported and their
    (e1, e2) coordinates stay valid. Returns a new re-orthonormalised frame (3, 3).
    """
    angle = math.hypot(step_rad[0], step_rad[1])
    if angle < 1e-15:
        return frame
    u, e1, e2 = frame
    t = (step_rad[0] * e1 + step_rad[1] * e2) / angle          # unit tangent of the motion
    kx, ky, kz = _cross(u, t)                                   # rotation axis (unit)
    c, s = math.cos(angle), math.sin(angle)
    k = np.array([kx, ky, kz])
    # Rodrigues: R = c I + s [k]x + (1 - c) k k^T, applied to the three rows
    rot = (1.0 - c) * np.outer(k, k) + np.array([[c, -s * kz, s * ky], [s * kz, c, -s * kx], [-s * ky, s * kx, c]])
    rotated = frame @ rot.T
    u = rotated[0] / math.sqrt(rotated[0] @ rotated[0])
    e1 = rotated[1] - (rotated[1] @ u) * u
    e1 /= math.sqrt(e1 @ e1)
    return np.array([u, e1, _cross(u, e1)])


def _cross(a, b) -> tuple[float, float, float]:
    """Cross product of two 3-vectors (np.cross is slow on single vectors)."""
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def log_map(frame: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """Tangent coordinates (n, 2), radians of arc, of unit vectors (n, 3) seen from the frame's direction.

    The length of each row is the great-circle angle to the direction; the antipode maps to (pi, 0).
    """
    c = directions @ frame[0]
    a = directions @ frame[1]
    b = directions @ frame[2]
    s = np.hypot(a, b)
    angle = np.arctan2(s, c)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(s > 1e-15, angle / s, 1.0)
    out = np.stack([a * scale, b * scale], axis=1)
    out[s <= 1e-15] = np.where(c[s <= 1e-15, None] < 0, [math.pi, 0.0], [0.0, 0.0])
    return out


def angle_between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Great-circle angle in radians between unit vectors u and v, shapes (..., 3), accurate for small angles."""
    return np.arctan2(np.linalg.norm(np.cross(u, v), axis=-1), np.sum(u * v, axis=-1))
