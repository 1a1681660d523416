"""Which importer reads which file: by extension, one place."""

from __future__ import annotations

from pathlib import Path

from sensorkit.errors import FormatError
from sensorkit.formats.base import Imported

#: extension (lower case) -> (module, importer function)
IMPORTERS = {
    ".dzt": ("sensorkit.formats.dzt", "read_dzt"),
    ".dt1": ("sensorkit.formats.dt1", "read_dt1"),
    ".hd": ("sensorkit.formats.dt1", "read_dt1"),
    ".rd3": ("sensorkit.formats.mala", "read_mala"),
    ".rd7": ("sensorkit.formats.mala", "read_mala"),
    ".rad": ("sensorkit.formats.mala", "read_mala"),
    ".sgy": ("sensorkit.formats.segy", "read_segy"),
    ".segy": ("sensorkit.formats.segy", "read_segy"),
    ".wav": ("sensorkit.formats.audio", "read_audio"),
    ".flac": ("sensorkit.formats.audio", "read_audio"),
    ".out": ("sensorkit.formats.gprmax", "read_gprmax"),
}


def read_any(path, **options) -> Imported:
    """Read any supported file; ``options`` go to the importer (e.g. geometry= for audio)."""
    import importlib
    import inspect

    path = Path(path)
    try:
        module_name, function_name = IMPORTERS[path.suffix.lower()]
    except KeyError:
        raise FormatError(path, "file extension",
                          "one of " + ", ".join(sorted(IMPORTERS)), path.suffix or "(none)") from None
    if not path.is_file():
        raise FormatError(path, "file", "an existing file", "no such file")
    reader = getattr(importlib.import_module(module_name), function_name)
    accepted = inspect.signature(reader).parameters
    for name in options:
        if name not in accepted:
            raise ValueError(f"{path}: option {name!r} does not apply to {path.suffix} files "
                             f"(it reads {', '.join(p for p in accepted if p != 'path') or 'no options'})")
    return reader(path, **options)
