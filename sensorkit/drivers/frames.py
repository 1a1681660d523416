"""Wire protocol v1, framing layer: COBS + CRC-32C frames, a streaming decoder and a sequence tracker.

Pure code, no I/O. The byte layout is specified in docs/protocol.md; this module is the reference for it.

A decoded frame (before COBS, all little-endian)::

    u16 magic | u8 version | u8 type | u8 stream | u8 flags | u16 header_len | u32 seq |
    u64 device_time_ns | header extension (header_len - 20 bytes) | payload | u32 CRC-32C

On the wire each frame is COBS-encoded and followed by one 0x00 byte.
"""

import struct
from dataclasses import dataclass, fields
from enum import IntEnum
from typing import NamedTuple

from cobs import cobs
from crc32c import crc32c

from sensorkit.errors import SensorkitError

#: The two first bytes of every decoded frame are b"SK" (the u16 0x4B53 little-endian).
MAGIC = 0x4B53
#: Major protocol version; a host drops frames of any other version (compatible additions grow header_len instead).
VERSION = 1
#: Size of the fixed v1 header in bytes; header_len is at least this.
HEADER_SIZE = 20
CRC_SIZE = 4
#: Smallest valid decoded frame: header and CRC, empty payload.
MIN_FRAME_SIZE = HEADER_SIZE + CRC_SIZE
#: Default bound on a decoded frame (header + payload + CRC), bytes.
DEFAULT_MAX_FRAME_SIZE = 1 << 20
#: The stream of control messages (IDENT, CMD, ACK, NACK, STATUS, LOG) by convention.
CONTROL_STREAM = 0

SEQ_MODULUS = 1 << 32

#: Flag bits of the header `flags` byte. Bits 4..7 are reserved: senders write 0, receivers ignore them.
FLAG_RESET = 0x01  # first frame of this stream since the device booted or was reset; seq restarted at 0
FLAG_OVERRUN = 0x02  # the device dropped frames of this stream just before this one (seq counts them)
FLAG_CLIPPED = 0x04  # at least one sample of this frame is saturated
FLAG_TIME_INVALID = 0x08  # device_time_ns carries no meaning (device clock not running)

_HEADER = struct.Struct("<HBBBBHIQ")
_CRC = struct.Struct("<I")
_ZERO = b"\x00"


class ProtocolError(SensorkitError, ValueError):
    """A frame, payload or message does not follow wire protocol v1 (the message says which field and why)."""


class MessageType(IntEnum):
    """Values of the header `type` byte."""

    IDENT = 0x01
    CMD = 0x02
    ACK = 0x03
    NACK = 0x04
    GPR_TRACE = 0x10
    AUDIO_BLOCK = 0x11
    NMEA = 0x12
    STATUS = 0x20
    LOG = 0x21


_KNOWN_TYPES = frozenset(int(t) for t in MessageType)


class Frame(NamedTuple):
    """One decoded frame: header fields, header extension bytes (unknown to v1, kept raw) and raw payload."""

    type: int  # a MessageType when known, else the raw int
    stream: int
    flags: int
    seq: int
    device_time_ns: int
    payload: bytes
    header_ext: bytes = b""


def crc32c_of(data) -> int:
    """CRC-32C (Castagnoli, reflected poly 0x82F63B78, init and final xor 0xFFFFFFFF) of a bytes-like object."""
    return crc32c(data)


def _check_uint(name: str, value: int, bits: int) -> None:
    if not isinstance(value, int) or not 0 <= value < (1 << bits):
        raise ProtocolError(f"frame header: {name} must be an integer in [0, 2**{bits}), got {value!r}")


def encode_frame(msg_type: int, payload: bytes = b"", *, stream: int = 0, seq: int = 0, flags: int = 0,
                 device_time_ns: int = 0, header_ext: bytes = b"") -> bytes:
    """Build one wire frame: header + payload + CRC-32C, COBS-encoded, followed by the 0x00 delimiter."""
    _check_uint("type", msg_type, 8)
    _check_uint("stream", stream, 8)
    _check_uint("flags", flags, 8)
    _check_uint("seq", seq, 32)
    _check_uint("device_time_ns", device_time_ns, 64)
    header_len = HEADER_SIZE + len(header_ext)
    _check_uint("header_len", header_len, 16)
    header = _HEADER.pack(MAGIC, VERSION, msg_type, stream, flags, header_len, seq, device_time_ns)
    if header_ext:
        header += bytes(header_ext)
    crc = crc32c(payload, crc32c(header))
    return cobs.encode(b"".join((header, payload, _CRC.pack(crc)))) + _ZERO


@dataclass
class DecoderStats:
    """Counters of a FrameDecoder. Every non-empty chunk between two 0x00 bytes lands in exactly one counter."""

    frames: int = 0  # frames decoded (including unknown types)
    bytes_in: int = 0  # bytes fed
    cobs_errors: int = 0  # chunk is not valid COBS
    too_short: int = 0  # decoded frame shorter than header + CRC
    crc_errors: int = 0  # CRC-32C mismatch
    bad_magic: int = 0  # CRC fine but magic is not b"SK"
    bad_version: int = 0  # CRC fine but version is not 1
    bad_header_len: int = 0  # header_len < 20 or beyond the payload end
    oversize: int = 0  # frame longer than the decoder's bound, discarded unread
    unknown_type: int = 0  # decoded and delivered, type not in MessageType (also counted in frames)

    def errors(self) -> int:
        """Chunks dropped for any reason."""
        return (self.cobs_errors + self.too_short + self.crc_errors + self.bad_magic + self.bad_version
                + self.bad_header_len + self.oversize)

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class FrameDecoder:
    """Streaming decoder: feed bytes in any chunking, get whole frames back. Never raises on any input.

    Bytes are buffered until a 0x00 delimiter; each chunk between delimiters is COBS-decoded and checked
    (length, CRC-32C, magic, version, header_len). Bad chunks are dropped and counted in `stats`;
    frames of unknown type are delivered (raw payload) and counted in `stats.unknown_type`.
    Buffered bytes are bounded: a chunk longer than the COBS encoding of a `max_frame_size` frame
    is discarded up to the next 0x00 and counted once in `stats.oversize`.
    """

    def __init__(self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE):
        if not isinstance(max_frame_size, int) or max_frame_size < MIN_FRAME_SIZE:
            raise ValueError(f"max_frame_size must be an int >= {MIN_FRAME_SIZE} bytes, got {max_frame_size!r}")
        self.max_frame_size = max_frame_size
        self.max_encoded_size = cobs.max_encoded_length(max_frame_size)
        self.stats = DecoderStats()
        self._buf = bytearray()
        self._discarding = False  # inside an oversize chunk: drop bytes up to the next 0x00

    @property
    def buffered(self) -> int:
        """Bytes held while waiting for a delimiter (at most max_encoded_size)."""
        return len(self._buf)

    def reset(self) -> None:
        """Forget buffered bytes (e.g. after a reconnect); counters are kept."""
        self._buf.clear()
        self._discarding = False

    def feed(self, data) -> list[Frame]:
        """Add received bytes; return the frames completed by them, in order."""
        if not data:
            return []
        if not isinstance(data, (bytes, bytearray)):
            data = bytes(data)
        self.stats.bytes_in += len(data)
        if data.find(_ZERO) < 0:
            if not self._discarding:
                self._buf += data
                if len(self._buf) > self.max_encoded_size:
                    self._start_discarding()
            return []
        chunks = data.split(_ZERO)
        tail = chunks.pop()
        if self._discarding:
            chunks[0] = b""
            self._discarding = False
        elif self._buf:
            self._buf += chunks[0]
            chunks[0] = bytes(self._buf)
            self._buf.clear()
        frames = []
        for chunk in chunks:
            if chunk:
                frame = self._decode_chunk(chunk)
                if frame is not None:
                    frames.append(frame)
        if tail:
            self._buf += tail
            if len(self._buf) > self.max_encoded_size:
                self._start_discarding()
        return frames

    def _start_discarding(self) -> None:
        self.stats.oversize += 1
        self._buf.clear()
        self._discarding = True

    def _decode_chunk(self, chunk: bytes) -> Frame | None:
        stats = self.stats
        if len(chunk) > self.max_encoded_size:
            stats.oversize += 1
            return None
        try:
            raw = cobs.decode(chunk)
        except cobs.DecodeError:
            stats.cobs_errors += 1
            return None
        n = len(raw)
        if n < MIN_FRAME_SIZE:
            stats.too_short += 1
            return None
        if n > self.max_frame_size:
            stats.oversize += 1
            return None
        view = memoryview(raw)
        if crc32c(view[:-CRC_SIZE]) != _CRC.unpack_from(raw, n - CRC_SIZE)[0]:
            stats.crc_errors += 1
            return None
        magic, version, msg_type, stream, flags, header_len, seq, device_time_ns = _HEADER.unpack_from(raw)
        if magic != MAGIC:
            stats.bad_magic += 1
            return None
        if version != VERSION:
            stats.bad_version += 1
            return None
        if header_len < HEADER_SIZE or header_len > n - CRC_SIZE:
            stats.bad_header_len += 1
            return None
        stats.frames += 1
        if msg_type in _KNOWN_TYPES:
            msg_type = MessageType(msg_type)
        else:
            stats.unknown_type += 1
        header_ext = raw[HEADER_SIZE:header_len] if header_len > HEADER_SIZE else b""
        return Frame(msg_type, stream, flags, seq, device_time_ns, raw[header_len:n - CRC_SIZE], header_ext)


def decode_frames(data: bytes) -> tuple[list[Frame], DecoderStats]:
    """Decode a complete byte string at once (bytes after the last 0x00 are ignored)."""
    decoder = FrameDecoder()
    frames = decoder.feed(data)
    return frames, decoder.stats


class SeqCounter:
    """Sender side: the next u32 seq of each stream, from `start` (0 after a reset), wrapping at 2**32."""

    def __init__(self, start: int = 0):
        if not isinstance(start, int) or not 0 <= start < SEQ_MODULUS:
            raise ValueError(f"SeqCounter: start must be a u32, got {start!r}")
        self.start = start
        self._next: dict[int, int] = {}

    def next(self, stream: int) -> int:
        """The seq to put in the next frame of `stream`."""
        seq = self._next.get(stream, self.start)
        self._next[stream] = (seq + 1) % SEQ_MODULUS
        return seq

    def peek(self, stream: int) -> int:
        """The seq the next frame of `stream` will take (without taking it)."""
        return self._next.get(stream, self.start)


class SeqUpdate(NamedTuple):
    """What SequenceTracker.update learnt from one received seq.

    kind: "first" | "ok" | "gap" | "reset" | "duplicate".
    index: the frame's unwrapped sequence index (monotonic over wraps and device resets).
    missing_first, missing_count: the unwrapped indices [missing_first, missing_first + missing_count) that were
    lost just before this frame (both 0 when none).
    """

    kind: str
    index: int
    missing_first: int = 0
    missing_count: int = 0


class SequenceTracker:
    """Receiver side, one per (device, stream): unwraps u32 seq into a monotonic index and reports losses.

    Rules, for a received seq after the previous accepted one `last` (all mod 2**32, d = (seq - last) mod 2**32):

    - flags has FLAG_RESET: device reset; the new epoch's seq 0 gets index last_index + 1, so frames 0..seq-1
      of the new epoch are reported missing.
    - d == 0: duplicate (state unchanged).
    - 1 <= d < 2**31 (forward): "ok" when d == 1, else "gap" of d - 1 frames; except when d - 1 > max_gap
      and seq < reset_seq_max, read as a reset whose RESET-flagged frame was lost.
    - d >= 2**31 (backward by b = 2**32 - d): a reset when seq < reset_seq_max (the device counts from 0 again)
      or b > duplicate_window; otherwise a duplicate (a late or repeated frame; state unchanged).

    A byte stream neither reorders nor repeats frames, so resets are preferred to duplicates when in doubt:
    misreading a reset as a duplicate would drop every following frame. A reset whose flagged frames were lost
    and whose new seq lands ahead of the old one within max_gap is indistinguishable from a gap.
    """

    def __init__(self, reset_seq_max: int = 16, duplicate_window: int = 1024, max_gap: int = 1 << 24):
        for name, value in (("reset_seq_max", reset_seq_max), ("duplicate_window", duplicate_window),
                            ("max_gap", max_gap)):
            if not isinstance(value, int) or not 0 <= value < (1 << 31):
                raise ValueError(f"SequenceTracker: {name} must be an int in [0, 2**31), got {value!r}")
        self.reset_seq_max = reset_seq_max
        self.duplicate_window = duplicate_window
        self.max_gap = max_gap
        self.last_index: int | None = None
        self.received = 0
        self.missing = 0
        self.duplicates = 0
        self.resets = 0
        #: the next frame starts a new epoch the host expected (the sender announced its reset, or the tracker was
        #: primed by sync() before any frame): a RESET flag on it is no surprise
        self.epoch_announced = False

    @property
    def last_seq(self) -> int | None:
        return None if self.last_index is None else self._last_seq

    def update(self, seq: int, flags: int = 0) -> SeqUpdate:
        """Account for one received frame with this u32 seq and header flags."""
        if not isinstance(seq, int) or not 0 <= seq < SEQ_MODULUS:
            raise ValueError(f"SequenceTracker.update: seq must be a u32, got {seq!r}")
        if self.last_index is None:
            if flags & FLAG_RESET:
                self.resets += 1
                return self._accept(SeqUpdate("reset", seq, 0, seq), seq)
            return self._accept(SeqUpdate("first", seq), seq)
        last = self.last_index
        if self._new_epoch or (flags & FLAG_RESET and not self._primed):
            return self._reset(seq)
        d = (seq - self._last_seq) % SEQ_MODULUS
        if d == 0:
            self.duplicates += 1
            return SeqUpdate("duplicate", last)
        if d < (1 << 31):
            if d - 1 > self.max_gap and seq < self.reset_seq_max:
                return self._reset(seq)
            kind = "ok" if d == 1 else "gap"
            return self._accept(SeqUpdate(kind, last + d, last + 1, d - 1), seq)
        back = SEQ_MODULUS - d
        if seq < self.reset_seq_max or back > self.duplicate_window:
            return self._reset(seq)
        self.duplicates += 1
        return SeqUpdate("duplicate", last - back)

    def _reset(self, seq: int) -> SeqUpdate:
        self.resets += 1
        first = self.last_index + 1
        return self._accept(SeqUpdate("reset", first + seq, first, seq), seq)

    def _accept(self, update: SeqUpdate, seq: int) -> SeqUpdate:
        if update.missing_count == 0 and update.missing_first:
            update = update._replace(missing_first=0)
        self.last_index = update.index
        self._last_seq = seq
        self.received += 1
        self.missing += update.missing_count
        self._new_epoch = False
        self._primed = False
        self.epoch_announced = False
        return update

    _new_epoch = False  # the sender announced a reset: the next seq starts a new epoch whatever its value
    _primed = False  # sync() set the expected seq before any frame: a RESET flag on the expected seq is no reset

    def sender_reset(self) -> None:
        """The sender announced that it was reset (IDENT with the RESET flag): its next frame of this stream starts a
        new epoch at seq 0, whatever seq arrives (frames 0..seq-1 of the new epoch are then missing)."""
        if self.last_index is not None:
            self._new_epoch = True
        self.epoch_announced = True

    def sync(self, next_seq: int) -> SeqUpdate | None:
        """The sender says the next frame of this stream will take ``next_seq`` (a STATUS next_seq entry).

        Frames between the last one received and next_seq were lost: returns a "gap" update for them (a "reset"
        update when a new epoch announced by sender_reset lost its first frames), None when nothing is missing.
        A tracker that has seen no frame yet is primed: its next frame is expected at next_seq.
        """
        if not isinstance(next_seq, int) or not 0 <= next_seq < SEQ_MODULUS:
            raise ValueError(f"SequenceTracker.sync: next_seq must be a u32, got {next_seq!r}")
        if self.last_index is None or self._primed:
            self.last_index = next_seq - 1
            self._last_seq = (next_seq - 1) % SEQ_MODULUS
            self._primed = True
            self.epoch_announced = True
            return None
        if self._new_epoch:
            if next_seq == 0:
                return None
            self._new_epoch = False
            self.resets += 1
            first = self.last_index + 1
            update = SeqUpdate("reset", first + next_seq - 1, first, next_seq)
        else:
            d = (next_seq - self._last_seq) % SEQ_MODULUS
            if d <= 1 or d >= (1 << 31):
                return None  # nothing missing (or a STATUS older than the last frame: ignored)
            update = SeqUpdate("gap", self.last_index + d - 1, self.last_index + 1, d - 1)
        self.last_index = update.index
        self._last_seq = (next_seq - 1) % SEQ_MODULUS
        self.missing += update.missing_count
        return update
