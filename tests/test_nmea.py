"""NMEA 0183 parser: real sentences (canonical NMEA examples, the lines of a real GSSI DZG) and hand-computed values."""

import datetime
from functools import reduce

import pytest

from sensorkit.nmea import (KNOT_MPS, Gga, NmeaChecksumError, NmeaError, Rmc, Vtg, checksum,
                            parse_sentence)

GGA = "$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47"
RMC = "$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A"
VTG = "$GPVTG,054.7,T,034.4,M,005.5,N,010.2,K*48"
GSV = "$GPGSV,3,1,11,03,03,111,00,04,15,270,00,06,01,010,00,13,06,292,00*74"
DZG_GGA = "$GPGGA,000320,4739.2552,N,12218.5815,W,0,00,,,M,,M,,*46"  # first fix of impdar's test_gssi.DZG


def with_checksum(body: str) -> str:
    """'$' + body + '*hh', the checksum computed here independently of sensorkit."""
    return "$" + body + "*%02X" % reduce(lambda acc, ch: acc ^ ord(ch), body, 0)


def test_checksum_of_the_canonical_gga():
    assert checksum(GGA[1:GGA.index("*")]) == 0x47


def test_gga_canonical_example():
    s = parse_sentence(GGA + "\r\n")
    assert (s.address, s.talker, s.kind, s.checksum_ok) == ("GPGGA", "GP", "GGA", True)
    g = s.data
    assert isinstance(g, Gga)
    assert g.time_of_day_s == 12 * 3600 + 35 * 60 + 19
    assert g.lat == pytest.approx(48 + 7.038 / 60, abs=1e-12)  # 48.1173
    assert g.lon == pytest.approx(11 + 31.0 / 60, abs=1e-12)  # 11.516666...
    assert (g.quality, g.n_sats, g.hdop, g.alt_m, g.geoid_separation_m) == (1, 8, 0.9, 545.4, 46.9)
    assert g.dgps_age_s is None and g.dgps_station is None


def test_rmc_canonical_example():
    r = parse_sentence(RMC).data
    assert isinstance(r, Rmc)
    assert r.valid is True
    assert r.time_of_day_s == 45319.0
    assert r.lat == pytest.approx(48.1173, abs=1e-12)
    assert r.speed_mps == pytest.approx(22.4 * 1852 / 3600)  # 11.5236 m/s
    assert r.course_deg == 84.4
    assert r.date == datetime.date(1994, 3, 23)
    assert r.magnetic_variation_deg == pytest.approx(-3.1)  # west is negative
    assert r.mode is None


def test_rmc_checksum_in_lower_case_and_two_digit_years():
    assert parse_sentence(RMC.replace("*6A", "*6a")).checksum_ok is True
    late = parse_sentence(with_checksum("GNRMC,000001.50,V,,,,,,,010120,,,N")).data
    assert late.date == datetime.date(2020, 1, 1)
    assert late.valid is False and late.lat is None and late.speed_mps is None
    assert late.time_of_day_s == 1.5 and late.mode == "N"


def test_vtg_canonical_example_prefers_kmh():
    v = parse_sentence(VTG).data
    assert isinstance(v, Vtg)
    assert (v.course_deg, v.course_magnetic_deg) == (54.7, 34.4)
    assert v.speed_mps == pytest.approx(10.2 / 3.6)  # 2.8333 m/s from the km/h field
    knots_only = parse_sentence(with_checksum("GPVTG,054.7,T,,M,005.5,N,,K,A")).data
    assert knots_only.speed_mps == pytest.approx(5.5 * KNOT_MPS)
    assert knots_only.course_magnetic_deg is None and knots_only.mode == "A"
    old_form = parse_sentence(with_checksum("GPVTG,054.7,034.4,005.5,010.2")).data
    assert (old_form.course_deg, old_form.course_magnetic_deg) == (54.7, 34.4)
    assert old_form.speed_mps == pytest.approx(10.2 / 3.6)


def test_real_dzg_gga_with_empty_altitude_and_hdop():
    g = parse_sentence(DZG_GGA).data
    assert g.time_of_day_s == 200.0  # 00:03:20
    assert g.lat == pytest.approx(47 + 39.2552 / 60, abs=1e-12)  # 47.654253
    assert g.lon == pytest.approx(-(122 + 18.5815 / 60), abs=1e-12)  # -122.309692, west negative
    assert (g.quality, g.n_sats) == (0, 0)
    assert g.hdop is None and g.alt_m is None and g.geoid_separation_m is None


def test_every_line_of_the_real_dzg(shared_data):
    text = (shared_data / "gpr" / "impdar-tests" / "test_gssi.DZG").read_text()
    sentences = [s for s in map(parse_sentence, text.splitlines()) if s is not None]
    ggas = [s.data for s in sentences if s.kind == "GGA"]
    marks = [s for s in sentences if s.address == "GSSIS"]
    assert len(ggas) == 14 and len(marks) == 14
    assert [int(m.fields[0]) for m in marks] == list(range(23, 336, 24))
    assert all(m.checksum_ok is None and m.data is None for m in marks)  # $GSSIS lines carry no checksum
    assert [g.time_of_day_s for g in ggas] == [200.0 + k for k in range(14)]
    assert all(g.alt_m is None for g in ggas)


@pytest.mark.parametrize("talker", ["GP", "GN", "GL", "GA", "GB"])
def test_gga_is_talker_independent(talker):
    s = parse_sentence(with_checksum(talker + "GGA,123519,4807.038,S,01131.000,W,2,12,1.5,-5.0,M,46.9,M,3.0,0120"))
    assert (s.talker, s.kind) == (talker, "GGA")
    g = s.data
    assert g.lat == pytest.approx(-48.1173, abs=1e-12) and g.lon == pytest.approx(-11.5166666667, abs=1e-9)
    assert (g.quality, g.n_sats, g.hdop, g.alt_m, g.dgps_age_s, g.dgps_station) == (2, 12, 1.5, -5.0, 3.0, "0120")


def test_missing_trailing_fields_are_none():
    g = parse_sentence(with_checksum("GPGGA,123519,4807.038,N,01131.000,E,1,08")).data
    assert g.n_sats == 8 and g.hdop is None and g.alt_m is None and g.dgps_station is None


def test_all_empty_gga_is_tolerated():
    g = parse_sentence(with_checksum("GPGGA,,,,,,0,,,,,,,,")).data
    assert g == Gga(None, None, None, 0, None, None, None, None, None, None)


def test_wrong_checksum_is_rejected():
    with pytest.raises(NmeaChecksumError, match="checksum is 47, content gives 46"):
        parse_sentence(DZG_GGA.replace("*46", "*47"))
    with pytest.raises(ValueError):  # NmeaChecksumError is a ValueError
        parse_sentence(GGA.replace("545.4", "545.5"))


def test_sentence_without_checksum():
    s = parse_sentence("$GSSIS,23,-1")
    assert (s.address, s.fields, s.checksum_ok, s.data) == ("GSSIS", ("23", "-1"), None, None)
    assert parse_sentence(GGA[:GGA.index("*")]).data.alt_m == 545.4
    with pytest.raises(NmeaError, match="checksum"):
        parse_sentence("$GSSIS,23,-1", require_checksum=True)


def test_unknown_and_proprietary_sentences_are_returned_raw():
    s = parse_sentence(GSV)
    assert (s.kind, s.data, s.checksum_ok, len(s.fields)) == ("GSV", None, True, 19)
    p = parse_sentence(with_checksum("PGRME,15.0,M,45.0,M,25.0,M"))
    assert (p.talker, p.kind, p.data) == ("P", "GRME", None)


@pytest.mark.parametrize("line", ["", "   ", "\r\n"])
def test_blank_lines_give_none(line):
    assert parse_sentence(line) is None


@pytest.mark.parametrize("line, message", [
    ("GPGGA,123519,4807.038,N", "start with"),
    ("$GPGGA,123519*4", "two hex digits"),
    ("$GPGGA,123519*ZZ", "two hex digits"),
    ("$,1,2", "address"),
    ("$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M\u00b0", "ASCII"),
    (with_checksum("GPGGA,000320,47x9.2552,N,12218.5815,W,0,00,,,M,,M,,"), "latitude"),
    (with_checksum("GPGGA,000320,4760.0000,N,12218.5815,W,0,00,,,M,,M,,"), "minutes < 60"),
    (with_checksum("GPGGA,000320,9100.0000,N,12218.5815,W,0,00,,,M,,M,,"), "at most 90"),
    (with_checksum("GPGGA,000320,4739.2552,Q,12218.5815,W,0,00,,,M,,M,,"), "hemisphere"),
    (with_checksum("GPGGA,000320,4739.2552,N,12218.5815,W,0,00,,12.0,F,,M,,"), "altitude unit"),
    (with_checksum("GPGGA,250000,4739.2552,N,12218.5815,W,0,00,,,M,,M,,"), "UTC time"),
    (with_checksum("GPGGA,000320,4739.2552,N,12218.5815,W,x,00,,,M,,M,,"), "fix quality"),
    (with_checksum("GPGGA,000320,4739.2552,N,12218.5815,W,0,00,nan,,M,,M,,"), "HDOP"),
    (with_checksum("GPRMC,123519,X,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W"), "status"),
    (with_checksum("GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,320194,003.1,W"), "date"),
])
def test_malformed_sentences_raise_nmea_error(line, message):
    with pytest.raises(NmeaError, match=message):
        parse_sentence(line)
