"""The per-file jobs that `sensorkit batch` runs: a table name -> "module:function", resolved lazily.

A job is ``function(path: str, out_dir: str, config: dict) -> dict``: it opens the file by path (inside the
worker: h5py objects do not pickle), writes its outputs into out_dir (named after the file) and returns a
JSON-able summary. Optional attributes of the function:

- ``check_config(config) -> None``  raises ValueError on a bad config; run_batch calls it once, before any
  file is sent out, so that a typo is a usage error and not one failure per file.
- ``warm_up() -> None``  runs the job's Numba kernels once on tiny arrays; each worker calls it once when it
  joins (sensorkit.scale.batch.WarmUpPlugin), so that no task pays for compiling or loading them.
"""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path

__all__ = ["JOBS", "JobUnavailable", "detect_mines_job", "info_job", "migrate_job", "output_path", "resolve_job"]

JOBS: dict[str, str] = {
    "detect-mines": "sensorkit.scale.jobs:detect_mines_job",
    "detect-drones": "sensorkit.pipelines.drone:batch_job",
    "migrate": "sensorkit.scale.jobs:migrate_job",
    "info": "sensorkit.scale.jobs:info_job",
}


class JobUnavailable(ValueError):
    """A job of the table whose module or function is not in this installation."""


def resolve_job(name: str):
    """The function of job ``name`` (a key of JOBS, or "module:function"); JobUnavailable (one line) if its
    module or function is missing, ValueError for an unknown name."""
    target = JOBS.get(name, name)
    if ":" not in target:
        raise ValueError(f"job: expected one of {', '.join(sorted(JOBS))} (or 'module:function'), found {name!r}")
    module_name, function_name = target.split(":", 1)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name == module_name or module_name.startswith(f"{error.name}."):  # the module itself
            raise JobUnavailable(f"job {name!r}: module {module_name} is not available in this installation "
                                 f"(the job runs {target})") from None
        raise JobUnavailable(f"job {name!r}: module {module_name} needs {error.name!r}, which is not "
                             f"installed") from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise JobUnavailable(f"job {name!r}: {module_name} has no function {function_name} (expected {target})")
    return function


def output_path(path, out_dir, suffix: str) -> Path:
    """out_dir / (the input's stem + suffix): where a job writes the output of one input file."""
    return Path(out_dir) / (Path(path).stem + suffix)


# ----------------------------------------------------------------------------------------------------- info

def info_job(path: str, out_dir: str, config: dict) -> dict:
    """sensorkit.info.summarize of a recording, also written to out_dir/<stem>.info.json. No config keys."""
    from sensorkit.info import summarize

    if config:
        raise ValueError(f"config: the info job takes no options, found {sorted(config)}")
    summary = summarize(path)
    target = output_path(path, out_dir, ".info.json")
    target.write_text(json.dumps(summary, indent=2, default=str))
    return {**summary, "out": str(target)}


def _info_check_config(config: dict) -> None:
    if config:
        raise ValueError(f"config: the info job takes no options, found {sorted(config)}")


info_job.check_config = _info_check_config


# -------------------------------------------------------------------------------------------------- migrate

# options of `sensorkit migrate` that the batch job sets itself
_MIGRATE_FIXED = {"inputs", "out", "force", "json", "plot"}


class _RaisingParser(argparse.ArgumentParser):
    def error(self, message):
        raise ValueError(f"config: {message}")


def _command_parser(command_module) -> argparse.ArgumentParser:
    """A parser of one `sensorkit` command (its module's add_parser) that raises ValueError on bad options."""
    parser = _RaisingParser(prog="sensorkit batch", add_help=False)
    command_module.add_parser(parser.add_subparsers(dest="command"))
    return parser


def _options_argv(config: dict, fixed: set, outputs: str) -> list[str]:
    """Command-line options from a config dict: {"velocity": 0.1, "no_preprocess": True, ...} ->
    ["--velocity", "0.1", "--no-preprocess"]; the options in ``fixed`` belong to the batch job."""
    if not isinstance(config, dict):
        raise ValueError(f"config: expected a JSON object of command options, found {type(config).__name__}")
    argv = []
    for key, value in config.items():
        if key in fixed:
            raise ValueError(f"config: {key!r} is set by the batch job (outputs go to {outputs})")
        flag = "--" + key.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif value is False or value is None:
            continue
        elif isinstance(value, (int, float, str)):
            argv += [flag, str(value)]
        else:
            raise ValueError(f"config: {key!r}: expected a number, a string or true/false, found {value!r}")
    return argv


def _migrate_args(path: str, out: Path, config: dict) -> argparse.Namespace:
    from sensorkit.cli import migrate_cmd

    args = _command_parser(migrate_cmd).parse_args(["migrate", str(path), "--out", str(out), "--force", "--json",
                                                    *_options_argv(config, _MIGRATE_FIXED, "OUT_DIR/<stem>.image.h5")])
    if args.velocity is None and args.eps_r is None and not args.auto_velocity:
        raise ValueError("config: the migrate job needs a velocity: 'velocity' (m/ns), 'eps_r' or "
                         "'auto_velocity': true")
    return args


def _migrate_check_config(config: dict) -> None:
    _migrate_args("input.h5", Path("image.h5"), config)


def migrate_job(path: str, out_dir: str, config: dict) -> dict:
    """`sensorkit migrate PATH --out OUT_DIR/<stem>.image.h5` with ``config`` as its options (long names with
    underscores: velocity (m/ns), eps_r, time_zero, method, aperture, line_spacing, no_preprocess, ...).

    Returns the command's JSON summary (out, method, shape, velocity, time zero, times_s, ...).
    """
    from sensorkit.cli import migrate_cmd

    out = output_path(path, out_dir, ".image.h5")
    return migrate_cmd.migrate_to_file(_migrate_args(path, out, config))


def _migrate_warm_up() -> None:
    import numpy as np

    from sensorkit.gpr.preprocess import PreprocessConfig, preprocess_line
    from sensorkit.scale.tiling import warm_up_kirchhoff

    rng = np.random.default_rng(0)
    preprocess_line(rng.standard_normal((8, 64)).astype(np.float32), 1e-10, PreprocessConfig(time_zero_ns=0.0),
                    centre_frequency_hz=1e9)
    warm_up_kirchhoff()


migrate_job.check_config = _migrate_check_config
migrate_job.warm_up = _migrate_warm_up


# --------------------------------------------------------------------------------------------- detect mines

# options of `sensorkit detect mines` that the batch job sets itself: inputs stay read-only (no results
# written into them), outputs go to out_dir
_MINES_FIXED = {"inputs", "out", "force", "json", "no_results", "plot"}


def _detect_mines_args(path: str, out: Path, config: dict) -> argparse.Namespace:
    from sensorkit.cli import detect_cmd

    argv = _options_argv(config, _MINES_FIXED, "OUT_DIR/<stem>.mines.geojson")
    return _command_parser(detect_cmd).parse_args(["detect", "mines", str(path), "--out", str(out), "--force",
                                                   "--no-results", "--json", *argv])


def detect_mines_job(path: str, out_dir: str, config: dict) -> dict:
    """`sensorkit detect mines PATH --out OUT_DIR/<stem>.mines.geojson --no-results` with ``config`` as its
    options (velocity (m/ns), threshold, line_spacing, config (a LandmineConfig JSON file)); returns the
    command's summary (detections, alarms, area, velocity, times_s)."""
    from sensorkit.cli import detect_cmd

    return detect_cmd.detect_mines_to_file(_detect_mines_args(path, output_path(path, out_dir, ".mines.geojson"),
                                                              config))


def _detect_mines_check_config(config: dict) -> None:
    _detect_mines_args("input.h5", Path("detections.geojson"), config)


def _detect_mines_warm_up() -> None:
    import numpy as np

    from sensorkit.pipelines.landmine import LandmineConfig, detect_mines_array

    rng = np.random.default_rng(0)
    data = rng.standard_normal((12, 6, 64)).astype(np.float32)
    detect_mines_array(data, dt_s=1e-10, x_m=np.arange(12) * 0.02, y_m=np.arange(6) * 0.05,
                       config=LandmineConfig(), velocity_mps=1e8)


detect_mines_job.check_config = _detect_mines_check_config
detect_mines_job.warm_up = _detect_mines_warm_up
