"""pytest plugin for testing `make bench-compare`: injects a 2x slowdown into one kernel, outside library code.

Load with ``-p slowdown_plugin`` (benchmarks/ on PYTHONPATH) and name the function to slow down as
``--slowdown=module:attribute`` (e.g. ``sensorkit.kernels.gpr_filters:dewow``): the module attribute is replaced,
for the session, by a wrapper that times the call and then busy-waits as long again, so each call takes exactly
twice its own time. (Calling the function twice is not a 2x slowdown: the second call finds its data in cache
and measured as little as 1.4x.) Benchmarks that look the function up through its module at call time
(``gpr.dewow(...)``) then measure twice its time.
Used by tests/test_bench_compare.py.
"""

import functools
import importlib
import time

import pytest


def pytest_addoption(parser):
    parser.addoption("--slowdown", metavar="MODULE:ATTRIBUTE", default=None,
                     help="make each call of this function take twice its time, to test benchmark comparison")


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
        start = time.perf_counter()
        result = original(*args, **kwargs)
        until = time.perf_counter() + (time.perf_counter() - start)
        while time.perf_counter() < until:  # busy, like the work it stands for (a sleep could oversleep)
            pass
        return result

    setattr(module, attribute, twice)
    config.add_cleanup(lambda: setattr(module, attribute, original))
