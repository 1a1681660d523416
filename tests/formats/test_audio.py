"""WAV/FLAC import and export: the real drone clip, bit-exact round trips, geometry, malformed files."""

import json

import numpy as np
import pytest
import soundfile

from sensorkit.errors import FormatError
from sensorkit.formats.audio import read_audio, write_audio
from sensorkit.formats.base import AudioRecord, DeviceInfo

DRONE_WAV = "acoustic/drone-audio-dataset/yes_drone/B_S2_D1_068-bebop_001_.wav"


def _data_chunk(path) -> bytes:
    """The bytes of a WAV's data chunk, found by walking the RIFF chunks."""
    raw = open(path, "rb").read()
    offset = 12
    while offset + 8 <= len(raw):
        chunk_id, size = raw[offset:offset + 4], int.from_bytes(raw[offset + 4:offset + 8], "little")
        if chunk_id == b"data":
            return raw[offset + 8:offset + 8 + size]
        offset += 8 + size + (size & 1)
    raise AssertionError("no data chunk")


def test_real_drone_wav(shared_data):
    path = shared_data / DRONE_WAV
    imported = read_audio(path)
    assert imported.format == "wav"
    (record,) = imported.audio
    assert record.fs_hz == 16000.0
    assert record.samples.dtype == np.int16
    assert record.samples.shape == (16384, 1)  # 1.024 s mono
    assert record.samples[:5, 0].tolist() == [2847, 2353, 1219, -1117, -967]
    assert (int(record.samples.min()), int(record.samples.max())) == (-20734, 16658)
    # the samples are the file's data chunk, read independently as little-endian int16
    np.testing.assert_array_equal(record.samples[:, 0], np.frombuffer(_data_chunk(path), "<i2"))
    assert record.units == "full scale"
    assert record.attrs == {"sample_bits": 16, "full_scale": 32768.0}
    assert record.mic_positions_m is None
    header = record.source_header
    assert (header["format"], header["subtype"], header["channels"], header["frames"]) == ("WAV", "PCM_16", 1, 16384)
    assert header["metadata"] == {"software": "Lavf56.40.101", "date": "2018-06-09T15:03:28Z"}
    assert "data : 32768" in header["extra_info"]
    json.dumps(header)  # JSON-able


def test_real_drone_wav_round_trip(shared_data, tmp_path):
    path = shared_data / DRONE_WAV
    record = read_audio(path).audio[0]
    out = tmp_path / "copy.wav"
    write_audio(out, record)
    assert _data_chunk(out) == _data_chunk(path)
    back = read_audio(out).audio[0]
    assert back.source_header["metadata"]["date"] == "2018-06-09T15:03:28Z"
    assert back.source_header["subtype"] == "PCM_16"


def _int16(rng, shape):
    return rng.integers(-32768, 32767, shape, endpoint=True).astype(np.int16)


def _int24(rng, shape):
    values = rng.integers(-2 ** 23, 2 ** 23 - 1, shape, endpoint=True).astype(np.int32)
    values[0, 0], values[1, 0] = -2 ** 23, 2 ** 23 - 1  # both extremes
    return values


def _float32(rng, shape):
    values = (rng.standard_normal(shape) * 2.0).astype(np.float32)  # beyond +-1: no clipping expected
    values[0, 0], values[1, 0], values[2, 0] = np.float32(1e-42), -0.0, np.inf
    return values


@pytest.mark.parametrize("name, subtype, make, dtype, bits, shift", [
    ("pcm16.wav", "PCM_16", _int16, np.int16, 16, 0),
    ("pcm24.wav", "PCM_24", _int24, np.int32, 24, 8),
    ("float.wav", "FLOAT", _float32, np.float32, 32, 0),
    ("pcm16.flac", "PCM_16", _int16, np.int16, 16, 0),
    ("pcm24.flac", "PCM_24", _int24, np.int32, 24, 8),
])
def test_round_trip_is_bit_exact(tmp_path, name, subtype, make, dtype, bits, shift):
    rng = np.random.default_rng(7)
    values = make(rng, (2000, 3))
    original = tmp_path / name
    # soundfile's integer convention is left-justified: a 24-bit value sits in the top bits of an int32
    soundfile.write(original, values << shift if shift else values, 48000, subtype=subtype)

    record = read_audio(original).audio[0]
    assert record.samples.dtype == dtype
    assert record.samples.shape == (2000, 3)
    assert record.samples.tobytes() == values.tobytes()  # 24-bit: right-justified values
    assert record.fs_hz == 48000.0
    assert record.attrs["sample_bits"] == bits

    copy = tmp_path / ("copy_" + name)
    write_audio(copy, record)
    assert soundfile.info(copy).subtype == subtype
    assert read_audio(copy).audio[0].samples.tobytes() == values.tobytes()
    assert copy.read_bytes() == original.read_bytes()  # same header, same data: the whole file


def test_24_bit_values_are_right_justified(tmp_path):
    path = tmp_path / "one.wav"
    soundfile.write(path, np.array([[1 << 8], [-1 << 8], [(2 ** 23 - 1) << 8]], dtype=np.int32), 8000,
                    subtype="PCM_24")
    samples = read_audio(path).audio[0].samples
    assert samples[:, 0].tolist() == [1, -1, 8388607]
    assert _data_chunk(path)[:6] == b"\x01\x00\x00\xff\xff\xff"  # what the file holds: 24-bit little-endian


def test_write_from_record_picks_subtype_from_samples(tmp_path):
    samples = np.array([[0, 1], [-8388608, 8388607], [123456, -654321]], dtype=np.int32)
    record = AudioRecord("rec", samples, 96000.0, DeviceInfo(kind="acoustic"), attrs={"sample_bits": 24})
    path = tmp_path / "rec.wav"
    write_audio(path, record)
    info = soundfile.info(path)
    assert (info.subtype, info.samplerate, info.channels, info.frames) == ("PCM_24", 96000, 2, 3)
    raw, _ = soundfile.read(path, dtype="int32")
    np.testing.assert_array_equal(raw >> 8, samples)
    # without sample_bits an int32 record is 32-bit PCM
    write_audio(tmp_path / "rec32.wav", AudioRecord("rec", samples, 96000.0, DeviceInfo(kind="acoustic")))
    assert soundfile.info(tmp_path / "rec32.wav").subtype == "PCM_32"


def test_explicit_subtype_converts_at_full_scale(tmp_path):
    samples = np.array([[16384], [-32768]], dtype=np.int16)  # 0.5 and -1.0 of full scale
    record = AudioRecord("r", samples, 8000.0, DeviceInfo(kind="acoustic"))
    path = tmp_path / "r.wav"
    write_audio(path, record, subtype="FLOAT")
    back = read_audio(path).audio[0]
    assert back.samples.dtype == np.float32
    assert back.samples[:, 0].tolist() == [0.5, -1.0]


def test_explicit_integer_subtypes_convert_at_full_scale(tmp_path):
    floats = np.array([[0.5], [-1.0], [2.0], [-0.25]], dtype=np.float32)
    record = AudioRecord("f", floats, 8000.0, DeviceInfo(kind="acoustic"))
    write_audio(tmp_path / "f16.wav", record, subtype="PCM_16")
    assert read_audio(tmp_path / "f16.wav").audio[0].samples[:, 0].tolist() == [16384, -32768, 32767, -8192]

    ints = np.array([[1], [-32768], [32767]], dtype=np.int16)
    write_audio(tmp_path / "i24.flac", AudioRecord("i", ints, 8000.0, DeviceInfo(kind="acoustic")), subtype="PCM_24")
    back = read_audio(tmp_path / "i24.flac").audio[0]
    assert back.samples.dtype == np.int32
    assert back.samples[:, 0].tolist() == [256, -8388608, 8388352]  # x * 2**8


def test_geometry_gives_mic_positions(tmp_path):
    wav = tmp_path / "four.wav"
    soundfile.write(wav, np.zeros((10, 4), dtype=np.int16), 16000, subtype="PCM_16")
    geometry = tmp_path / "four.json"
    geometry.write_text(json.dumps([[0.05, 0, 0], [0, 0.05, 0], [-0.05, 0, 0], [0, -0.05, 0.01]]))
    record = read_audio(wav, geometry=geometry).audio[0]
    assert record.mic_positions_m.shape == (4, 3)
    assert record.mic_positions_m[3].tolist() == [0.0, -0.05, 0.01]


def test_geometry_channel_mismatch_names_both_files(tmp_path):
    wav = tmp_path / "four.wav"
    soundfile.write(wav, np.zeros((10, 4), dtype=np.int16), 16000, subtype="PCM_16")
    geometry = tmp_path / "three.json"
    geometry.write_text("[[0, 0, 0], [0.1, 0, 0], [0, 0.1, 0]]")
    with pytest.raises(FormatError) as info:
        read_audio(wav, geometry=geometry)
    message = str(info.value)
    assert str(wav) in message and str(geometry) in message
    assert info.value.found == 4


def test_bad_geometry_file_raises_format_error(tmp_path):
    wav = tmp_path / "one.wav"
    soundfile.write(wav, np.zeros((10, 1), dtype=np.int16), 16000, subtype="PCM_16")
    geometry = tmp_path / "bad.xml"
    geometry.write_text("<MicArray><pos x='1'/></MicArray>")
    with pytest.raises(FormatError):
        read_audio(wav, geometry=geometry)


@pytest.mark.parametrize("keep", [0, 4, 20, 43, 44, 60, 108, 109, 5000, 32875])
def test_truncated_real_wav_raises_format_error(shared_data, tmp_path, keep):
    raw = (shared_data / DRONE_WAV).read_bytes()
    assert len(raw) == 32876
    path = tmp_path / "cut.wav"
    path.write_bytes(raw[:keep])
    with pytest.raises(FormatError) as info:
        read_audio(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("fraction", [0.0, 0.01, 0.3, 0.5, 0.99])
def test_truncated_flac_raises_format_error(tmp_path, fraction):
    rng = np.random.default_rng(3)
    original = tmp_path / "a.flac"
    soundfile.write(original, _int16(rng, (4000, 2)), 16000, subtype="PCM_16")
    raw = original.read_bytes()
    path = tmp_path / "cut.flac"
    path.write_bytes(raw[:int(len(raw) * fraction)])
    with pytest.raises(FormatError):
        read_audio(path)


@pytest.mark.parametrize("content", [b"", b"RIFF", b"RIFF\x00\x00\x00\x00WAVE", bytes(range(256)) * 8,
                                     b"fLaC" + bytes(100)])
def test_garbage_raises_format_error(tmp_path, content):
    path = tmp_path / "garbage.wav"
    path.write_bytes(content)
    with pytest.raises(FormatError):
        read_audio(path)


def test_other_containers_raise_format_error(tmp_path):
    path = tmp_path / "really_aiff.wav"
    soundfile.write(path, np.zeros((10, 1), np.int16), 8000, format="AIFF", subtype="PCM_16")
    with pytest.raises(FormatError) as info:
        read_audio(path)
    assert info.value.found == "AIFF"


def test_missing_file_raises_format_error(tmp_path):
    with pytest.raises(FormatError):
        read_audio(tmp_path / "nothing.wav")


@pytest.mark.parametrize("name, samples, fs_hz, attrs, subtype", [
    ("a.mp3", np.zeros((4, 1), np.int16), 8000.0, {}, None),  # unsupported extension
    ("a.flac", np.zeros((4, 1), np.float32), 8000.0, {}, None),  # FLAC holds no float
    ("a.wav", np.zeros((4, 1), np.int16), 8000.5, {}, None),  # fractional rate
    ("a.wav", np.zeros(4, np.int16), 8000.0, {}, None),  # 1-D
    ("a.wav", np.full((4, 1), 2 ** 23, np.int32), 8000.0, {"sample_bits": 24}, None),  # beyond 24 bits
    ("a.wav", np.zeros((4, 1), np.int64), 8000.0, {}, None),
    ("a.wav", np.zeros((4, 1), np.int16), 8000.0, {}, "VORBIS"),
    ("a.wav", np.zeros((4, 1), np.int16), 8000.0, {"sample_bits": 24}, None),  # 24 bits in int16
    ("a.wav", np.full((4, 1), np.nan, np.float32), 8000.0, {}, "PCM_16"),
])
def test_write_rejects_what_the_file_cannot_hold(tmp_path, name, samples, fs_hz, attrs, subtype):
    record = AudioRecord("r", samples, fs_hz, DeviceInfo(kind="acoustic"), attrs=attrs)
    with pytest.raises(ValueError):
        write_audio(tmp_path / name, record, subtype=subtype)
