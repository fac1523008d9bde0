"""The command line's options: shared groups of click options and their parsers."""

from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from collections.abc import Callable


def parse_chunks(value: str | None) -> tuple[int, ...] | dict[str, int] | None:
    """``1,1,16,256,256`` (every axis) or ``z=16,y=256,x=256`` (some axes)."""
    if not value:
        return None
    parts = [p.strip() for p in value.split(",") if p.strip()]
    try:
        if all("=" in p for p in parts):
            return {k.strip(): int(v) for k, v in (p.split("=", 1) for p in parts)}
        sizes = tuple(int(p) for p in parts)
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: give sizes like 1,1,16,256,256 or z=16,y=256,x=256"
        ) from None
    if any(s < 1 for s in sizes):
        raise click.BadParameter(f"{value!r}: chunk sizes must be positive")
    return sizes


def write_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by every command that writes OME-Zarr."""
    options = [
        click.option(
            "--ome-version",
            type=click.Choice(["0.4", "0.5", "0.6"]),
            default="0.5",
            show_default=True,
            help="OME-Zarr version: 0.5 (Zarr v3), 0.6 (Zarr v3, written as 0.6rc0) or 0.4"
            " (Zarr v2).",
        ),
        click.option(
            "--levels",
            type=click.IntRange(min=1),
            default=None,
            help="Pyramid levels in all. Default: halve until a plane fits one chunk "
            "(or keep the file's own pyramid).",
        ),
        click.option(
            "--chunks",
            default=None,
            help="Chunk shape: sizes for every axis (1,1,16,256,256) or some (z=16,y=256,x=256).",
        ),
        click.option(
            "--shards",
            is_flag=True,
            default=False,
            help="Group chunks into shards (level 0: about 64 MiB; 0.5 only).",
        ),
        click.option(
            "--compression",
            type=click.Choice(["balanced", "fast", "small", "zstd", "lz4", "gzip", "none"]),
            default="balanced",
            show_default=True,
            help="Preset (Blosc: fast lz4, balanced zstd 2, small zstd 5; shuffle by dtype) or "
            "codec (zstd and lz4 are Blosc with byte shuffle; --clevel sets their level).",
        ),
        click.option(
            "--shuffle",
            type=click.Choice(["byte", "bit", "none"]),
            default=None,
            help="Blosc shuffle of the preset or codec: byte, bit (bitshuffle) or none. "
            "Default: the preset's choice by dtype; byte for zstd and lz4.",
        ),
        click.option(
            "--clevel",
            type=click.IntRange(0, 9),
            default=5,
            show_default=True,
            help="Compression level.",
        ),
        click.option(
            "--overwrite",
            is_flag=True,
            default=False,
            help="Replace OUTPUT if it exists (only once the new one is complete).",
        ),
        click.option(
            "--workers",
            type=click.IntRange(min=1),
            default=None,
            help="Threads to use (default: one per core).",
        ),
        click.option(
            "--scheduler",
            default=None,
            metavar="ADDRESS",
            help="Run on a dask.distributed scheduler (tcp://host:8786) instead of local threads.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def rocrate_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--rocrate`` and what the crate says (:mod:`omeconv.rocrate`); any of them writes it."""
    options = [
        click.option(
            "--rocrate",
            is_flag=True,
            default=False,
            help="Write ro-crate-metadata.json at the root (as the 2024 OME-NGFF challenge did).",
        ),
        click.option("--rocrate-license", metavar="URL", help="Data licence (implies --rocrate)."),
        click.option("--rocrate-name", metavar="TEXT", help="Dataset name (implies --rocrate)."),
        click.option(
            "--rocrate-description", metavar="TEXT", help="Description (implies --rocrate)."
        ),
        click.option(
            "--rocrate-organism",
            metavar="NCBI:txidN",
            help="NCBI taxon of the specimen (implies --rocrate).",
        ),
        click.option(
            "--rocrate-modality",
            metavar="obo:FBbi_N",
            help="FBbi term of the imaging method (implies --rocrate).",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def rocrate(kw: dict[str, Any]) -> Any:
    """The :class:`~omeconv.rocrate.RoCrate` of the ``--rocrate`` options (popped from
    ``kw``), or None when none is given."""
    from omeconv.rocrate import RoCrate

    wanted = kw.pop("rocrate")
    keys = ("license", "name", "description", "organism", "modality")
    given = {k: v for k in keys if (v := kw.pop(f"rocrate_{k}")) is not None}
    return RoCrate(**given) if wanted or given else None


LOG_LEVELS = ["debug", "info", "warning", "error"]


def global_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``-q``, ``--debug`` and ``--log-level``: on the group, and again on every subcommand."""
    f = click.option(
        "--log-level",
        type=click.Choice(LOG_LEVELS, case_sensitive=False),
        default=None,
        help="Log messages of this level and above (default: warning).",
    )(f)
    f = click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")(f)
    return click.option(
        "-q", "--quiet", is_flag=True, help="No progress, no summary and no warnings."
    )(f)


def sub_global_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The global options on a subcommand (``omeconv convert … -q``): applied, then dropped."""
    import functools

    @functools.wraps(f)
    def wrapper(*args: Any, quiet: bool, debug: bool, log_level: str | None, **kw: Any) -> Any:
        ctx = click.get_current_context()
        apply_global_options(ctx, quiet=quiet, debug=debug, log_level=log_level)
        return f(*args, **kw)

    return global_options(wrapper)


def apply_global_options(
    ctx: click.Context, *, quiet: bool, debug: bool, log_level: str | None
) -> None:
    """Set up logging and warnings; a subcommand's ``-q``/``--debug`` add to the group's."""
    obj = ctx.find_root().ensure_object(dict)
    obj["quiet"] = quiet = quiet or obj.get("quiet", False)
    obj["debug"] = debug = debug or obj.get("debug", False)
    obj["log_level"] = log_level = log_level or obj.get("log_level")
    level = logging.DEBUG if debug else getattr(logging, (log_level or "WARNING").upper())
    logging.basicConfig(level=level, format="%(message)s", force=True)
    if not debug:
        # tifffile logs what it finds wrong in a file; omeconv reports it in one line.
        logging.getLogger("tifffile").setLevel(logging.CRITICAL)
    if quiet:
        warnings.simplefilter("ignore")
    else:
        warnings.showwarning = show_warning


def show_warning(message: Any, category: Any, *_: Any, **__: Any) -> None:
    click.echo(f"omeconv: warning: {message}", err=True)


def safety_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--resume`` and ``--verify`` for the converting commands."""
    f = click.option(
        "--verify",
        is_flag=True,
        default=False,
        help="Read OUTPUT back: compare every level-0 chunk with INPUT and validate the metadata.",
    )(f)
    return click.option(
        "--resume",
        is_flag=True,
        default=False,
        help="Finish an interrupted conversion (same options), skipping what it wrote.",
    )(f)


def source_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--labels``, ``--axes`` and ``--plate-pattern`` for the converting commands."""
    f = click.option(
        "--plate-pattern",
        default=None,
        help="INPUT is a folder of per-well files named like this, e.g. '{row}{col}_f{field}.tif'.",
    )(f)
    f = click.option(
        "--allow-missing",
        is_flag=True,
        default=None,
        help="Fill the planes a file sequence has no file for with zeros (recorded in OUTPUT).",
    )(f)
    f = click.option(
        "--axes",
        default=None,
        help="Axis names of each file of a glob sequence, outermost first (e.g. zyx).",
    )(f)
    return click.option(
        "--labels",
        "labels",
        multiple=True,
        metavar="NAME=PATH",
        help="Attach a segmentation mask (integer TIFF or .npy) as label NAME; repeatable.",
    )(f)


def metadata_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """What the file does not say (or says wrong): metadata and the pyramid's method."""
    from omeconv.pyramid import METHODS

    options = [
        click.option(
            "--scale",
            default=None,
            metavar="AXIS=SIZE,…",
            help="Pixel size per axis at full resolution, e.g. z=2,y=0.5,x=0.5.",
        ),
        click.option(
            "--units",
            default=None,
            metavar="UNIT|AXIS=UNIT,…",
            help="Unit of every space axis (micrometer, nm, µm …) or per axis: z=micrometer,t=s.",
        ),
        click.option(
            "--translation",
            default=None,
            metavar="AXIS=OFFSET,…",
            help="Position of the first pixel's centre, e.g. y=100,x=-20.5.",
        ),
        click.option("--name", default=None, help="Name of the image (of every image)."),
        click.option(
            "--channel-names", default=None, metavar="A,B,…", help="One name per channel."
        ),
        click.option(
            "--channel-colors",
            default=None,
            metavar="RRGGBB,…",
            help="One colour per channel, six hex digits (FF0000,00FF00).",
        ),
        click.option(
            "--channel-windows",
            default=None,
            metavar="START:END,…|pLOW:pHIGH",
            help="Display window of each channel, or percentiles of every channel's pixels "
            "(p1:p99.5) (default: the data's min to max).",
        ),
        click.option(
            "--downsample",
            type=click.Choice(METHODS),
            default=None,
            help="Pyramid method for intensities [default: mean] (labels always mode; "
            "gaussian smooths before the mean).",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def overrides(kw: dict[str, Any]) -> Any:
    """The :class:`~omeconv.overrides.Overrides` of the metadata options (popped from ``kw``)."""
    from omeconv.overrides import Overrides, parse_axis_values, parse_units, parse_windows

    def names(key: str) -> list[str] | None:
        value = kw.pop(key)
        return None if value is None else [v.strip() for v in value.split(",")]

    return Overrides(
        scale=parse_axis_values("--scale", kw.pop("scale")),
        units=parse_units(kw.pop("units")),
        translation=parse_axis_values("--translation", kw.pop("translation")),
        name=kw.pop("name"),
        channel_names=names("channel_names"),
        channel_colors=names("channel_colors"),
        channel_windows=parse_windows(kw.pop("channel_windows")),
    )


def parse_series(value: str | None) -> int | list[int] | str | None:
    """``2`` (one series), ``0,2`` (several) or ``all``."""
    if value is None or value.strip().lower() == "all":
        return None if value is None else "all"
    try:
        numbers = [int(p) for p in value.split(",") if p.strip()]
    except ValueError:
        raise click.BadParameter(f"{value!r}: give an index (2), indices (0,2) or all") from None
    if not numbers or any(n < 0 for n in numbers):
        raise click.BadParameter(f"{value!r}: series are numbered from 0")
    return numbers[0] if len(numbers) == 1 else numbers


SERIES_HELP = "Convert only this series (2), these (0,2) or all [default: all]."


def layout_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--layout``: several series as one collection, or one store each."""
    return click.option(
        "--layout",
        type=click.Choice(["collection", "per-series"]),
        default="collection",
        show_default=True,
        help="Several series: one bioformats2raw collection, or per-series: OUTPUT is a folder "
        "of <index>_<name>.ome.zarr image stores.",
    )(f)


def conversion_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """INPUT, OUTPUT and every option of the converting commands (tiff2zarr, convert)."""
    for option in (
        source_options,
        safety_options,
        rocrate_options,
        metadata_options,
        write_options,
        layout_option,
        click.option("--series", default=None, metavar="N|N,M|all", help=SERIES_HELP),
        click.argument("output", type=click.Path()),
        click.argument("input", type=click.Path()),
    ):
        f = option(f)
    return f
