"""tifffile's axis letters as NGFF axes: letters without an NGFF meaning squeezed or given
a free role, samples (RGB) folded into the channel axis."""

from __future__ import annotations

from typing import TYPE_CHECKING

from omeconv.errors import MetadataError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    import dask.array as da

__all__ = ["ngff_axis_name", "normalise_axes", "squeeze_axes"]

#: tifffile axis letters with a fixed NGFF name.
_LETTERS = {"T": "t", "C": "c", "S": "c", "Z": "z", "Y": "y", "X": "x"}


def normalise_axes(levels: list[da.Array], letters: str, path: Path) -> tuple[list[da.Array], str]:
    """Squeeze or rename axes until only ``TCZYX`` letters remain, S folded into C.

    Returns the levels and their tifffile axis letters; raises :class:`MetadataError`
    when more than five dimensions remain.
    """
    letters, keep = squeeze_axes(levels[0].shape, letters, path)
    if len(keep) != len(levels[0].shape):
        drop = tuple(i for i in range(len(levels[0].shape)) if i not in keep)
        levels = [d.squeeze(axis=drop) for d in levels]
    if "S" in letters:
        levels, letters = _fold_samples(levels, letters)
    return levels, _at_most_five(letters, path)


def squeeze_axes(shape: Sequence[int], letters: str, path: Path) -> tuple[str, list[int]]:
    """The letters left of ``letters`` (of an array of ``shape``) once letters with no NGFF
    meaning are dropped (length 1) or given a free role, and the indices of the axes kept.

    Length-1 channel/time/z axes carry no information but are kept: they are part of the
    data's shape as the file declares it. Samples (S) are kept for :func:`normalise_axes`
    to fold; without them, more than five letters left raise :class:`MetadataError`.
    """
    for i, c in enumerate(letters):
        if c in _LETTERS or shape[i] == 1:
            continue
        free = next((r for r in "ZTC" if r not in letters), None)
        if free is None:
            raise MetadataError(
                f"axes {letters!r}: cannot place axis {c!r} of length {shape[i]}", path=path
            )
        letters = letters[:i] + free + letters[i + 1 :]
    keep = [i for i, c in enumerate(letters) if c in _LETTERS or shape[i] != 1]
    left = "".join(letters[i] for i in keep)
    return (left if "S" in left else _at_most_five(left, path)), keep


def _at_most_five(letters: str, path: Path) -> str:
    if len(letters) > 5:
        raise MetadataError(f"{len(letters)} dimensions ({letters}); NGFF allows 5", path=path)
    return letters


def _fold_samples(levels: list[da.Array], letters: str) -> tuple[list[da.Array], str]:
    """Samples (RGB) become the channel axis, merged with C when both are present."""
    s = letters.index("S")
    if "C" not in letters:
        order = [i for i in range(len(letters)) if i != s]
        # Put S where a channel axis belongs: after T, before Z/Y/X.
        pos = 1 if letters.startswith("T") else 0
        order.insert(pos, s)
        return [d.transpose(order) for d in levels], "".join(
            "C" if letters[i] == "S" else letters[i] for i in order
        )
    c = letters.index("C")
    order = [i for i in range(len(letters)) if i not in (c, s)]
    order.insert(order.index(min(i for i in order if letters[i] in "ZYX")), c)
    order.insert(order.index(c) + 1, s)
    out = []
    for d in levels:
        t = d.transpose(order)
        ci = order.index(c)
        shape = (*t.shape[:ci], t.shape[ci] * t.shape[ci + 1], *t.shape[ci + 2 :])
        out.append(t.reshape(shape))
    new = "".join(letters[i] for i in order if i != s)
    return out, new


def ngff_axis_name(letter: str) -> str:
    """NGFF name of a tifffile axis letter left by :func:`normalise_axes` (``"Z"`` -> ``"z"``)."""
    return _LETTERS[letter]
