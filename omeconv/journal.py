"""A journal of finished region tasks, so an interrupted conversion can be resumed.

The journal lives in ``<OUTPUT>.partial/.omeconv/``: ``options.json`` holds what the
output depends on (encoding, levels, chunks, the inputs' sizes and times), and
``tasks/<key>.json`` marks one finished region task with the statistics of the pixels it
wrote. A marker is written only after all of its task's chunks are written, so a chunk file
half-written by a kill is never trusted: the journal, not the chunk's existence, is the
truth. ``--resume`` skips the tasks that have a marker and runs the rest. The journal is
removed before the output is moved into place.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omeconv.errors import CorruptSourceError, StoreWriteError, UsageError
from omeconv.stats import Stats

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence


__all__ = [
    "JOURNAL_DIR",
    "Journal",
    "check_inputs_unchanged",
    "check_resume",
    "source_identity",
]

JOURNAL_DIR = ".omeconv"

Task = Any  # a callable region task returning ``(Stats, nbytes)`` with a ``region`` attribute

#: Temporary files a kill can leave: zarr's LocalStore writes ``<name>.<uuid hex>.partial``
#: then renames it; :func:`_write_atomic` writes ``<name>.<pid>.<thread>.tmp``.
_STRAY = re.compile(r"\.[0-9a-f]{32}\.partial$|\.\d+\.\d+\.tmp$")


def source_identity(inputs: Sequence[str | os.PathLike[str]]) -> list[list[Any]]:
    """``[path, size, mtime_ns]`` of each local input file: a resume refuses changed inputs,
    and :func:`check_inputs_unchanged` a conversion whose inputs changed meanwhile.

    Every member file counts: the files a pattern or glob matches, the files directly in a
    folder, the other files of a multi-file OME-TIFF set. URLs are ``[url, None, None]``.
    """
    out: list[list[Any]] = []
    for source in inputs:
        members = _members(source)
        if not members:
            out.append([str(source), None, None])
        for path in members:
            try:
                st = path.stat()
            except OSError:
                out.append([str(path), None, None])
                continue
            out.append([str(path.resolve()), st.st_size, st.st_mtime_ns])
    return out


def check_inputs_unchanged(identity: Sequence[Sequence[Any]]) -> None:
    """Raise :class:`CorruptSourceError` if an input file of ``identity`` (made by
    :func:`source_identity`) changed or vanished since: its pixels may mix old and new."""
    for path, size, mtime in identity:
        if size is None:
            continue
        try:
            st = os.stat(path)
        except OSError as exc:
            raise CorruptSourceError(
                "vanished while it was converted; the output is discarded", path=path
            ) from exc
        if (st.st_size, st.st_mtime_ns) != (size, mtime):
            raise CorruptSourceError(
                "changed while it was converted (its size or modification time differs), so "
                "the output could mix old and new pixels; it is discarded: convert again",
                path=path,
            )


def _members(source: str | os.PathLike[str]) -> list[Path]:
    """The local files ``source`` reads (none for a URL)."""
    import glob

    text = os.fspath(source)
    if "://" in text and not text.startswith("file://"):
        return []
    path = Path(text.removeprefix("file://"))
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file())
    if not path.exists() and any(c in text for c in "*?[{"):
        return sorted(Path(p) for p in glob.glob(re.sub(r"\{\w+\}", "*", text)))
    from omeconv.converters.tiff import member_files

    return [path, *(p for p in member_files(path) if p.resolve() != path.resolve())]


def check_resume(staging: str | os.PathLike[str] | None, options: dict[str, Any]) -> bool:
    """Whether ``staging`` holds a journaled output to resume with these ``options``.

    Raises :class:`UsageError` if it was begun with other options (or inputs).
    """
    if staging is None:
        return False
    options_file = Path(staging) / JOURNAL_DIR / "options.json"
    try:
        old = json.loads(options_file.read_text())
    except FileNotFoundError:
        return False
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"cannot resume: unreadable journal ({exc}); run without --resume to start over",
            path=staging,
        ) from exc
    new = json.loads(json.dumps(options))
    if old != new:
        changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        raise UsageError(
            f"cannot resume: the unfinished output was begun with other options or inputs "
            f"({', '.join(changed)}); run without --resume to start over",
            path=staging,
        )
    return True


class Journal:
    """Finished region tasks of one output being written.

    Parameters
    ----------
    staging
        The directory the output is written into (``<OUTPUT>.partial``).
    options
        Everything the output's bytes depend on; JSON-serialisable.
    resume
        Keep the tasks journaled by an earlier run (whose options must be equal);
        otherwise start a new journal.
    """

    def __init__(self, staging: str | os.PathLike[str], options: dict[str, Any], *, resume: bool):
        self.root = Path(staging) / JOURNAL_DIR
        self.tasks_dir = self.root / "tasks"
        self.options = json.loads(json.dumps(options))
        options_file = self.root / "options.json"
        self.resuming = resume and options_file.is_file()
        if self.resuming:
            check_resume(staging, self.options)
        try:
            if self.resuming:
                _remove_stray_files(Path(staging))
                self._done = {p.stem for p in self.tasks_dir.glob("*.json")}
            else:
                self.tasks_dir.mkdir(parents=True, exist_ok=True)
                _write_atomic(options_file, json.dumps(self.options, sort_keys=True))
                self._done = set()
        except OSError as exc:
            raise StoreWriteError(f"cannot write the resume journal: {exc}", path=staging) from exc

    def is_done(self, key: str) -> bool:
        """Whether the task ``key`` finished in an earlier run."""
        return _name(key) in self._done

    def pending(
        self, prefix: str, tasks: Sequence[Task]
    ) -> tuple[list[Callable[[], tuple[Stats, int]]], Stats]:
        """The tasks still to run (each journaling itself when done) and the statistics
        of those already done. ``prefix`` makes the keys unique across calls.
        """
        done = Stats()
        todo: list[Callable[[], tuple[Stats, int]]] = []
        for task in tasks:
            key = f"{prefix}:{_region_key(task.region)}"
            if self.is_done(key):
                done.merge(self._load(key))
            else:
                todo.append(_Recorded(self, key, task))
        return todo, done

    def record(self, key: str, stats: Stats) -> None:
        """Mark task ``key`` finished, with the statistics of the pixels it wrote."""
        body = json.dumps(
            {
                "key": key,
                "min": {str(c): v for c, v in stats.minimum.items()},
                "max": {str(c): v for c, v in stats.maximum.items()},
            }
        )
        try:
            _write_atomic(self.tasks_dir / f"{_name(key)}.json", body)
        except OSError as exc:
            raise StoreWriteError(f"cannot write the resume journal: {exc}") from exc

    def _load(self, key: str) -> Stats:
        data = json.loads((self.tasks_dir / f"{_name(key)}.json").read_text())
        return Stats(
            minimum={int(c): float(v) for c, v in data["min"].items()},
            maximum={int(c): float(v) for c, v in data["max"].items()},
        )

    def remove(self) -> None:
        """Delete the journal (the output is complete)."""
        shutil.rmtree(self.root, ignore_errors=True)


class _Recorded:
    """A region task that journals itself once it has written all of its chunks."""

    def __init__(self, journal: Journal, key: str, task: Task) -> None:
        self.journal = journal
        self.key = key
        self.task = task

    def __call__(self) -> tuple[Stats, int]:
        stats, nbytes = self.task()
        self.journal.record(self.key, stats)
        return stats, nbytes


def _region_key(region: Sequence[slice]) -> str:
    return ",".join(f"{s.start}-{s.stop}" for s in region)


def _name(key: str) -> str:
    return hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()


def _remove_stray_files(staging: Path) -> None:
    """Delete the half-written temporary files of a killed run, so none reaches the output."""
    for path in staging.rglob("*"):
        if _STRAY.search(path.name) and path.is_file():
            path.unlink()


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
