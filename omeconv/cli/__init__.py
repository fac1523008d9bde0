"""The ``omeconv`` command line: tiff2zarr, convert, info, validate, verify and upgrade.

Errors print one line, ``omeconv: error: <path>: <message>``, and exit 2 (usage: bad
options, missing input, existing output) or 1 (data: corrupt source, invalid metadata;
system errors such as a full disk). Ctrl-C exits 130 and SIGTERM 143, in one line, keeping
an unfinished output for ``--resume``. ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import signal
import sys

import click

from omeconv.cli.commands import cli
from omeconv.cli.exits import Stopped, interrupted, on_sigterm, one_line_error
from omeconv.errors import ConversionInterruptedError, OmeconvError

__all__ = ["cli", "main"]


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, mapping errors to one line and an exit code.

    SIGTERM is handled like Ctrl-C (one line, an unfinished output kept for --resume),
    with exit code 143 instead of 130.
    """
    try:
        previous = signal.signal(signal.SIGTERM, on_sigterm)
    except ValueError:  # not the main thread: leave signals alone
        previous = None
    try:
        _run(argv)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _run(argv: list[str] | None) -> None:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="omeconv", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt, Stopped) as exc:
        code = exc.code if isinstance(exc, Stopped) else interrupted(exc)
        click.echo(f"omeconv: {'terminated' if code == 143 else 'interrupted'}", err=True)
        sys.exit(code)
    except click.ClickException as exc:
        message = " ".join(exc.format_message().split())
        click.echo(f"omeconv: error: {message}", err=True)
        sys.exit(2 if isinstance(exc, click.UsageError) else exc.exit_code)
    except Exception as exc:
        if debug:
            raise
        error = one_line_error(exc, argv if argv is not None else sys.argv[1:])
        click.echo(f"omeconv: error: {error}", err=True)
        for detail in getattr(error, "details", []):
            click.echo(f"  - {detail}", err=True)
        code = error.exit_code if isinstance(error, OmeconvError) else 1
        sys.exit(interrupted(exc) if isinstance(exc, ConversionInterruptedError) else code)
