"""Wire protocol v1: framing, CRC, COBS, streaming decoder, sequence tracking and typed payloads."""

import json
import math
import re
import struct
from pathlib import Path

import numpy as np
import pytest
from cobs import cobs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sensorkit.drivers import (
    FLAG_CLIPPED,
    FLAG_RESET,
    Ack,
    AudioBlock,
    Command,
    Frame,
    FrameDecoder,
    GprConfig,
    GprTrace,
    Ident,
    Log,
    MessageType,
    MicArrayConfig,
    Nack,
    Nmea,
    ProtocolError,
    SeqCounter,
    SequenceTracker,
    Status,
    crc32c_of,
    decode_frames,
    decode_payload,
    encode_frame,
    encode_message,
)
from sensorkit.drivers.frames import HEADER_SIZE, MAGIC, VERSION
from sensorkit.drivers.messages import unpack_samples

U32 = 1 << 32


def raw_frame(magic=MAGIC, version=VERSION, msg_type=0x21, stream=0, flags=0, header_len=HEADER_SIZE, seq=0,
              device_time_ns=0, rest=b"", crc=None) -> bytes:
    """A decoded frame built by hand (any header values), with a correct CRC unless given."""
    body = struct.pack("<HBBBBHIQ", magic, version, msg_type, stream, flags, header_len, seq, device_time_ns) + rest
    return body + struct.pack("<I", crc32c_of(body) if crc is None else crc)


def wire(raw: bytes) -> bytes:
    return cobs.encode(raw) + b"\x00"


def crc32c_bitwise(data: bytes) -> int:
    """The bit-by-bit algorithm given in docs/protocol.md."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


# ---------------------------------------------------------------------------------------------- known vectors


def test_crc32c_check_value_and_rfc3720_vectors():
    assert crc32c_of(b"123456789") == 0xE3069283
    assert crc32c_of(b"") == 0
    assert crc32c_of(bytes(32)) == 0x8A9136AA
    assert crc32c_of(b"\xff" * 32) == 0x62A8AB43
    assert crc32c_of(bytes(range(32))) == 0x46DD794E
    assert crc32c_of(bytes(range(31, -1, -1))) == 0x113FDB5C


def test_crc32c_matches_documented_bitwise_algorithm():
    data = np.random.default_rng(1).integers(0, 256, 300, dtype=np.uint8).tobytes()
    assert crc32c_bitwise(b"123456789") == 0xE3069283
    assert crc32c_bitwise(data) == crc32c_of(data)


@pytest.mark.parametrize("plain, encoded", [
    ("00", "0101"),
    ("0000", "010101"),
    ("001100", "01021101"),
    ("11220033", "0311220233"),
    ("11223344", "0511223344"),
    ("11000000", "0211010101"),
    (bytes(range(1, 255)).hex(), "ff" + bytes(range(1, 255)).hex()),
    (bytes(range(0, 255)).hex(), "01ff" + bytes(range(1, 255)).hex()),
    (bytes(range(1, 256)).hex(), "ff" + bytes(range(1, 255)).hex() + "02ff"),
])
def test_cobs_known_vectors(plain, encoded):
    assert cobs.encode(bytes.fromhex(plain)) == bytes.fromhex(encoded)
    assert cobs.decode(bytes.fromhex(encoded)) == bytes.fromhex(plain)


def test_documented_example_frame_bytes():
    """The CMD ping frame printed in docs/protocol.md, byte for byte."""
    frame = encode_message(Command(7, "ping"), stream=0, seq=7, device_time_ns=1_700_000_000_123_456_789)
    assert frame == bytes.fromhex(
        "05534B0102010214020701012C15CD853DFE9C97177B226964223A372C22636D64223A2270696E67222C226172677322"
        "3A7B7D7D94B3DBB500")
    raw = cobs.decode(frame[:-1])
    assert raw[:2] == b"SK"
    assert len(raw) == 20 + 31 + 4
    assert struct.unpack_from("<I", raw, len(raw) - 4)[0] == crc32c_of(raw[:-4]) == 0xB5DBB394


# ---------------------------------------------------------------------------------------------- framing


def test_frame_header_round_trip_with_extension():
    data = encode_frame(0x21, b"payload\x00\x00bytes", stream=3, seq=U32 - 1, flags=0x0F,
                        device_time_ns=(1 << 64) - 1, header_ext=b"\x01\x02\x03")
    frames, stats = decode_frames(data)
    assert frames == [Frame(MessageType.LOG, 3, 0x0F, U32 - 1, (1 << 64) - 1, b"payload\x00\x00bytes",
                            b"\x01\x02\x03")]
    assert stats.frames == 1 and stats.errors() == 0 and stats.bytes_in == len(data)
    assert data.count(0) == 1 and data.endswith(b"\x00")


@pytest.mark.parametrize("kwargs", [dict(stream=256), dict(seq=U32), dict(seq=-1), dict(flags=256),
                                    dict(device_time_ns=-1), dict(device_time_ns=1 << 64)])
def test_encode_frame_rejects_out_of_range_header_fields(kwargs):
    with pytest.raises(ProtocolError, match=next(iter(kwargs))):
        encode_frame(0x21, b"", **kwargs)


@pytest.mark.parametrize("raw, counter", [
    (raw_frame(magic=0x4B54), "bad_magic"),
    (raw_frame(version=2), "bad_version"),
    (raw_frame(header_len=19), "bad_header_len"),
    (raw_frame(header_len=25, rest=b"abcd"), "bad_header_len"),  # beyond the payload end
    (raw_frame(crc=0x12345678), "crc_errors"),
    (b"\x01" * 23, "too_short"),
])
def test_bad_frames_are_dropped_and_counted(raw, counter):
    good = encode_frame(0x21, b"ok", seq=9)
    decoder = FrameDecoder()
    frames = decoder.feed(wire(raw) + good)
    assert [f.seq for f in frames] == [9]
    assert getattr(decoder.stats, counter) == 1
    assert decoder.stats.errors() == 1 and decoder.stats.frames == 1


def test_cobs_error_is_counted():
    decoder = FrameDecoder()
    assert decoder.feed(b"\x05\x11\x22\x00") == []  # the code byte promises 4 data bytes, only 2 follow
    assert decoder.stats.cobs_errors == 1


def test_header_len_equal_to_frame_body_means_empty_payload():
    frames, stats = decode_frames(wire(raw_frame(header_len=24, rest=b"abcd")))
    assert frames[0].header_ext == b"abcd" and frames[0].payload == b""


def test_unknown_type_is_delivered_and_counted_then_decode_payload_refuses():
    frames, stats = decode_frames(encode_frame(0x7F, b"\x01\x02", stream=1, seq=5))
    assert frames == [Frame(0x7F, 1, 0, 5, 0, b"\x01\x02", b"")]
    assert stats.unknown_type == 1 and stats.frames == 1
    with pytest.raises(ProtocolError, match="0x7f"):
        decode_payload(frames[0])


def test_resync_after_garbage():
    f1, f2, f3 = (encode_frame(0x21, bytes([i]) * 300, seq=i) for i in (1, 2, 3))
    garbage = bytes(range(1, 200))  # no zero byte: it merges with f2, which is lost
    decoder = FrameDecoder()
    assert [f.seq for f in decoder.feed(f1 + garbage + f2 + f3)] == [1, 3]
    assert decoder.stats.frames == 2 and decoder.stats.errors() == 1
    # garbage ended by a zero (a sender flushing the line) costs nothing
    decoder = FrameDecoder()
    assert [f.seq for f in decoder.feed(garbage + b"\x00" + f1 + b"\x00\x00" + f2)] == [1, 2]
    assert decoder.stats.errors() == 1  # the garbage chunk; empty chunks are not counted


def test_oversize_stream_is_bounded_and_counted_once():
    decoder = FrameDecoder()
    junk = b"\x07" * 65536
    for _ in range(48):  # 3 MiB without any zero
        assert decoder.feed(junk) == []
        assert decoder.buffered <= decoder.max_encoded_size
    assert decoder.stats.oversize == 1
    frames = decoder.feed(junk + b"\x00" + encode_frame(0x21, b"after", seq=77))
    assert [(f.seq, f.payload) for f in frames] == [(77, b"after")]
    assert decoder.stats.oversize == 1 and decoder.stats.errors() == 1


def test_long_tail_after_a_delimiter_is_bounded_too():
    decoder = FrameDecoder(max_frame_size=1024)
    assert decoder.feed(encode_frame(0x21, b"a", seq=1) + b"\x07" * 5000) != []
    assert decoder.buffered == 0 and decoder.stats.oversize == 1
    assert [f.seq for f in decoder.feed(b"\x07" * 10 + b"\x00" + encode_frame(0x21, b"b", seq=2))] == [2]
    assert decoder.stats.oversize == 1 and decoder.stats.frames == 2


def test_frame_above_max_frame_size_is_dropped():
    decoder = FrameDecoder(max_frame_size=1024)
    big = encode_frame(0x21, b"\x01" * 1001, seq=1)  # 1025 bytes decoded
    fits = encode_frame(0x21, b"\x01" * 1000, seq=2)  # exactly 1024
    assert [f.seq for f in decoder.feed(big + fits)] == [2]
    assert decoder.stats.oversize == 1


def test_feeding_byte_by_byte_equals_feeding_at_once():
    stream = b"".join(encode_frame(0x21, bytes([i, 0, 255]) * 100, seq=i) for i in range(5))
    decoder = FrameDecoder()
    frames = [f for i in range(len(stream)) for f in decoder.feed(stream[i:i + 1])]
    assert frames == decode_frames(stream)[0]
    assert [f.seq for f in frames] == [0, 1, 2, 3, 4]


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:])]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=3000), cuts=st.lists(st.integers(0, 4000), max_size=20),
       max_frame_size=st.sampled_from([24, 64, 1 << 20]))
def test_arbitrary_bytes_never_raise_and_every_chunk_is_accounted(data, cuts, max_frame_size):
    chunked = FrameDecoder(max_frame_size)
    frames = []
    for piece in _split(data, cuts):
        frames += chunked.feed(piece)
        assert chunked.buffered <= chunked.max_encoded_size
    whole = FrameDecoder(max_frame_size)
    assert frames == whole.feed(data)
    assert chunked.stats == whole.stats
    *complete, tail = data.split(b"\x00")
    n_chunks = sum(1 for c in complete if c) + (len(tail) > whole.max_encoded_size)
    assert whole.stats.frames + whole.stats.errors() == n_chunks
    for frame in frames:  # a random chunk that passes the CRC is vanishingly rare; it must still decode safely
        try:
            decode_payload(frame)
        except ProtocolError:
            pass


def _mutate(stream: bytes, mutations) -> tuple[bytes, set[int], set[int]]:
    """Apply (kind, position, value) edits at positions of the original stream.

    Returns the new stream, positions where a byte was inserted before, and positions replaced or deleted.
    """
    n = len(stream)
    inserts: dict[int, list[int]] = {}
    changes: dict[int, int | None] = {}
    for kind, pos, value in mutations:
        if kind == "insert":
            inserts.setdefault(pos % (n + 1), []).append(value)
        else:
            changes[pos % n] = None if kind == "delete" else value
    out = bytearray()
    prev = 0
    for p in sorted(set(inserts) | set(changes)):
        out += stream[prev:p]
        out += bytes(inserts.get(p, []))
        if p in changes:
            if changes[p] is not None:
                out.append(changes[p])
            prev = p + 1
        else:
            prev = p
    out += stream[prev:]
    return bytes(out), set(inserts), set(changes)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payloads=st.lists(st.binary(max_size=700), min_size=1, max_size=10),
       mutations=st.lists(st.tuples(st.sampled_from(["replace", "insert", "delete"]), st.integers(0, 10 ** 6),
                                    st.integers(0, 255)), max_size=6),
       cuts=st.lists(st.integers(0, 10 ** 5), max_size=8))
def test_corrupted_stream_delivers_every_untouched_frame(payloads, mutations, cuts):
    encoded = [encode_frame(0x10 + i % 3, p, stream=i % 4, seq=1000 + i, flags=i % 16, device_time_ns=i * 10 ** 9)
               for i, p in enumerate(payloads)]
    originals = {1000 + i: decode_frames(e)[0][0] for i, e in enumerate(encoded)}
    stream = b"".join(encoded)
    corrupted, inserted, changed = _mutate(stream, mutations)
    untouched = []
    start = 0
    for i, e in enumerate(encoded):
        end = start + len(e)  # the frame is stream[start:end]; its delimiter is stream[end - 1]
        if (not any(start <= p < end for p in inserted)
                and not any(start - 1 <= p < end for p in changed)):  # start - 1: the delimiter before it
            untouched.append(1000 + i)
        start = end
    decoder = FrameDecoder()
    frames = [f for piece in _split(corrupted, cuts) for f in decoder.feed(piece)]
    seqs = [f.seq for f in frames]
    assert set(untouched) <= set(seqs)
    assert all(a < b for a, b in zip(seqs, seqs[1:]))  # order kept, nothing doubled
    for f in frames:
        assert f == originals[f.seq]  # CRC-protected: nothing corrupted gets through
    if not mutations:
        assert seqs == list(originals)


# ---------------------------------------------------------------------------------------------- sequences


def test_seq_counter_wraps_per_stream():
    counter = SeqCounter(start=U32 - 2)
    assert [counter.next(1) for _ in range(4)] == [U32 - 2, U32 - 1, 0, 1]
    assert counter.next(2) == U32 - 2
    assert SeqCounter().next(0) == 0


def test_tracker_in_order_and_wrap_at_2_pow_32():
    tracker = SequenceTracker()
    updates = [tracker.update(s) for s in (U32 - 2, U32 - 1, 0, 1)]
    assert [u.kind for u in updates] == ["first", "ok", "ok", "ok"]
    assert [u.index for u in updates] == [U32 - 2, U32 - 1, U32, U32 + 1]
    assert tracker.missing == 0 and tracker.received == 4


def test_tracker_gap_numbers_are_exact():
    tracker = SequenceTracker()
    tracker.update(10)
    tracker.update(11)
    assert tracker.update(15) == ("gap", 15, 12, 3)
    assert tracker.update(16) == ("ok", 16, 0, 0)
    assert tracker.missing == 3


def test_tracker_gap_across_wrap():
    tracker = SequenceTracker()
    tracker.update(U32 - 3)
    assert tracker.update(2) == ("gap", U32 + 2, U32 - 2, 4)  # lost U32-2, U32-1, 0, 1


def test_tracker_large_forward_gap_with_large_seq_is_a_gap():
    tracker = SequenceTracker()
    tracker.update(10)
    assert tracker.update(10 + (1 << 20)) == ("gap", 10 + (1 << 20), 11, (1 << 20) - 1)


def test_tracker_duplicates_leave_state_unchanged():
    tracker = SequenceTracker()
    for s in (100, 101, 102):
        tracker.update(s)
    assert tracker.update(102) == ("duplicate", 102, 0, 0)
    assert tracker.update(100) == ("duplicate", 100, 0, 0)
    assert tracker.update(103) == ("ok", 103, 0, 0)
    assert tracker.duplicates == 2 and tracker.resets == 0 and tracker.received == 4


def test_tracker_duplicate_window():
    tracker = SequenceTracker()
    for s in (10_000, 10_001, 10_002):
        tracker.update(s)
    assert tracker.update(9990) == ("duplicate", 9990, 0, 0)  # 12 back, within the default window of 1024
    assert tracker.update(8978) == ("duplicate", 8978, 0, 0)  # 1024 back
    assert tracker.update(8977) == ("reset", 10_003 + 8977, 10_003, 8977)  # 1025 back
    narrow = SequenceTracker(duplicate_window=8)
    narrow.update(1000)
    assert narrow.update(990) == ("reset", 1001 + 990, 1001, 990)


def test_tracker_reset_flag():
    tracker = SequenceTracker()
    tracker.update(1000)
    tracker.update(1001)
    assert tracker.update(0, FLAG_RESET) == ("reset", 1002, 0, 0)
    assert tracker.update(1) == ("ok", 1003, 0, 0)
    assert tracker.update(2, FLAG_RESET) == ("reset", 1006, 1004, 2)  # seq 0 and 1 of the new epoch lost
    assert tracker.resets == 2 and tracker.missing == 2


def test_tracker_first_frame_with_reset_flag():
    tracker = SequenceTracker()
    assert tracker.update(0, FLAG_RESET) == ("reset", 0, 0, 0)
    assert SequenceTracker().update(3, FLAG_RESET) == ("reset", 3, 0, 3)


def test_tracker_reset_heuristics_without_flag():
    tracker = SequenceTracker()
    tracker.update(5000)
    assert tracker.update(3) == ("reset", 5004, 5001, 3)  # backwards to a small seq
    tracker = SequenceTracker()
    tracker.update(100_000)
    assert tracker.update(50_000) == ("reset", 150_001, 100_001, 50_000)  # backwards beyond the window
    tracker = SequenceTracker()
    tracker.update(3_000_000_000)
    assert tracker.update(0) == ("reset", 3_000_000_001, 0, 0)  # "forward" by 1.29e9 to seq 0


def test_decode_and_track_across_the_wrap():
    counter = SeqCounter(start=U32 - 3)
    encoded = [encode_frame(0x21, b"x", stream=1, seq=counter.next(1)) for _ in range(7)]
    stream = b"".join(encoded)
    lost = len(encoded[0]) + 5  # one byte lost in the second frame
    frames, stats = decode_frames(stream[:lost] + stream[lost + 1:])
    assert stats.errors() == 1
    tracker = SequenceTracker()
    updates = [tracker.update(f.seq, f.flags) for f in frames]
    assert [u.index for u in updates] == [U32 - 3, U32 - 1, U32, U32 + 1, U32 + 2, U32 + 3]
    assert updates[1] == ("gap", U32 - 1, U32 - 2, 1)


# ---------------------------------------------------------------------------------------------- payloads


def _round_trip(msg, **header):
    frames, stats = decode_frames(encode_message(msg, **header))
    assert stats.frames == 1 and stats.errors() == 0
    assert frames[0].type == msg.TYPE
    return frames[0], decode_payload(frames[0])


@pytest.mark.parametrize("msg", [
    Ident("GPR-X1", "SN0042", "1.2.3", {"kind": "gpr", "streams": [1], "centre_frequency_hz": 5e8}),
    Command(0, "configure", {"n_samples": 512, "time_window_ns": 50.0, "trigger": "wheel", "ticks_per_m": 1000.0}),
    Command(U32 - 1, "ping"),
    Ack(12, {"fs_hz": 48000.0, "note": "ünïcode"}),
    Ack(13),
    Nack(14, "unknown command 'jump'"),
    Log("buffer 80 % full", "warning"),
    Nmea("$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47\r\n"),
    Status(0.25, 3, 41.5, 11.75),
])
def test_control_and_text_messages_round_trip(msg):
    frame, out = _round_trip(msg, stream=0, seq=5, device_time_ns=123)
    assert out == msg
    assert (frame.seq, frame.device_time_ns) == (5, 123)


def test_status_nan_and_future_extra_bytes():
    frame, out = _round_trip(Status(math.nan, 0))
    assert math.isnan(out.buffer_fill) and math.isnan(out.temperature_c) and out.overruns == 0
    longer = Frame(MessageType.STATUS, 0, 0, 0, 0, Status(0.5, 7, 20.0, 5.0).pack() + b"\x00\x01\x02\x03\x04")
    assert decode_payload(longer) == Status(0.5, 7, 20.0, 5.0)  # an empty next_seq table, then future fields


def test_status_next_seq_table():
    status = Status(0.5, 7, 20.0, 5.0, next_seq=((1, 41), (2, U32 - 1)))
    payload = status.pack()
    assert len(payload) == 16 + 1 + 2 * 5 and payload[16:22] == bytes([2, 1, 41, 0, 0, 0])
    assert decode_payload(Frame(MessageType.STATUS, 0, 0, 0, 0, payload + b"\xff")) == status
    with pytest.raises(ProtocolError, match="needs 27 bytes, got 26"):
        decode_payload(Frame(MessageType.STATUS, 0, 0, 0, 0, payload[:-1]))
    with pytest.raises(ProtocolError, match="next_seq seq"):
        Status(0.5, 0, next_seq=((1, U32),)).pack()


INT24_EDGES = np.array([0, 1, -1, 255, 256, -256, 65535, -65536, (1 << 23) - 1, -(1 << 23)], np.int32)


@pytest.mark.parametrize("sample_format, samples, dtype", [
    ("int16", np.array([0, 1, -1, 32767, -32768, 1234], np.int16), np.int16),
    ("int24", INT24_EDGES, np.int32),
    ("int32", np.array([0, -1, 2 ** 31 - 1, -2 ** 31], np.int32), np.int32),
    ("float32", np.array([0.0, -1.5, 3.25e-3, np.inf], np.float32), np.float32),
])
def test_gpr_trace_round_trip_every_sample_format(sample_format, samples, dtype):
    msg = GprTrace(2 ** 40 + 5, -123456789, 3, 16, samples, sample_format)
    frame, out = _round_trip(msg, stream=1, seq=9, device_time_ns=10 ** 12, flags=FLAG_CLIPPED)
    assert frame.flags == FLAG_CLIPPED
    assert (out.trace_index, out.encoder_ticks, out.channel, out.stacks, out.sample_format) == (
        2 ** 40 + 5, -123456789, 3, 16, sample_format)
    assert out.samples.dtype == dtype and out.samples.shape == samples.shape
    np.testing.assert_array_equal(out.samples, samples)
    assert len(frame.payload) == 24 + samples.size * {"int16": 2, "int24": 3, "int32": 4, "float32": 4}[
        sample_format]


@pytest.mark.parametrize("sample_format", ["int16", "int24", "int32", "float32"])
def test_audio_block_round_trip_16_channels(sample_format):
    rng = np.random.default_rng(7)
    lo, hi = {"int16": (-2 ** 15, 2 ** 15), "int24": (-2 ** 23, 2 ** 23), "int32": (-2 ** 31, 2 ** 31),
              "float32": (-1, 1)}[sample_format]
    if sample_format == "float32":
        samples = rng.uniform(lo, hi, (1024, 16)).astype(np.float32)
    else:
        samples = rng.integers(lo, hi, (1024, 16)).astype(np.int16 if sample_format == "int16" else np.int32)
    frame, out = _round_trip(AudioBlock(3 * 1024, samples, sample_format), stream=2, seq=3)
    assert out.first_frame == 3072 and (out.n_frames, out.n_channels) == (1024, 16)
    np.testing.assert_array_equal(out.samples, samples)
    if sample_format != "int24":
        assert not out.samples.flags.owndata and not out.samples.flags.writeable  # zero-copy view of the payload


def test_audio_block_is_interleaved_on_the_wire():
    samples = np.array([[1, 2, 3], [4, 5, 6]], np.int16)  # frame 0: channels 1, 2, 3
    payload = AudioBlock(0, samples, "int16").pack()
    assert payload[16:] == struct.pack("<6h", 1, 2, 3, 4, 5, 6)
    assert payload[:16] == struct.pack("<QIHBB", 0, 2, 3, 1, 0)


def test_int24_is_three_bytes_little_endian_sign_extended():
    wire_bytes = bytes.fromhex("010000" "ffffff" "ffff7f" "000080" "563412" "efcdab")
    values = unpack_samples(wire_bytes, 0, 6, "int24")
    assert values.tolist() == [1, -1, 8388607, -8388608, 0x123456, 0xABCDEF - (1 << 24)]
    assert GprTrace(0, 0, 0, 1, values, "int24").pack()[24:] == wire_bytes


@pytest.mark.parametrize("msg, match", [
    (GprTrace(0, 0, 0, 1, np.array([1 << 23], np.int32), "int24"), r"\[-8388608, 8388607\]"),
    (GprTrace(0, 0, 0, 1, np.array([40000], np.int32), "int16"), r"\[-32768, 32767\]"),
    (GprTrace(0, 0, 0, 1, np.array([0.5]), "int16"), "integer array"),
    (GprTrace(0, 0, 0, 1, np.zeros(4, np.int16), "int12"), "sample_format"),
    (GprTrace(0, 0, 256, 1, np.zeros(4, np.int16)), "channel"),
    (GprTrace(0, 0, 0, 1, np.zeros((2, 2), np.int16)), "1-D"),
    (AudioBlock(0, np.zeros(16, np.int32)), r"n_frames >= 1"),
    (AudioBlock(-1, np.zeros((2, 2), np.int32)), "first_frame"),
    (Command(U32, "ping"), "id"),
    (Command(1, ""), "cmd"),
    (Ack(1, [1, 2]), "result"),
    (Log("x", "fatal"), "level"),
    (Nmea("°"), "ASCII"),
    (Status(0.5, -1), "overruns"),
    (Ident("m", "s", "f", {"x": math.nan}), "strict JSON"),
])
def test_pack_refuses_bad_messages(msg, match):
    with pytest.raises(ProtocolError, match=match):
        msg.pack()


def _frame(msg_type, payload):
    return Frame(msg_type, 0, 0, 0, 0, payload)


GOOD_GPR = GprTrace(1, 2, 0, 1, np.arange(4, dtype=np.int16)).pack()
GOOD_AUDIO = AudioBlock(0, np.zeros((2, 3), np.int32), "int24").pack()


@pytest.mark.parametrize("msg_type, payload, match", [
    (MessageType.GPR_TRACE, GOOD_GPR[:20], "at least 24 bytes"),
    (MessageType.GPR_TRACE, GOOD_GPR[:-1], "need 32 bytes, got 31"),
    (MessageType.GPR_TRACE, GOOD_GPR[:23] + b"\x09" + GOOD_GPR[24:], "sample_format code 9"),
    (MessageType.GPR_TRACE, GOOD_GPR[:16] + b"\x00\x00\x00\x00" + GOOD_GPR[20:24], "n_samples"),
    (MessageType.AUDIO_BLOCK, GOOD_AUDIO + b"\x00", "need 34 bytes, got 35"),
    (MessageType.AUDIO_BLOCK, GOOD_AUDIO[:8] + b"\x00\x00\x00\x00" + GOOD_AUDIO[12:16], "n_frames"),
    (MessageType.STATUS, b"\x00" * 15, "at least 16 bytes"),
    (MessageType.NMEA, b"$GP\xff", "ASCII"),
    (MessageType.IDENT, b"\xff{}", "UTF-8 JSON"),
    (MessageType.IDENT, b"[1, 2]", "JSON object"),
    (MessageType.IDENT, b'{"model": "m", "serial": "s"}', "firmware"),
    (MessageType.IDENT, b'{"model": 1, "serial": "s", "firmware": "f"}', "model"),
    (MessageType.CMD, b'{"id": -1, "cmd": "ping"}', "id"),
    (MessageType.CMD, b'{"id": true, "cmd": "ping"}', "id"),
    (MessageType.CMD, b'{"id": 1, "cmd": "ping", "args": []}', "args"),
    (MessageType.ACK, b'{"result": {}}', "'id'"),
    (MessageType.NACK, b'{"id": 3}', "error"),
    (MessageType.LOG, b'{"level": "info"}', "text"),
    (MessageType.LOG, b"[" * 100000, "JSON"),
])
def test_decode_payload_refuses_malformed_payloads(msg_type, payload, match):
    with pytest.raises(ProtocolError, match=match):
        decode_payload(_frame(msg_type, payload))


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                           lambda children: st.lists(children, max_size=4)
                           | st.dictionaries(st.text(max_size=8), children, max_size=4), max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(msg_type=st.sampled_from(list(MessageType)),
       payload=st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode())
       | st.dictionaries(st.sampled_from(["id", "cmd", "args", "result", "error", "text", "level", "model",
                                          "serial", "firmware", "capabilities"]), json_values).map(
           lambda d: json.dumps(d).encode()))
def test_decode_payload_raises_only_protocol_error(msg_type, payload):
    try:
        decode_payload(_frame(msg_type, payload))
    except ProtocolError:
        pass


# ---------------------------------------------------------------------------------------------- configure


def test_gpr_config_round_trips_through_a_command():
    config = GprConfig(n_samples=512, time_window_ns=40.0, trigger="wheel", ticks_per_m=1000.0,
                       trace_spacing_m=0.02, stacks=8)
    frames, _ = decode_frames(encode_message(Command(1, "configure", config.to_args())))
    command = decode_payload(frames[0])
    assert command.args == {"n_samples": 512, "time_window_ns": 40.0, "trigger": "wheel", "ticks_per_m": 1000.0,
                            "trace_spacing_m": 0.02, "stacks": 8}
    assert GprConfig.from_args(command.args) == config


def test_mic_array_config_round_trip_and_defaults():
    config = MicArrayConfig.from_args({"channels": 16, "fs_hz": 48000})
    assert config.to_args() == {"channels": 16, "fs_hz": 48000, "block_frames": 1024, "sample_format": "int24"}
    assert MicArrayConfig.from_args(config.to_args()) == config


@pytest.mark.parametrize("cls, args, match", [
    (GprConfig, {"n_samples": 512, "time_window_ns": 40.0, "trigger": "time"}, "trace_rate_hz"),
    (GprConfig, {"n_samples": 512, "time_window_ns": 40.0, "trigger": "wheel"}, "ticks_per_m"),
    (GprConfig, {"n_samples": 512, "time_window_ns": 40.0, "trigger": "laser", "trace_rate_hz": 100},
     "trigger"),
    (GprConfig, {"n_samples": 0, "time_window_ns": 40.0, "trace_rate_hz": 100}, "n_samples"),
    (GprConfig, {"n_samples": 512, "time_window_ns": -1, "trace_rate_hz": 100}, "time_window_ns"),
    (GprConfig, {"n_samples": 512, "time_window_ns": 40.0, "trace_rate_hz": 100, "stacks": 0}, "stacks"),
    (GprConfig, {"n_samples": 512, "time_window_ns": 40.0, "trace_rate_hz": 100, "gain_db": 3}, "gain_db"),
    (GprConfig, {"time_window_ns": 40.0}, "n_samples"),
    (MicArrayConfig, {"channels": 16, "fs_hz": 48000, "sample_format": "int8"}, "sample_format"),
    (MicArrayConfig, {"channels": 16, "fs_hz": 48000, "sample_format": ["int16"]}, "sample_format"),
    (MicArrayConfig, {"channels": 0, "fs_hz": 48000}, "channels"),
    (MicArrayConfig, {"channels": 16, "fs_hz": math.inf}, "fs_hz"),
    (MicArrayConfig, [16], "JSON object"),
])
def test_configure_refuses_bad_args(cls, args, match):
    with pytest.raises(ProtocolError, match=match):
        cls.from_args(args)


# ---------------------------------------------------------------------------------------------- the document


DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def cobs_encode_doc(src: bytes) -> bytes:
    """The C cobs_encode of docs/protocol.md, line by line."""
    dst = bytearray(len(src) + len(src) // 254 + 1)
    code_pos, out, code = 0, 1, 1
    for i, byte in enumerate(src):
        if byte != 0:
            dst[out] = byte
            out += 1
            code += 1
        if byte == 0 or code == 0xFF:
            dst[code_pos] = code
            code = 1
            code_pos = out
            if byte == 0 or i + 1 < len(src):
                out += 1
    if code_pos < out:
        dst[code_pos] = code
    return bytes(dst[:out])


def cobs_decode_doc(src: bytes) -> bytes | None:
    """The C cobs_decode of docs/protocol.md, line by line (None for -1)."""
    out = bytearray()
    i, n = 0, len(src)
    while i < n:
        code = src[i]
        i += 1
        if code == 0 or code - 1 > n - i:
            return None
        for _ in range(1, code):
            if src[i] == 0:
                return None
            out.append(src[i])
            i += 1
        if code != 0xFF and i < n:
            out.append(0)
    return bytes(out)


@settings(max_examples=300, deadline=None)
@given(plain=st.binary(max_size=800) | st.lists(st.sampled_from([0, 1, 0xFF]), max_size=800).map(bytes),
       noise=st.binary(max_size=300))
def test_documented_c_cobs_matches_the_library(plain, noise):
    encoded = cobs.encode(plain)
    assert cobs_encode_doc(plain) == encoded
    assert cobs_decode_doc(encoded) == plain
    try:
        expected = cobs.decode(noise)
    except cobs.DecodeError:
        expected = None
    assert cobs_decode_doc(noise) == expected


def _doc_wire_examples() -> list[bytes]:
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"On the wire, \d+ bytes[^\n]*\n\n```\n(.*?)```", text, flags=re.S)
    return [bytes.fromhex(block) for block in blocks]


def test_document_example_frames_decode_as_described():
    ping, trace = _doc_wire_examples()
    assert len(ping) == 57 and len(trace) == 60
    frames, stats = decode_frames(ping + trace)
    assert stats.errors() == 0
    assert frames[0][:5] == (MessageType.CMD, 0, 0, 7, 1_700_000_000_123_456_789)
    assert decode_payload(frames[0]) == Command(7, "ping")
    assert frames[1][:5] == (MessageType.GPR_TRACE, 1, FLAG_CLIPPED, 1000, 2_500_000_000)
    msg = decode_payload(frames[1])
    assert (msg.trace_index, msg.encoder_ticks, msg.stacks, msg.channel, msg.sample_format) == (
        1000, -25, 4, 0, "int16")
    assert msg.samples.tolist() == [0, 1, -1, 32767, -32768]
    assert trace == encode_message(GprTrace(1000, -25, 0, 4, np.array([0, 1, -1, 32767, -32768], np.int16)),
                                   stream=1, seq=1000, flags=FLAG_CLIPPED, device_time_ns=2_500_000_000)


def test_tracker_sync_reports_frames_lost_after_the_last_received():
    tracker = SequenceTracker()
    assert tracker.sync(0) is None  # primed before any frame: seq 0 (RESET flag) is expected, not a reset
    assert tracker.update(0, FLAG_RESET) == ("ok", 0, 0, 0)
    assert tracker.update(1) == ("ok", 1, 0, 0)
    assert tracker.sync(2) is None  # nothing lost
    assert tracker.sync(5) == ("gap", 4, 2, 3)  # seq 2, 3, 4 lost after the last received frame
    assert tracker.update(5) == ("ok", 5, 0, 0)  # not counted twice
    assert tracker.sync(3) is None  # a STATUS older than the last frame: ignored
    assert tracker.missing == 3 and tracker.received == 3


def test_tracker_sender_reset_starts_a_new_epoch_even_when_seq_looks_like_a_gap():
    tracker = SequenceTracker()
    for seq in range(3):
        tracker.update(seq)
    tracker.sender_reset()
    assert tracker.epoch_announced
    assert tracker.update(6) == ("reset", 9, 3, 6)  # seq 0..5 of the new epoch lost, not a gap of 3
    assert not tracker.epoch_announced
    tracker.sender_reset()
    assert tracker.sync(0) is None
    assert tracker.sync(4) == ("reset", 13, 10, 4)  # the new epoch's first 4 frames lost
    assert tracker.update(4) == ("ok", 14, 0, 0)
    assert tracker.missing == 10 and tracker.resets == 2


def test_tracker_primed_at_a_later_seq():
    tracker = SequenceTracker()
    tracker.sync(40)
    assert tracker.update(42) == ("gap", 42, 40, 2)
