"""One error tree for omeconv; each class knows the CLI exit code it maps to.

Exit codes: 2 for usage (bad options, a missing or unreadable INPUT, an OUTPUT that exists),
1 for data (corrupt or unsupported source, metadata that cannot be mapped, failed validation,
an upgrade that cannot proceed). The CLI prints ``omeconv: error: <path>: <message>``.
"""

from __future__ import annotations

import errno
from typing import Any

__all__ = [
    "AccessDeniedError",
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
    "credential_problem",
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


class AccessDeniedError(OmeconvError, PermissionError):
    """A remote location (``s3://``, ``gs://``, ``https://``) refused access: credentials
    missing, wrong or not allowed. Exit 2: the environment must change, not the data."""

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


_AWS_SET = "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE"
_AWS_ANON = (
    'for a public bucket set FSSPEC_S3=\'{"anon": true}\' or pass storage_options={"anon": True}'
)
_GCP_SET = "run gcloud auth application-default login or set GOOGLE_APPLICATION_CREDENTIALS"
_GCP_ANON = (
    'for a public bucket set FSSPEC_GCS=\'{"token": "anon"}\''
    ' or pass storage_options={"token": "anon"}'
)
_HTTP_SET = (
    'set FSSPEC_HTTPS=\'{"headers": {"Authorization": "..."}}\' (FSSPEC_HTTP for http://)'
    ' or pass storage_options={"headers": {...}}'
)
#: What an S3 error code says about the credentials.
_AWS_CODES = {
    "InvalidAccessKeyId": f"the AWS access key is not known to the server ({_AWS_SET})",
    "SignatureDoesNotMatch": "the AWS secret key does not match the access key (check"
    " AWS_SECRET_ACCESS_KEY or the profile's)",
    "ExpiredToken": "the AWS session token has expired (renew AWS_SESSION_TOKEN or log in again)",
    "InvalidToken": "the AWS session token is not valid (check AWS_SESSION_TOKEN)",
    "TokenRefreshRequired": "the AWS session token has expired (renew AWS_SESSION_TOKEN)",
    "AccessDenied": "access denied: the AWS credentials in use are not allowed to do this"
    f"; check AWS_PROFILE and the bucket's policy, or {_AWS_ANON}",
    "AllAccessDisabled": "all access to this bucket has been disabled by its owner",
    "AccountProblem": "the AWS account has a problem that prevents this request",
}


#: The URL schemes of each family of credential errors.
_SCHEMES = {
    "aws": ("s3://", "s3a://"),
    "gcp": ("gs://", "gcs://"),
    "http": ("http://", "https://"),
}


def credential_problem(exc: BaseException) -> tuple[tuple[str, ...], str] | None:
    """What ``exc`` (or an exception it was raised from) says is wrong with the credentials
    for a remote location: the URL schemes it concerns and one phrase; None when it is no
    credential error.

    Knows botocore's (S3), google-auth's and gcsfs's (GCS) and aiohttp's (HTTP) errors by
    name, so none of those libraries needs to be installed to ask.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found = _credential_problem(current)
        if found is not None:
            return _SCHEMES[found[0]], found[1]
        current = current.__cause__ or current.__context__
    return None


def _credential_problem(exc: BaseException) -> tuple[str, str] | None:
    name = type(exc).__name__
    module = type(exc).__module__ or ""
    if module.startswith("botocore"):
        if name == "NoCredentialsError":
            return "aws", f"no AWS credentials found: {_AWS_SET}, or {_AWS_ANON}"
        if name == "PartialCredentialsError":
            return "aws", f"incomplete AWS credentials: {exc} ({_AWS_SET})"
        if name in ("NoAuthTokenError", "TokenRetrievalError", "SSOTokenLoadError"):
            return "aws", f"the AWS login has expired or is missing: run aws sso login ({_AWS_SET})"
        if name == "ClientError":
            error = getattr(exc, "response", {}).get("Error", {})
            code = str(error.get("Code", ""))
            if code in _AWS_CODES:
                return "aws", _AWS_CODES[code]
            status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("403", "Forbidden") or status == 403:
                return "aws", _AWS_CODES["AccessDenied"]
        return None
    if module.startswith("google.auth"):
        if name == "DefaultCredentialsError":
            return "gcp", f"no Google Cloud credentials found: {_GCP_SET}, or {_GCP_ANON}"
        if name == "RefreshError":
            return "gcp", f"the Google Cloud credentials could not be refreshed ({_GCP_SET})"
        return None
    status = getattr(exc, "code", None) if module.startswith("gcsfs") else None
    if module.startswith("aiohttp") and name == "ClientResponseError":
        status = getattr(exc, "status", None)
        if status == 401:
            return "http", f"HTTP 401: the server asks for credentials ({_HTTP_SET})"
        if status == 403:
            return "http", (
                "HTTP 403: the server refuses access, credentials missing or not allowed"
                f" ({_HTTP_SET})"
            )
        return None
    if status == 401:
        return "gcp", f"Google Cloud credentials missing or not valid: {_GCP_SET}, or {_GCP_ANON}"
    if status == 403:
        return "gcp", (
            "access denied: the Google Cloud credentials in use are not allowed to do this"
            f" ({_GCP_SET})"
        )
    return None
