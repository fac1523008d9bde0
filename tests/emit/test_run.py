"""The emitter's run (:mod:`omeconv.emit.run`) and plan (:mod:`omeconv.emit.plan`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from omeconv.emit import is_finished
from omeconv.emit.plan import chunk_shape
from omeconv.errors import UsageError
from omeconv.model import Axis

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize("key", ["zarr.json", ".zattrs", ".zgroup", ".zarray"])
def test_an_output_is_finished_with_its_root_metadata_and_no_staging(
    tmp_path: Path, key: str
) -> None:
    out = tmp_path / "a.ome.zarr"
    out.mkdir()
    assert not is_finished(out)
    (out / key).write_text("{}")
    assert is_finished(out)
    (tmp_path / "a.ome.zarr.partial").mkdir()  # an unfinished run's staging beside it
    assert not is_finished(out)


def test_chunks_given_by_axis_name_or_for_every_axis() -> None:
    axes = tuple(Axis.named(n) for n in "zyx")
    default = chunk_shape(axes, (10, 4096, 4096), 2, None)
    assert chunk_shape(axes, (10, 4096, 4096), 2, {"z": 1}) == (1, *default[1:])
    assert chunk_shape(axes, (10, 4096, 4096), 2, (2, 64, 64)) == (2, 64, 64)
    with pytest.raises(UsageError, match=r"--chunks names axes \['q'\] not in zyx"):
        chunk_shape(axes, (10, 4096, 4096), 2, {"q": 1})
    with pytest.raises(UsageError, match="--chunks has 2 values but the image has axes zyx"):
        chunk_shape(axes, (10, 4096, 4096), 2, (64, 64))
