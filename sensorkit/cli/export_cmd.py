"""`sensorkit export REC.h5 --to FILE.sgy|.wav|.flac|.csv`: a stream out to the tools of other fields."""

from __future__ import annotations

from pathlib import Path

from sensorkit.formats.csv_table import write_records_csv
from sensorkit.store import Recording

EXPORT_KINDS = {".sgy": "gpr", ".segy": "gpr", ".wav": "acoustic", ".flac": "acoustic"}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "export", help="export a stream to SEG-Y, WAV/FLAC or CSV",
        description="Export one stream: a GPR stream to SEG-Y, an acoustic stream to WAV/FLAC, or a stream's "
                    "record table (GPR trace_meta, GNSS fixes, audio blocks, or the events) to CSV.")
    parser.add_argument("recording", type=Path, metavar="REC.h5")
    parser.add_argument("--to", required=True, type=Path, metavar="FILE", help="FILE.sgy, .segy, .wav, .flac or .csv")
    parser.add_argument("--stream", help="stream name (needed when the recording holds several of that kind); "
                                         "for CSV: gpr/NAME, gnss/NAME, acoustic/NAME or events")
    parser.add_argument("--force", action="store_true", help="overwrite an existing output file")
    parser.set_defaults(run=run)


def run(args) -> int:
    suffix = args.to.suffix.lower()
    if suffix not in (*EXPORT_KINDS, ".csv"):
        raise ValueError(f"{args.to}: unsupported export format {suffix or '(none)'}; use .sgy, .segy, .wav, "
                         f".flac or .csv")
    if args.to.exists() and not args.force:
        raise FileExistsError(f"{args.to}: exists; use --force to overwrite it")
    with Recording(args.recording) as rec:
        if suffix in (".sgy", ".segy"):
            from sensorkit.formats.segy import write_segy

            line = rec.gpr(args.stream).to_line()
            write_segy(args.to, line)
            what = f"{line.n_traces} traces of gpr/{line.name}"
        elif suffix in (".wav", ".flac"):
            from sensorkit.formats.audio import write_audio

            record = rec.acoustic(args.stream).to_record()
            write_audio(args.to, record)
            what = f"{record.samples.shape[0]} frames x {record.samples.shape[1]} ch of acoustic/{record.name}"
        else:
            records, what = _table(rec, args.stream)
            write_records_csv(args.to, records)
    print(f"{args.to}: {what}")
    return 0


def _table(rec: Recording, stream: str | None):
    if stream == "events":
        return rec.events, "events"
    kind, _, name = (stream or "").partition("/")
    if not name:
        kinds = [k for k, names in (("gpr", rec.gpr_names), ("gnss", rec.gnss_names),
                                    ("acoustic", rec.acoustic_names)) if names]
        if len(kinds) != 1 or len(getattr(rec, f"{kinds[0]}_names")) != 1:
            raise ValueError(f"{rec.path}: name the stream to export with --stream KIND/NAME")
        kind, name = kinds[0], getattr(rec, f"{kinds[0]}_names")[0]
    if kind == "gpr":
        return rec.gpr(name).trace_meta[:], f"trace_meta of gpr/{name}"
    if kind == "gnss":
        return rec.gnss_fixes(name), f"fixes of gnss/{name}"
    if kind == "acoustic":
        return rec.acoustic(name).blocks[:], f"blocks of acoustic/{name}"
    raise ValueError(f"--stream must be gpr/NAME, gnss/NAME, acoustic/NAME or events, got {stream!r}")
