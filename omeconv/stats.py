"""What the emitter learns of the pixels it writes, kept apart so the journal can record it
without importing the writer."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Stats"]


@dataclass
class Stats:
    """Per-channel minimum and maximum of the pixels written (level 0)."""

    minimum: dict[int, float] = field(default_factory=dict)
    maximum: dict[int, float] = field(default_factory=dict)

    def update(self, block: np.ndarray, channel_axis: int | None, offset: int) -> None:
        if block.size == 0:
            return
        if channel_axis is None:
            values = {0: block}
        else:
            head: tuple[slice | int, ...] = (slice(None),) * channel_axis
            values = {offset + i: block[(*head, i)] for i in range(block.shape[channel_axis])}
        for c, v in values.items():
            if v.dtype.kind == "f":
                finite = v[np.isfinite(v)]
                if finite.size == 0:
                    continue
                lo, hi = float(finite.min()), float(finite.max())
            else:
                lo, hi = float(v.min()), float(v.max())
            self.minimum[c] = min(lo, self.minimum.get(c, lo))
            self.maximum[c] = max(hi, self.maximum.get(c, hi))

    def merge(self, other: Stats) -> None:
        for c, lo in other.minimum.items():
            self.minimum[c] = min(lo, self.minimum.get(c, lo))
        for c, hi in other.maximum.items():
            self.maximum[c] = max(hi, self.maximum.get(c, hi))
