"""NMEA 0183 sentences: checksum check and talker-independent decoding of GGA, RMC and VTG.

Shared by the DZG side-file reader (``sensorkit.formats.dzt``) and GNSS serial devices.

    >>> s = parse_sentence("$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47")
    >>> s.kind, round(s.data.lat, 4), s.data.alt_m
    ('GGA', 48.1173, 545.4)

Rules:

- A sentence is ``$ADDRESS,field,...[*hh]``; surrounding whitespace and line endings are ignored.
- The checksum ``*hh`` (XOR of the characters between ``$`` and ``*``, two hex digits, either case)
  is verified when present: a mismatch raises :class:`NmeaChecksumError`. A sentence without a
  checksum is accepted with ``checksum_ok=None`` (GSSI's ``$GSSIS`` lines carry none), unless
  ``require_checksum=True``.
- GGA, RMC and VTG are decoded whatever the talker (GP, GN, GL, GA, GB, ...) into SI or
  unit-suffixed fields: latitude/longitude in signed degrees (north and east positive), metres,
  metres per second, degrees, UTC seconds of the day.
- Empty fields are tolerated and become ``None`` (receivers leave altitude, HDOP, speed... empty when
  they do not know them). Missing trailing fields are treated as empty.
- A field that is present but malformed (``47x9``, minutes >= 60, hemisphere ``Q``) raises
  :class:`NmeaError`. Other sentence types are returned undecoded (``data=None``), not as errors.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from functools import reduce

from sensorkit.errors import SensorkitError

#: One knot in metres per second (1852 m per hour).
KNOT_MPS = 1852.0 / 3600.0
#: One kilometre per hour in metres per second.
KMH_MPS = 1000.0 / 3600.0


class NmeaError(SensorkitError, ValueError):
    """A sentence is not valid NMEA 0183 or one of its fields cannot be decoded."""


class NmeaChecksumError(NmeaError):
    """The ``*hh`` checksum of a sentence does not match its content."""


@dataclass(frozen=True)
class Gga:
    """GGA: fix data. Every field is None when the sentence leaves it empty."""

    time_of_day_s: float | None  # UTC seconds since midnight
    lat: float | None  # degrees, north positive
    lon: float | None  # degrees, east positive
    quality: int | None  # 0 invalid, 1 GPS, 2 DGPS, 4 RTK fixed, 5 RTK float, 6 dead reckoning ...
    n_sats: int | None
    hdop: float | None
    alt_m: float | None  # antenna altitude above mean sea level
    geoid_separation_m: float | None  # geoid above the WGS84 ellipsoid
    dgps_age_s: float | None
    dgps_station: str | None


@dataclass(frozen=True)
class Rmc:
    """RMC: recommended minimum data."""

    time_of_day_s: float | None  # UTC seconds since midnight
    valid: bool | None  # status A -> True, V -> False
    lat: float | None
    lon: float | None
    speed_mps: float | None  # speed over ground
    course_deg: float | None  # course over ground, clockwise from true north
    date: datetime.date | None  # UTC date
    magnetic_variation_deg: float | None  # east positive
    mode: str | None  # NMEA 2.3+: A autonomous, D differential, E estimated, N not valid ...


@dataclass(frozen=True)
class Vtg:
    """VTG: course and speed over ground."""

    course_deg: float | None  # clockwise from true north
    course_magnetic_deg: float | None
    speed_mps: float | None  # from the km/h field when present (finer), else from knots
    mode: str | None


@dataclass(frozen=True)
class NmeaSentence:
    """One sentence: its address split into talker and kind, its raw fields and, for GGA/RMC/VTG, decoded data."""

    text: str  # the sentence, stripped of surrounding whitespace
    address: str  # e.g. "GPGGA", "GNRMC", "GSSIS", "PGRME"
    talker: str  # e.g. "GP", "GN"; "P" for proprietary sentences
    kind: str  # e.g. "GGA"; for proprietary sentences the rest of the address
    fields: tuple[str, ...]  # data fields after the address, checksum removed
    checksum_ok: bool | None  # True when verified, None when the sentence has no checksum
    data: Gga | Rmc | Vtg | None = None


def checksum(body: str) -> int:
    """NMEA checksum of ``body`` (the characters between ``$`` and ``*``): XOR of their codes."""
    return reduce(lambda acc, ch: acc ^ ord(ch), body, 0)


def parse_sentence(text: str, *, require_checksum: bool = False) -> NmeaSentence | None:
    """Parse one NMEA 0183 sentence; None for an empty or blank line.

    Raises NmeaChecksumError on a checksum mismatch and NmeaError on anything else malformed
    (both are ValueError).
    """
    line = text.strip()
    if not line:
        return None
    if not line.isascii():
        raise NmeaError(f"NMEA sentence {line[:40]!r}: expected ASCII text")
    if not line.startswith("$"):
        raise NmeaError(f"NMEA sentence {line[:40]!r}: expected it to start with '$'")
    body = line[1:]
    checksum_ok = None
    if "*" in body:
        body, _, given = body.partition("*")
        if len(given) != 2 or any(c not in "0123456789abcdefABCDEF" for c in given):
            raise NmeaError(f"NMEA sentence {line[:40]!r}: expected two hex digits after '*', found {given!r}")
        computed = checksum(body)
        if int(given, 16) != computed:
            raise NmeaChecksumError(
                f"NMEA sentence {line[:40]!r}: checksum is {given.upper()}, content gives {computed:02X}")
        checksum_ok = True
    elif require_checksum:
        raise NmeaError(f"NMEA sentence {line[:40]!r}: expected a '*hh' checksum")
    address, *fields = body.split(",")
    if not address or not address.isalnum():
        raise NmeaError(f"NMEA sentence {line[:40]!r}: expected an alphanumeric address, found {address!r}")
    if address.startswith("P"):
        talker, kind = "P", address[1:]
    elif len(address) == 5:
        talker, kind = address[:2], address[2:]
    else:
        talker, kind = "", address
    fields = tuple(fields)
    decoder = _DECODERS.get(kind) if talker != "P" else None
    data = decoder(_Fields(fields, address)) if decoder else None
    return NmeaSentence(text=line, address=address, talker=talker, kind=kind, fields=fields,
                        checksum_ok=checksum_ok, data=data)


class _Fields:
    """Typed access to the fields of one sentence; empty or missing fields read as None."""

    def __init__(self, fields: tuple[str, ...], address: str):
        self.fields = fields
        self.address = address

    def raw(self, i: int) -> str | None:
        value = self.fields[i].strip() if i < len(self.fields) else ""
        return value or None

    def error(self, i: int, name: str, expected: str) -> NmeaError:
        return NmeaError(f"{self.address} field {i + 1} ({name}): expected {expected}, found {self.fields[i]!r}")

    def float(self, i: int, name: str) -> float | None:
        value = self.raw(i)
        if value is None:
            return None
        try:
            number = float(value)
        except ValueError:
            raise self.error(i, name, "a number") from None
        if not math.isfinite(number):
            raise self.error(i, name, "a finite number")
        return number

    def int(self, i: int, name: str) -> int | None:
        value = self.raw(i)
        if value is None:
            return None
        if not value.isdigit():
            raise self.error(i, name, "a non-negative integer")
        return int(value)

    def unit(self, i: int, name: str, allowed: str) -> None:
        value = self.raw(i)
        if value is not None and value != allowed:
            raise self.error(i, name, f"'{allowed}' or empty")

    def time_of_day(self, i: int) -> float | None:
        """hhmmss[.sss] -> seconds since midnight."""
        value = self.raw(i)
        if value is None:
            return None
        try:
            if len(value) < 6 or not value[:6].isdigit():
                raise ValueError
            hours, minutes, seconds = int(value[0:2]), int(value[2:4]), float(value[4:])
        except ValueError:
            raise self.error(i, "UTC time", "hhmmss[.sss]") from None
        if hours > 23 or minutes > 59 or not 0.0 <= seconds < 61.0:
            raise self.error(i, "UTC time", "a time of day hhmmss")
        return hours * 3600.0 + minutes * 60.0 + seconds

    def date(self, i: int) -> datetime.date | None:
        """ddmmyy -> date; two-digit years 80..99 are 1980..1999, 00..79 are 2000..2079."""
        value = self.raw(i)
        if value is None:
            return None
        if len(value) != 6 or not value.isdigit():
            raise self.error(i, "UTC date", "ddmmyy")
        day, month, year = int(value[0:2]), int(value[2:4]), int(value[4:6])
        try:
            return datetime.date(year + (1900 if year >= 80 else 2000), month, day)
        except ValueError:
            raise self.error(i, "UTC date", "a valid ddmmyy date") from None

    def angle(self, i: int, hemispheres: str, max_deg: float, name: str) -> float | None:
        """(d)ddmm.mmmm plus hemisphere letter at i + 1 -> signed degrees; None if either is empty."""
        value, hemisphere = self.raw(i), self.raw(i + 1)
        if value is None or hemisphere is None:
            return None
        # split the text, not the number, so that 4807.038 gives exactly 48 + 7.038 / 60
        point = value.find(".") if "." in value else len(value)
        degree_text, minute_text = value[:max(point - 2, 0)], value[max(point - 2, 0):]
        if point < 2 or not (degree_text + minute_text.replace(".", "", 1)).isdigit():
            raise self.error(i, name, "(d)ddmm.mmmm")
        degrees, minutes = int(degree_text or "0"), float(minute_text)
        if minutes >= 60.0 or degrees + minutes / 60.0 > max_deg:
            raise self.error(i, name, f"(d)ddmm.mmmm with minutes < 60 and at most {max_deg:g} degrees")
        if hemisphere not in hemispheres:
            raise self.error(i + 1, f"{name} hemisphere", " or ".join(hemispheres))
        sign = -1.0 if hemisphere == hemispheres[1] else 1.0
        return sign * (degrees + minutes / 60.0)


def _decode_gga(f: _Fields) -> Gga:
    f.unit(9, "altitude unit", "M")
    f.unit(11, "geoid separation unit", "M")
    return Gga(
        time_of_day_s=f.time_of_day(0),
        lat=f.angle(1, "NS", 90.0, "latitude"),
        lon=f.angle(3, "EW", 180.0, "longitude"),
        quality=f.int(5, "fix quality"),
        n_sats=f.int(6, "satellites used"),
        hdop=f.float(7, "HDOP"),
        alt_m=f.float(8, "altitude"),
        geoid_separation_m=f.float(10, "geoid separation"),
        dgps_age_s=f.float(12, "DGPS age"),
        dgps_station=f.raw(13),
    )


def _decode_rmc(f: _Fields) -> Rmc:
    status = f.raw(1)
    if status not in (None, "A", "V"):
        raise f.error(1, "status", "'A' or 'V'")
    variation = f.float(9, "magnetic variation")
    direction = f.raw(10)
    if variation is not None and direction is not None:
        if direction not in ("E", "W"):
            raise f.error(10, "magnetic variation direction", "E or W")
        variation = -variation if direction == "W" else variation
    knots = f.float(6, "speed over ground")
    return Rmc(
        time_of_day_s=f.time_of_day(0),
        valid=None if status is None else status == "A",
        lat=f.angle(2, "NS", 90.0, "latitude"),
        lon=f.angle(4, "EW", 180.0, "longitude"),
        speed_mps=None if knots is None else knots * KNOT_MPS,
        course_deg=f.float(7, "course over ground"),
        date=f.date(8),
        magnetic_variation_deg=variation,
        mode=f.raw(11),
    )


def _decode_vtg(f: _Fields) -> Vtg:
    if f.raw(1) in ("T", None) and len(f.fields) >= 8:  # NMEA 2.0+: value, unit letter pairs
        f.unit(1, "course unit", "T")
        f.unit(3, "magnetic course unit", "M")
        f.unit(5, "speed unit", "N")
        f.unit(7, "speed unit", "K")
        course, course_mag, knots, kmh, mode = f.float(0, "course"), f.float(2, "magnetic course"), \
            f.float(4, "speed in knots"), f.float(6, "speed in km/h"), f.raw(8)
    else:  # old form: course, magnetic course, knots, km/h
        course, course_mag, knots, kmh, mode = f.float(0, "course"), f.float(1, "magnetic course"), \
            f.float(2, "speed in knots"), f.float(3, "speed in km/h"), None
    if kmh is not None:
        speed = kmh * KMH_MPS
    elif knots is not None:
        speed = knots * KNOT_MPS
    else:
        speed = None
    return Vtg(course_deg=course, course_magnetic_deg=course_mag, speed_mps=speed, mode=mode)


_DECODERS = {"GGA": _decode_gga, "RMC": _decode_rmc, "VTG": _decode_vtg}
