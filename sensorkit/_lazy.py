"""Names of a package loaded from its modules on first use (PEP 562), so importing the package stays cheap.

    __getattr__, __all__ = lazy_exports(__name__, {"GprScene": "sensorkit.synth.gpr", ...})
"""

from __future__ import annotations

import importlib
import sys


def lazy_exports(package_name: str, table: dict[str, str]):
    """(__getattr__, __all__) for the package `package_name` from `table`: exported name -> module holding it.

    The returned __getattr__ imports the module on first access of a name, stores the value in the package
    (later accesses are plain lookups) and raises AttributeError for names not in the table. __all__ is the
    sorted names.
    """
    table = dict(table)

    def __getattr__(name: str):
        if name in table:
            value = getattr(importlib.import_module(table[name]), name)
            setattr(sys.modules[package_name], name, value)
            return value
        raise AttributeError(f"module {package_name!r} has no attribute {name!r}")

    return __getattr__, sorted(table)
