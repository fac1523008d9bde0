"""One error tree for omeconv; each class knows the CLI exit code it maps to.

Exit codes: 2 for usage (bad options, a missing or unreadable INPUT, an OUTPUT that exists),
1 for data (corrupt or unsupported source, metadata that cannot be mapped, failed validation,
an upgrade that cannot proceed). The CLI prints ``omeconv: error: <path>: <message>``.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConversionInterruptedError",
    "CorruptSourceError",
    "DestinationError",
    "DestinationExistsError",
    "MetadataError",
    "OmeconvError",
    "OmeconvWarning",
    "SourceError",
    "SourceNotFoundError",
    "StoreWriteError",
    "UnsupportedSourceError",
    "UpgradeError",
    "UsageError",
    "ValidationFailedError",
    "VerificationFailedError",
]


class OmeconvError(Exception):
    """Base of every error omeconv raises on purpose.

    ``path`` names the file or store concerned; ``str()`` gives ``"<path>: <message>"``.
    """

    exit_code = 1

    def __init__(self, message: str, *, path: Any = None) -> None:
        self.message = message
        self.path = None if path is None else str(path)
        super().__init__(f"{self.path}: {message}" if self.path else message)

    def at(self, path: Any) -> OmeconvError:
        """Name ``path`` as the file concerned unless one is named already; return self."""
        if self.path is None and path is not None:
            self.path = str(path)
            self.args = (f"{self.path}: {self.message}",)
        return self


class OmeconvWarning(UserWarning):
    """Metadata was degraded (dropped, guessed or repaired) but the conversion went on."""


class UsageError(OmeconvError, ValueError):
    """An option or argument that cannot be used as given."""

    exit_code = 2


class SourceError(OmeconvError):
    """The input cannot be read as an image."""


class SourceNotFoundError(SourceError, FileNotFoundError):
    """The input does not exist or cannot be opened."""

    exit_code = 2


class UnsupportedSourceError(SourceError, ValueError):
    """No source adapter can read this input."""


class CorruptSourceError(SourceError, ValueError):
    """The input claims a format but its content is broken."""


class MetadataError(SourceError, ValueError):
    """OME-XML or NGFF metadata that cannot be mapped to the model."""


class DestinationError(OmeconvError):
    """The output cannot be written."""


class DestinationExistsError(DestinationError, FileExistsError):
    """The output exists and ``overwrite`` was not asked for."""

    exit_code = 2


class StoreWriteError(DestinationError, OSError):
    """Writing to the output failed (read-only, full, unreachable)."""


class ConversionInterruptedError(OmeconvError):
    """A conversion was interrupted (Ctrl-C); its unfinished output is kept for ``--resume``."""

    exit_code = 130


class VerificationFailedError(OmeconvError, ValueError):
    """An output differs from its source (``--verify``, ``omeconv verify``)."""


class ValidationFailedError(OmeconvError, ValueError):
    """A store or document does not follow the NGFF specification.

    ``details`` lists the reasons, one string each.
    """

    def __init__(self, message: str, *, path: Any = None, details: list[str] | None = None):
        super().__init__(message, path=path)
        self.details = details or []


class UpgradeError(OmeconvError, ValueError):
    """An upgrade that cannot proceed: not v0.4, mixed versions, an unmappable codec."""
