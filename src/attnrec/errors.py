"""Every error and warning attnrec raises, in one place.

Messages name the bad value, where it came from (file, row, field) and what to do about it.
The CLI prints ``AttnrecError`` subclasses as one line, without a traceback.
"""

from __future__ import annotations


class AttnrecError(Exception):
    """Base class for mistakes a user can fix (bad input, unknown id, missing file)."""


class DataError(AttnrecError, ValueError):
    """A ratings or titles file is malformed; the message names file, row and field."""


class DownloadError(AttnrecError):
    """A data set could not be downloaded (offline, bad checksum)."""


class ConfigError(AttnrecError, ValueError):
    """A configuration value is out of range or unknown."""


class NotFittedError(AttnrecError, RuntimeError):
    """A model method that needs ``fit`` was called before it."""


class UnknownUserError(AttnrecError, KeyError):
    """A raw user id that the fitted model has never seen."""

    def __init__(self, user: object) -> None:
        super().__init__(user)
        self.user = user

    def __str__(self) -> str:
        return f"unknown user {self.user!r}: it is not in the training data"


class UnknownItemError(AttnrecError, KeyError):
    """A raw item id that the fitted model has never seen."""

    def __init__(self, item: object) -> None:
        super().__init__(item)
        self.item = item

    def __str__(self) -> str:
        return f"unknown item {self.item!r}: it is not in the training data"


class RunFolderError(AttnrecError):
    """A run folder is missing files or was written by an incompatible version."""


class AttnrecWarning(UserWarning):
    """Base class for attnrec's warnings."""


class DataWarning(AttnrecWarning):
    """Something in a data file looks wrong but was kept (e.g. rated items without titles)."""


class DuplicateRatingsWarning(AttnrecWarning):
    """Duplicate (user, item) pairs were found and resolved by the duplicate policy."""


class FewExplainableWarning(AttnrecWarning):
    """Some users have fewer explainable items than requested."""
