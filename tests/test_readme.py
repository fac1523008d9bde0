"""The README runs as written: its command-line and Python examples, in order, in a fresh folder.

Blocks of ``make`` targets are the set-up and developer commands (CI runs them itself) and
``source .venv/bin/activate`` is what the PATH of this test already does; every other line of
a ``bash`` block and every ``python`` block runs, from a folder holding the clone's
``sample_data``, and must exit 0.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_BLOCK = re.compile(r"^```(bash|python)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _examples() -> list[tuple[str, str]]:
    """``(kind, text)`` of every example to run, in README order."""
    out: list[tuple[str, str]] = []
    for kind, body in _BLOCK.findall((REPO / "README.md").read_text(encoding="utf-8")):
        if kind == "python":
            out.append((kind, body))
            continue
        for line in body.splitlines():
            command = line.split("  #", 1)[0].strip()
            if command and not command.startswith(("make ", "source ", "#")):
                out.append((kind, command))
    return out


def test_readme_has_examples_to_run() -> None:
    kinds = [kind for kind, _ in _examples()]
    assert kinds.count("bash") >= 10
    assert "python" in kinds


@pytest.mark.slow
def test_readme_examples_run_in_order(tmp_path: Path) -> None:
    (tmp_path / "sample_data").symlink_to(REPO / "sample_data")
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    for kind, text in _examples():
        args = [sys.executable, "-c", text] if kind == "python" else shlex.split(text)
        if args[0] == "python":
            args[0] = sys.executable
        result = subprocess.run(
            args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
        )
        assert result.returncode == 0, f"README example failed: {text}\n{result.stderr[-2000:]}"
