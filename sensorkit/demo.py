"""The main job on an embedded default: for now, the longest chain that exists.

Today that is: import the real public sample files (GSSI DZT with DZX/DZG GPS, Sensors & Software
DT1, MALA RD3, a WAV clip) into one recording, summarise it, and send a GPR line and the audio out to
SEG-Y and WAV and back, checking that the samples survive bit for bit. Every number printed is
measured on the files; nothing is made up. The chain grows as the simulators and pipelines land.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from sensorkit.formats.audio import write_audio
from sensorkit.formats.registry import read_any
from sensorkit.formats.segy import write_segy
from sensorkit.info import format_summary, summarize
from sensorkit.store import Recording, RecordingWriter, write_imported

SAMPLE_FILES = [
    "gpr/gprpy-examples/GSSI/FILE____032.DZT",
    "gpr/impdar-tests/test_gssi.DZT",
    "gpr/gprpy-examples/SnS/ComOffs/XLINE00.DT1",
    "gpr/impdar-tests/ten_col.rd3",
    "acoustic/drone-audio-dataset/yes_drone/B_S2_D1_068-bebop_001_.wav",
]


def default_data_dir() -> Path:
    """../shared/data beside the repository (where the real public sample files live)."""
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def run_demo(data_dir: Path, out_dir: Path, log=print) -> dict:
    """Run the chain; returns the measured results. Raises FileNotFoundError when sample files are missing."""
    missing = [f for f in SAMPLE_FILES if not (data_dir / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{data_dir}: sample files missing ({', '.join(missing)}); the demo reads the "
                                f"real public files in shared/data beside the repository")
    out_dir.mkdir(parents=True, exist_ok=True)
    recording = out_dir / "samples.h5"
    started = time.perf_counter()
    with RecordingWriter(recording, overwrite=True) as writer:
        taken: set[str] = set()
        for relpath in SAMPLE_FILES:
            streams = write_imported(writer, read_any(data_dir / relpath), taken)
            log(f"imported {relpath} -> {', '.join(streams)}")
    import_s = time.perf_counter() - started
    summary = summarize(recording)
    log("")
    log(format_summary(summary))
    results = {"recording": str(recording), "import_s": import_s, "round_trips": {}}
    with Recording(recording) as rec:
        line = rec.gpr("FILE____032").to_line()
        segy_path = out_dir / "FILE____032.sgy"
        write_segy(segy_path, line)
        (back,) = read_any(segy_path).gpr
        results["round_trips"]["segy"] = bool(np.array_equal(back.traces, line.traces)
                                              and np.isclose(back.dt_s, line.dt_s, rtol=1e-9))
        audio = rec.acoustic().to_record()
        wav_path = out_dir / f"{audio.name}.wav"
        write_audio(wav_path, audio)
        (again,) = read_any(wav_path).audio
        results["round_trips"]["wav"] = bool(np.array_equal(again.samples, audio.samples))
    log("")
    log(f"import of {len(SAMPLE_FILES)} files: {import_s:.2f} s")
    for name, ok in results["round_trips"].items():
        log(f"round trip recording -> {name} -> recording: {'bit-exact' if ok else 'MISMATCH'}")
    log(f"outputs in {out_dir}")
    return results
