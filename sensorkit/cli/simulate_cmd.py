"""`sensorkit simulate gpr|mic|gnss [options]`: a simulated device on a pseudo-terminal or a local TCP port.

The first line on stdout is ``PORT <path or socket://127.0.0.1:N>`` (what to give `sensorkit record`); the
simulator then serves until SIGINT or SIGTERM (or --duration) and exits with 0. docs/simulators.md lists
every flag and the log format.
"""

from __future__ import annotations

import argparse
import datetime
import signal
import sys
import threading
import time


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "simulate", help="run a simulated GPR unit, microphone array or GNSS receiver on a pty or TCP port",
        description="Run a simulated device that speaks the sensorkit wire protocol (GPR unit, microphone array) "
                    "or NMEA 0183 (GNSS receiver), with optional fault injection and an exact JSON-lines log. "
                    "Prints 'PORT <url>' first, then serves until interrupted.")
    devices = parser.add_subparsers(dest="device", metavar="DEVICE")
    devices.required = True
    add_device_parsers(devices)


def add_device_parsers(devices) -> None:
    """The gpr, mic and gnss sub-commands (also used by `python -m firmware_sims`)."""
    common = argparse.ArgumentParser(add_help=False)
    g = common.add_argument_group("link and run")
    g.add_argument("--link", choices=("pty", "tcp"), default="pty",
                   help="pseudo-terminal under a stable symlink (default) or TCP server on 127.0.0.1")
    g.add_argument("--path", default=None, help="pty: symlink path (default /tmp/sensorkit-sim-<device>-<pid>)")
    g.add_argument("--port", type=int, default=0, help="tcp: port on 127.0.0.1 (default: any free port)")
    g.add_argument("--fast", action="store_true",
                   help="do not wait for real time: stream as fast as the link and the computation allow "
                        "(device and scene time run ahead)")
    g.add_argument("--time-scale", type=float, default=1.0, metavar="X",
                   help="run the simulation's clock X times faster than real time, paced (device clock, scene, "
                        "fault schedule; default 1). Unlike --fast, the rate stays steady")
    g.add_argument("--log", default=None, metavar="FILE", help="JSON-lines log of every frame and event")
    g.add_argument("--seed", type=int, default=0, help="seed of the data noise (default 0)")
    g.add_argument("--duration", type=float, default=None, metavar="S",
                   help="stop after S seconds (default: serve until SIGINT/SIGTERM)")
    g.add_argument("--drift-ppm", type=float, default=0.0, help="device clock drift, ppm (default 0)")
    g.add_argument("--clock-offset-ns", type=int, default=0, help="device clock reading at boot, ns (default 0)")
    f = common.add_argument_group("faults")
    f.add_argument("--corrupt-rate", type=float, default=0.0, metavar="P", help="per-byte corruption probability")
    f.add_argument("--drop-rate", type=float, default=0.0, metavar="P", help="per-frame drop probability")
    f.add_argument("--burst-rate", type=float, default=0.0, metavar="P",
                   help="per-frame probability that a burst of corrupted bytes starts")
    f.add_argument("--burst-length", type=int, default=32, metavar="BYTES", help="burst length (default 32)")
    f.add_argument("--stall-every", type=float, default=0.0, metavar="S", help="stall the output every S seconds")
    f.add_argument("--stall-for", type=float, default=0.5, metavar="S", help="stall duration (default 0.5 s)")
    f.add_argument("--disconnect-every", type=float, default=0.0, metavar="S",
                   help="pull the cable every S seconds (pty master closed / TCP connection closed)")
    f.add_argument("--down-time", type=float, default=1.0, metavar="S",
                   help="seconds before the port comes back after a disconnect (default 1)")
    f.add_argument("--faults-on-control", action="store_true",
                   help="corrupt and drop control frames (stream 0) too (default: data frames only)")
    f.add_argument("--fault-seed", type=int, default=0, help="seed of the fault generator (default 0)")

    protocol = argparse.ArgumentParser(add_help=False)
    p = protocol.add_argument_group("device")
    p.add_argument("--serial", default=None, help="serial number in IDENT (default SIM<seed>)")
    p.add_argument("--reset-at", type=float, default=None, metavar="S",
                   help="the device resets by itself once, S seconds after power-up")
    p.add_argument("--status-period", type=float, default=1.0, metavar="S", help="STATUS period (default 1 s)")

    track = argparse.ArgumentParser(add_help=False)
    t = track.add_argument_group("cart track (shared by gpr and gnss: give both the same --t0)")
    t.add_argument("--origin-lat", type=float, default=52.0, help="lane start latitude, degrees (default 52)")
    t.add_argument("--origin-lon", type=float, default=5.0, help="lane start longitude, degrees (default 5)")
    t.add_argument("--heading-deg", type=float, default=90.0,
                   help="lane direction, degrees clockwise from north (default 90)")
    t.add_argument("--speed", type=float, default=0.5, help="cart speed, m/s (default 0.5)")
    t.add_argument("--length", type=float, default=10.0, help="lane length, m; the cart shuttles (default 10)")
    t.add_argument("--alt", type=float, default=10.0, help="altitude above mean sea level, m (default 10)")
    t.add_argument("--t0", default=None,
                   help="UTC when the cart leaves the origin: ns since 1970 or ISO 8601 (default: now)")

    gpr = devices.add_parser("gpr", parents=[common, protocol, track], help="GPR unit on a cart",
                             description="A GPR unit on a cart over a buried scene (sensorkit.synth.gpr).")
    gg = gpr.add_argument_group("GPR")
    gg.add_argument("--sample-format", choices=("int16", "int32", "float32"), default="int16",
                    help="trace sample format (default int16)")
    gg.add_argument("--full-scale", type=float, default=None,
                    help="model amplitude at full-scale counts (default: twice the direct wave)")
    gg.add_argument("--wheel-ticks-per-m", type=float, default=1000.0, help="survey wheel, ticks/m (default 1000)")
    gg.add_argument("--lane-y", type=float, default=0.0, help="antenna y in the scene, m (default 0)")
    gg.add_argument("--channels", type=int, default=1,
                    help="antennas across the lane (default 1); channel c streams on stream 1 + c")
    gg.add_argument("--channel-spacing", type=float, default=0.1, metavar="M",
                    help="distance between neighbouring antennas, m, centred on --lane-y (default 0.1)")
    gg.add_argument("--noise-rms", type=float, default=None, help="white noise of one pulse (default 0.002)")
    gpr.set_defaults(run=run)

    mic = devices.add_parser("mic", parents=[common, protocol], help="microphone array",
                             description="A microphone array hearing a sound scene (a drone flying past).")
    mg = mic.add_argument_group("microphone array")
    mg.add_argument("--geometry", default=None, metavar="FILE", help="array geometry (acoular XML or JSON)")
    mg.add_argument("--n-mics", type=int, default=8, help="circular array: microphones (default 8)")
    mg.add_argument("--radius", type=float, default=0.1, help="circular array: radius, m (default 0.1)")
    mg.add_argument("--full-scale-pa", type=float, default=20.0, help="pressure at full scale, Pa (default 20)")
    mg.add_argument("--fs", type=float, default=48000.0, help="default sample rate, Hz (default 48000)")
    mic.set_defaults(run=run)

    gnss = devices.add_parser("gnss", parents=[common, track], help="GNSS receiver (NMEA 0183)",
                              description="A GNSS receiver on the cart speaking NMEA 0183 (GGA, RMC, VTG).")
    ng = gnss.add_argument_group("GNSS")
    ng.add_argument("--rate-hz", type=float, default=5.0, help="fixes per second (default 5)")
    ng.add_argument("--position-noise-m", type=float, default=0.0, help="horizontal noise per axis, m (default 0)")
    ng.add_argument("--quality", type=int, default=1, help="GGA fix quality (1 GPS, 4 RTK fixed; default 1)")
    ng.add_argument("--talker", default="GP", help="talker id (default GP)")
    ng.add_argument("--latency", type=float, default=0.02, metavar="S", help="fix to output delay (default 0.02)")
    gnss.set_defaults(run=run)


def parse_utc_ns(text: str) -> int:
    """UTC ns since 1970 from an integer or an ISO 8601 time (naive times are UTC)."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--t0: expected ns since 1970 or an ISO 8601 time, found {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    delta = moment - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def build_simulator(args):
    """The simulator object the parsed arguments describe (not started)."""
    from firmware_sims import CartTrack, FaultConfig, GnssReceiverSim, GprUnitSim, MicArraySim

    faults = FaultConfig(corrupt_rate=args.corrupt_rate, drop_rate=args.drop_rate, burst_rate=args.burst_rate,
                         burst_length=args.burst_length, stall_every_s=args.stall_every, stall_s=args.stall_for,
                         disconnect_every_s=args.disconnect_every, down_s=args.down_time,
                         reset_at_s=getattr(args, "reset_at", None), control_frames=args.faults_on_control,
                         seed=args.fault_seed)
    common = dict(link=args.link, link_path=args.path, tcp_port=args.port, fast=args.fast, faults=faults,
                  log_path=args.log, drift_ppm=args.drift_ppm, clock_offset_ns=args.clock_offset_ns, seed=args.seed,
                  time_scale=args.time_scale)
    if args.device in ("gpr", "gnss"):
        track = CartTrack(origin_lat=args.origin_lat, origin_lon=args.origin_lon, heading_deg=args.heading_deg,
                          speed_mps=args.speed, length_m=args.length, alt_m=args.alt,
                          t0_utc_ns=parse_utc_ns(args.t0) if args.t0 is not None else time.time_ns())
    if args.device == "gpr":
        scene = None
        if args.noise_rms is not None:
            import dataclasses

            from firmware_sims.gpr_unit import default_gpr_scene

            scene = dataclasses.replace(default_gpr_scene(), noise_rms=args.noise_rms)
        if not 1 <= args.channels <= 255:
            raise ValueError(f"--channels: expected 1 to 255 antennas, found {args.channels}")
        channel_y_m = [args.lane_y + (c - (args.channels - 1) / 2) * args.channel_spacing
                       for c in range(args.channels)]
        return GprUnitSim(scene=scene, track=track, lane_y_m=args.lane_y, sample_format=args.sample_format,
                          channel_y_m=channel_y_m,
                          full_scale=args.full_scale, wheel_ticks_per_m=args.wheel_ticks_per_m, serial=args.serial,
                          status_period_s=args.status_period, **common)
    if args.device == "mic":
        positions = None
        if args.geometry is None:
            from sensorkit.formats.array_geometry import circular_array

            positions = circular_array(args.n_mics, args.radius)
        return MicArraySim(mic_positions_m=positions, geometry_path=args.geometry,
                           full_scale_pa=args.full_scale_pa, default_fs_hz=args.fs, serial=args.serial,
                           status_period_s=args.status_period, **common)
    return GnssReceiverSim(track=track, rate_hz=args.rate_hz, position_noise_m=args.position_noise_m,
                           quality=args.quality, talker=args.talker, latency_s=args.latency, **common)


def run(args) -> int:
    sim = build_simulator(args)
    done = threading.Event()
    previous = {}

    def on_signal(signum, frame):
        done.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, on_signal)
    try:
        sim.start()
        print(f"PORT {sim.port_url}", flush=True)
        print(f"sensorkit simulate {args.device}: serving on {sim.port_url} (Ctrl-C to stop)", file=sys.stderr)
        deadline = None if args.duration is None else time.monotonic() + args.duration
        while not done.is_set() and sim.running:
            done.wait(0.2 if deadline is None else max(0.0, min(0.2, deadline - time.monotonic())))
            if deadline is not None and time.monotonic() >= deadline:
                break
    finally:
        sim.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if sim.error is not None:
        print(f"sensorkit simulate {args.device}: error: {sim.error}", file=sys.stderr)
        return 1
    return 0
