"""parabola_offset: the vertex of a sampled parabola, 0 at the ends and for a trough or a flat run."""

import numpy as np
import pytest

from sensorkit.kernels.peak_interpolation import parabola_offset


@pytest.mark.parametrize("vertex", [-0.4, -0.1, 0.0, 0.3, 0.5])
def test_vertex_of_a_sampled_parabola(vertex):
    x = np.arange(-3.0, 4.0)
    values = 5.0 - 2.0 * (x - vertex) ** 2
    assert parabola_offset(values, 3) == pytest.approx(vertex, abs=1e-12)


def test_ends_troughs_and_flat_runs_give_zero():
    assert parabola_offset(np.array([3.0, 1.0, 0.0]), 0) == 0.0
    assert parabola_offset(np.array([0.0, 1.0, 3.0]), 2) == 0.0
    assert parabola_offset(np.array([1.0, 0.0, 2.0]), 1) == 0.0
    assert parabola_offset(np.array([1.0, 1.0, 1.0]), 1) == 0.0
    assert parabola_offset(np.array([0.0, 1.0, 1.0, 0.0]), 1) == pytest.approx(0.5)
