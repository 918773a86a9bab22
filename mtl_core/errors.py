"""User-facing errors.

Every failure that can reach a user is one of these, carrying one sentence that says
what is wrong, where, and what to do. The CLI prints ``error: <message>`` and exits 2;
the app shows the message next to the control that caused it.
"""


class MTLError(Exception):
    """Base class of all MTL Lab errors; ``str(err)`` is the user-facing sentence."""


class DataError(MTLError):
    """The input data cannot be used as it is (unreadable file, bad column, bad label...)."""


class ConfigError(MTLError):
    """A configuration value is invalid; the message names the parameter and the value."""


class TrainingError(MTLError):
    """Training failed (diverged, out of memory...); the message suggests a fix."""
