"""How a run of the command line ends: interruptions (Ctrl-C, SIGTERM) and the one-line error."""

from __future__ import annotations

import signal
from typing import Any

from omeconv.errors import OmeconvError, from_os_error


class Stopped(Exception):
    """Ctrl-C or SIGTERM outside a conversion; ``code`` is the exit code (130 or 143)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class Terminated(KeyboardInterrupt):
    """SIGTERM, delivered like Ctrl-C so that an unfinished output is kept for --resume."""


def on_sigterm(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
    raise Terminated


def interrupted(exc: BaseException) -> int:
    """The exit code of an interruption: 143 for SIGTERM (128 + 15), 130 for Ctrl-C."""
    current: BaseException | None = exc
    while current is not None:
        if isinstance(current, Terminated):
            return 128 + signal.SIGTERM
        current = current.__cause__ or current.__context__
    return 130


def one_line_error(exc: Exception, args: list[str] | None = None) -> OmeconvError | str:
    """What to print after ``omeconv: error:`` for ``exc`` (a remote location's refused
    credentials name the URL among ``args``)."""
    from omeconv.stores import remote_access_error

    access = remote_access_error(exc, args or ())
    if access is not None:
        return access
    if isinstance(exc, OmeconvError):
        return exc
    if isinstance(exc, OSError):
        return from_os_error(exc)
    if isinstance(exc, MemoryError):
        return OmeconvError("out of memory; try fewer --workers or smaller --chunks")
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"unexpected {type(exc).__name__}: {first} (run again with --debug for the traceback)"
