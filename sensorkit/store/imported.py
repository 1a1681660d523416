"""Writing what an importer read (:class:`sensorkit.formats.base.Imported`) into a recording."""

from __future__ import annotations

import numpy as np

from sensorkit.formats.base import Imported
from sensorkit.store.schema import BLOCK_META_DTYPE, empty_records
from sensorkit.store.writer import RecordingWriter


def _unique(name: str, taken: set[str]) -> str:
    candidate, k = name, 2
    while candidate in taken:
        candidate, k = f"{name}_{k}", k + 1
    taken.add(candidate)
    return candidate


def write_imported(writer: RecordingWriter, imported: Imported, taken: set[str] | None = None) -> list[str]:
    """Declare and append every stream of ``imported``; returns the stream paths written ('gpr/NAME').

    ``taken`` holds stream names already used in the recording; clashing names get a suffix _2, _3, ...
    """
    taken = set() if taken is None else taken
    source = {"file": str(imported.source), "format": imported.format}
    written = []
    for line in imported.gpr:
        name = _unique(line.name, taken)
        line.device.port = line.device.port or str(imported.source)
        writer.add_device(name, line.device)
        writer.add_gpr_stream(
            name, n_samples=line.n_samples, dt_s=line.dt_s, dtype=line.traces.dtype,
            n_channels=line.traces.shape[1] if line.traces.ndim == 3 else None,
            centre_frequency_hz=line.centre_frequency_hz, antenna_offset_m=line.antenna_offset_m,
            antenna_height_m=line.antenna_height_m, time_zero_s=line.time_zero_s, units=line.units,
            attrs=line.attrs, source={**source, "header": line.source_header})
        writer.append_gpr(name, line.traces, line.trace_meta)
        written.append(f"gpr/{name}")
    for record in imported.audio:
        name = _unique(record.name, taken)
        record.device.port = record.device.port or str(imported.source)
        writer.add_device(name, record.device)
        writer.add_audio_stream(name, n_channels=record.samples.shape[1], fs_hz=record.fs_hz,
                                dtype=record.samples.dtype, mic_positions_m=record.mic_positions_m,
                                units=record.units, attrs=record.attrs,
                                source={**source, "header": record.source_header})
        block = empty_records(BLOCK_META_DTYPE, 1)
        block["seq"] = 0
        block["first_frame"] = 0
        block["flags"] = 0
        writer.append_audio(name, record.samples, block)
        written.append(f"acoustic/{name}")
    for track in imported.gnss:
        name = _unique(track.name, taken)
        track.device.port = track.device.port or str(imported.source)
        writer.add_device(name, track.device)
        writer.add_gnss_stream(name, source={**source, "header": track.source_header})
        writer.append_gnss(name, np.asarray(track.fixes))
        written.append(f"gnss/{name}")
    return written
