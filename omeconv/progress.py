"""Progress of a run: a bar on a terminal, a log line every few seconds elsewhere, a summary.

A :class:`Progress` counts bytes of pixels read for every level written (the source's, and
each level read back to make the next), or copied, against a known total. On a
terminal it draws a tqdm bar; with ``log`` mode (stderr is a file or a pipe, as in a batch
job) it prints ``converting: 42% 1.2/2.9 GB, 85.3 MB/s, ETA 0:00:20`` at most every
``interval`` seconds; ``off`` shows nothing. Work skipped by ``--resume`` counts as done, so
a resumed run ends at 100%. :func:`summary` is the one line a run ends with.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

if TYPE_CHECKING:
    from typing import TextIO

__all__ = ["Mode", "Progress", "disk_usage", "human_bytes", "pick_mode", "summary"]

Mode = Literal["bar", "log", "off"]

#: Seconds between two log lines.
LOG_INTERVAL = 5.0


def pick_mode(*, quiet: bool, stream: TextIO | None = None) -> Mode:
    """``off`` when quiet, ``bar`` on a terminal, ``log`` otherwise."""
    if quiet:
        return "off"
    stream = stream or sys.stderr
    return "bar" if stream.isatty() else "log"


class Progress:
    """Bytes done out of ``total``; thread-safe :meth:`update`. Also a context manager."""

    def __init__(
        self,
        total: int = 0,
        *,
        desc: str | None = None,
        mode: Mode = "off",
        interval: float | None = None,
        stream: TextIO | None = None,
    ) -> None:
        self.total = total
        self.desc = desc
        self.mode = mode
        self.interval = LOG_INTERVAL if interval is None else interval
        self.stream = stream
        self.done = 0
        self.started = time.monotonic()
        self._skipped = 0
        self._last_log = self.started
        self._lock = threading.Lock()
        self._bar: Any = None
        self._closed = False
        self._logged = False
        self.levels: int | None = None
        """Levels of the (largest) image written, for the summary."""
        self.bytes_in = 0
        """Bytes of pixels read (or copied), for the summary."""

    def start(self, total: int, desc: str | None = None) -> None:
        """Begin counting ``total`` bytes of work (described by ``desc`` unless already)."""
        self.total = total
        self.desc = self.desc or desc or "writing"
        self.started = self._last_log = time.monotonic()
        if self.mode == "bar":
            from tqdm import tqdm

            self._bar = tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                unit_divisor=1000,  # MB/s of input pixels, as the benchmark counts
                desc=desc,
                dynamic_ncols=True,
                file=self.stream,
            )

    def add_total(self, nbytes: int) -> None:
        """``nbytes`` more work found since :meth:`start`."""
        with self._lock:
            self.total += nbytes
            if self._bar is not None:
                self._bar.total = self.total
                self._bar.refresh()

    def update(self, nbytes: int) -> None:
        """``nbytes`` more done."""
        with self._lock:
            self.done += nbytes
            if self._bar is not None:
                self._bar.update(nbytes)
            elif self.mode == "log" and time.monotonic() - self._last_log >= self.interval:
                self._last_log = time.monotonic()
                self._logged = True
                self._echo(self.line())

    def skip(self, nbytes: int) -> None:
        """``nbytes`` already done by an earlier run (``--resume``): counted, not timed."""
        with self._lock:
            self._skipped += nbytes
        self.update(nbytes)

    def line(self) -> str:
        """``desc: percent done/total, rate, ETA`` of the work so far."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = (self.done - self._skipped) / elapsed
        percent = 100.0 * self.done / self.total if self.total else 100.0
        left = max(self.total - self.done, 0)
        eta = _clock(left / rate) if rate > 0 else "?"
        return (
            f"{self.desc or 'writing'}: {percent:.0f}% {human_bytes(self.done)}/{human_bytes(self.total)}, "
            f"{rate / 1e6:.1f} MB/s, ETA {eta}"
        )

    def close(self, *, failed: bool = False) -> None:
        """End the bar; a log that printed lines gets its last one (unless the run failed)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self._logged and not failed and not self._closed:
            self._echo(self.line())
        self._closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        self.close(failed=kind is not None)

    @property
    def elapsed(self) -> float:
        """Seconds since :meth:`start`."""
        return time.monotonic() - self.started

    def _echo(self, text: str) -> None:
        print(f"omeconv: {text}", file=self.stream or sys.stderr, flush=True)


def summary(verb: str, path: str, *, levels: int | None, bytes_in: int, seconds: float) -> str:
    """``wrote PATH: 3 levels, 12.6 MB in, 4.1 MB on disk (3.1x), 2.4 s, 5.2 MB/s``."""
    parts = [] if levels is None else [f"{levels} level{'s' if levels != 1 else ''}"]
    parts.append(f"{human_bytes(bytes_in)} in")
    on_disk = disk_usage(path)
    if on_disk is not None:
        ratio = f" ({bytes_in / on_disk:.1f}x)" if on_disk else ""
        parts.append(f"{human_bytes(on_disk)} on disk{ratio}")
    parts.append(f"{seconds:.1f} s")
    parts.append(f"{bytes_in / max(seconds, 1e-9) / 1e6:.1f} MB/s")
    return f"{verb} {path}: {', '.join(parts)}"


def disk_usage(path: str | os.PathLike[str]) -> int | None:
    """Bytes of the files under the local ``path`` (None for a URL or nothing there)."""
    root = Path(path)
    if "://" in str(path) or not root.exists():
        return None
    if root.is_file():
        return root.stat().st_size
    return sum((Path(d) / f).stat().st_size for d, _, files in os.walk(root) for f in files)


def human_bytes(n: float) -> str:
    """``n`` bytes in decimal units: ``512 B``, ``12.6 MB``, ``3.1 GB``."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def _clock(seconds: float) -> str:
    s = int(seconds + 0.5)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
