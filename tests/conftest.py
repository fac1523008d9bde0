"""Shared fixtures: the corpus of real files from other tools, and small generated inputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CORPUS = Path(
    os.environ.get("OMECONV_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus")
)


@pytest.fixture(scope="session")
def corpus() -> Path:
    """``../shared/corpus`` (or ``$OMECONV_CORPUS``); tests using it skip when it is absent."""
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    return CORPUS


@pytest.fixture(autouse=True)
def _no_timed_progress_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process runs print no periodic progress line, however slow the machine: tests
    that count a run's lines of output see only what the run itself says
    (``tests/test_progress.py`` sets its own interval)."""
    import omeconv.progress

    monkeypatch.setattr(omeconv.progress, "LOG_INTERVAL", float("inf"))
