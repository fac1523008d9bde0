"""One error tree for omeconv; each class knows the CLI exit code it maps to.

Exit codes: 2 for usage (bad options, a missing or unreadable INPUT, an OUTPUT that exists),
1 for data (corrupt or unsupported source, metadata that cannot be mapped, failed validation,
an upgrade that cannot proceed). The CLI prints ``omeconv: error: <path>: <message>``.
"""

from __future__ import annotations

import errno
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
    "describe_os_error",
    "from_os_error",
]

#: What the system said, in one short phrase, for the errors a conversion meets.
_OS_PROBLEMS = {
    getattr(errno, name): problem
    for name, problem in (
        ("ENOSPC", "no space left on device"),
        ("EDQUOT", "disk quota exceeded"),
        ("ENAMETOOLONG", "file name too long"),
        ("EACCES", "permission denied"),
        ("EPERM", "operation not permitted"),
        ("EROFS", "read-only file system"),
        ("ENOENT", "no such file or directory"),
        ("ENOTDIR", "not a directory"),
        ("EISDIR", "is a directory"),
        ("EIO", "input/output error"),
        ("EMFILE", "too many open files"),
        ("EFBIG", "file too large"),
        ("ELOOP", "too many levels of symbolic links"),
        ("EXDEV", "cannot move across file systems"),
    )
    if hasattr(errno, name)  # EDQUOT, ELOOP … are missing on some systems
}


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
    """A conversion was interrupted (Ctrl-C, SIGTERM); its unfinished output is kept for
    ``--resume``."""

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


def describe_os_error(exc: OSError) -> str:
    """What went wrong, in a short phrase (``no space left on device``)."""
    if exc.errno in _OS_PROBLEMS:
        return _OS_PROBLEMS[exc.errno]
    text = exc.strerror or str(exc) or type(exc).__name__
    return text[:1].lower() + text[1:]


def from_os_error(exc: OSError, *, path: Any = None, writing: bool = False) -> OmeconvError:
    """A one-line error for ``exc``, naming the file it concerns (or ``path``).

    Reading: a missing or unopenable file is a usage error (exit 2), anything else a
    source error (exit 1). Writing: a :class:`StoreWriteError` (exit 1).
    """
    where = exc.filename if exc.filename is not None else path
    problem = describe_os_error(exc)
    if writing:
        return StoreWriteError(f"cannot write: {problem}", path=where)
    if exc.errno in (errno.ENOENT, errno.EACCES, errno.EPERM, errno.ENAMETOOLONG, errno.ENOTDIR):
        return SourceNotFoundError(problem, path=where)
    return SourceError(f"cannot read: {problem}", path=where)
