"""User-facing errors. Each message is one line: what went wrong, with what, and what to do."""

from __future__ import annotations


class MedsslError(Exception):
    """Base class of the errors a stage reports as one line instead of a traceback."""


class ConfigError(MedsslError, ValueError):
    """A params.yaml section that does not match what the code expects."""


class DataError(MedsslError):
    """A dataset file that is missing, corrupt, truncated or cannot be fetched."""


class UnknownDatasetError(MedsslError):
    """A dataset name that is not in the catalogue."""


class SplitError(MedsslError):
    """A split that cannot be made from the data (e.g. a budget larger than a class)."""


class OutputError(MedsslError):
    """An output folder that cannot be created or written."""
