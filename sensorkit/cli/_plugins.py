"""Sub-commands that live in their own modules (`sensorkit detect drones`, `sensorkit score drones`, ...)."""

from __future__ import annotations

import importlib


def add_plugin_parsers(kinds, module_names) -> None:
    """Import each module of `module_names` and call its add_parser(kinds).

    A module that is not installed is skipped; an import error inside a module that exists is raised.
    """
    for name in module_names:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.add_parser(kinds)
