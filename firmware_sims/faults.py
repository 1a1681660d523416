"""Faults injected on what a simulated device sends: corrupted bytes, dropped frames, bursts, stalls,
disconnects, a spontaneous reset. All random choices come from one seeded generator (reproducible runs).

Byte faults are applied frame by frame to the encoded bytes (trailing delimiter included) just before they are
written; link faults (stall, disconnect) are timed by the transmitter from the moment a host first opens the port,
in simulation seconds (the host's seconds times the simulator's time_scale; fast mode's jumps do not count); the
reset is timed on the device's own timeline (see clock.py).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np


@dataclass
class FaultConfig:
    """What goes wrong, and how often. Rates are probabilities, times are seconds; 0 (or None) disables.

    corrupt_rate: per byte, the chance it is changed (XOR with a random non-zero mask).
    drop_rate: per frame, the chance it is not written at all.
    burst_rate: per frame, the chance a burst of burst_length corrupted bytes starts in it (a burst may run on
        into the following frames).
    stall_every_s, stall_s: every stall_every_s the device stops sending for stall_s, then sends what it held
        (nothing is lost while the output buffer holds it).
    disconnect_every_s, down_s: every disconnect_every_s the cable is pulled (PTY: the master closes, the host
        reads EIO; TCP: the connection is closed) and put back down_s later; frames due meanwhile are lost.
    reset_at_s: the device resets by itself once, reset_at_s after power-up (seq restart at 0 with the RESET
        flag, clock from 0, default configuration, acquisition stopped).
    control_frames: corruption, bursts and drops also hit stream 0 (IDENT, ACK, NACK, STATUS, LOG). When False
        (the default) a 0x00 is sent before each control frame while byte faults are on, so a data frame's
        corrupted delimiter cannot take the next control frame with it.
    seed: seed of the fault generator.
    """

    corrupt_rate: float = 0.0
    drop_rate: float = 0.0
    burst_rate: float = 0.0
    burst_length: int = 32
    stall_every_s: float = 0.0
    stall_s: float = 0.5
    disconnect_every_s: float = 0.0
    down_s: float = 1.0
    reset_at_s: float | None = None
    control_frames: bool = False
    seed: int = 0

    def __post_init__(self):
        for name in ("corrupt_rate", "drop_rate", "burst_rate"):
            _check(name, getattr(self, name), 0.0, 1.0)
        for name in ("stall_every_s", "stall_s", "disconnect_every_s", "down_s"):
            _check(name, getattr(self, name), 0.0, math.inf)
        if self.reset_at_s is not None:
            _check("reset_at_s", self.reset_at_s, 0.0, math.inf)
        if isinstance(self.burst_length, bool) or not isinstance(self.burst_length, int) or self.burst_length < 1:
            raise ValueError(f"FaultConfig.burst_length: expected an integer >= 1 (bytes), found {self.burst_length!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"FaultConfig.seed: expected an integer >= 0, found {self.seed!r}")

    @property
    def byte_faults(self) -> bool:
        """Corruption or bursts are on (frames can be damaged on the wire)."""
        return self.corrupt_rate > 0 or self.burst_rate > 0

    def as_dict(self) -> dict:
        return asdict(self)


def _check(name: str, value, lo: float, hi: float) -> None:
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
            or not lo <= value <= hi):
        raise ValueError(f"FaultConfig.{name}: expected a finite number in [{lo}, {hi}], found {value!r}")


class ByteFaults:
    """Applies the per-frame faults of a FaultConfig to encoded frames, in the order they are written."""

    def __init__(self, config: FaultConfig, rng: np.random.Generator):
        self.config = config
        self.rng = rng
        self._burst_left = 0

    def apply(self, data: bytes, exempt: bool = False) -> tuple[str, bytes, list[int]]:
        """(fate, bytes to write, corrupted offsets) for one encoded frame; fate is sent, corrupted or dropped.

        exempt: a control frame while control_frames is off (written untouched; a running burst skips it).
        """
        cfg = self.config
        if exempt:
            return "sent", data, []
        if cfg.drop_rate > 0 and self.rng.random() < cfg.drop_rate:
            return "dropped", data, []
        n = len(data)
        hit = np.zeros(n, dtype=bool)
        if self._burst_left > 0:
            k = min(self._burst_left, n)
            hit[:k] = True
            self._burst_left -= k
        if cfg.burst_rate > 0 and self.rng.random() < cfg.burst_rate:
            start = int(self.rng.integers(0, n))
            end = min(n, start + cfg.burst_length)
            hit[start:end] = True
            self._burst_left = max(self._burst_left, cfg.burst_length - (end - start))
        if cfg.corrupt_rate > 0:
            count = int(self.rng.binomial(n, cfg.corrupt_rate))
            if count:
                hit[self.rng.choice(n, size=count, replace=False)] = True
        offsets = np.flatnonzero(hit)
        if offsets.size == 0:
            return "sent", data, []
        out = np.frombuffer(data, dtype=np.uint8).copy()
        out[offsets] ^= self.rng.integers(1, 256, size=offsets.size, dtype=np.uint8)
        return "corrupted", out.tobytes(), [int(i) for i in offsets]
