"""Firmware simulators: a GPR unit, a microphone array and a GNSS receiver that behave like devices on a
pseudo-terminal or a local TCP port (wire protocol v1, docs/protocol.md; NMEA 0183 for the GNSS receiver),
with fault injection and an exact JSON-lines log. docs/simulators.md tells how to run them.

    with GprUnitSim(log_path="gpr.log") as sim:      # start() ... stop()
        transport = SerialTransport(sim.port_url)
"""

from firmware_sims.eventlog import EventLog, frame_records, intact_frames, read_log
from firmware_sims.faults import FaultConfig
from firmware_sims.gnss_receiver import GnssReceiverSim
from firmware_sims.gpr_unit import GprUnitSim, default_gpr_scene
from firmware_sims.mic_array import MicArraySim, ToneSource
from firmware_sims.scenario import CartTrack

__all__ = ["CartTrack", "EventLog", "FaultConfig", "GnssReceiverSim", "GprUnitSim", "MicArraySim", "ToneSource",
           "default_gpr_scene", "frame_records", "intact_frames", "read_log"]
