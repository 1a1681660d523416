"""Sub-grid placement of a sampled peak: the vertex of the parabola through the peak and its two neighbours.

    offset = parabola_offset(values, k)        # in grid steps, within [-0.5, 0.5]
    x_peak = grid[k] + offset * (grid[1] - grid[0])

Shared by the SRP refinement (sensorkit.kernels.srp_phat), the landmine object positions
(sensorkit.pipelines.landmine_features) and the velocity scan (sensorkit.gpr.velocity). Plain Python on a few
samples: no kernel to compile.
"""

import numpy as np

__all__ = ["parabola_offset"]


def parabola_offset(values: np.ndarray, k: int) -> float:
    """Offset (in grid steps, clipped to [-0.5, 0.5]) of the vertex of the parabola through values[k - 1],
    values[k], values[k + 1]; 0 at the ends of values and where the three are not concave (flat or a trough)."""
    if k <= 0 or k >= values.size - 1:
        return 0.0
    a, b, c = float(values[k - 1]), float(values[k]), float(values[k + 1])
    den = a - 2.0 * b + c
    return float(np.clip(0.5 * (a - c) / den, -0.5, 0.5)) if den < 0 else 0.0
