"""A simulated GNSS receiver speaking plain NMEA 0183 text (GGA, RMC, VTG; checksums; CR LF), like a real puck.

Fixes come at rate_hz (default 5) at whole multiples of 1 / rate_hz of UTC; the time in the sentences is the
fix's UTC (hhmmss.ss), the position is the cart's on the shared CartTrack (scenario.py) at that instant, plus
optional white horizontal noise of position_noise_m (standard deviation per axis, metres). The sentences of a
fix go out latency_s after it, each as one unit of the log (stream 1, type GGA / RMC / VTG, seq counting
sentences). Anything the host sends is read and ignored. Byte faults apply to the text (a corrupted sentence
fails its checksum with probability 255/256: NMEA's 8-bit checksum is weak); a corrupted line end merges the
sentence with the next one (``after_corrupted_delimiter`` in the log).
"""

from __future__ import annotations

import datetime
import math

import numpy as np

from firmware_sims.device import SimDevice
from firmware_sims.scenario import CartTrack
from firmware_sims.transmitter import OutFrame
from sensorkit.nmea import KNOT_MPS, checksum

STREAM = 1


def nmea_sentence(body: str) -> str:
    """'$' + body + '*hh' + CR LF, hh the checksum of body."""
    return f"${body}*{checksum(body):02X}\r\n"


def _lat_field(lat: float) -> str:
    hemisphere = "N" if lat >= 0 else "S"
    minutes_total = round(abs(lat) * 60.0, 7)
    degrees, minutes = divmod(minutes_total, 60.0)
    return f"{int(degrees):02d}{minutes:010.7f},{hemisphere}"


def _lon_field(lon: float) -> str:
    hemisphere = "E" if lon >= 0 else "W"
    minutes_total = round(abs(lon) * 60.0, 7)
    degrees, minutes = divmod(minutes_total, 60.0)
    return f"{int(degrees):03d}{minutes:010.7f},{hemisphere}"


def _utc_fields(utc_ns: int) -> tuple[str, str]:
    """('hhmmss.ss', 'ddmmyy') of a UTC time in ns (rounded to 10 ms)."""
    centis = round(utc_ns / 1e7)
    moment = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(
        milliseconds=10 * centis)
    time_text = f"{moment:%H%M%S}.{moment.microsecond // 10000:02d}"
    return time_text, f"{moment:%d%m%y}"


def fix_sentences(talker: str, utc_ns: int, lat: float, lon: float, alt_m: float, speed_mps: float,
                  course_deg: float | None, quality: int = 1, n_sats: int = 12, hdop: float = 0.8,
                  geoid_separation_m: float = 47.0) -> list[tuple[str, str]]:
    """[(kind, sentence)] of one fix: GGA, RMC, VTG (NMEA 2.3, mode A), each with checksum and CR LF."""
    hhmmss, ddmmyy = _utc_fields(utc_ns)
    lat_text, lon_text = _lat_field(lat), _lon_field(lon)
    knots = speed_mps / KNOT_MPS
    kmh = speed_mps * 3.6
    course = "" if course_deg is None else f"{course_deg:.2f}"
    gga = (f"{talker}GGA,{hhmmss},{lat_text},{lon_text},{quality},{n_sats:02d},{hdop:.1f},{alt_m:.3f},M,"
           f"{geoid_separation_m:.1f},M,,")
    rmc = f"{talker}RMC,{hhmmss},{'A' if quality > 0 else 'V'},{lat_text},{lon_text},{knots:.3f},{course},{ddmmyy},,,A"
    vtg = f"{talker}VTG,{course},T,,M,{knots:.3f},N,{kmh:.3f},K,A"
    return [("GGA", nmea_sentence(gga)), ("RMC", nmea_sentence(rmc)), ("VTG", nmea_sentence(vtg))]


class GnssReceiverSim(SimDevice):
    """NMEA GNSS receiver on the cart. track: CartTrack (default: leaves the origin when the simulator is made).

    rate_hz: fixes per second; position_noise_m: horizontal noise per axis (m); quality: GGA fix quality
    (1 GPS, 2 DGPS, 4 RTK fixed, ...); talker: "GP", "GN", ...; latency_s: fix to first byte.
    Other keyword arguments: SimDevice (link, fast, faults without reset, log_path, seed, ...).
    """

    name = "gnss"
    framing = "text"

    def __init__(self, *, track: CartTrack | None = None, rate_hz: float = 5.0, position_noise_m: float = 0.0,
                 quality: int = 1, n_sats: int = 12, hdop: float = 0.8, talker: str = "GP",
                 latency_s: float = 0.02, **kwargs):
        super().__init__(**kwargs)
        if self.faults.reset_at_s is not None:
            raise ValueError("faults.reset_at_s: an NMEA receiver has no protocol reset; leave it unset")
        if not (isinstance(rate_hz, (int, float)) and 0 < rate_hz <= 100):
            raise ValueError(f"rate_hz: expected fixes per second in (0, 100], found {rate_hz!r}")
        if not (isinstance(position_noise_m, (int, float)) and position_noise_m >= 0):
            raise ValueError(f"position_noise_m: expected a standard deviation >= 0 m, found {position_noise_m!r}")
        if not (isinstance(talker, str) and len(talker) == 2 and talker.isalpha() and talker.isupper()):
            raise ValueError(f"talker: expected two capital letters such as 'GP' or 'GN', found {talker!r}")
        if not (isinstance(latency_s, (int, float)) and 0 <= latency_s < 1.0 / rate_hz):
            raise ValueError(f"latency_s: expected 0 <= latency < 1 / rate_hz s, found {latency_s!r}")
        self.track = track if track is not None else CartTrack.starting_now()
        self.rate_hz = float(rate_hz)
        self.position_noise_m = float(position_noise_m)
        self.quality = int(quality)
        self.n_sats = int(n_sats)
        self.hdop = float(hdop)
        self.talker = talker
        self.latency_s = float(latency_s)
        self._rng = np.random.default_rng([self.seed, 0x6E55])
        self._seq = 0

    def fix(self, utc_ns: int) -> list[tuple[str, str]]:
        """The sentences of the fix at utc_ns (noise drawn from the receiver's generator)."""
        east, north = (self._rng.normal(0.0, self.position_noise_m, 2) if self.position_noise_m > 0
                       else (0.0, 0.0))
        lat, lon = self.track.lat_lon(utc_ns, float(east), float(north))
        return fix_sentences(self.talker, utc_ns, lat, lon, self.track.alt_m, self.track.ground_speed_mps(utc_ns),
                             self.track.course_deg(utc_ns), self.quality, self.n_sats, self.hdop)

    def run_loop(self) -> None:
        period_ns = 1e9 / self.rate_hz
        latency_ns = round(self.latency_s * 1e9)
        self.log.write("boot", boot=0, cause="power-up")
        k = math.floor(self.clock.utc_ns() / period_ns) + 1
        while not self._stop.is_set():
            fix_utc = round(k * period_ns)
            due_true = self.clock.true_of_utc(fix_utc + latency_ns)
            if self.fast:
                if self.tx.has_room(512):
                    self.clock.advance_to(due_true)
                self.link.read(0.0)
            else:
                self.link.read(min(0.02, max(0.0, self.clock.wall_s((due_true - self.clock.true_ns()) * 1e-9))))
            if self.clock.true_ns() < due_true:
                continue
            device_ns = self.clock.device_ns(due_true)
            for kind, text in self.fix(fix_utc):
                self.tx.put(OutFrame(text.encode("ascii"), STREAM, self._seq, kind, 0, device_ns, 0))
                self._seq += 1
            k += 1
