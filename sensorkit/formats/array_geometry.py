"""Microphone array geometry: positions (n_mics, 3) in metres, array frame (x, y horizontal, z up).

Files read by :func:`read_array_geometry` (the format is told by the content, not the name):

- acoular XML (``acoular.MicGeom``): every ``<pos x=".." y=".." z=".."/>`` element in document
  order, whatever the root element (``MicArray``, ``BKArray``) or the ``Name`` attributes;
  numbers may carry surrounding whitespace (acoular's own files have tabs).
- JSON: a list of ``[x, y, z]`` or ``{"x": .., "y": .., "z": ..}``, or an object
  ``{"mic_positions_m": [...]}`` holding such a list (what :func:`write_array_geometry_json` writes).

Row i is the position of channel i of the recording.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np

from sensorkit.errors import FormatError

#: miniDSP UMA-16 microphone pitch (4 x 4 grid), metres
UMA16_PITCH_M = 0.042

# Channel order and signs of acoular's minidsp_uma-16.xml (x corrected after acoular 24.03,
# acoular issue #63), in units of half the pitch.
_UMA16_HALF_PITCH = (
    (1, -3), (3, -3), (1, -1), (3, -1), (1, 1), (3, 1), (1, 3), (3, 3),
    (-3, 3), (-1, 3), (-3, 1), (-1, 1), (-3, -1), (-1, -1), (-3, -3), (-1, -3),
)


def read_array_geometry(path) -> np.ndarray:
    """Microphone positions (n_mics, 3) float64, metres, from an acoular XML or a JSON file.

    Raises FormatError on a missing, empty or malformed file, a wrong shape or a non-finite value.
    """
    path = Path(path)
    if not path.is_file():
        raise FormatError(path, "file", "an existing file", "no such file")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(path, "text", "UTF-8 text (acoular XML or JSON)", str(exc)) from None
    start = text.lstrip()[:1]
    if start == "<":
        positions = _positions_from_xml(path, text)
    elif start in ("[", "{"):
        positions = _positions_from_json(path, text)
    else:
        raise FormatError(path, "content", "acoular XML (<MicArray ...>) or JSON ([...] or {...})",
                          text.lstrip()[:20] or "(empty)")
    return _checked(path, positions)


def write_array_geometry_json(path, positions) -> None:
    """Write positions (n_mics, 3), metres, as JSON ``{"mic_positions_m": [[x, y, z], ...]}``.

    Floats are written with repr precision, so reading the file back gives the same numbers.
    """
    positions = np.asarray(positions, dtype=float)
    if positions.ndim != 2 or positions.shape[1] != 3 or positions.shape[0] < 1:
        raise ValueError(f"positions: expected shape (n_mics, 3), got {positions.shape}")
    if not np.all(np.isfinite(positions)):
        raise ValueError("positions: expected finite values")
    document = {"mic_positions_m": positions.tolist()}
    Path(path).write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


def circular_array(n_mics: int = 8, radius_m: float = 0.1) -> np.ndarray:
    """A uniform circular array in the horizontal plane (n_mics, 3), metres.

    Microphone k sits at azimuth 2*pi*k/n_mics counter-clockwise from +x, z = 0.
    """
    if int(n_mics) != n_mics or n_mics < 2:
        raise ValueError(f"n_mics: expected an integer >= 2, got {n_mics!r}")
    if not (math.isfinite(radius_m) and radius_m > 0):
        raise ValueError(f"radius_m: expected a positive finite number, got {radius_m!r}")
    azimuth = 2.0 * np.pi * np.arange(int(n_mics)) / int(n_mics)
    return np.column_stack([radius_m * np.cos(azimuth), radius_m * np.sin(azimuth), np.zeros(int(n_mics))])


def uma16_array() -> np.ndarray:
    """miniDSP UMA-16 (16, 3), metres: a 4 x 4 planar grid of 42 mm pitch, centred on the origin.

    Channel order and axes as acoular's ``minidsp_uma-16.xml`` (+z out of the microphone side of
    the board, channel 1 at x = +21 mm, y = -63 mm). The older ``minidsp_uma16.xml`` and the ODAS
    configuration in circulation have x mirrored.
    """
    half = UMA16_PITCH_M / 2.0
    grid = np.array(_UMA16_HALF_PITCH, dtype=float) * half
    return np.column_stack([grid, np.zeros(len(grid))])


def _positions_from_xml(path: Path, text: str) -> list:
    try:
        root = ElementTree.fromstring(text.encode("utf-8"))
    except ElementTree.ParseError as exc:
        raise FormatError(path, "XML", "well-formed XML", str(exc)) from None
    elements = list(root.iter("pos"))
    if not elements:
        raise FormatError(path, "pos elements", 'at least one <pos x=".." y=".." z=".."/>', 0)
    positions = []
    for i, element in enumerate(elements):
        label = (element.get("Name") or f"#{i + 1}").replace("\t", "").strip()
        row = []
        for axis in "xyz":
            value = element.get(axis)
            try:
                row.append(float(value))
            except (TypeError, ValueError):
                raise FormatError(path, f"pos {label} attribute {axis}", "a number in metres", value) from None
        positions.append(row)
    return positions


def _positions_from_json(path: Path, text: str) -> list:
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise FormatError(path, "JSON", "valid JSON", str(exc)) from None
    if isinstance(document, dict):
        if "mic_positions_m" not in document:
            raise FormatError(path, "mic_positions_m", "a key mic_positions_m holding a list of positions",
                              sorted(document)[:5])
        document = document["mic_positions_m"]
    if not isinstance(document, list) or not document:
        raise FormatError(path, "mic_positions_m", "a non-empty list of positions", type(document).__name__)
    positions = []
    for i, item in enumerate(document):
        if isinstance(item, dict):
            try:
                item = [item["x"], item["y"], item["z"]]
            except KeyError as exc:
                raise FormatError(path, f"position {i}", "an object with keys x, y, z", f"missing {exc}") from None
        if not isinstance(item, list) or len(item) != 3:
            raise FormatError(path, f"position {i}", "[x, y, z] or {\"x\": .., \"y\": .., \"z\": ..}", item)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in item):
            raise FormatError(path, f"position {i}", "three numbers in metres", item)
        positions.append([float(v) for v in item])
    return positions


def _checked(path: Path, positions: list) -> np.ndarray:
    array = np.asarray(positions, dtype=float).reshape(-1, 3)
    bad = np.argwhere(~np.isfinite(array))
    if bad.size:
        i, axis = bad[0]
        raise FormatError(path, f"position {i} {'xyz'[axis]}", "a finite number in metres", array[i, axis])
    return array
