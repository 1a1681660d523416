"""Synthetic data from physics, shared by the firmware simulators, the benchmark datasets and the tests.

sensorkit.synth.gpr       GPR scenes (soil, layers, buried objects, antenna) and simulate_traces / _grid /
                          _line / _swath, with ground truth
sensorkit.synth.soil      the ground: velocity, low-loss attenuation, reflection and transmission coefficients
sensorkit.synth.wavelets  source wavelets (Ricker, Gaussian derivative, measured)

The GPR names below are importable from this package too (``from sensorkit.synth import GprScene``); they are
loaded on first use, so importing another module of the package does not load Numba and the GPR model.
"""

import importlib

_LAZY = {
    "Antenna": "sensorkit.synth.gpr", "GprScene": "sensorkit.synth.gpr", "Scatterer": "sensorkit.synth.gpr",
    "rough_height_profile": "sensorkit.synth.gpr", "simulate_grid": "sensorkit.synth.gpr",
    "simulate_line": "sensorkit.synth.gpr", "simulate_swath": "sensorkit.synth.gpr",
    "simulate_traces": "sensorkit.synth.gpr", "truth_table": "sensorkit.synth.gpr",
    "Layer": "sensorkit.synth.soil", "Soil": "sensorkit.synth.soil", "Wavelet": "sensorkit.synth.wavelets",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sensorkit.synth' has no attribute {name!r}")
