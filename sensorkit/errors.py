"""The exception tree of sensorkit, rooted in built-ins so callers need not import sensorkit to catch."""


class SensorkitError(Exception):
    """Base class of every error sensorkit raises on purpose."""


class FormatError(SensorkitError, ValueError):
    """A file is truncated, empty, of the wrong format or corrupted.

    The message names the file, the field and what was expected.
    """

    def __init__(self, path, field: str, expected: str, found=None):
        self.path = str(path)
        self.field = field
        self.expected = expected
        self.found = found
        text = f"{self.path}: {field}: expected {expected}"
        if found is not None:
            text += f", found {found!r}"
        super().__init__(text)


class VersionError(FormatError):
    """A recording was written by a newer major version of the format than this reader knows."""


class DeviceError(SensorkitError, OSError):
    """A device or port could not be opened, identified or talked to."""
