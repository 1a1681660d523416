"""The firmware simulators seen from a host built only from SerialTransport + FrameDecoder + decode_payload:
identify, configure (and NACK), start, stream at the configured rate, stop; fast mode; faults whose log says
exactly which frames the host decodes; disconnects; resets; NMEA from the GNSS receiver on the cart track."""

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from firmware_sims import (CartTrack, FaultConfig, GnssReceiverSim, GprUnitSim, MicArraySim, ToneSource,
                           frame_records, intact_frames, read_log)
from firmware_sims.gpr_unit import SceneTraceSource
from firmware_sims.mic_array import quantise_audio
from sensorkit.drivers import (FLAG_OVERRUN, FLAG_RESET, Ack, AudioBlock, Command, FrameDecoder, GprTrace, Ident,
                               MessageType, Nack, ProtocolError, decode_payload, encode_message)
from sensorkit.drivers.transport import Chunk, LinkEvent, SerialTransport
from sensorkit.nmea import parse_sentence

REPO = Path(__file__).resolve().parents[2]


class Host:
    """A minimal host: the serial transport, the frame decoder and decode_payload, nothing else."""

    def __init__(self, url: str):
        self.transport = SerialTransport(url)
        self.decoder = FrameDecoder()
        self.received = []  # (host_time_ns, frame, message or None)
        self.events = []  # LinkEvent
        self.raw = bytearray()
        self._cmd_id = 0
        self._cmd_seq = 0

    def pump(self, seconds: float, until=None) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            item = self.transport.get(timeout=0.02)
            if isinstance(item, Chunk):
                self.raw += item.data
                for frame in self.decoder.feed(item.data):
                    try:
                        message = decode_payload(frame)
                    except ProtocolError:
                        message = None
                    self.received.append((item.host_time_ns, frame, message))
            elif isinstance(item, LinkEvent):
                self.events.append(item)
                if item.kind == "reconnect":
                    self.decoder.reset()
            if until is not None and until():
                return

    def command(self, name: str, args: dict | None = None, timeout_s: float = 3.0):
        self._cmd_id += 1
        cmd_id = self._cmd_id
        assert self.transport.write(encode_message(Command(cmd_id, name, args or {}), seq=self._cmd_seq,
                                                   device_time_ns=time.time_ns()))
        self._cmd_seq += 1
        self.pump(timeout_s, until=lambda: self.reply(cmd_id) is not None)
        reply = self.reply(cmd_id)
        assert reply is not None, f"no reply to {name} within {timeout_s} s"
        return reply

    def reply(self, cmd_id: int):
        for _, _, m in self.received:
            if isinstance(m, (Ack, Nack)) and m.id == cmd_id:
                return m
        return None

    def data(self, stream: int = 1):
        return [(t, f, m) for t, f, m in self.received if f.stream == stream]

    def close(self):
        self.transport.close()


def wait_for_host_attached(host: Host, sim) -> None:
    """Wait until the device sees the host (its boot frames went nowhere; `identify` now works)."""
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline and not sim.link.attached():
        host.pump(0.02)


@pytest.fixture(scope="module")
def gpr_ready():
    """Compile the forward model once for the module (Numba caches it on disk afterwards)."""
    sim = GprUnitSim(link="tcp")
    sim._engine.start(lambda: sim.trace_source(np.array([[0.0, 0.0]]), 64, 1e-10, 1, 0))
    assert sim.wait_ready(300)
    sim._engine.stop()


def rate_hz(items) -> float:
    times = [t for t, _, _ in items]
    return (len(times) - 1) / ((times[-1] - times[0]) * 1e-9)


# ---------------------------------------------------------------------------------------------------- GPR unit

def test_gpr_identifies_configures_streams_at_rate_and_stops(tmp_path, gpr_ready):
    with GprUnitSim(log_path=tmp_path / "gpr.log", serial="GPR7") as sim:
        assert os.path.islink(sim.port_url)
        host = Host(sim.port_url)
        try:
            wait_for_host_attached(host, sim)
            assert isinstance(host.command("identify"), Ack)
            ident = [(f, m) for _, f, m in host.received if isinstance(m, Ident)][-1]
            assert ident[1].serial == "GPR7" and ident[1].capabilities["kind"] == "gpr"
            assert ident[1].capabilities["streams"] == [{"stream": 1, "type": "GPR_TRACE", "channel": 0}]
            assert ident[1].capabilities["full_scale"] == pytest.approx(20.0)  # 2 x direct wave 1 / 0.1 m

            for bad, key in [({"n_samples": 256, "time_window_ns": 30.0, "trace_rate_hz": 50.0, "foo": 1}, "foo"),
                             ({"n_samples": 0, "time_window_ns": 30.0, "trace_rate_hz": 50.0}, "n_samples"),
                             ({"n_samples": 256, "time_window_ns": 30.0}, "trace_rate_hz"),
                             ({"n_samples": 9999, "time_window_ns": 30.0, "trace_rate_hz": 50.0}, "n_samples"),
                             ({"n_samples": 256, "time_window_ns": -1.0, "trace_rate_hz": 50.0}, "time_window_ns")]:
                reply = host.command("configure", bad)
                assert isinstance(reply, Nack) and key in reply.error
            assert host.command("jump").error == "unknown command 'jump'"

            args = {"n_samples": 256, "time_window_ns": 30.0, "trigger": "time", "trace_rate_hz": 50.0, "stacks": 4}
            reply = host.command("configure", args)
            assert isinstance(reply, Ack) and reply.result == args
            assert isinstance(host.command("start"), Ack)
            assert host.command("configure", args).error == "busy: acquisition running"
            host.pump(1.3)
            assert isinstance(host.command("stop"), Ack)
            n_at_stop = len(host.data())
            host.pump(0.3)
            assert len(host.data()) == n_at_stop  # nothing after the stop ACK
        finally:
            host.close()
    traces = host.data()
    assert len(traces) >= 55
    # paced to real time: never faster than the configured 50 Hz (+10 % for arrival jitter); on a loaded machine
    # the forward model may fall a little behind, so the lower bound is looser
    assert 35.0 < rate_hz(traces) < 55.0
    frames = [f for _, f, _ in traces]
    messages = [m for _, _, m in traces]
    assert [f.seq for f in frames] == list(range(len(frames)))
    assert frames[0].flags & FLAG_RESET and not any(f.flags & FLAG_RESET for f in frames[1:])
    assert [m.trace_index for m in messages] == list(range(len(frames)))
    assert set(np.diff([f.device_time_ns for f in frames])) <= {20_000_000}  # device cadence 1 / 50 Hz exactly
    assert all(isinstance(m, GprTrace) and m.samples.dtype == np.int16 and m.samples.size == 256 and m.stacks == 4
               for m in messages)
    # the cart moves at 0.5 m/s, the wheel reads 1000 ticks/m: 10 ticks per 20 ms trace
    assert np.all(np.abs(np.diff([m.encoder_ticks for m in messages]) - 10) <= 1)
    # the direct wave arrives about 3 ns + 0.1 m / c after time zero: sample 3.33e-9 / (30e-9 / 256) = 28
    peak = int(np.argmax(np.abs(messages[0].samples)))
    assert 24 <= peak <= 36 and 0.25 * 32767 < abs(int(messages[0].samples[peak])) < 0.5 * 32767


def test_gpr_wheel_trigger_spaces_traces_by_encoder_ticks(gpr_ready):
    track = CartTrack.starting_now(speed_mps=0.5)
    with GprUnitSim(link="tcp", track=track) as sim:
        host = Host(sim.port_url)
        try:
            wait_for_host_attached(host, sim)
            reply = host.command("configure", {"n_samples": 128, "time_window_ns": 20.0, "trigger": "wheel",
                                               "ticks_per_m": 1000.0, "trace_spacing_m": 0.0504})
            assert reply.result["trace_spacing_m"] == pytest.approx(0.050)  # rounded to whole ticks
            host.command("start")
            host.pump(1.2)
            host.command("stop")
        finally:
            host.close()
    ticks = [m.encoder_ticks for _, _, m in host.data()]
    assert len(ticks) >= 10  # 0.5 m/s / 0.05 m = 10 traces per second
    assert all(t % 50 == 0 for t in ticks) and set(np.diff(ticks)) == {50}
    times = [f.device_time_ns for _, f, _ in host.data()]
    assert np.allclose(np.diff(times), 0.1e9, rtol=1e-6)  # 0.05 m at 0.5 m/s


def test_stacking_lowers_the_noise_by_sqrt_stacks():
    from sensorkit.synth import Antenna, GprScene, Soil

    scene = GprScene(soil=Soil(6.0), antenna=Antenna(1e9), direct_wave=False, surface_reflection=False,
                     noise_rms=0.01)
    source = SceneTraceSource(scene)
    xy = np.zeros((64, 2))
    one = source(xy, 256, 1e-10, 1, seed=1).std()
    sixteen = source(xy, 256, 1e-10, 16, seed=1).std()
    assert one == pytest.approx(0.01, rel=0.05)
    assert sixteen == pytest.approx(0.01 / 4, rel=0.05)


def test_fast_mode_outruns_real_time(gpr_ready):
    with GprUnitSim(fast=True) as sim:
        host = Host(sim.port_url)
        try:
            wait_for_host_attached(host, sim)
            host.command("configure", {"n_samples": 64, "time_window_ns": 20.0, "trace_rate_hz": 50.0})
            host.command("start")
            started = time.monotonic()
            host.pump(1.0)
            host.command("stop")
            wall_s = time.monotonic() - started
        finally:
            host.close()
    frames = [f for _, f, _ in host.data()]
    device_span_s = (frames[-1].device_time_ns - frames[0].device_time_ns) * 1e-9
    assert device_span_s > 2.0 * wall_s  # more than twice real time (50 Hz in real time would give 1 s)
    assert [f.seq for f in frames] == list(range(len(frames)))  # fast mode waits for the link: nothing lost


# ---------------------------------------------------------------------------------------------------- faults

def intact_from_log(records, stream: int) -> set:
    """Recompute from fates and corrupted offsets alone which (stream, seq) reach the host intact: written
    untouched, and the frame written before it (any stream) kept its delimiter (last byte) intact."""
    delimiter_ok = True
    intact = set()
    for r in records:
        if r["kind"] in ("attach", "reconnect"):
            delimiter_ok = True  # the device sends a lone 0x00 when a host attaches
        if r["kind"] != "frame" or r["fate"] not in ("sent", "corrupted"):
            continue
        if r["fate"] == "sent" and (delimiter_ok or r["stream"] == 0):
            # stream 0 is exempt from faults and preceded by a 0x00 after a corrupted delimiter
            if r["stream"] == stream:
                intact.add((r["stream"], r["seq"]))
        delimiter_ok = r["fate"] == "sent" or r["corrupted_offsets"][-1] != r["length"] - 1
    return intact


def run_with_faults(sim, config: dict, seconds: float):
    with sim:
        host = Host(sim.port_url)
        try:
            wait_for_host_attached(host, sim)
            assert isinstance(host.command("configure", config), Ack)
            host.command("start")
            host.pump(seconds)
            assert isinstance(host.command("stop"), Ack)
        finally:
            host.close()
    return host, read_log(sim.log.path)


def check_log_matches_host(host: Host, records) -> dict:
    decoded = {(f.stream, f.seq) for _, f, _ in host.data()}
    from_log = intact_from_log(records, 1)
    assert decoded == from_log
    assert {(b, s, q) for b, s, q in intact_frames(records, 1)} == {(0, s, q) for s, q in decoded}
    frames = frame_records(records, 1)
    fates = {}
    for r in frames:
        fates[r["fate"]] = fates.get(r["fate"], 0) + 1
    fates["after_corrupted_delimiter"] = sum(1 for r in frames if r.get("after_corrupted_delimiter"))
    # frames after a lost one carry no OVERRUN flag: the losses happened on the wire, not in the device
    assert not any(f.flags & FLAG_OVERRUN for _, f, _ in host.data())
    return fates


def test_gpr_faults_the_log_says_exactly_which_frames_arrive(tmp_path, gpr_ready):
    faults = FaultConfig(corrupt_rate=3e-4, drop_rate=0.05, burst_rate=0.1, burst_length=32, stall_every_s=0.6,
                         stall_s=0.2, seed=3)
    sim = GprUnitSim(faults=faults, log_path=tmp_path / "gpr.log")
    host, records = run_with_faults(sim, {"n_samples": 64, "time_window_ns": 20.0, "trace_rate_hz": 200.0}, 1.6)
    fates = check_log_matches_host(host, records)
    assert fates["sent"] > 150 and fates["corrupted"] >= 5 and fates["dropped"] >= 5
    assert fates["after_corrupted_delimiter"] >= 1  # a corrupted delimiter took the next frame with it
    assert any(r["kind"] == "stall_begin" for r in records)
    assert host.decoder.stats.errors() >= fates["corrupted"] // 2  # the host did see damaged chunks


def test_audio_faults_the_log_says_exactly_which_frames_arrive(tmp_path):
    faults = FaultConfig(corrupt_rate=1e-4, drop_rate=0.05, burst_rate=0.1, burst_length=48, seed=5)
    sim = MicArraySim(faults=faults, log_path=tmp_path / "mic.log",
                      source_factory=lambda pos, fs, seed: ToneSource(pos, fs, seed))
    host, records = run_with_faults(sim, {"channels": 2, "fs_hz": 16000, "block_frames": 64,
                                          "sample_format": "int16"}, 1.5)
    fates = check_log_matches_host(host, records)
    assert fates["sent"] > 200 and fates["corrupted"] >= 5 and fates["dropped"] >= 5


# ---------------------------------------------------------------------------------------------------- microphone array

def test_mic_array_identifies_configures_and_streams_with_clock_drift():
    drift_ppm = 50_000.0  # the device's clock runs 5 % fast: its 16 kHz is 16.8 kHz of true time
    sim = MicArraySim(drift_ppm=drift_ppm, source_factory=lambda pos, fs, seed: ToneSource(pos, fs, seed))
    with sim:
        host = Host(sim.port_url)
        try:
            wait_for_host_attached(host, sim)
            host.command("identify")
            ident = [m for _, _, m in host.received if isinstance(m, Ident)][-1]
            positions = np.array(ident.capabilities["mic_positions_m"])
            assert positions.shape == (8, 3) and np.allclose(np.hypot(positions[:, 0], positions[:, 1]), 0.1)
            assert ident.capabilities["full_scale_pa"] == 20.0
            for bad, key in [({"channels": 9, "fs_hz": 16000}, "channels"), ({"channels": 4, "fs_hz": 12345},
                             "fs_hz"), ({"channels": 4, "fs_hz": 16000, "sample_format": "int8"}, "sample_format"),
                             ({"channels": 4}, "fs_hz")]:
                reply = host.command("configure", bad)
                assert isinstance(reply, Nack) and key in reply.error
            args = {"channels": 4, "fs_hz": 16000.0, "block_frames": 512, "sample_format": "int24"}
            assert host.command("configure", args).result == args
            host.command("start")
            host.pump(1.3)
            host.command("stop")
        finally:
            host.close()
    blocks = host.data()
    messages = [m for _, _, m in blocks]
    assert all(isinstance(m, AudioBlock) and m.samples.shape == (512, 4) for m in messages)
    assert [m.first_frame for m in messages] == [512 * k for k in range(len(messages))]
    assert abs(rate_hz(blocks) - 31.25 * 1.05) < 0.1 * 31.25  # 16000 / 512 blocks/s of device time
    device_ns = np.array([f.device_time_ns for _, f, _ in blocks], dtype=np.float64)
    assert np.allclose(np.diff(device_ns), 512 / 16000 * 1e9, atol=1)  # latched at each block's first sample
    host_ns = np.array([t for t, _, _ in blocks], dtype=np.float64)
    slope = np.polyfit(host_ns - host_ns[0], device_ns - device_ns[0], 1)[0]
    assert slope == pytest.approx(1.05, abs=0.02)
    # the stand-in scene's RMS pressure: harmonics 0.05 / h Pa, noise 2 mPa; int24 full scale is 20 Pa
    pressure = np.concatenate([m.samples for m in messages]) * (20.0 / 8388607)
    expected = math.sqrt(sum((0.05 / h) ** 2 / 2 for h in range(1, 7)) + 0.002 ** 2)
    assert pressure.std() == pytest.approx(expected, rel=0.03)


def test_mic_array_default_scene_is_the_library_drone_flyby():
    from sensorkit.synth.acoustic import SoundScene

    sim = MicArraySim(link="tcp")  # not started: only its configuration and sound source
    applied = sim.apply_config({"channels": 8, "fs_hz": 16000.0})
    assert applied == {"channels": 8, "fs_hz": 16000.0, "block_frames": 1024, "sample_format": "int24"}
    assert isinstance(sim.source, SoundScene) and sim.source.fs_hz == 16000.0
    (truth,) = sim.source.truth(np.array([30.0]))
    # closest approach at scene time 30 s: 50 m to the side (+y), 40 m up; the sound left ~0.19 s earlier
    assert math.degrees(truth.azimuth_rad[0]) == pytest.approx(93.0, abs=1.0)
    assert math.degrees(truth.elevation_rad[0]) == pytest.approx(38.6, abs=1.0)
    pressure = sim.source.render(30.0, 1024)
    assert pressure.shape == (1024, 8) and 1e-3 < float(pressure.std()) < 1.0


def test_quantise_audio_saturates_and_flags():
    samples, clipped = quantise_audio(np.array([[0.0, 10.0, -25.0]]), "int16", 20.0)
    assert samples.tolist() == [[0, 16384, -32768]] and clipped
    samples, clipped = quantise_audio(np.array([[1.0]]), "int24", 20.0)
    assert samples.tolist() == [[419430]] and not clipped


# ---------------------------------------------------------------------------------------------------- link faults, resets

@pytest.mark.parametrize("link", ["pty", "tcp"])
def test_disconnect_is_seen_by_the_transport_and_seq_continues(tmp_path, link, gpr_ready):
    faults = FaultConfig(disconnect_every_s=1.5, down_s=0.4)
    sim = GprUnitSim(link=link, faults=faults, log_path=tmp_path / "gpr.log")
    with sim:
        host = Host(sim.port_url)
        try:
            wait_for_host_attached(host, sim)
            host.command("configure", {"n_samples": 64, "time_window_ns": 20.0, "trace_rate_hz": 50.0})
            host.command("start")
            host.pump(3.0, until=lambda: any(e.kind == "reconnect" for e in host.events))
            host.pump(0.4)
            assert isinstance(host.command("stop"), Ack)
        finally:
            host.close()
    kinds = [e.kind for e in host.events]
    assert kinds[:2] == ["disconnect", "reconnect"]
    records = read_log(sim.log.path)
    assert [r["kind"] for r in records if r["kind"] in ("disconnect", "reconnect")][:2] == ["disconnect", "reconnect"]
    seqs = [f.seq for _, f, _ in host.data()]
    lost = sorted(r["seq"] for r in frame_records(records, 1) if r["fate"] == "lost_disconnected")
    gaps = [(a, b) for a, b in zip(seqs, seqs[1:]) if b != a + 1]
    assert len(gaps) == 1 and lost == list(range(gaps[0][0] + 1, gaps[0][1]))  # the hole is what was lost
    assert len(lost) >= 15  # 0.4 s down at 50 Hz, plus the host's reopen
    assert set(seqs) == {s for _, s in intact_from_log(records, 1)}


@pytest.mark.parametrize("cause", ["command", "scheduled"])
def test_reset_restarts_seq_with_the_reset_flag_and_default_config(tmp_path, cause, gpr_ready):
    faults = FaultConfig(reset_at_s=1.2) if cause == "scheduled" else FaultConfig()
    sim = GprUnitSim(link="tcp", faults=faults, log_path=tmp_path / "gpr.log")
    with sim:
        host = Host(sim.port_url)
        try:
            wait_for_host_attached(host, sim)
            host.command("configure", {"n_samples": 64, "time_window_ns": 20.0, "trace_rate_hz": 50.0})
            host.command("start")
            host.pump(0.6)
            before = len(host.received)
            if cause == "command":
                assert isinstance(host.command("reset"), Ack)
            host.pump(2.0, until=lambda: any(isinstance(m, Ident) for _, _, m in host.received[before:]))
            idents = [(t, f) for t, f, m in host.received[before:] if isinstance(m, Ident)]
            assert idents, "no IDENT after the reset"
            host.pump(0.3)
            data_before = len(host.data())
            host.pump(0.3)
            assert len(host.data()) == data_before  # acquisition stopped by the reset
            assert isinstance(host.command("start"), Ack)  # with the default configuration
            host.pump(0.6)
            host.command("stop")
        finally:
            host.close()
    _, ident_frame = idents[0]
    assert ident_frame.seq == 0 and ident_frame.flags & FLAG_RESET and ident_frame.stream == 0
    control = [f for _, f, _ in host.received if f.stream == 0]
    i = control.index(ident_frame)
    assert ident_frame.device_time_ns < control[i - 1].device_time_ns  # the clock restarted
    assert [f.seq for f in control[i:]] == list(range(len(control) - i))
    data = host.data()
    first_new = max(i for i, (_, f, _) in enumerate(data) if f.flags & FLAG_RESET)
    assert first_new > 0  # the first run streamed before the reset
    new = data[first_new:]
    assert [f.seq for _, f, _ in new] == list(range(len(new)))
    assert all(m.samples.size == 512 for _, _, m in new)  # default configuration: 512 samples
    assert set(np.diff([f.device_time_ns for _, f, _ in new])) == {40_000_000}  # default trace rate 25 Hz
    assert any(r["kind"] == "reset" for r in read_log(sim.log.path))


# ---------------------------------------------------------------------------------------------------- GNSS

def test_gnss_nmea_parses_and_follows_the_cart_track(tmp_path):
    track = CartTrack.starting_now(origin_lat=-33.9, origin_lon=151.2, heading_deg=30.0, speed_mps=2.0,
                                   length_m=2.0)
    with GnssReceiverSim(track=track, link="tcp", log_path=tmp_path / "gnss.log") as sim:
        host = Host(sim.port_url)
        try:
            host.pump(1.6)
        finally:
            host.close()
    text = bytes(host.raw).decode("ascii")
    lines = [line for line in text.split("\r\n") if line]
    assert text.endswith("\r\n") and all(line.startswith("$GP") for line in lines)
    sentences = [parse_sentence(line, require_checksum=True) for line in lines]
    assert all(s.checksum_ok for s in sentences)
    ggas = [s.data for s in sentences if s.kind == "GGA"]
    rmcs = [s.data for s in sentences if s.kind == "RMC"]
    vtgs = [s.data for s in sentences if s.kind == "VTG"]
    assert 6 <= len(ggas) <= 9 and len(rmcs) >= len(ggas) - 1 and len(vtgs) >= len(ggas) - 1  # 5 Hz
    assert np.allclose(np.diff([g.time_of_day_s for g in ggas]), 0.2)
    date = rmcs[0].date
    midnight_ns = int(time.mktime(date.timetuple()) - time.timezone) * 1_000_000_000  # UTC midnight of the date
    for g in ggas:
        utc_ns = midnight_ns + round(g.time_of_day_s * 1e9)
        lat, lon = track.lat_lon(utc_ns)
        assert g.lat == pytest.approx(lat, abs=1e-8) and g.lon == pytest.approx(lon, abs=1e-8)
        assert g.quality == 1 and g.alt_m == 10.0
    # 2 m/s on a 2 m lane: out along 30 deg for 1 s, then back along 210 deg
    assert {round(v.course_deg) for v in vtgs} <= {30, 210} and all(v.speed_mps == pytest.approx(2.0, rel=1e-3)
                                                                     for v in vtgs)
    assert {round(r.course_deg) for r in rmcs} == {30, 210}
    assert all(r["fate"] in ("sent", "lost_disconnected") for r in frame_records(read_log(sim.log.path)))


def test_cart_track_positions_and_wheel_crossings():
    track = CartTrack(origin_lat=0.0, origin_lon=0.0, heading_deg=0.0, speed_mps=1.0, t0_utc_ns=10**9, length_m=1.0)
    assert track.distance_m(0) == 0.0 and track.direction(0) == 0
    assert track.distance_m(10**9 + 700_000_000) == pytest.approx(0.7)
    assert track.distance_m(10**9 + 1_300_000_000) == pytest.approx(0.7)  # on the way back
    assert track.course_deg(10**9 + 1_300_000_000) == 180.0
    lat, lon = track.lat_lon(10**9 + 700_000_000)
    assert lon == 0.0 and lat * 110_574.0 == pytest.approx(0.7, rel=1e-3)  # one degree of latitude at the equator
    crossings = list(zip(range(9), track.crossings(0, 0.3)))
    assert [round(c.distance_m, 6) for _, c in crossings] == [0.0, 0.3, 0.6, 0.9, 0.9, 0.6, 0.3, 0.0, 0.3]
    assert [c.utc_ns for _, c in crossings][:5] == [10**9, 1_300_000_000, 1_600_000_000, 1_900_000_000, 2_100_000_000]


# ---------------------------------------------------------------------------------------------------- command line

def test_command_line_prints_the_port_and_exits_cleanly_on_sigterm(tmp_path):
    path = tmp_path / "ttyGNSS"
    proc = subprocess.Popen([sys.executable, "-m", "firmware_sims", "gnss", "--path", str(path), "--log",
                             str(tmp_path / "g.log")], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        first = proc.stdout.readline()
        assert first == f"PORT {path}\n" and path.is_symlink()
        host = Host(str(path))
        host.pump(0.8)
        host.close()
        assert parse_sentence(bytes(host.raw).decode().split("\r\n")[-2]).checksum_ok
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not path.exists()


def test_simulate_subcommand_parses():
    import argparse

    from sensorkit.cli import simulate_cmd

    parser = argparse.ArgumentParser(prog="sensorkit")
    simulate_cmd.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["simulate", "gpr", "--link", "tcp", "--port", "0", "--corrupt-rate", "1e-4",
                              "--reset-at", "5", "--t0", "2024-05-01T12:00:00Z"])
    sim = simulate_cmd.build_simulator(args)
    assert isinstance(sim, GprUnitSim) and sim.faults.corrupt_rate == 1e-4 and sim.faults.reset_at_s == 5.0
    assert sim.track.t0_utc_ns == 1714564800 * 10**9
    assert args.run is simulate_cmd.run


def test_status_gives_next_seq_around_start_and_stop_and_time_scale_paces_the_clock():
    from sensorkit.drivers import Status

    sim = GprUnitSim(link="tcp", time_scale=4.0, channel_y_m=[-0.1, 0.1], warm_up=False,
                     trace_source=lambda xy, n, dt, stacks, seed: np.full((len(xy), n), xy[:, 1:2]))
    with sim:
        host = Host(sim.port_url)
        try:
            wait_for_host_attached(host, sim)
            host.command("configure", {"n_samples": 32, "time_window_ns": 20.0, "trace_rate_hz": 50.0})
            before = len(host.received)
            host.command("start")
            started = time.monotonic()
            host.pump(1.0)
            n_before_stop = len(host.received)
            host.command("stop")
            wall_s = time.monotonic() - started
        finally:
            host.close()
    at_start = [m for _, _, m in host.received[before:] if isinstance(m, (Status, Ack))][:2]
    assert isinstance(at_start[0], Status) and at_start[0].next_seq == ((1, 0), (2, 0)) and isinstance(at_start[1], Ack)
    at_stop = [m for _, _, m in host.received[n_before_stop:] if isinstance(m, (Status, Ack))][-2:]
    ch0, ch1 = host.data(1), host.data(2)
    assert isinstance(at_stop[0], Status) and at_stop[0].next_seq == ((1, len(ch0)), (2, len(ch1)))
    assert [m.channel for _, _, m in ch1] == [1] * len(ch1) and len(ch0) == len(ch1)
    assert all(m.samples[0] == -3277 for _, _, m in ch0) and all(m.samples[0] == 3277 for _, _, m in ch1)
    # 50 traces per second of device time, at 4x real time
    span_s = (ch0[-1][1].device_time_ns - ch0[0][1].device_time_ns) * 1e-9
    assert 3.0 * wall_s < span_s < 4.4 * wall_s
