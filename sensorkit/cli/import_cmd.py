"""`sensorkit import FILE... --out REC.h5`: field and lab files into one recording."""

from __future__ import annotations

import sys
from pathlib import Path

from tqdm import tqdm

from sensorkit.formats.registry import IMPORTERS, read_any
from sensorkit.store import RecordingWriter, write_imported


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "import", help="import GPR/audio files into one recording",
        description="Import files into one HDF5 recording. Formats: " + ", ".join(sorted(IMPORTERS)) +
                    " (side files such as .HD, .DZX, .DZG, .RAD, .COR, GPS files are found beside them).")
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parser.add_argument("--out", required=True, type=Path, help="the recording to write (REC.h5)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing output file")
    parser.add_argument("--array", type=Path, metavar="GEOMETRY",
                        help="microphone positions for audio files (acoular XML or JSON list of [x, y, z] in m)")
    parser.add_argument("--json", action="store_true", help="print what was written as JSON")
    parser.set_defaults(run=run)


def run(args) -> int:
    import json

    # read everything first: a bad file stops the import before the output file is touched
    imported = []
    for path in tqdm(args.files, desc="reading", unit="file", disable=len(args.files) < 3, file=sys.stderr):
        options = {"geometry": args.array} if path.suffix.lower() in (".wav", ".flac") and args.array else {}
        imported.append(read_any(path, **options))
    if args.out.exists() and not args.force:
        raise FileExistsError(f"{args.out}: exists; use --force to overwrite it")
    tmp = args.out.with_name(args.out.name + ".partial")
    written = []
    try:
        with RecordingWriter(tmp, overwrite=True) as writer:
            taken: set[str] = set()
            for item in imported:
                written += write_imported(writer, item, taken)
        tmp.replace(args.out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if args.json:
        print(json.dumps({"out": str(args.out), "streams": written}))
    else:
        print(f"{args.out}: {len(written)} streams from {len(args.files)} files ({', '.join(written)})")
    return 0

