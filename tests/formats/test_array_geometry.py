"""Array geometry: acoular XML and JSON readers, JSON writer, built-in circular and UMA-16 arrays."""

import json
import math

import numpy as np
import pytest

from sensorkit.errors import FormatError
from sensorkit.formats.array_geometry import (
    circular_array,
    read_array_geometry,
    uma16_array,
    write_array_geometry_json,
)

# acoular's minidsp_uma-16.xml (x corrected after acoular 24.03), verbatim layout
UMA16_XML = """<?xml version="1.1" encoding="utf-8"?><MicArray name="minidsp_uma16">
   <!-- Contains the sensor positions for the UMA-16 MEMS microphone array from miniDSP. -->
  <pos Name="Point 1" x="0.021" y="-0.063" z="0.0"/>
  <pos Name="Point 2" x="0.063" y="-0.063" z="0.0"/>
  <pos Name="Point 3" x="0.021" y="-0.021" z="0.0"/>
  <pos Name="Point 4" x="0.063" y="-0.021" z="0.0"/>
  <pos Name="Point 5" x="0.021" y="0.021" z="0.0"/>
  <pos Name="Point 6" x="0.063" y="0.021" z="0.0"/>
  <pos Name="Point 7" x="0.021" y="0.063" z="0.0"/>
  <pos Name="Point 8" x="0.063" y="0.063" z="0.0"/>
  <pos Name="Point 9" x="-0.063" y="0.063" z="0.0"/>
  <pos Name="Point 10" x="-0.021" y="0.063" z="0.0"/>
  <pos Name="Point 11" x="-0.063" y="0.021" z="0.0"/>
  <pos Name="Point 12" x="-0.021" y="0.021" z="0.0"/>
  <pos Name="Point 13" x="-0.063" y="-0.021" z="0.0"/>
  <pos Name="Point 14" x="-0.021" y="-0.021" z="0.0"/>
  <pos Name="Point 15" x="-0.063" y="-0.063" z="0.0"/>
  <pos Name="Point 16" x="-0.021" y="-0.063" z="0.0"/>
</MicArray>"""

# the style of acoular's older files (array_64.xml): BKArray root, tabs inside the values
TABBED_XML = ('<?xml version="1.0" encoding="utf-8"?>\t\t\n<BKArray name="array_3">\t\n'
              '\t<pos Name="Point \t1\t" x="\t0.152\t" y="\t0.1141\t" z="\t0\t"/>\n'
              '\t<pos Name="Point \t2\t" x="\t-0.0112\t" y="\t-0.0141\t" z="\t0.25\t"/>\n'
              '\t<pos Name="Point \t3\t" x="\t0\t" y="\t0\t" z="\t-1e-3\t"/>\n'
              '</BKArray>\t\t\n')


def test_acoular_uma16_xml_equals_builtin(tmp_path):
    path = tmp_path / "minidsp_uma-16.xml"
    path.write_text(UMA16_XML)
    positions = read_array_geometry(path)
    assert positions.shape == (16, 3)
    assert positions.dtype == np.float64
    np.testing.assert_array_equal(positions, uma16_array())
    assert positions[0].tolist() == [0.021, -0.063, 0.0]
    assert positions[8].tolist() == [-0.063, 0.063, 0.0]


def test_acoular_tabbed_bkarray_xml(tmp_path):
    path = tmp_path / "array_3.xml"
    path.write_text(TABBED_XML)
    positions = read_array_geometry(path)
    assert positions.tolist() == [[0.152, 0.1141, 0.0], [-0.0112, -0.0141, 0.25], [0.0, 0.0, -0.001]]


def test_uma16_is_a_centred_4x4_grid_of_42_mm():
    positions = uma16_array()
    assert positions.shape == (16, 3)
    np.testing.assert_allclose(positions.mean(axis=0), 0.0, atol=1e-15)
    np.testing.assert_allclose(np.unique(positions[:, 0]), [-0.063, -0.021, 0.021, 0.063], rtol=0, atol=1e-15)
    np.testing.assert_allclose(np.unique(positions[:, 1]), [-0.063, -0.021, 0.021, 0.063], rtol=0, atol=1e-15)
    assert np.all(positions[:, 2] == 0.0)
    distances = np.linalg.norm(positions[:, None, :] - positions[None, :, :], axis=-1)
    np.fill_diagonal(distances, np.inf)
    np.testing.assert_allclose(distances.min(axis=1), 0.042, rtol=0, atol=1e-12)  # nearest neighbour: the pitch
    np.testing.assert_allclose(distances[np.isfinite(distances)].max(), 0.126 * math.sqrt(2), atol=1e-12)
    assert len({tuple(p) for p in positions}) == 16


def test_circular_array_positions():
    positions = circular_array(8, 0.1)
    assert positions.shape == (8, 3)
    np.testing.assert_allclose(np.linalg.norm(positions, axis=1), 0.1, rtol=1e-15)
    np.testing.assert_allclose(positions[0], [0.1, 0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(positions[2], [0.0, 0.1, 0.0], atol=1e-15)  # counter-clockwise from +x
    np.testing.assert_allclose(positions[4], [-0.1, 0.0, 0.0], atol=1e-15)
    spacing = np.linalg.norm(positions[1] - positions[0])
    assert spacing == pytest.approx(2 * 0.1 * math.sin(math.pi / 8), rel=1e-12)  # 0.0765367 m
    assert circular_array(4, 0.5)[1] == pytest.approx([0.0, 0.5, 0.0], abs=1e-15)


@pytest.mark.parametrize("n_mics, radius_m", [(1, 0.1), (2.5, 0.1), (8, 0.0), (8, -0.1), (8, math.nan)])
def test_circular_array_rejects_bad_arguments(n_mics, radius_m):
    with pytest.raises(ValueError):
        circular_array(n_mics, radius_m)


def test_json_round_trip_is_exact(tmp_path):
    positions = np.array([[0.1 + 0.2, -1 / 3, 1e-9], [12.345678901234567, 0.0, -0.0421]])
    path = tmp_path / "geom.json"
    write_array_geometry_json(path, positions)
    assert json.loads(path.read_text())["mic_positions_m"][0][0] == 0.30000000000000004
    back = read_array_geometry(path)
    assert back.tobytes() == positions.tobytes()


@pytest.mark.parametrize("document", [
    [[0.1, 0.2, 0.0], [-0.1, 0.2, 0.5]],
    [{"x": 0.1, "y": 0.2, "z": 0}, {"z": 0.5, "y": 0.2, "x": -0.1}],
    {"mic_positions_m": [[0.1, 0.2, 0], [-0.1, 0.2, 0.5]], "name": "two"},
])
def test_json_layouts(tmp_path, document):
    path = tmp_path / "geom.json"
    path.write_text(json.dumps(document))
    assert read_array_geometry(path).tolist() == [[0.1, 0.2, 0.0], [-0.1, 0.2, 0.5]]


@pytest.mark.parametrize("content", [
    "",
    "   \n",
    "hello",
    "<MicArray><pos x='0' y='0' z='0'>",  # not closed
    "<MicArray name='empty'></MicArray>",  # no pos
    "<MicArray><pos Name='Point 1' x='0.1' y='0.2'/></MicArray>",  # no z
    "<MicArray><pos Name='Point 1' x='abc' y='0.2' z='0'/></MicArray>",
    "<MicArray><pos Name='Point 1' x='nan' y='0.2' z='0'/></MicArray>",
    "<MicArray><pos Name='Point 1' x='inf' y='0.2' z='0'/></MicArray>",
    "[[0.1, 0.2, 0.3]",  # bad JSON
    "[]",
    "[[0.1, 0.2]]",
    "[[0.1, 0.2, 0.3, 0.4]]",
    "[[0.1, 0.2, \"0.3\"]]",
    "[[true, 0, 0]]",
    "[[NaN, 0, 0]]",
    "[[1e400, 0, 0]]",
    "[0.1, 0.2, 0.3]",
    "[{\"x\": 0.1, \"y\": 0.2}]",
    "{\"positions\": [[0, 0, 0]]}",
    "{\"mic_positions_m\": 3}",
    "{\"mic_positions_m\": [[0, 0, 0], null]}",
])
def test_malformed_geometry_raises_format_error(tmp_path, content):
    path = tmp_path / "bad.geom"
    path.write_text(content)
    with pytest.raises(FormatError) as info:
        read_array_geometry(path)
    assert str(path) in str(info.value)


def test_binary_and_missing_files_raise_format_error(tmp_path):
    path = tmp_path / "garbage.xml"
    path.write_bytes(bytes(range(256)))
    with pytest.raises(FormatError):
        read_array_geometry(path)
    with pytest.raises(FormatError):
        read_array_geometry(tmp_path / "missing.json")


def test_nan_position_error_names_the_field(tmp_path):
    path = tmp_path / "g.json"
    path.write_text("[[0, 0, 0], [0.1, NaN, 0]]")
    with pytest.raises(FormatError) as info:
        read_array_geometry(path)
    assert info.value.field == "position 1 y"


@pytest.mark.parametrize("positions", [np.zeros((3, 2)), np.zeros((0, 3)), np.zeros(3), [[0.0, np.nan, 0.0]]])
def test_write_json_rejects_bad_positions(tmp_path, positions):
    with pytest.raises(ValueError):
        write_array_geometry_json(tmp_path / "g.json", positions)
