"""Compile the pipelines' Numba kernels ahead, in a second process, while the demo records.

Numba compiles each kernel on its first use and keeps it in its on-disk cache (``cache=True``). On a fresh clone
that first use costs the landmine and drone pipelines about a minute and a half on the 2-core machine; the demo
starts this process at the beginning so the compilation overlaps the simulators' start and the live recording,
and the pipelines then load the kernels from the cache. The inputs are tiny synthetic ones that take the same
code paths and types as the demo's data: a GPR swath (int16, 11 channels) with one diffraction hyperbola, and
8-channel audio with a harmonic comb arriving as a plane wave.
"""

from __future__ import annotations

import multiprocessing
import time

import numpy as np

__all__ = ["WarmUpProcess", "warm_up"]


def _swath():
    """A small int16 swath (40 traces x 11 channels x 256 samples of 80 ps) with one buried point target."""
    from sensorkit.formats.base import DeviceInfo, GprLine
    from sensorkit.store.schema import TRACE_META_DTYPE, empty_records

    dt_s, n_samples, v_mps, fc_hz = 8.0e-11, 256, 1.1e8, 1.0e9
    x = np.arange(40) * 0.02
    ch_y = np.arange(11) * 0.05
    t = np.arange(n_samples) * dt_s

    def ricker(t0):
        a = (np.pi * fc_hz * (t - t0)) ** 2
        return (1.0 - 2.0 * a) * np.exp(-a)

    traces = np.zeros((x.size, ch_y.size, n_samples))
    rng = np.random.default_rng(0)
    for i, xi in enumerate(x):
        for c, yc in enumerate(ch_y):
            traces[i, c] = 4000.0 * ricker(1.5e-9) + 800.0 * ricker(1.5e-9 + 2.0 * np.sqrt(
                0.12 ** 2 + (xi - 0.4) ** 2 + (yc - 0.25) ** 2) / v_mps) + 20.0 * rng.standard_normal(n_samples)
    meta = empty_records(TRACE_META_DTYPE, x.size)
    meta["seq"] = np.arange(x.size)
    meta["x_m"] = x
    meta["y_m"] = 0.0
    return GprLine(name="warm-up", traces=np.round(traces).astype(np.int16), dt_s=dt_s, trace_meta=meta,
                   device=DeviceInfo("gpr"), centre_frequency_hz=fc_hz, antenna_offset_m=0.04,
                   attrs={"channel_y_m": ch_y.tolist()})


def warm_up(done=None) -> None:
    """Run both pipelines once on tiny synthetic inputs (compiles and caches their kernels). done: None or a
    dict {"mines": event, "drones": event} set as each pipeline is warm (or found missing)."""
    from sensorkit.formats.array_geometry import circular_array

    done = done or {}
    try:
        from sensorkit.pipelines.landmine import LandmineConfig, detect_mines

        detect_mines([_swath()], LandmineConfig(antenna_height_m=0.06))
    except ImportError:
        pass
    finally:
        if "mines" in done:
            done["mines"].set()
    try:
        from firmware_sims.mic_array import ToneSource
        from sensorkit.pipelines.drone import detect_drones

        positions = circular_array(8, 0.1)
        audio = ToneSource(positions, 16000.0, seed=0, fundamental_hz=190.0).render(0.0, 16000 * 3)
        detect_drones(np.round(audio * 32767 / 20.0 * 50).astype(np.int16), 16000.0, positions)
    except ImportError:
        pass
    finally:
        if "drones" in done:
            done["drones"].set()


def _main(done) -> None:
    try:
        warm_up(done)
    except Exception:  # noqa: BLE001 - only a head start; the demo compiles whatever this did not
        for event in done.values():
            event.set()


class WarmUpProcess:
    """warm_up() in a child process (spawn). wait(part, timeout_s) waits until "mines" or "drones" is warm;
    stop() ends the process if it still runs (the cache keeps what it wrote)."""

    def __init__(self):
        ctx = multiprocessing.get_context("spawn")
        self._done = {"mines": ctx.Event(), "drones": ctx.Event()}
        self._proc = ctx.Process(target=_main, args=(self._done,), name="sensorkit-demo-warm-up", daemon=True)

    def start(self) -> "WarmUpProcess":
        if self._proc.pid is None:
            self._proc.start()
        return self

    def wait(self, part: str, timeout_s: float) -> bool:
        """True when ``part`` is warm (False after timeout_s, when the process has died or was never started)."""
        if self._proc.pid is None:
            return False
        deadline = time.monotonic() + timeout_s
        while not self._done[part].wait(0.2):
            if not self._proc.is_alive() or time.monotonic() >= deadline:
                return self._done[part].is_set()
        return True

    def stop(self) -> None:
        if self._proc.pid is None:
            return
        if self._proc.is_alive():
            self._proc.terminate()
        self._proc.join(timeout=5.0)
