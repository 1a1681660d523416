"""GPR pre-processing before migration: one typed configuration and the chain of the existing kernels.

    config = PreprocessConfig(time_zero_ns=14.0)
    traces, dt_s = preprocess_line(line.traces, line.dt_s, config, centre_frequency_hz=400e6)

The chain, in order (each step calls sensorkit.kernels.gpr_filters; nothing is re-implemented here):
1. dewow             running-mean removal along time (DC offset and drift)
2. time zero         shift so that sample 0 is time zero, then drop the samples shifted in past the end:
                     n_samples shrinks by ceil(time zero / dt_s); time zero None picks the first break
3. background        the mean (or median) trace of the line, or of a moving window of traces, subtracted
4. band-pass         zero-phase Butterworth between two corners
5. gain              t-power (t / 1 ns)**p, SEC, AGC or none, with t from the new time zero

Traces are (n_traces, n_samples) for a line or (nx, ny, n_samples) for a cube; output float32.
Times at this interface are in nanoseconds and frequencies in MHz (the units of GPR users); the functions
convert once.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["PreprocessConfig", "pick_time_zero_ns", "preprocess_cube", "preprocess_line"]

_GAINS = ("none", "tpower", "sec", "agc")
_BACKGROUND = ("none", "mean", "median")


@dataclass(frozen=True)
class PreprocessConfig:
    """Parameters of the pre-processing chain (module docstring). The defaults suit a 100 MHz-1.6 GHz antenna.

    dewow_window_ns        dewow window (ns); None: two periods of the centre frequency (5 ns at 400 MHz),
                           or 5 ns when the centre frequency is unknown; 0 skips dewow
    time_zero_ns           time zero measured from sample 0 (ns); None: the median first break of the traces
                           (pick_time_zero_ns); 0 keeps the traces as they are
    first_break_threshold  threshold of the first-break pick, a fraction of each trace's maximum
    background             "mean", "median" or "none": trace subtracted from every trace of a line
    background_window_traces  None: over the whole line; else a moving window of that many traces
    bandpass_mhz           (low, high) corners in MHz; None: (0.25, 2.5) x the centre frequency when known,
                           else no band-pass; (0, 0) skips the band-pass
    bandpass_order         Butterworth order (zero-phase, so the response is squared)
    gain                   "tpower" ((t / 1 ns)**gain_power), "sec" (spreading and exponential), "agc", "none"
    gain_power             power of the t-power and SEC gains
    sec_exponent_per_ns    exponent of the SEC gain, per ns
    agc_window_ns          AGC window (ns)
    max_gain               clip of the t-power and SEC gain curves
    """

    dewow_window_ns: float | None = None
    time_zero_ns: float | None = None
    first_break_threshold: float = 0.2
    background: str = "mean"
    background_window_traces: int | None = None
    bandpass_mhz: tuple[float, float] | None = None
    bandpass_order: int = 4
    gain: str = "none"
    gain_power: float = 1.0
    sec_exponent_per_ns: float = 0.02
    agc_window_ns: float = 10.0
    max_gain: float = 1.0e4

    def to_json(self) -> dict:
        """The fields as a JSON-serialisable dict (tuples as lists)."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


def _check_config(config: PreprocessConfig) -> None:
    if not isinstance(config, PreprocessConfig):
        raise ValueError(f"config: expected a PreprocessConfig, found {type(config).__name__}")
    if config.background not in _BACKGROUND:
        raise ValueError(f"config.background: expected one of {_BACKGROUND}, found {config.background!r}")
    if config.gain not in _GAINS:
        raise ValueError(f"config.gain: expected one of {_GAINS}, found {config.gain!r}")
    if config.time_zero_ns is not None and not (math.isfinite(config.time_zero_ns) and config.time_zero_ns >= 0):
        raise ValueError(f"config.time_zero_ns: expected a time >= 0 ns or None (pick the first break), "
                         f"found {config.time_zero_ns!r}")
    if config.dewow_window_ns is not None and not (math.isfinite(config.dewow_window_ns)
                                                   and config.dewow_window_ns >= 0):
        raise ValueError(f"config.dewow_window_ns: expected a window >= 0 ns or None, "
                         f"found {config.dewow_window_ns!r}")
    if config.bandpass_mhz is not None and len(config.bandpass_mhz) != 2:
        raise ValueError(f"config.bandpass_mhz: expected (low, high) in MHz or None, found {config.bandpass_mhz!r}")


def _dewow_window_s(config: PreprocessConfig, centre_frequency_hz: float | None) -> float:
    if config.dewow_window_ns is not None:
        return config.dewow_window_ns * 1e-9
    if centre_frequency_hz is not None and math.isfinite(centre_frequency_hz) and centre_frequency_hz > 0:
        return 2.0 / centre_frequency_hz
    return 5e-9


def _bandpass_hz(config: PreprocessConfig, centre_frequency_hz: float | None, dt_s: float):
    """(low_hz, high_hz) or None; the high corner is dropped when at or above 0.9 x Nyquist."""
    if config.bandpass_mhz is None:
        if centre_frequency_hz is None or not math.isfinite(centre_frequency_hz) or centre_frequency_hz <= 0:
            return None
        low, high = 0.25 * centre_frequency_hz, 2.5 * centre_frequency_hz
    else:
        low, high = (float(v) * 1e6 for v in config.bandpass_mhz)
        if low == 0.0 and high == 0.0:
            return None
    nyquist = 0.5 / dt_s
    return (low if low > 0 else None), (high if high < 0.9 * nyquist else None)


def pick_time_zero_ns(traces, dt_s: float, *, threshold: float = 0.2, dewow_window_ns: float = 5.0) -> float:
    """Time zero (ns from sample 0): the median over traces of the first break (first crossing of threshold x
    the trace's maximum of |dewowed trace|; dewow_window_ns 0: no dewow). traces (..., n_samples).
    ValueError if every trace is zero."""
    from sensorkit.kernels.gpr_filters import dewow

    x = np.asarray(traces)
    if dewow_window_ns > 0:
        window = max(2, min(x.shape[-1], int(round(dewow_window_ns * 1e-9 / dt_s))))
        x = dewow(x, window_samples=window)
    return _median_first_break_ns(x, dt_s, threshold)


def _shift_to_time_zero(x: np.ndarray, dt_s: float, time_zero_ns: float) -> np.ndarray:
    from sensorkit.kernels.gpr_filters import align_time_zero

    s0 = time_zero_ns * 1e-9 / dt_s
    n = x.shape[-1]
    if s0 == 0.0:
        return x
    n_keep = n - int(math.ceil(s0 - 1e-9))
    if n_keep < 2:
        raise ValueError(f"time_zero_ns: expected a time zero inside the record (< {(n - 2) * dt_s * 1e9:.3f} ns "
                         f"for {n} samples of {dt_s * 1e9:.4f} ns), found {time_zero_ns!r}")
    shifted = align_time_zero(x, s0, target_sample=0.0, fractional=True)
    return np.ascontiguousarray(shifted[..., :n_keep])


def _chain(x: np.ndarray, dt_s: float, config: PreprocessConfig, centre_frequency_hz: float | None,
           trace_axis: int, time_zero_ns: float | None) -> tuple[np.ndarray, float]:
    from sensorkit.kernels import gpr_filters as k

    if x.shape[-1] < 2:
        raise ValueError(f"traces: expected at least 2 samples per trace, found shape {x.shape}")
    window_s = _dewow_window_s(config, centre_frequency_hz)
    if window_s > 0:
        window = max(2, min(x.shape[-1], int(round(window_s / dt_s))))
        x = k.dewow(x, window_samples=window)
    else:
        x = np.asarray(x, dtype=np.float32)
    if time_zero_ns is None:
        time_zero_ns = config.time_zero_ns
    if time_zero_ns is None:
        time_zero_ns = _median_first_break_ns(x, dt_s, config.first_break_threshold)
    x = _shift_to_time_zero(x, dt_s, float(time_zero_ns))
    if config.background != "none" and x.shape[trace_axis] >= 2:
        x = k.remove_background(x, statistic=config.background, window_traces=config.background_window_traces,
                                trace_axis=trace_axis)
    band = _bandpass_hz(config, centre_frequency_hz, dt_s)
    if band is not None and (band[0] is not None or band[1] is not None):
        x = k.bandpass(x, dt_s=dt_s, low_hz=band[0], high_hz=band[1], order=config.bandpass_order)
    if config.gain == "tpower":
        x = k.tpower_gain(x, dt_s=dt_s, power=config.gain_power, max_gain=config.max_gain)
    elif config.gain == "sec":
        x = k.sec_gain(x, dt_s=dt_s, exponent_per_s=config.sec_exponent_per_ns * 1e9, power=config.gain_power,
                       max_gain=config.max_gain)
    elif config.gain == "agc":
        x = k.agc_gain(x, window_s=config.agc_window_ns * 1e-9, dt_s=dt_s)
    return np.ascontiguousarray(x, dtype=np.float32), float(time_zero_ns)


def _median_first_break_ns(dewowed: np.ndarray, dt_s: float, threshold: float) -> float:
    from sensorkit.kernels.gpr_filters import first_break_picks

    picks = first_break_picks(dewowed, threshold=threshold)
    finite = picks[np.isfinite(picks)]
    if finite.size == 0:
        raise ValueError("traces: expected at least one non-zero trace to pick time zero from, found none; "
                         "give time_zero_ns")
    return float(np.median(finite)) * dt_s * 1e9


def preprocess_line(traces, dt_s: float, config: PreprocessConfig | None = None, *,
                    centre_frequency_hz: float | None = None) -> tuple[np.ndarray, float]:
    """Run the chain on a line (n_traces, n_samples); returns (float32 (n_traces, n_kept), time zero used in ns).

    n_kept = n_samples - ceil(time zero / dt_s): sample 0 of the output is time zero. Background removal
    combines the traces of the line.
    """
    config = PreprocessConfig() if config is None else config
    _check_config(config)
    x = np.asarray(traces)
    if x.ndim != 2:
        raise ValueError(f"traces: expected a line (n_traces, n_samples), found shape {x.shape}")
    return _chain(x, float(dt_s), config, centre_frequency_hz, trace_axis=0, time_zero_ns=None)


def preprocess_cube(data, dt_s: float, config: PreprocessConfig | None = None, *, mask=None,
                    centre_frequency_hz: float | None = None) -> tuple[np.ndarray, float]:
    """Run the chain on a cube (nx, ny, n_samples) of lines along x; returns (float32 (nx, ny, n_kept), time
    zero used in ns).

    Background removal combines the traces along x of each y. mask (nx, ny) bool, True where a cell holds a
    trace: cells outside it are set to zero after the chain (a gain or filter cannot make them non-zero, but
    background removal would).
    """
    config = PreprocessConfig() if config is None else config
    _check_config(config)
    x = np.asarray(data)
    if x.ndim != 3:
        raise ValueError(f"data: expected a cube (nx, ny, n_samples), found shape {x.shape}")
    out, t0 = _chain(x, float(dt_s), config, centre_frequency_hz, trace_axis=0, time_zero_ns=None)
    if mask is not None:
        m = np.asarray(mask, dtype=bool)
        if m.shape != x.shape[:2]:
            raise ValueError(f"mask: expected shape {x.shape[:2]} (nx, ny), found {m.shape}")
        out[~m] = 0.0
    return out, t0
