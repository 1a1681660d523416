"""sensorkit: from the serial port to the detection, for GPR landmine search and acoustic drone detection."""

from sensorkit.errors import DeviceError, FormatError, SensorkitError, VersionError

__version__ = "0.1.0"

__all__ = ["DeviceError", "FormatError", "SensorkitError", "VersionError", "__version__"]
