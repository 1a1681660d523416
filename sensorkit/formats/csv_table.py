"""CSV export of record tables (trace metadata, GNSS fixes, audio blocks, events)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


def write_records_csv(path, records: np.ndarray) -> None:
    """Write structured records as CSV: a header row of field names, one row per record.

    Floats are written with repr precision (round-trips exactly); NaN as an empty cell.
    """
    path = Path(path)
    names = records.dtype.names
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        columns = [records[name] for name in names]
        for row in zip(*columns):
            writer.writerow(["" if isinstance(v, float) and v != v else
                             (v.decode() if isinstance(v, bytes) else v) for v in (x.item() if hasattr(x, "item")
                                                                                     else x for x in row)])
