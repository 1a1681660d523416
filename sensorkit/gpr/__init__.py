"""GPR processing above the kernels: typed configurations and entry points, arrays in and results out.

sensorkit.gpr.load        load_gpr(inputs, line_spacing_m=) -> list[GprLine] from recordings or raw files; load_image
sensorkit.gpr.preprocess  PreprocessConfig, preprocess_line / preprocess_cube (dewow, time zero, background,
                          band-pass, gain), pick_time_zero_ns
sensorkit.gpr.gridding    GprCube, grid_lines / grid_traces (lines or swaths -> regular (x, y, t) cube with a mask),
                          choose_cell_size_m, assign_line_offsets
sensorkit.gpr.velocity    VelocityEstimate, estimate_velocity_line / _cube (diffraction hyperbolae),
                          semblance_velocity (CMP/WARR gathers)
sensorkit.gpr.georef      survey_to_lat_lon: survey (x, y) -> WGS84 from the traces' GNSS positions
sensorkit.gpr.migration   migrate(data, dt_s=, x_m=, depth_m=, config=) -> MigratedImage, with the configs
                          KirchhoffConfig, StoltConfig, PhaseShiftConfig and default_depth_axis_m

The names below are importable from this package too (``from sensorkit.gpr import migrate``); they are loaded
on first use, so importing another module of the package does not load Numba and the kernels.
"""

from sensorkit._lazy import lazy_exports

_MODULES = {
    "sensorkit.gpr.migration": ("KirchhoffConfig", "MigratedImage", "PhaseShiftConfig", "StoltConfig",
                                "default_depth_axis_m", "migrate"),
    "sensorkit.gpr.gridding": ("GprCube", "assign_line_offsets", "choose_cell_size_m", "grid_lines", "grid_traces"),
    "sensorkit.gpr.velocity": ("VelocityEstimate", "dominant_frequency_hz", "estimate_velocity_cube",
                               "estimate_velocity_line", "semblance_velocity"),
    "sensorkit.gpr.preprocess": ("PreprocessConfig", "pick_time_zero_ns", "preprocess_cube", "preprocess_line"),
    "sensorkit.gpr.load": ("load_gpr", "load_image"),
}
_LAZY = {name: module for module, names in _MODULES.items() for name in names}

__getattr__, __all__ = lazy_exports(__name__, _LAZY)
