"""The ``omeconv`` command run in-process by tests: exit code, stderr lines, ``info --json``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    import pytest


def cli(args: Sequence[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """Exit code and stderr lines of ``omeconv ARGS``."""
    from omeconv.cli import main

    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().err.strip().splitlines()


def info_json(path: Path | str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """What ``omeconv info PATH --json`` prints, parsed."""
    from omeconv.cli import main

    capsys.readouterr()
    main(["info", str(path), "--json"])
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result
