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

__all__ = ["JOBS", "JobUnavailable", "info_job", "migrate_job", "output_path", "resolve_job"]

JOBS: dict[str, str] = {
    "detect-mines": "sensorkit.pipelines.landmine:batch_job",
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


def _migrate_parser() -> argparse.ArgumentParser:
    from sensorkit.cli import migrate_cmd

    parser = _RaisingParser(prog="sensorkit batch migrate", add_help=False)
    migrate_cmd.add_parser(parser.add_subparsers(dest="command"))
    return parser


def _migrate_argv(config: dict) -> list[str]:
    """`sensorkit migrate` options from a config dict: {"velocity": 0.1, "no_preprocess": True, ...}."""
    if not isinstance(config, dict):
        raise ValueError(f"config: expected a JSON object of migrate options, found {type(config).__name__}")
    argv = []
    for key, value in config.items():
        if key in _MIGRATE_FIXED:
            raise ValueError(f"config: {key!r} is set by the batch job (outputs go to OUT_DIR/<stem>.image.h5)")
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
    args = _migrate_parser().parse_args(["migrate", str(path), "--out", str(out), "--force", "--json",
                                         *_migrate_argv(config)])
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
