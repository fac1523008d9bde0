"""A folder of per-well image files as an HCS plate.

File names follow a pattern with ``{row}`` (letters), ``{col}`` (digits) and ``{field}``
(digits) fields, e.g. ``"{row}{col}_f{field}.tif"`` for ``B03_f1.tif``; ``*`` matches
anything. Each file is read by whichever adapter opens it (TIFF, ``.npy`` …) and becomes
field ``i`` of its well, fields in the order of their numbers.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, ClassVar

from omeconv.errors import SourceNotFoundError, UsageError
from omeconv.model import Collection, Image, Plate, Well, WellField

__all__ = ["PlateFolderConverter", "pattern_regex"]

_GROUPS = {"row": r"(?P<row>[A-Za-z]+)", "col": r"(?P<col>\d+)", "field": r"(?P<field>\d+)"}


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """The regular expression matching file names of a ``--plate-pattern``."""
    if "{row}" not in pattern or "{col}" not in pattern:
        raise UsageError(f"--plate-pattern {pattern!r} needs the fields {{row}} and {{col}}")
    regex = ""
    for part in re.split(r"(\{\w+\}|\*)", pattern):
        if part == "*":
            regex += ".*?"
        elif re.fullmatch(r"\{\w+\}", part):
            if part[1:-1] not in _GROUPS:
                raise UsageError(
                    f"--plate-pattern field {part} is unknown; use {{row}}, {{col}}, {{field}}"
                )
            regex += _GROUPS[part[1:-1]]
        else:
            regex += re.escape(part)
    return re.compile(regex + "$")


class PlateFolderConverter:
    """A folder of files named by row, column and field, as a plate."""

    name: ClassVar[str] = "plate_folder"
    description: ClassVar[str] = (
        "folder of per-well files (--plate-pattern '{row}{col}_f{field}.tif')"
    )
    suffixes: ClassVar[tuple[str, ...]] = ()

    def guess_can_open(self, source: Any) -> bool:
        # Which files are wells is only known from the pattern: chosen by --plate-pattern.
        return False

    def open(self, source: Any, *, plate_pattern: str | None = None) -> Collection:
        """Every file of the folder ``source`` matching ``plate_pattern``, as wells and fields."""
        from omeconv.converters import guess_converter

        if plate_pattern is None:
            raise UsageError("a plate folder needs --plate-pattern, e.g. '{row}{col}_f{field}.tif'")
        folder = Path(source)
        if not folder.is_dir():
            raise SourceNotFoundError("not a folder", path=folder)
        regex = pattern_regex(plate_pattern)
        found: dict[tuple[str, int], list[tuple[int, Path]]] = {}
        for entry in sorted(os.listdir(folder)):
            match = regex.match(entry)
            if match is None or not (folder / entry).is_file():
                continue
            key = (match["row"].upper(), int(match["col"]))
            field = int(match["field"]) if "field" in regex.groupindex else 0
            found.setdefault(key, []).append((field, folder / entry))
        if not found:
            raise SourceNotFoundError(
                f"no file matches --plate-pattern {plate_pattern!r}", path=folder
            )
        rows = tuple(sorted({r for r, _ in found}, key=lambda r: (len(r), r)))
        columns = tuple(str(c) for c in sorted({c for _, c in found}))
        wells: list[Well] = []
        images: list[Image] = []
        paths: list[str] = []

        def well_order(key: tuple[str, int]) -> tuple[int, int]:
            return rows.index(key[0]), key[1]

        for (row, col), files in sorted(found.items(), key=lambda kv: well_order(kv[0])):
            fields = []
            numbers = [n for n, _path in files]
            if len(set(numbers)) != len(numbers):
                raise UsageError(f"well {row}{col} has two files for one field", path=folder)
            for i, (_number, path) in enumerate(sorted(files)):
                collection = guess_converter(path).open(path)
                if len(collection.images) != 1:
                    raise UsageError(
                        f"holds {len(collection.images)} images; a field must be one", path=path
                    )
                image = collection.images[0]
                fields.append(WellField(path=str(i), image=image))
                images.append(image)
                paths.append(f"{row}/{col}/{i}")
            wells.append(Well(row=row, column=str(col), fields=tuple(fields)))
        plate = Plate(name=folder.name, rows=rows, columns=columns, wells=tuple(wells))
        return Collection(
            images=tuple(images), plate=plate, layout="plate", image_paths=tuple(paths)
        )
