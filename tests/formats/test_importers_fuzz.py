"""Property test: mutated and truncated real files make importers raise FormatError and nothing else."""

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sensorkit.errors import FormatError
from sensorkit.formats.registry import read_any

# (main file, side files, bytes of the main file that form its header)
CASES = {
    "dzt": ("gpr/gprpy-examples/GSSI/FILE____032.DZT", [], 1024),
    "dzt-gps": ("gpr/impdar-tests/test_gssi.DZT", ["gpr/impdar-tests/test_gssi.DZX", "gpr/impdar-tests/test_gssi.DZG"],
                1024),
    "dt1": ("gpr/gprpy-examples/SnS/WARR/XLINE00.DT1", ["gpr/gprpy-examples/SnS/WARR/XLINE00.HD"], 128),
    "hd": ("gpr/gprpy-examples/SnS/WARR/XLINE00.HD", ["gpr/gprpy-examples/SnS/WARR/XLINE00.DT1"], 783),
    "rad": ("gpr/impdar-tests/ten_col.rad", ["gpr/impdar-tests/ten_col.rd3", "gpr/impdar-tests/ten_col.cor"], 761),
    "cor": ("gpr/impdar-tests/ten_col.cor", ["gpr/impdar-tests/ten_col.rd3", "gpr/impdar-tests/ten_col.rad"], 224),
    "wav": ("acoustic/drone-audio-dataset/yes_drone/B_S2_D1_068-bebop_001_.wav", [], 44),
}

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _stage(shared_data: Path, case: str, data: bytes) -> Path:
    """Write the mutated main file and unchanged side files into a fresh folder; returns what to import."""
    main, sides, _ = CASES[case]
    folder = Path(tempfile.mkdtemp(prefix="fuzz-"))
    for side in sides:
        shutil.copy(shared_data / side, folder / Path(side).name)
    target = folder / Path(main).name
    target.write_bytes(data)
    # the importer is called on the file that names the format (.DZT, .DT1, .rd3, .wav)
    if case == "hd":
        return folder / Path(sides[0]).name
    if case in ("rad", "cor"):
        return folder / "ten_col.rd3"
    return target


def _import_only_format_errors(path: Path) -> None:
    try:
        read_any(path)
    except FormatError as error:
        assert str(path.parent) in str(error) or path.name in str(error) or path.stem in str(error), error
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


@pytest.mark.parametrize("case", sorted(CASES))
@SETTINGS
@given(data=st.data())
def test_mutated_headers_raise_only_format_error(shared_data, case, data):
    main, _, header_bytes = CASES[case]
    original = bytearray((shared_data / main).read_bytes())
    n_changes = data.draw(st.integers(1, 12), label="n_changes")
    for _ in range(n_changes):
        position = data.draw(st.integers(0, min(header_bytes, len(original)) - 1), label="position")
        original[position] = data.draw(st.integers(0, 255), label="byte")
    _import_only_format_errors(_stage(shared_data, case, bytes(original)))


@pytest.mark.parametrize("case", sorted(CASES))
@SETTINGS
@given(data=st.data())
def test_truncated_files_raise_only_format_error(shared_data, case, data):
    main, _, header_bytes = CASES[case]
    original = (shared_data / main).read_bytes()
    cut = data.draw(st.one_of(st.integers(0, min(len(original), 2 * header_bytes)),
                              st.integers(0, len(original) - 1)), label="cut")
    _import_only_format_errors(_stage(shared_data, case, original[:cut]))
