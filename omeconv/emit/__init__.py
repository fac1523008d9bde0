"""The emitter: writes a :class:`~omeconv.model.Collection` as OME-Zarr 0.4, 0.5 or 0.6.

A run (:mod:`~omeconv.emit.run`: staging, journal, the root's metadata last) drives one
:class:`~omeconv.emit.writer.Writer`. A version is a small layout module
(:mod:`~omeconv.emit.v04`, :mod:`~omeconv.emit.v05`, :mod:`~omeconv.emit.v06`); all versions
share one array-write path (:mod:`omeconv.emit.write`) and one metadata builder
(:mod:`omeconv.emit.ngff`). Axis order is :mod:`~omeconv.emit.axes`'s, channel windows
:mod:`~omeconv.emit.windows`'s, a source's moved attributes :mod:`~omeconv.emit.moved`'s.
"""

from __future__ import annotations

from omeconv.emit.axes import ngff_order
from omeconv.emit.paths import image_paths
from omeconv.emit.run import LAYOUTS, emit, emit_into, is_finished

__all__ = ["LAYOUTS", "emit", "emit_into", "image_paths", "is_finished", "ngff_order"]
