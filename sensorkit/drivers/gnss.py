"""A plain NMEA 0183 GNSS receiver (GGA, RMC, VTG) on a serial port, as real GNSS pucks speak.

Lines end with CR LF; a sentence with a bad checksum or malformed fields is counted and reported,
never used. A fix is made from each GGA; its UTC time comes from the sentence (time of day) and the
date of the latest RMC (or the host's date when no RMC has come yet, corrected across midnight).
"""

from __future__ import annotations

import datetime

from sensorkit.drivers.device import Note
from sensorkit.drivers.transport import Chunk, LinkEvent, SerialTransport
from sensorkit.nmea import Gga, NmeaError, Rmc, parse_sentence
from sensorkit.store.schema import GNSS_FIX_DTYPE, empty_records

MAX_LINE_BYTES = 512  # NMEA allows 82 characters; anything far longer is garbage
DAY_NS = 86_400 * 10**9


def utc_ns(date: datetime.date, time_of_day_s: float) -> int:
    midnight = datetime.datetime(date.year, date.month, date.day, tzinfo=datetime.timezone.utc)
    return int(midnight.timestamp()) * 10**9 + round(time_of_day_s * 1e9)


class NmeaGnss:
    """Reads fixes from an NMEA receiver. pump() returns fix records (GNSS_FIX_DTYPE) and Notes."""

    def __init__(self, url: str, *, baudrate: int = 115200, transport: SerialTransport | None = None):
        self.url = url
        self.transport = transport or SerialTransport(url, baudrate=baudrate)
        self._buffer = b""
        self._date: datetime.date | None = None
        self.bad_sentences = 0
        self.sentences = 0

    def pump(self, timeout_s: float = 0.05) -> list:
        out = []
        item = self.transport.get(timeout=timeout_s)
        while item is not None:
            if isinstance(item, Chunk):
                out += self._feed(item.host_time_ns, item.data)
            elif isinstance(item, LinkEvent):
                kind = {"reconnect": "reconnect", "overrun": "overrun"}.get(item.kind, "error")
                out.append(Note(item.host_time_ns, kind, 0, {"what": item.kind, **item.detail}))
                self._buffer = b""
            item = self.transport.get(timeout=0)
        return out

    def _feed(self, host_time_ns: int, data: bytes) -> list:
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        if len(self._buffer) > MAX_LINE_BYTES:
            self._buffer = b""
            lines.append(b"<overlong line>")
        out = []
        for raw in lines:
            line = raw.strip()
            if not line:
                continue
            self.sentences += 1
            try:
                sentence = parse_sentence(line.decode("ascii"), require_checksum=True)
            except (NmeaError, UnicodeDecodeError) as error:
                self.bad_sentences += 1
                out.append(Note(host_time_ns, "error", 0, {"what": "bad NMEA sentence", "error": str(error)[:200]}))
                continue
            if sentence is None:
                continue
            if isinstance(sentence.data, Rmc) and sentence.data.date is not None:
                self._date = sentence.data.date
            elif isinstance(sentence.data, Gga):
                fix = self._fix(host_time_ns, sentence.data)
                if fix is not None:
                    out.append(fix)
        return out

    def _fix(self, host_time_ns: int, gga: Gga):
        if gga.lat is None or gga.lon is None:
            return None
        record = empty_records(GNSS_FIX_DTYPE, 1)
        record["host_time_ns"] = host_time_ns
        if gga.time_of_day_s is not None:
            date = self._date or datetime.datetime.fromtimestamp(host_time_ns / 1e9, datetime.timezone.utc).date()
            device_ns = utc_ns(date, gga.time_of_day_s)
            if self._date is None:  # the host's date may be a day off around midnight
                device_ns += DAY_NS * round((host_time_ns - device_ns) / DAY_NS)
            record["device_time_ns"] = device_ns
        record["lat"], record["lon"] = gga.lat, gga.lon
        if gga.alt_m is not None:
            record["alt_m"] = gga.alt_m
        if gga.quality is not None:
            record["quality"] = gga.quality
        if gga.n_sats is not None:
            record["n_sats"] = gga.n_sats
        if gga.hdop is not None:
            record["hdop"] = gga.hdop
        return record

    def close(self) -> None:
        self.transport.close()

