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

    The whole frame is rotated about k = u x t (t: the unit tangent of the step) by the step's angle, so
    tangent vectors are parallel-transported and their (e1, e2) coordinates stay valid: u -> u cos + t sin,
    t -> t cos - u sin, k unchanged. Returns a new re-orthonormalised frame (3, 3). Plain float arithmetic:
    the tracker calls this a few times per track and frame, where NumPy's per-call cost would dominate.
    """
    a0, a1 = float(step_rad[0]), float(step_rad[1])
    angle = math.hypot(a0, a1)
    if angle < 1e-15:
        return frame
    (ux, uy, uz), (e1x, e1y, e1z), (e2x, e2y, e2z) = frame.tolist()
    c0, c1 = a0 / angle, a1 / angle
    tx, ty, tz = c0 * e1x + c1 * e2x, c0 * e1y + c1 * e2y, c0 * e1z + c1 * e2z  # unit tangent of the motion
    kx, ky, kz = c0 * e2x - c1 * e1x, c0 * e2y - c1 * e1y, c0 * e2z - c1 * e1z  # u x t, which stays put
    c, s = math.cos(angle), math.sin(angle)
    ux, uy, uz, tx, ty, tz = (ux * c + tx * s, uy * c + ty * s, uz * c + tz * s,   # the moved u and t
                              tx * c - ux * s, ty * c - uy * s, tz * c - uz * s)
    n = math.sqrt(ux * ux + uy * uy + uz * uz)
    ux, uy, uz = ux / n, uy / n, uz / n
    e1x, e1y, e1z = c0 * tx - c1 * kx, c0 * ty - c1 * ky, c0 * tz - c1 * kz  # e1 = c0 t - c1 k, before and after
    d = e1x * ux + e1y * uy + e1z * uz
    e1x, e1y, e1z = e1x - d * ux, e1y - d * uy, e1z - d * uz
    n = math.sqrt(e1x * e1x + e1y * e1y + e1z * e1z)
    e1x, e1y, e1z = e1x / n, e1y / n, e1z / n
    return np.array([(ux, uy, uz), (e1x, e1y, e1z),
                     (uy * e1z - uz * e1y, uz * e1x - ux * e1z, ux * e1y - uy * e1x)])


def _cross(a, b) -> tuple[float, float, float]:
    """Cross product of two 3-vectors (np.cross is slow on single vectors)."""
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def log_map(frame: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """Tangent coordinates (n, 2), radians of arc, of unit vectors (n, 3) seen from the frame's direction.

    The length of each row is the great-circle angle to the direction; the antipode maps to (pi, 0).
    """
    cab = directions @ frame.T  # (n, 3): along u, e1, e2
    out = cab[:, 1:]
    s = np.hypot(out[:, 0], out[:, 1])
    along = s > 1e-15
    if along.all():
        out *= (np.arctan2(s, cab[:, 0]) / s)[:, None]
        return out
    with np.errstate(invalid="ignore", divide="ignore"):
        out *= np.where(along, np.arctan2(s, cab[:, 0]) / s, 1.0)[:, None]
    out[~along] = np.where(cab[~along, 0, None] < 0, [math.pi, 0.0], [0.0, 0.0])
    return out


def measurement_covariances(frame: np.ndarray, directions: np.ndarray, variances_rad2: np.ndarray) -> np.ndarray:
    """Covariances (n, 2, 2), in the frame's tangent coordinates, of direction measurements (n, 3) whose errors
    have the variances variances_rad2 (n, 2) (radians of arc squared) along the azimuth and along the elevation
    at the measured direction (the axes of ``initial_frame`` there), uncorrelated between the two. Equal
    variances give the isotropic v I exactly."""
    v = np.asarray(variances_rad2, dtype=np.float64)
    out = np.zeros((v.shape[0], 2, 2))
    out[:, 0, 0] = out[:, 1, 1] = v[:, 0]
    odd = v[:, 1] != v[:, 0]
    if odd.any():  # the azimuth and elevation axes, seen in the frame: R = v_a a a^T + v_e b b^T
        d = np.asarray(directions, dtype=np.float64)[odd]
        az = np.arctan2(d[:, 1], d[:, 0])
        east = np.stack([-np.sin(az), np.cos(az), np.zeros_like(az)], axis=1)
        up = np.cross(d, east)
        up /= np.linalg.norm(up, axis=1, keepdims=True)
        a = east @ frame[1:].T
        b = up @ frame[1:].T
        out[odd] = (v[odd, 0, None, None] * a[:, :, None] * a[:, None, :]
                    + v[odd, 1, None, None] * b[:, :, None] * b[:, None, :])
    return out


def angle_between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Great-circle angle in radians between unit vectors u and v, shapes (..., 3), accurate for small angles."""
    return np.arctan2(np.linalg.norm(np.cross(u, v), axis=-1), np.sum(u * v, axis=-1))
