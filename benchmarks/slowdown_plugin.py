"""pytest plugin for testing `make bench-compare`: injects a 2x slowdown into one kernel, outside library code.

Load with ``-p slowdown_plugin`` (benchmarks/ on PYTHONPATH) and name the function to slow down as
``--slowdown=module:attribute`` (e.g. ``sensorkit.kernels.gpr_filters:dewow``): the module attribute is replaced,
for the session, by a wrapper that calls the function twice and returns the second result. Benchmarks that
look the function up through its module at call time (``gpr.dewow(...)``) then measure twice its time.
Used by tests/test_bench_compare.py.
"""

import functools
import importlib

import pytest


def pytest_addoption(parser):
    parser.addoption("--slowdown", metavar="MODULE:ATTRIBUTE", default=None,
                     help="run this function twice per call (a 2x slowdown), to test benchmark comparison")


def pytest_configure(config):
    target = config.getoption("--slowdown")
    if not target:
        return
    module_name, sep, attribute = target.partition(":")
    if not sep or not attribute:
        raise pytest.UsageError(f"--slowdown: expected MODULE:ATTRIBUTE, found {target!r}")
    module = importlib.import_module(module_name)
    original = getattr(module, attribute)

    @functools.wraps(original)
    def twice(*args, **kwargs):
        original(*args, **kwargs)
        return original(*args, **kwargs)

    setattr(module, attribute, twice)
    config.add_cleanup(lambda: setattr(module, attribute, original))
