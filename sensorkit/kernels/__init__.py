"""Numba kernels: the hot loops of sensorkit. Pure functions, arrays in and arrays out, no I/O.

Import the module you need; this package imports nothing so that loading one kernel stays cheap.

    sensorkit.kernels.validate        argument checks shared by the kernels' wrappers (ValueError naming the value)

GPR pre-processing (time on the last axis, float32 in and out):
    sensorkit.kernels.gpr_filters     dewow, first_break_picks, align_time_zero, bandpass, envelope, and
                                      re-exported from gpr_background / gpr_gains: remove_background,
                                      tpower_gain, sec_gain, agc_gain
    sensorkit.kernels._reference_gpr  plain NumPy/SciPy references of the same, for tests and benchmarks
"""
