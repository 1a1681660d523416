"""Packages export their names lazily: importing them costs no Numba or Dask start-up (the CLI's --help and
the parsers stay fast), and the names resolve on first use."""

import subprocess
import sys

import pytest


def test_importing_the_packages_loads_neither_numba_nor_dask():
    code = ("import sys, sensorkit.synth, sensorkit.gpr, sensorkit.scale, sensorkit.cli.main; "
            "print(sorted(m for m in ('numba', 'dask', 'distributed') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_names_resolve_on_first_use_and_unknown_names_say_so():
    import sensorkit.gpr
    from sensorkit.gpr.gridding import grid_lines

    assert sensorkit.gpr.grid_lines is grid_lines and "grid_lines" in sensorkit.gpr.__all__
    with pytest.raises(AttributeError, match="module 'sensorkit.gpr' has no attribute 'no_such_name'"):
        sensorkit.gpr.no_such_name  # noqa: B018
