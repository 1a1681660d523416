"""Frames on the unit sphere (sensorkit.tracking.sphere): the exp map (move_frame) against a rotation matrix."""

import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from sensorkit.tracking.sphere import initial_frame, log_map, move_frame


def _random_frames(n, seed):
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(n, 3))
    return [initial_frame(v / np.linalg.norm(v)) for v in u], rng


@pytest.mark.parametrize("scale_rad", [1e-7, 1e-3, 0.3, 2.5])
def test_move_frame_is_the_rotation_about_u_cross_step(scale_rad):
    """The whole frame turns by |step| about u x t (t the unit tangent of the step), as a rotation matrix from
    scipy does it, and stays orthonormal and right-handed."""
    frames, rng = _random_frames(300, seed=1)
    for frame in frames:
        step = rng.normal(size=2) * scale_rad
        angle = math.hypot(*step)
        t = (step[0] * frame[1] + step[1] * frame[2]) / angle
        expected = Rotation.from_rotvec(angle * np.cross(frame[0], t)).apply(frame)
        moved = move_frame(frame, step)
        np.testing.assert_allclose(moved, expected, atol=1e-13)
        np.testing.assert_allclose(moved @ moved.T, np.eye(3), atol=1e-14)
        assert np.linalg.det(moved) == pytest.approx(1.0, abs=1e-14)


def test_move_frame_is_undone_by_the_log_map_and_the_opposite_step():
    """log_map at the old frame of the new direction gives the step back (|step| < pi); moving back by the
    step as seen from the new frame (parallel transport keeps its coordinates) restores the frame."""
    frames, rng = _random_frames(200, seed=2)
    for frame in frames:
        step = rng.normal(size=2) * 0.7
        moved = move_frame(frame, step)
        np.testing.assert_allclose(log_map(frame, moved[:1])[0], step, atol=1e-12)
        np.testing.assert_allclose(move_frame(moved, -step), frame, atol=1e-12)


def test_move_frame_without_a_step_returns_the_frame():
    frame = initial_frame(np.array([0.0, 0.0, 1.0]))  # the zenith
    assert move_frame(frame, np.zeros(2)) is frame
