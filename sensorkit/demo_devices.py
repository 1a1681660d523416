"""The demo's three simulated devices, each on its own pseudo-terminal, served by a child process.

The simulators run in their own process (firmware_sims: GPR unit on a cart, microphone array, GNSS receiver on
the same cart), so their forward models and the recorder in the demo's process do not share one interpreter
lock. The child builds the scenario from its dict, compiles the GPR forward model, waits for ``go`` (the UTC
at which the cart leaves the lane's origin), starts the devices and answers with their port paths and the
microphone array's clock (for the drones' ground truth); ``stop`` powers them off and returns each
simulator's fate counts (frames sent, corrupted, dropped, lost while disconnected).

    with SimulatorProcess(scenario, log_dir) as sims:
        ports = sims.go(t0_utc_ns)      # {"gpr": path, "acoustic": path, "gnss": path, ...}
        ...record...
        fates = sims.stop()
"""

from __future__ import annotations

import multiprocessing
import time
import traceback
from pathlib import Path

__all__ = ["SimulatorProcess"]


def _child(scenario: dict, log_dir: str, conn) -> None:
    """The child process: build, warm up, wait for go, serve, stop on request."""
    sims = []
    try:
        import numpy as np

        from firmware_sims import CartTrack, FaultConfig, GnssReceiverSim, GprUnitSim, MicArraySim
        from sensorkit.demo_scenario import DemoScenario, DroneSceneFactory, LaneTraceSource, build_lane
        from sensorkit.formats.array_geometry import circular_array

        scn = DemoScenario.from_dict(scenario)
        lane = build_lane(scn)
        source = LaneTraceSource(lane)
        # Numba compiles the forward models on first use (or loads them from its cache): now, not while recording
        source(np.array([[obj.x_m, obj.y_m] for obj in lane.objects] or [[0.0, 0.0]]), 64, scn.dt_s, 1, 0)
        DroneSceneFactory(scn.drones).scene(circular_array(scn.n_mics, scn.array_radius_m), scn.fs_hz,
                                            scn.sound_seed).render(0.0, scn.block_frames)
        conn.send(("ready", None))
        message, t0_utc_ns = conn.recv()
        if message != "go":
            return
        logs = Path(log_dir)
        track = CartTrack(origin_lat=scn.origin_lat, origin_lon=scn.origin_lon, heading_deg=scn.heading_deg,
                          speed_mps=scn.cart_speed_mps, length_m=scn.size_x_m, t0_utc_ns=int(t0_utc_ns))
        tag = f"{scn.name}-{time.time_ns()}"
        gpr = GprUnitSim(scene=lane.scene, trace_source=source, track=track, channel_y_m=scn.channel_y_m,
                         warm_up=False, link_path=f"/tmp/sensorkit-demo-gpr-{tag}", log_path=logs / "gpr.log",
                         faults=FaultConfig(corrupt_rate=scn.corrupt_rate, drop_rate=scn.drop_rate, seed=1),
                         seed=scn.lane_seed, serial="DEMO-GPR")
        mic = MicArraySim(mic_positions_m=circular_array(scn.n_mics, scn.array_radius_m),
                          source_factory=DroneSceneFactory(scn.drones), default_fs_hz=scn.fs_hz,
                          link_path=f"/tmp/sensorkit-demo-mic-{tag}", log_path=logs / "mic.log",
                          faults=FaultConfig(corrupt_rate=scn.corrupt_rate, drop_rate=scn.drop_rate,
                                             disconnect_every_s=scn.mic_disconnect_after_s,
                                             down_s=scn.down_time_s, seed=2),
                          seed=scn.sound_seed, serial="DEMO-MIC")
        gnss = GnssReceiverSim(track=track, rate_hz=5.0, link_path=f"/tmp/sensorkit-demo-gnss-{tag}",
                               log_path=logs / "gnss.log",
                               faults=FaultConfig(corrupt_rate=scn.gnss_corrupt_rate, seed=3))
        for sim in (gpr, mic, gnss):
            sim.start()
            sims.append(sim)
        conn.send(("ports", {"gpr": gpr.port_url, "acoustic": mic.port_url, "gnss": gnss.port_url,
                             "mic_utc0_ns": int(mic.clock.utc_ns(0)), "mic_boot_true_ns": int(mic.clock.boot_true_ns),
                             "mic_clock_offset_ns": int(mic.clock.offset_ns)}))
        conn.recv()  # stop
        for sim in sims:
            sim.stop()
        conn.send(("stopped", {name: _fates(logs / f"{name}.log") for name in ("gpr", "mic", "gnss")}))
    except BaseException as error:  # noqa: BLE001 - reported to the parent, which raises it
        for sim in sims:
            try:
                sim.stop()
            except Exception:  # noqa: BLE001
                pass
        try:
            conn.send(("error", f"{type(error).__name__}: {error}\n{traceback.format_exc()}"))
        except (OSError, EOFError):
            pass


def _fates(log_path: Path) -> dict:
    """Counts of the data frames' fates in a simulator log (sent, corrupted, dropped, lost_disconnected, ...),
    and the number of disconnects."""
    from firmware_sims import read_log

    counts: dict = {}
    disconnects = 0
    if not log_path.is_file():
        return counts
    for record in read_log(log_path):
        kind = record.get("kind")
        if kind == "frame":
            if record.get("stream", 0) == 0 and record.get("type") not in ("GGA", "RMC", "VTG"):
                continue  # control frames
            fate = record.get("fate", "?")
            counts[fate] = counts.get(fate, 0) + 1
            if record.get("after_corrupted_delimiter"):
                counts["after_corrupted_delimiter"] = counts.get("after_corrupted_delimiter", 0) + 1
        elif kind == "disconnect":
            disconnects += 1
    counts["disconnects"] = disconnects
    return counts


class SimulatorProcess:
    """The child process serving the simulators (module docstring)."""

    def __init__(self, scenario, log_dir: Path, start_timeout_s: float = 120.0):
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        ctx = multiprocessing.get_context("spawn")
        self._conn, child_conn = ctx.Pipe()
        self._proc = ctx.Process(target=_child, args=(scenario.to_dict(), str(self.log_dir), child_conn),
                                 name="sensorkit-demo-simulators", daemon=True)
        self.start_timeout_s = start_timeout_s
        self._stopped = False

    def _expect(self, what: str, timeout_s: float):
        if not self._conn.poll(timeout_s):
            raise RuntimeError(f"simulators: no '{what}' from the simulator process within {timeout_s:.0f} s")
        kind, value = self._conn.recv()
        if kind == "error":
            raise RuntimeError(f"simulators failed: {value}")
        if kind != what:
            raise RuntimeError(f"simulators: expected '{what}', got '{kind}'")
        return value

    def start(self) -> "SimulatorProcess":
        """Start the child and wait until its GPR forward model is compiled."""
        self._proc.start()
        self._expect("ready", self.start_timeout_s)
        return self

    def go(self, t0_utc_ns: int) -> dict:
        """Power the devices on; the cart leaves the origin at t0_utc_ns. Returns the ports and the mic clock."""
        self._conn.send(("go", int(t0_utc_ns)))
        return self._expect("ports", 30.0)

    def stop(self) -> dict:
        """Power the devices off; returns each simulator's fate counts."""
        if self._stopped:
            return {}
        self._stopped = True
        self._conn.send(("stop", None))
        fates = self._expect("stopped", 60.0)
        self._proc.join(timeout=10.0)
        return fates

    def close(self) -> None:
        if self._proc.is_alive() and not self._stopped:
            try:
                self.stop()
            except (RuntimeError, OSError, EOFError):
                pass
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(timeout=5.0)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
