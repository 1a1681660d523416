"""Device drivers. `frames` and `messages` implement wire protocol v1 (docs/protocol.md) as pure code."""

from sensorkit.drivers.frames import (
    CONTROL_STREAM,
    FLAG_CLIPPED,
    FLAG_OVERRUN,
    FLAG_RESET,
    FLAG_TIME_INVALID,
    DecoderStats,
    Frame,
    FrameDecoder,
    MessageType,
    ProtocolError,
    SeqCounter,
    SequenceTracker,
    SeqUpdate,
    crc32c_of,
    decode_frames,
    encode_frame,
)
from sensorkit.drivers.messages import (
    COMMANDS,
    SAMPLE_FORMATS,
    Ack,
    AudioBlock,
    Command,
    GprConfig,
    GprTrace,
    Ident,
    Log,
    Message,
    MicArrayConfig,
    Nack,
    Nmea,
    Status,
    decode_payload,
    encode_message,
)

__all__ = [
    "COMMANDS", "CONTROL_STREAM", "FLAG_CLIPPED", "FLAG_OVERRUN", "FLAG_RESET", "FLAG_TIME_INVALID",
    "SAMPLE_FORMATS", "Ack", "AudioBlock", "Command", "DecoderStats", "Frame", "FrameDecoder", "GprConfig",
    "GprTrace", "Ident", "Log", "Message", "MessageType", "MicArrayConfig", "Nack", "Nmea", "ProtocolError",
    "SeqCounter", "SeqUpdate", "SequenceTracker", "Status", "crc32c_of", "decode_frames", "decode_payload",
    "encode_frame", "encode_message",
]
