"""`sensorkit ports`: listing, and --probe telling a sensorkit device from a port that is not one."""

import json
import os
import pty

from firmware_sims import GnssReceiverSim, MicArraySim
from sensorkit.cli.main import main


def test_probe_names_the_simulated_array_and_rejects_a_silent_port(capsys):
    silent_master, silent_slave = pty.openpty()  # a port that opens but never answers
    silent_path = os.ttyname(silent_slave)
    try:
        with MicArraySim(serial="MIC42") as array, GnssReceiverSim() as gnss:
            code = main(["ports", "--probe", "--json", "--timeout", "1.5", array.port_url, gnss.port_url,
                         silent_path])
    finally:
        os.close(silent_master)
        os.close(silent_slave)
    assert code == 0
    listed = {port["device"]: port for port in json.loads(capsys.readouterr().out)}
    found = listed[array.port_url]["sensorkit"]
    assert found["serial"] == "MIC42" and found["kind"] == "acoustic"
    assert listed[gnss.port_url]["sensorkit"] is None  # NMEA puck: a serial device, not a sensorkit one
    assert listed[silent_path]["sensorkit"] is None


def test_probe_of_a_missing_port_says_why(capsys):
    code = main(["ports", "--probe", "/dev/does-not-exist-sensorkit"])
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert code == 0
    assert line.startswith("/dev/does-not-exist-sensorkit") and "no sensorkit device" not in line
    assert "does-not-exist" in line.split("->", 1)[1]
