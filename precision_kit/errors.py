"""Exceptions raised by precision_kit.

Every user-facing error says what was expected, what was found and what to do.
`UnsupportedError` marks a valid request that this machine cannot run (tf32 on CPU,
CUDA without a GPU, torchao not installed); the benchmark layer turns it into a skip.
"""


class PrecisionKitError(Exception):
    """Base class of every error precision_kit raises on purpose."""


class DataError(PrecisionKitError, ValueError):
    """A dataset file is missing, corrupt or inconsistent."""


class UnsupportedError(PrecisionKitError, RuntimeError):
    """The request is valid but this machine or installation cannot run it."""
