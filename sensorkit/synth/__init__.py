"""Synthetic data from physics, shared by the firmware simulators, the benchmark datasets and the tests.

sensorkit.synth.gpr       GPR scenes (soil, layers, buried objects, antenna) and simulate_traces / _grid /
                          _line / _swath, with ground truth
sensorkit.synth.soil      the ground: velocity, low-loss attenuation, reflection and transmission coefficients
sensorkit.synth.wavelets  source wavelets (Ricker, Gaussian derivative, measured)
sensorkit.synth.mines     demining objects (AP/AT mines, clutter) and soils, as GPR scatterers
sensorkit.synth.demining  demining lanes (objects, rough ground, antenna bounce) and the gpr-mines dataset generator
sensorkit.synth.acoustic  SoundScene: the sound field of drones, interferers and background at a microphone array
                          (sources: drone_sound, interferers, sound_sources; paths: trajectory, propagation,
                          air_absorption (ISO 9613-1); noise: background_noise, random_processes)

The names below are importable from this package too (``from sensorkit.synth import GprScene``); they are
loaded on first use, so importing another module of the package does not load Numba and the models.
"""

from sensorkit._lazy import lazy_exports

_LAZY = {
    "Antenna": "sensorkit.synth.gpr", "GprScene": "sensorkit.synth.gpr", "Scatterer": "sensorkit.synth.gpr",
    "rough_height_profile": "sensorkit.synth.gpr", "simulate_grid": "sensorkit.synth.gpr",
    "simulate_line": "sensorkit.synth.gpr", "simulate_swath": "sensorkit.synth.gpr",
    "simulate_traces": "sensorkit.synth.gpr", "truth_table": "sensorkit.synth.gpr",
    "Layer": "sensorkit.synth.soil", "Soil": "sensorkit.synth.soil", "Wavelet": "sensorkit.synth.wavelets",
    "SoundScene": "sensorkit.synth.acoustic", "SourceTruth": "sensorkit.synth.acoustic",
    "Drone": "sensorkit.synth.drone_sound", "Trajectory": "sensorkit.synth.trajectory",
    "PointSource": "sensorkit.synth.sound_sources", "BroadbandSpectrum": "sensorkit.synth.sound_sources",
    "HarmonicComb": "sensorkit.synth.sound_sources", "Interferer": "sensorkit.synth.interferers",
    "Wind": "sensorkit.synth.background_noise", "SensorNoise": "sensorkit.synth.background_noise",
    "Birds": "sensorkit.synth.background_noise", "Traffic": "sensorkit.synth.background_noise",
    "air_absorption_db_per_m": "sensorkit.synth.air_absorption",
    "speed_of_sound_mps": "sensorkit.synth.air_absorption",
}

__getattr__, __all__ = lazy_exports(__name__, _LAZY)
