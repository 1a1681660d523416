"""Wire protocol v1, message layer: typed payloads of each frame type, and the configure command schemas.

Pure code, no I/O; the byte layouts are specified in docs/protocol.md. Control messages (IDENT, CMD, ACK, NACK,
LOG) carry UTF-8 JSON objects; data messages (GPR_TRACE, AUDIO_BLOCK, STATUS) are packed little-endian binary;
NMEA is ASCII text. `unpack`/`decode_payload` raise ProtocolError (a ValueError) on any malformed payload, and
nothing else; the FrameDecoder underneath never raises.
"""

import json
import math
import struct
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from sensorkit.drivers.frames import Frame, MessageType, ProtocolError, encode_frame

#: Sample formats: name -> (wire code, bytes per sample).
SAMPLE_FORMATS = {"int16": (1, 2), "int24": (2, 3), "int32": (3, 4), "float32": (4, 4)}
_FORMAT_BY_CODE = {code: name for name, (code, _) in SAMPLE_FORMATS.items()}
_WIRE_DTYPE = {"int16": np.dtype("<i2"), "int32": np.dtype("<i4"), "float32": np.dtype("<f4")}
_OUT_DTYPE = {"int16": np.dtype(np.int16), "int24": np.dtype(np.int32), "int32": np.dtype(np.int32),
              "float32": np.dtype(np.float32)}
_INT_RANGE = {"int16": (-(1 << 15), (1 << 15) - 1), "int24": (-(1 << 23), (1 << 23) - 1),
              "int32": (-(1 << 31), (1 << 31) - 1)}

#: Command names of CMD messages.
COMMANDS = ("configure", "start", "stop", "ping", "reset", "identify")
LOG_LEVELS = ("debug", "info", "warning", "error")
GPR_TRIGGERS = ("wheel", "time")

_U32_MAX = (1 << 32) - 1
_U64_MAX = (1 << 64) - 1


# ---------------------------------------------------------------------------------------------------------------
# samples


def _check_sample_format(sample_format: str, what: str) -> None:
    if not isinstance(sample_format, str) or sample_format not in SAMPLE_FORMATS:
        raise ProtocolError(f"{what}: sample_format must be one of {sorted(SAMPLE_FORMATS)}, got {sample_format!r}")


def unpack_samples(buf, offset: int, count: int, sample_format: str) -> np.ndarray:
    """Read `count` little-endian samples from buf[offset:]; shape (count,).

    int16 -> int16, int24 and int32 -> int32, float32 -> float32. int16/int32/float32 are zero-copy read-only
    views of `buf` (on a little-endian host); int24 (3 bytes, two's complement) is sign-extended into a new array.
    The caller checks that buf holds count samples.
    """
    if sample_format == "int24":
        if offset >= 1:
            # each sample with the byte before it as one little-endian i32 (a stride-3 view, no copy); the
            # arithmetic shift drops that byte and sign-extends: one pass over the data
            whole = np.frombuffer(buf, np.uint8)
            view = np.ndarray((count,), "<i4", whole, offset - 1, (3,))
            return (view >> 8).astype(np.int32, copy=False)
        raw = np.frombuffer(buf, np.uint8, count=3 * count, offset=offset).reshape(count, 3)
        wide = np.empty((count, 4), np.uint8)
        wide[:, 0] = 0
        wide[:, 1:] = raw
        values = wide.view("<i4").reshape(count)
        values >>= 8  # arithmetic shift: sign-extends the top byte
        return values.astype(np.int32, copy=False)
    return np.frombuffer(buf, _WIRE_DTYPE[sample_format], count=count, offset=offset).astype(
        _OUT_DTYPE[sample_format], copy=False)


def pack_samples(samples: np.ndarray, sample_format: str, what: str = "samples") -> bytes:
    """Samples (any shape, C order) as little-endian wire bytes; integer formats need integer values in range."""
    _check_sample_format(sample_format, what)
    a = np.asarray(samples)
    if sample_format == "float32":
        if a.dtype.kind not in "fiu":
            raise ProtocolError(f"{what}: float32 samples need a real numeric array, got dtype {a.dtype}")
        return np.ascontiguousarray(a, dtype="<f4").tobytes()
    if a.dtype.kind not in "iu":
        raise ProtocolError(f"{what}: {sample_format} samples need an integer array, got dtype {a.dtype}")
    lo, hi = _INT_RANGE[sample_format]
    if a.size and not (a.dtype.itemsize <= 2 if sample_format == "int24" else
                       np.can_cast(a.dtype, _WIRE_DTYPE[sample_format])):
        a_min, a_max = int(a.min()), int(a.max())
        if a_min < lo or a_max > hi:
            raise ProtocolError(f"{what}: values must lie in [{lo}, {hi}] for {sample_format}, "
                                f"got [{a_min}, {a_max}]")
    if sample_format == "int24":
        wide = np.ascontiguousarray(a, dtype="<i4").reshape(-1)
        return wide.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    return np.ascontiguousarray(a, dtype=_WIRE_DTYPE[sample_format]).tobytes()


# ---------------------------------------------------------------------------------------------------------------
# JSON helpers

_MISSING = object()


def _json_pack(obj: dict, what: str) -> bytes:
    try:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ProtocolError(f"{what}: cannot be written as strict JSON: {exc}") from exc


def _json_unpack(payload: bytes, what: str) -> dict:
    try:
        obj = json.loads(bytes(payload).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError(f"{what} payload: expected a UTF-8 JSON object, {type(exc).__name__}: {exc}") from exc
    if not isinstance(obj, dict):
        raise ProtocolError(f"{what} payload: expected a JSON object, got {type(obj).__name__}")
    return obj


def _get(obj: dict, key: str, types, what: str, default=_MISSING):
    if key not in obj:
        if default is _MISSING:
            raise ProtocolError(f"{what}: missing field {key!r}")
        return default
    value = obj[key]
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise ProtocolError(f"{what}: field {key!r} must be {_type_names(types)}, got {value!r}")
    if not isinstance(value, types):
        raise ProtocolError(f"{what}: field {key!r} must be {_type_names(types)}, got {value!r}")
    return value


def _type_names(types) -> str:
    types = types if isinstance(types, tuple) else (types,)
    names = {str: "a string", int: "an integer", float: "a number", dict: "an object", bool: "a boolean",
             type(None): "null"}
    return " or ".join(names.get(t, t.__name__) for t in types)


def _check_types(what: str, **named) -> None:
    """named: field name -> (value, expected type); raises ProtocolError on the first mismatch."""
    for name, (value, expected) in named.items():
        if not isinstance(value, expected):
            raise ProtocolError(f"{what}: {name} must be {_type_names(expected)}, got {value!r}")


def _check_id(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _U32_MAX:
        raise ProtocolError(f"{what}: id must be an integer in [0, 2**32), got {value!r}")
    return value


def _check_uint(value, bits: int, what: str, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < (1 << bits):
        raise ProtocolError(f"{what}: {name} must be an integer in [0, 2**{bits}), got {value!r}")


# ---------------------------------------------------------------------------------------------------------------
# control messages (JSON)


@dataclass(frozen=True)
class Ident:
    """IDENT, device -> host: who the device is and what it can do (sent at boot and on `identify`)."""

    TYPE: ClassVar[MessageType] = MessageType.IDENT
    model: str
    serial: str
    firmware: str
    capabilities: dict = field(default_factory=dict)

    def pack(self) -> bytes:
        _check_types("IDENT", model=(self.model, str), serial=(self.serial, str), firmware=(self.firmware, str),
                     capabilities=(self.capabilities, dict))
        return _json_pack({"model": self.model, "serial": self.serial, "firmware": self.firmware,
                           "capabilities": self.capabilities}, "IDENT")

    @classmethod
    def unpack(cls, payload: bytes) -> "Ident":
        obj = _json_unpack(payload, "IDENT")
        return cls(_get(obj, "model", str, "IDENT"), _get(obj, "serial", str, "IDENT"),
                   _get(obj, "firmware", str, "IDENT"), _get(obj, "capabilities", dict, "IDENT", {}))


@dataclass(frozen=True)
class Command:
    """CMD, host -> device: {"id": u32, "cmd": name, "args": {...}}; answered by one ACK or NACK with the same id."""

    TYPE: ClassVar[MessageType] = MessageType.CMD
    id: int
    name: str
    args: dict = field(default_factory=dict)

    def pack(self) -> bytes:
        _check_id(self.id, "CMD")
        if not isinstance(self.name, str) or not self.name:
            raise ProtocolError(f"CMD: cmd must be a non-empty string, got {self.name!r}")
        _check_types("CMD", args=(self.args, dict))
        return _json_pack({"id": self.id, "cmd": self.name, "args": self.args}, "CMD")

    @classmethod
    def unpack(cls, payload: bytes) -> "Command":
        obj = _json_unpack(payload, "CMD")
        name = _get(obj, "cmd", str, "CMD")
        if not name:
            raise ProtocolError("CMD: cmd must be a non-empty string")
        return cls(_check_id(_get(obj, "id", int, "CMD"), "CMD"), name, _get(obj, "args", dict, "CMD", {}))


@dataclass(frozen=True)
class Ack:
    """ACK, device -> host: the command `id` succeeded; `result` holds its answer (e.g. the applied config)."""

    TYPE: ClassVar[MessageType] = MessageType.ACK
    id: int
    result: dict = field(default_factory=dict)

    def pack(self) -> bytes:
        _check_types("ACK", result=(self.result, dict))
        return _json_pack({"id": _check_id(self.id, "ACK"), "result": self.result}, "ACK")

    @classmethod
    def unpack(cls, payload: bytes) -> "Ack":
        obj = _json_unpack(payload, "ACK")
        return cls(_check_id(_get(obj, "id", int, "ACK"), "ACK"), _get(obj, "result", dict, "ACK", {}))


@dataclass(frozen=True)
class Nack:
    """NACK, device -> host: the command `id` was refused or failed; `error` says why, for a human."""

    TYPE: ClassVar[MessageType] = MessageType.NACK
    id: int
    error: str

    def pack(self) -> bytes:
        _check_types("NACK", error=(self.error, str))
        return _json_pack({"id": _check_id(self.id, "NACK"), "error": self.error}, "NACK")

    @classmethod
    def unpack(cls, payload: bytes) -> "Nack":
        obj = _json_unpack(payload, "NACK")
        return cls(_check_id(_get(obj, "id", int, "NACK"), "NACK"), _get(obj, "error", str, "NACK"))


@dataclass(frozen=True)
class Log:
    """LOG, device -> host: a line of text for the operator; level is debug | info | warning | error."""

    TYPE: ClassVar[MessageType] = MessageType.LOG
    text: str
    level: str = "info"

    def pack(self) -> bytes:
        if self.level not in LOG_LEVELS:
            raise ProtocolError(f"LOG: level must be one of {LOG_LEVELS}, got {self.level!r}")
        _check_types("LOG", text=(self.text, str))
        return _json_pack({"level": self.level, "text": self.text}, "LOG")

    @classmethod
    def unpack(cls, payload: bytes) -> "Log":
        obj = _json_unpack(payload, "LOG")
        return cls(_get(obj, "text", str, "LOG"), _get(obj, "level", str, "LOG", "info"))


# ---------------------------------------------------------------------------------------------------------------
# data messages (binary)


@dataclass(frozen=True)
class Nmea:
    """NMEA, device -> host: raw NMEA 0183 sentences as ASCII text ("$GPGGA,...*hh\\r\\n"), unchecked here."""

    TYPE: ClassVar[MessageType] = MessageType.NMEA
    text: str

    def pack(self) -> bytes:
        try:
            return self.text.encode("ascii")
        except (UnicodeEncodeError, AttributeError) as exc:
            raise ProtocolError(f"NMEA: text must be ASCII: {exc}") from exc

    @classmethod
    def unpack(cls, payload: bytes) -> "Nmea":
        try:
            return cls(bytes(payload).decode("ascii"))
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"NMEA payload: expected ASCII text, {exc}") from exc


_STATUS = struct.Struct("<fIff")
_STATUS_SEQ = struct.Struct("<BI")


@dataclass(frozen=True)
class Status:
    """STATUS, device -> host: health. NaN means not measured.

    buffer_fill: fraction of the device's output buffer in use, 0..1; overruns: frames dropped by the device since
    boot; temperature_c: board temperature, degC; supply_v: supply voltage, V.
    next_seq: ((stream, seq), ...) the seq the next frame of each data stream will take: every frame of that
    stream with a lower seq was produced before this STATUS (sent, or dropped by the device), so the host can
    report frames lost after the last one it received (docs/protocol.md 5.6). Empty: not reported.
    """

    TYPE: ClassVar[MessageType] = MessageType.STATUS
    buffer_fill: float
    overruns: int
    temperature_c: float = math.nan
    supply_v: float = math.nan
    next_seq: tuple = ()

    def pack(self) -> bytes:
        _check_uint(self.overruns, 32, "STATUS", "overruns")
        try:
            head = _STATUS.pack(self.buffer_fill, self.overruns, self.temperature_c, self.supply_v)
        except (struct.error, TypeError, OverflowError) as exc:
            raise ProtocolError(f"STATUS: fields must be numbers: {exc}") from exc
        if not self.next_seq:
            return head
        if not isinstance(self.next_seq, tuple) or len(self.next_seq) > 0xFF:
            raise ProtocolError(f"STATUS: next_seq must be a tuple of at most 255 (stream, seq) pairs, "
                                f"got {self.next_seq!r}")
        table = [bytes([len(self.next_seq)])]
        for pair in self.next_seq:
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise ProtocolError(f"STATUS: next_seq entries must be (stream, seq) pairs, got {pair!r}")
            _check_uint(pair[0], 8, "STATUS", "next_seq stream")
            _check_uint(pair[1], 32, "STATUS", "next_seq seq")
            table.append(_STATUS_SEQ.pack(*pair))
        return head + b"".join(table)

    @classmethod
    def unpack(cls, payload: bytes) -> "Status":
        what = "STATUS payload"
        if len(payload) < _STATUS.size:
            raise ProtocolError(f"{what}: expected at least {_STATUS.size} bytes, got {len(payload)}")
        fields = _STATUS.unpack_from(payload)
        if len(payload) == _STATUS.size:
            return cls(*fields)
        count = payload[_STATUS.size]
        end = _STATUS.size + 1 + count * _STATUS_SEQ.size
        if len(payload) < end:
            raise ProtocolError(f"{what}: a next_seq table of {count} streams needs {end} bytes, got {len(payload)}")
        table = tuple(_STATUS_SEQ.unpack_from(payload, _STATUS.size + 1 + k * _STATUS_SEQ.size) for k in range(count))
        return cls(*fields, next_seq=table)  # later revisions may append fields after the table: ignored


_GPR = struct.Struct("<QqIHBB")


@dataclass(frozen=True, eq=False)
class GprTrace:
    """GPR_TRACE, device -> host: one trace, latched at its trigger.

    samples: (n_samples,) in time order from the trigger; int16, int32 (for int24 and int32) or float32.
    trace_index: u64 count of triggers since `start`; encoder_ticks: signed survey-wheel count at the trigger;
    channel: antenna channel (0 for single-channel units); stacks: traces averaged into this one.
    """

    TYPE: ClassVar[MessageType] = MessageType.GPR_TRACE
    trace_index: int
    encoder_ticks: int
    channel: int
    stacks: int
    samples: np.ndarray
    sample_format: str = "int16"

    def pack(self) -> bytes:
        what = "GPR_TRACE"
        _check_sample_format(self.sample_format, what)
        _check_uint(self.trace_index, 64, what, "trace_index")
        _check_uint(self.channel, 8, what, "channel")
        _check_uint(self.stacks, 16, what, "stacks")
        if (isinstance(self.encoder_ticks, bool) or not isinstance(self.encoder_ticks, (int, np.integer))
                or not -(1 << 63) <= self.encoder_ticks < (1 << 63)):
            raise ProtocolError(f"{what}: encoder_ticks must fit an i64, got {self.encoder_ticks!r}")
        samples = np.asarray(self.samples)
        if samples.ndim != 1 or not 1 <= samples.size <= _U32_MAX:
            raise ProtocolError(f"{what}: samples must be 1-D with at least one sample, got shape {samples.shape}")
        head = _GPR.pack(self.trace_index, self.encoder_ticks, samples.size, self.stacks, self.channel,
                         SAMPLE_FORMATS[self.sample_format][0])
        return head + pack_samples(samples, self.sample_format, f"{what} samples")

    @classmethod
    def unpack(cls, payload: bytes) -> "GprTrace":
        what = "GPR_TRACE payload"
        if len(payload) < _GPR.size:
            raise ProtocolError(f"{what}: expected at least {_GPR.size} bytes, got {len(payload)}")
        trace_index, ticks, n_samples, stacks, channel, code = _GPR.unpack_from(payload)
        sample_format = _format_from_code(code, what)
        if n_samples < 1:
            raise ProtocolError(f"{what}: n_samples must be >= 1, got 0")
        expected = _GPR.size + n_samples * SAMPLE_FORMATS[sample_format][1]
        if len(payload) != expected:
            raise ProtocolError(f"{what}: {n_samples} {sample_format} samples need {expected} bytes, "
                                f"got {len(payload)}")
        samples = unpack_samples(payload, _GPR.size, n_samples, sample_format)
        return cls(trace_index, ticks, channel, stacks, samples, sample_format)


_AUDIO = struct.Struct("<QIHBB")


@dataclass(frozen=True, eq=False)
class AudioBlock:
    """AUDIO_BLOCK, device -> host: a block of interleaved multichannel audio, latched at its first sample.

    samples: (n_frames, n_channels); int16, int32 (for int24 and int32) or float32. first_frame: u64 index of the
    block's first frame since `start` (consecutive blocks: first_frame grows by n_frames).
    """

    TYPE: ClassVar[MessageType] = MessageType.AUDIO_BLOCK
    first_frame: int
    samples: np.ndarray
    sample_format: str = "int24"

    @property
    def n_frames(self) -> int:
        return self.samples.shape[0]

    @property
    def n_channels(self) -> int:
        return self.samples.shape[1]

    def pack(self) -> bytes:
        what = "AUDIO_BLOCK"
        _check_sample_format(self.sample_format, what)
        _check_uint(self.first_frame, 64, what, "first_frame")
        samples = np.asarray(self.samples)
        if samples.ndim != 2 or not 1 <= samples.shape[0] <= _U32_MAX or not 1 <= samples.shape[1] <= 0xFFFF:
            raise ProtocolError(f"{what}: samples must be (n_frames >= 1, 1 <= n_channels <= 65535), "
                                f"got shape {samples.shape}")
        head = _AUDIO.pack(self.first_frame, samples.shape[0], samples.shape[1],
                           SAMPLE_FORMATS[self.sample_format][0], 0)
        return head + pack_samples(samples, self.sample_format, f"{what} samples")

    @classmethod
    def unpack(cls, payload: bytes) -> "AudioBlock":
        what = "AUDIO_BLOCK payload"
        if len(payload) < _AUDIO.size:
            raise ProtocolError(f"{what}: expected at least {_AUDIO.size} bytes, got {len(payload)}")
        first_frame, n_frames, n_channels, code, _reserved = _AUDIO.unpack_from(payload)
        sample_format = _format_from_code(code, what)
        if n_frames < 1 or n_channels < 1:
            raise ProtocolError(f"{what}: n_frames and n_channels must be >= 1, got {n_frames} and {n_channels}")
        count = n_frames * n_channels
        expected = _AUDIO.size + count * SAMPLE_FORMATS[sample_format][1]
        if len(payload) != expected:
            raise ProtocolError(f"{what}: {n_frames} frames x {n_channels} channels of {sample_format} need "
                                f"{expected} bytes, got {len(payload)}")
        samples = unpack_samples(payload, _AUDIO.size, count, sample_format).reshape(n_frames, n_channels)
        return cls(first_frame, samples, sample_format)


def _format_from_code(code: int, what: str) -> str:
    try:
        return _FORMAT_BY_CODE[code]
    except KeyError:
        raise ProtocolError(f"{what}: unknown sample_format code {code} (known: {_FORMAT_BY_CODE})") from None


# ---------------------------------------------------------------------------------------------------------------
# dispatch

Message = Ident | Command | Ack | Nack | Log | Nmea | Status | GprTrace | AudioBlock
MESSAGE_CLASSES = {cls.TYPE: cls for cls in (Ident, Command, Ack, Nack, Log, Nmea, Status, GprTrace, AudioBlock)}


def decode_payload(frame: Frame) -> Message:
    """The typed message of a decoded frame. Raises ProtocolError for an unknown type or a malformed payload."""
    cls = MESSAGE_CLASSES.get(frame.type)
    if cls is None:
        raise ProtocolError(f"frame type 0x{int(frame.type):02x}: not a protocol v1 message type "
                            f"(stream {frame.stream}, seq {frame.seq})")
    return cls.unpack(frame.payload)


def encode_message(msg: Message, *, stream: int = 0, seq: int = 0, flags: int = 0, device_time_ns: int = 0,
                   header_ext: bytes = b"") -> bytes:
    """One wire frame (COBS-encoded, 0x00-terminated) carrying this message."""
    return encode_frame(msg.TYPE, msg.pack(), stream=stream, seq=seq, flags=flags,
                        device_time_ns=device_time_ns, header_ext=header_ext)


# ---------------------------------------------------------------------------------------------------------------
# configure schemas


def _check_number(value, name: str, what: str, positive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or (
            positive and value <= 0):
        raise ProtocolError(f"{what}: {name} must be a finite {'positive ' if positive else ''}number, "
                            f"got {value!r}")
    return value


def _check_int(value, name: str, what: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ProtocolError(f"{what}: {name} must be an integer in [{lo}, {hi}], got {value!r}")
    return value


def _from_args(cls, args: dict, what: str):
    if not isinstance(args, dict):
        raise ProtocolError(f"{what}: args must be a JSON object, got {type(args).__name__}")
    known = {f for f in cls.__dataclass_fields__}
    unknown = sorted(set(args) - known)
    if unknown:
        raise ProtocolError(f"{what}: unknown keys {unknown}; known: {sorted(known)}")
    try:
        return cls(**args)
    except TypeError as exc:  # a required key is missing
        raise ProtocolError(f"{what}: {exc}") from exc


@dataclass(frozen=True)
class GprConfig:
    """`configure` args of a GPR unit. trigger "time" needs trace_rate_hz; "wheel" needs ticks_per_m."""

    n_samples: int  # samples per trace
    time_window_ns: float  # time window of a trace from the trigger, ns (sample interval = window / n_samples)
    trigger: str = "time"  # "time": a trace every 1/trace_rate_hz; "wheel": a trace every trace_spacing_m
    trace_rate_hz: float | None = None  # traces per second with the time trigger
    ticks_per_m: float | None = None  # survey-wheel encoder calibration, ticks per metre
    trace_spacing_m: float | None = None  # wheel trigger: distance between traces (None: one trace per tick)
    stacks: int = 1  # traces averaged into each reported trace

    def __post_init__(self):
        what = "configure (GPR)"
        _check_int(self.n_samples, "n_samples", what, 1, _U32_MAX)
        _check_number(self.time_window_ns, "time_window_ns", what)
        if not isinstance(self.trigger, str) or self.trigger not in GPR_TRIGGERS:
            raise ProtocolError(f"{what}: trigger must be one of {GPR_TRIGGERS}, got {self.trigger!r}")
        for name in ("trace_rate_hz", "ticks_per_m", "trace_spacing_m"):
            if getattr(self, name) is not None:
                _check_number(getattr(self, name), name, what)
        if self.trigger == "time" and self.trace_rate_hz is None:
            raise ProtocolError(f"{what}: trigger 'time' needs trace_rate_hz")
        if self.trigger == "wheel" and self.ticks_per_m is None:
            raise ProtocolError(f"{what}: trigger 'wheel' needs ticks_per_m")
        _check_int(self.stacks, "stacks", what, 1, 0xFFFF)

    def to_args(self) -> dict:
        """The JSON `args` of the configure command (keys left None are omitted)."""
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @classmethod
    def from_args(cls, args: dict) -> "GprConfig":
        return _from_args(cls, args, "configure (GPR)")


@dataclass(frozen=True)
class MicArrayConfig:
    """`configure` args of a microphone array."""

    channels: int  # microphones streamed, 1..65535
    fs_hz: float  # sample rate, Hz
    block_frames: int = 1024  # frames per AUDIO_BLOCK
    sample_format: str = "int24"  # int16 | int24 | int32 | float32

    def __post_init__(self):
        what = "configure (mic array)"
        _check_int(self.channels, "channels", what, 1, 0xFFFF)
        _check_number(self.fs_hz, "fs_hz", what)
        _check_int(self.block_frames, "block_frames", what, 1, _U32_MAX)
        _check_sample_format(self.sample_format, what)

    def to_args(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_args(cls, args: dict) -> "MicArrayConfig":
        return _from_args(cls, args, "configure (mic array)")
