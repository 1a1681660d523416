"""Wire protocol v1 throughput: AUDIO_BLOCK frames of a 16-channel 48 kHz int24 array in 1024-frame blocks.

The array produces 16 x 48000 x 3 B = 2.304 MB/s on the wire (plus ~0.3 % framing); the target is >= 10x that.
MB/s (1e6 bytes of wire frames per second) is stored in benchmark.extra_info.
"""

import numpy as np

from sensorkit.drivers import AudioBlock, FrameDecoder, SeqCounter, decode_payload, encode_message

N_CHANNELS = 16
FS_HZ = 48_000
BLOCK_FRAMES = 1024
ARRAY_RATE_MB_S = N_CHANNELS * FS_HZ * 3 / 1e6  # 2.304
TARGET_FACTOR = 10
N_BLOCKS = 32  # per benchmark round
READ_SIZE = 65536  # bytes per port read, as a bulk reader delivers them


def _blocks() -> list[AudioBlock]:
    rng = np.random.default_rng(0)
    return [AudioBlock(i * BLOCK_FRAMES, rng.integers(-2 ** 23, 2 ** 23, (BLOCK_FRAMES, N_CHANNELS), dtype=np.int32),
                       "int24") for i in range(N_BLOCKS)]


def _report(benchmark, wire_bytes: int) -> None:
    benchmark.extra_info["wire_bytes_per_round"] = wire_bytes
    if benchmark.stats is None:  # --benchmark-disable: the function ran once as a plain test
        return
    mb_s = wire_bytes / benchmark.stats.stats.mean / 1e6
    benchmark.extra_info["MB_per_s"] = round(mb_s, 1)
    benchmark.extra_info["array_rate_MB_per_s"] = ARRAY_RATE_MB_S
    benchmark.extra_info["x_array_rate"] = round(mb_s / ARRAY_RATE_MB_S, 1)
    assert mb_s >= TARGET_FACTOR * ARRAY_RATE_MB_S, f"{mb_s:.1f} MB/s < {TARGET_FACTOR} x {ARRAY_RATE_MB_S} MB/s"


def test_encode_audio_blocks(benchmark):
    blocks = _blocks()

    def encode():
        seqs = SeqCounter()
        return [encode_message(b, stream=1, seq=seqs.next(1), device_time_ns=i * 21_333_333)
                for i, b in enumerate(blocks)]

    frames = benchmark(encode)
    assert len(frames) == N_BLOCKS and all(f.endswith(b"\x00") and f.count(0) == 1 for f in frames)
    _report(benchmark, sum(map(len, frames)))


def test_decode_audio_blocks(benchmark):
    blocks = _blocks()
    stream = b"".join(encode_message(b, stream=1, seq=i) for i, b in enumerate(blocks))
    reads = [stream[i:i + READ_SIZE] for i in range(0, len(stream), READ_SIZE)]

    def decode():
        decoder = FrameDecoder()
        return [decode_payload(frame) for data in reads for frame in decoder.feed(data)]

    messages = benchmark(decode)
    assert len(messages) == N_BLOCKS
    assert [m.first_frame for m in messages] == [i * BLOCK_FRAMES for i in range(N_BLOCKS)]
    np.testing.assert_array_equal(messages[-1].samples, blocks[-1].samples)
    _report(benchmark, len(stream))
