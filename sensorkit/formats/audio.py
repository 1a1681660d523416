"""WAV and FLAC in and out (soundfile / libsndfile), keeping the file's own samples exactly.

Sample representation in :class:`AudioRecord` (units "full scale"; divide by
``attrs["full_scale"]`` for values in [-1, 1)):

=============================  ========  ===========================  ==========
file subtype                   dtype     values                       full_scale
=============================  ========  ===========================  ==========
PCM_S8, PCM_U8 (8-bit)         int16     -128..127 (U8 re-centred)    128
PCM_16                         int16     -32768..32767                32768
PCM_24                         int32     -8388608..8388607            8388608
PCM_32                         int32     the 32-bit value             2147483648
FLOAT                          float32   as stored                    1.0
DOUBLE                         float32   rounded (noted)              1.0
other (u-law, ADPCM, ...)      int16     decoded by libsndfile        32768
=============================  ========  ===========================  ==========

24-bit samples are right-justified: the int32 holds the 24-bit value itself, sign-extended
(soundfile's own int32 reading puts it in the top 24 bits; we shift by 8), the way the
AUDIO_BLOCK int24 format carries it. ``attrs["sample_bits"]`` says how many bits are used.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from sensorkit.errors import FormatError
from sensorkit.formats.array_geometry import read_array_geometry
from sensorkit.formats.base import AudioRecord, DeviceInfo, Imported

#: soundfile subtype -> (bits used, our dtype, soundfile read dtype)
_SUBTYPES = {
    "PCM_S8": (8, np.int16, "int16"),
    "PCM_U8": (8, np.int16, "int16"),
    "PCM_16": (16, np.int16, "int16"),
    "PCM_24": (24, np.int32, "int32"),
    "PCM_32": (32, np.int32, "int32"),
    "FLOAT": (32, np.float32, "float32"),
    "DOUBLE": (64, np.float32, "float64"),
}

#: integer PCM subtypes -> bits
_PCM_BITS = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32}

#: text tags libsndfile reads and writes (soundfile attribute names)
_TAGS = ("title", "copyright", "software", "artist", "comment", "date", "album", "license", "tracknumber", "genre")

#: file extension -> soundfile major format
_FORMATS = {".wav": "WAV", ".flac": "FLAC"}


def read_audio(path, geometry=None) -> Imported:
    """Read a WAV or FLAC file as one AudioRecord with samples (n_frames, n_channels).

    geometry: optional path of an array geometry file (acoular XML or JSON, see
    array_geometry); its microphone count must equal the channel count.
    The header (format, subtype, endian, libsndfile's chunk log ``extra_info``, tags) is kept
    in source_header. Raises FormatError on an empty, garbled or truncated file.
    """
    import soundfile

    path = Path(path)
    if not path.is_file():
        raise FormatError(path, "file", "an existing file", "no such file")
    try:
        info = soundfile.info(str(path))
        with soundfile.SoundFile(str(path)) as handle:
            tags = handle.copy_metadata()
        bits, dtype, read_dtype = _SUBTYPES.get(info.subtype, (16, np.int16, "int16"))
        data, fs = soundfile.read(str(path), dtype=read_dtype, always_2d=True)
    except soundfile.SoundFileError as exc:
        raise FormatError(path, "audio file", "a readable WAV or FLAC file", str(exc)) from None
    except (RuntimeError, OSError, ValueError, TypeError) as exc:
        raise FormatError(path, "audio file", "a readable WAV or FLAC file", f"{type(exc).__name__}: {exc}") from None
    if info.format not in ("WAV", "WAVEX", "RF64", "W64", "FLAC"):
        raise FormatError(path, "container", "WAV or FLAC", info.format)
    if info.format in ("WAV", "WAVEX"):
        _check_wav_data_chunk(path)
    if data.shape[0] != info.frames:
        raise FormatError(path, "frames", f"{info.frames} frames (header)", data.shape[0])

    samples = _from_soundfile(data, info.subtype, dtype)
    mic_positions_m = None
    if geometry is not None:
        mic_positions_m = read_array_geometry(geometry)
        if mic_positions_m.shape[0] != samples.shape[1]:
            raise FormatError(path, "channels",
                              f"{mic_positions_m.shape[0]} channels, one per microphone in {Path(geometry)}",
                              samples.shape[1])
    full_scale = 1.0 if dtype == np.float32 else float(2 ** (bits - 1))
    attrs = {"sample_bits": int(bits), "full_scale": full_scale}
    source_header = {
        "format": info.format, "format_info": info.format_info, "subtype": info.subtype,
        "subtype_info": info.subtype_info, "endian": info.endian, "samplerate": int(info.samplerate),
        "channels": int(info.channels), "frames": int(info.frames), "sections": int(info.sections),
        "extra_info": info.extra_info, "metadata": dict(tags),
    }
    if info.subtype not in _SUBTYPES:
        source_header["decoded_from"] = info.subtype
    if info.subtype == "DOUBLE":
        source_header["converted_from"] = "float64"
    record = AudioRecord(
        name=path.stem, samples=samples, fs_hz=float(fs),
        device=DeviceInfo(kind="acoustic", port=str(path)),
        mic_positions_m=mic_positions_m, units="full scale", attrs=attrs, source_header=source_header,
    )
    return Imported(source=path, format="flac" if info.format == "FLAC" else "wav", audio=[record])


def write_audio(path, record: AudioRecord, subtype: str | None = None) -> None:
    """Write an AudioRecord as WAV or FLAC (by the extension of ``path``).

    subtype: a soundfile subtype ("PCM_16", "PCM_24", "PCM_32", "FLOAT", ...). By default
    it follows the samples: int16 -> PCM_16 (PCM_U8 / PCM_S8 when attrs sample_bits is 8),
    int32 -> PCM_24 when attrs sample_bits is 24 else PCM_32, float32 -> FLOAT, float64 ->
    DOUBLE, so that reading the file back gives the same samples bit for bit. Another
    subtype converts at full scale (floats clipped to [-1, 1) for integer PCM). Text tags in
    source_header["metadata"] (title, date, software...) are written back. Raises ValueError
    on a record or subtype the file cannot hold.
    """
    import soundfile

    path = Path(path)
    file_format = _FORMATS.get(path.suffix.lower())
    if file_format is None:
        raise ValueError(f"path: expected a .wav or .flac file name, got {path.name!r}")
    samples = np.asarray(record.samples)
    if samples.ndim != 2 or samples.shape[1] < 1:
        raise ValueError(f"samples: expected shape (n_frames, n_channels), got {samples.shape}")
    fs_hz = float(record.fs_hz)
    if not (fs_hz > 0 and fs_hz == int(fs_hz)):
        raise ValueError(f"fs_hz: expected a positive whole number of hertz, got {record.fs_hz!r}")
    if samples.dtype not in (np.int16, np.int32, np.float32, np.float64):
        raise ValueError(f"samples: expected int16, int32, float32 or float64, got {samples.dtype}")
    bits = int(record.attrs.get("sample_bits", 0) or 0)
    if subtype is None:
        subtype = _default_subtype(samples.dtype, bits, file_format)
    if not soundfile.check_format(file_format, subtype):
        raise ValueError(f"subtype: {file_format} cannot hold {subtype}")
    data = _to_soundfile(samples, bits, subtype)
    tags = record.source_header.get("metadata") or {}
    with soundfile.SoundFile(str(path), "w", samplerate=int(fs_hz), channels=data.shape[1], subtype=subtype,
                             format=file_format) as handle:
        for key, value in tags.items():
            if key in _TAGS and isinstance(value, str) and value:
                setattr(handle, key, value)
        handle.write(data)


def _from_soundfile(data: np.ndarray, subtype: str, dtype) -> np.ndarray:
    """soundfile's left-justified samples to ours (right-justified integers)."""
    if subtype in ("PCM_S8", "PCM_U8"):
        return (data >> 8).astype(np.int16)
    if subtype == "PCM_24":
        return data >> 8
    return np.ascontiguousarray(data, dtype=dtype)


def _to_soundfile(samples: np.ndarray, bits: int, subtype: str) -> np.ndarray:
    """Our samples to what soundfile writes as ``subtype`` at full scale.

    Integers go left-justified in their container (libsndfile converts int to int by shifts);
    integers to a float subtype are divided by their full scale; floats to an integer subtype
    are clipped to [-1, 1), scaled and rounded here (libsndfile would scale by 2**(n-1) - 1).
    """
    to_float = subtype in ("FLOAT", "DOUBLE")
    if samples.dtype.kind == "f":
        if to_float:
            return samples
        if np.isnan(samples).any():
            raise ValueError(f"samples: NaN cannot be written as {subtype}")
        target_bits = _PCM_BITS.get(subtype, 16)
        container_bits = 16 if target_bits <= 16 else 32
        scale = 2.0 ** (target_bits - 1)
        ints = np.clip(np.round(samples.astype(np.float64) * scale), -scale, scale - 1).astype(np.int64)
        return (ints << (container_bits - target_bits)).astype(np.int16 if container_bits == 16 else np.int32)
    container_bits = 16 if samples.dtype == np.int16 else 32
    used_bits = bits or container_bits
    if not 1 <= used_bits <= container_bits:
        raise ValueError(f"attrs sample_bits: expected 1..{container_bits} for {samples.dtype}, got {bits}")
    limit = 2 ** (used_bits - 1)
    if samples.min(initial=0) < -limit or samples.max(initial=0) > limit - 1:
        raise ValueError(f"samples: attrs sample_bits is {used_bits} but values exceed {-limit}..{limit - 1}")
    if to_float:
        return samples.astype(np.float64) / limit
    return samples << (container_bits - used_bits)


def _default_subtype(dtype: np.dtype, bits: int, file_format: str) -> str:
    if dtype == np.int16:
        if bits == 8:
            return "PCM_U8" if file_format == "WAV" else "PCM_S8"
        return "PCM_16"
    if dtype == np.int32:
        return "PCM_24" if bits == 24 else "PCM_32"
    return "FLOAT" if dtype == np.float32 else "DOUBLE"


def _check_wav_data_chunk(path: Path) -> None:
    """libsndfile reads a truncated WAV silently: compare the data chunk's size with the file."""
    with path.open("rb") as handle:
        riff = handle.read(12)
        if len(riff) < 12 or riff[:4] not in (b"RIFF", b"RIFX") or riff[8:12] != b"WAVE":
            return  # RF64 / W64 / odd containers: leave to libsndfile
        order = "<" if riff[:4] == b"RIFF" else ">"
        size = path.stat().st_size
        offset = 12
        while offset + 8 <= size:
            handle.seek(offset)
            chunk_id, chunk_size = struct.unpack(order + "4sI", handle.read(8))
            if chunk_id == b"data":
                available = size - offset - 8
                if 0 < chunk_size < 0xFFFFFFFF and chunk_size > available:
                    raise FormatError(path, "WAV data chunk", f"{chunk_size} bytes", f"{available} bytes (truncated)")
                return
            offset += 8 + chunk_size + (chunk_size & 1)
