"""How an image's lower levels were made, for the multiscale's ``type`` and ``metadata``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from omeconv.emit.ngff import Downscale
    from omeconv.model import Image
    from omeconv.pyramid import Method

__all__ = ["downscale_of"]

#: How each downsampling method reduces a window, for the multiscale's description.
_KERNELS = {
    "mean": "mean",
    "mode": "mode",
    "nearest": "nearest (first pixel of each window)",
    "gaussian": "mean after a Gaussian blur of sigma 2 * factor / 6",
}


def downscale_of(image: Image | None, method: Method, computed: Sequence[str]) -> Downscale:
    """How an image's lower levels were made: by omeconv (the ``computed`` ones), or as the
    source says (nothing when it says nothing)."""
    from omeconv import __version__

    if not computed:
        return (image.downscale_type, image.downscale_metadata) if image else (None, None)
    return method, {
        "description": f"levels {', '.join(computed)}: 2x block {_KERNELS[method]} per level,"
        " computed from the level above; windows at odd edges use the pixels present",
        "method": "omeconv.pyramid.downsample",
        "version": __version__,
        "kwargs": {"method": method},
    }
