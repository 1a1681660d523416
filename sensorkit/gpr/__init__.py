"""GPR processing above the kernels: typed configurations and entry points, arrays in and results out.

sensorkit.gpr.migration   migrate(data, dt_s=, x_m=, depth_m=, config=) -> MigratedImage, with the configs
                          KirchhoffConfig, StoltConfig, PhaseShiftConfig and default_depth_axis_m

The names below are importable from this package too (``from sensorkit.gpr import migrate``); they are loaded
on first use, so importing another module of the package does not load Numba and the kernels.
"""

import importlib

_LAZY = {name: "sensorkit.gpr.migration" for name in (
    "KirchhoffConfig", "MigratedImage", "PhaseShiftConfig", "StoltConfig", "default_depth_axis_m", "migrate")}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sensorkit.gpr' has no attribute {name!r}")
