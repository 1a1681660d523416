"""The sensorkit recording format v1: writer, reader and repair (see docs/format.md)."""

from sensorkit.store.imported import write_imported
from sensorkit.store.reader import AudioStream, CommittedArray, GprStream, Recording
from sensorkit.store.repair import needs_repair, repair_recording
from sensorkit.store.writer import RecordingWriter

__all__ = ["AudioStream", "CommittedArray", "GprStream", "Recording", "RecordingWriter", "needs_repair",
           "repair_recording", "write_imported"]
