"""The ``omeconv`` command line: tiff2zarr, convert, info, validate.

Errors print one line, ``omeconv: error: <path>: <message>``, and exit 2 (usage: bad
options, missing input, existing output) or 1 (data: corrupt source, invalid metadata;
system errors such as a full disk). Ctrl-C exits 130 and SIGTERM 143, in one line, keeping
an unfinished output for ``--resume``. ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import warnings
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from omeconv.errors import ConversionInterruptedError, OmeconvError, from_os_error

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ["main"]

EPILOG_TIFF = """\b
Examples:
  omeconv tiff2zarr cells.ome.tif cells.ome.zarr
  omeconv tiff2zarr stack.tif out.ome.zarr --ome-version 0.4 --levels 3
  omeconv tiff2zarr big.ome.tif out.ome.zarr --chunks z=32,y=512,x=512 --compression lz4
  omeconv tiff2zarr 'stack/img_z{z}_c{c}.tif' out.ome.zarr
  omeconv tiff2zarr 'frames/*.tif' out.ome.zarr --axes tyx
  omeconv tiff2zarr plate_dir out.ome.zarr --plate-pattern '{row}{col}_f{field}.tif'
  omeconv tiff2zarr cells.tif out.ome.zarr --labels nuclei=nuclei_mask.tif
"""


def _parse_chunks(value: str | None) -> tuple[int, ...] | dict[str, int] | None:
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


def _write_options(f: Callable[..., Any]) -> Callable[..., Any]:
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


def _rocrate_options(f: Callable[..., Any]) -> Callable[..., Any]:
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


def _rocrate(kw: dict[str, Any]) -> Any:
    """The :class:`~omeconv.rocrate.RoCrate` of the ``--rocrate`` options (popped from
    ``kw``), or None when none is given."""
    from omeconv.rocrate import RoCrate

    wanted = kw.pop("rocrate")
    keys = ("license", "name", "description", "organism", "modality")
    given = {k: v for k in keys if (v := kw.pop(f"rocrate_{k}")) is not None}
    return RoCrate(**given) if wanted or given else None


_LOG_LEVELS = ["debug", "info", "warning", "error"]


def _global_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``-q``, ``--debug`` and ``--log-level``: on the group, and again on every subcommand."""
    f = click.option(
        "--log-level",
        type=click.Choice(_LOG_LEVELS, case_sensitive=False),
        default=None,
        help="Log messages of this level and above (default: warning).",
    )(f)
    f = click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")(f)
    return click.option(
        "-q", "--quiet", is_flag=True, help="No progress, no summary and no warnings."
    )(f)


def _sub_global_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The global options on a subcommand (``omeconv convert … -q``): applied, then dropped."""
    import functools

    @functools.wraps(f)
    def wrapper(*args: Any, quiet: bool, debug: bool, log_level: str | None, **kw: Any) -> Any:
        ctx = click.get_current_context()
        _apply_global_options(ctx, quiet=quiet, debug=debug, log_level=log_level)
        return f(*args, **kw)

    return _global_options(wrapper)


class _Stopped(Exception):
    """Ctrl-C or SIGTERM outside a conversion; ``code`` is the exit code (130 or 143)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class _Group(click.Group):
    """Reports Ctrl-C and SIGTERM itself (click would print an empty line first)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            raise _Stopped(_interrupted(exc)) from exc


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="omeconv", prog_name="omeconv")
@_global_options
@click.pass_context
def cli(ctx: click.Context, quiet: bool, debug: bool, log_level: str | None) -> None:
    """Convert microscopy images to OME-Zarr, and inspect or validate OME-Zarr.

    \b
    Start with:
      omeconv tiff2zarr cells.ome.tif cells.ome.zarr   # convert
      omeconv info cells.ome.zarr                      # what is inside
      omeconv validate cells.ome.zarr                  # does it follow the spec
      omeconv upgrade v0.4 v0.5 old.zarr new.ome.zarr  # OME-Zarr 0.4 to 0.5
    """
    ctx.ensure_object(dict)
    _apply_global_options(ctx, quiet=quiet, debug=debug, log_level=log_level)


def _apply_global_options(
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
        warnings.showwarning = _show_warning


def _show_warning(message: Any, category: Any, *_: Any, **__: Any) -> None:
    click.echo(f"omeconv: warning: {message}", err=True)


def _safety_options(f: Callable[..., Any]) -> Callable[..., Any]:
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


def _source_options(f: Callable[..., Any]) -> Callable[..., Any]:
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


def _metadata_options(f: Callable[..., Any]) -> Callable[..., Any]:
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


def _overrides(kw: dict[str, Any]) -> Any:
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


def _parse_series(value: str | None) -> int | list[int] | str | None:
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


_SERIES_HELP = "Convert only this series (2), these (0,2) or all [default: all]."


def _layout_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--layout``: several series as one collection, or one store each."""
    return click.option(
        "--layout",
        type=click.Choice(["collection", "per-series"]),
        default="collection",
        show_default=True,
        help="Several series: one bioformats2raw collection, or per-series: OUTPUT is a folder "
        "of <index>_<name>.ome.zarr image stores.",
    )(f)


@contextmanager
def _client(address: str | None) -> Iterator[Any]:
    """A ``distributed.Client`` connected to ``address`` for the block, or None."""
    if address is None:
        yield None
        return
    from omeconv.errors import UsageError

    try:
        from distributed import Client
    except ImportError:
        raise UsageError("--scheduler needs dask.distributed: pip install distributed") from None
    try:
        client = Client(address, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(f"--scheduler {address}: cannot connect: {exc}") from exc
    with client:
        yield client


def _convert(
    ctx: click.Context, source: str, output: str, converter: str | None, **kw: Any
) -> None:
    from omeconv.api import convert
    from omeconv.emit import is_finished
    from omeconv.labels import parse_label_option
    from omeconv.progress import Progress, pick_mode, summary

    quiet = ctx.obj["quiet"]
    if kw["resume"] and not kw["overwrite"] and is_finished(output):
        if not quiet:
            click.echo(f"{output}: complete already; nothing to resume", err=True)
        return
    kw["labels"] = dict(parse_label_option(v) for v in kw.pop("labels", ())) or None
    if converter == "tiff" and (kw.get("plate_pattern") or any(c in source for c in "*?[{")):
        converter = None
    if converter == "tiff" and os.path.isfile(source):
        _refuse_other_formats(source)
    verify = kw.pop("verify", False)
    if verify and kw["layout"] != "collection":
        from omeconv.errors import UsageError

        raise UsageError(
            "--verify checks one store: verify each with omeconv verify INPUT STORE --series N"
        )
    chunks = _parse_chunks(kw.pop("chunks"))
    kw["series"] = _parse_series(kw.pop("series"))
    kw["overrides"] = _overrides(kw)
    kw["rocrate"] = _rocrate(kw)
    progress = Progress(mode=pick_mode(quiet=quiet))
    with _client(kw.pop("scheduler", None)) as client:
        out = convert(
            source,
            output,
            converter=converter,
            chunks=chunks,
            client=client,
            progress=progress,
            **kw,
        )
    if not quiet:
        line = summary(
            "wrote",
            out,
            levels=progress.levels,
            bytes_in=progress.bytes_in,
            seconds=progress.elapsed,
        )
        click.echo(line, err=True)
    if verify:
        from omeconv.verify import verify as verify_output

        options = {
            k: kw[k] for k in ("axes", "plate_pattern", "allow_missing") if kw.get(k) is not None
        }
        series = kw["series"] if isinstance(kw["series"], int) else None
        report = verify_output(source, out, converter=converter, series=series, **options)
        if not quiet:
            click.echo(f"verified {out}: {report}", err=True)


def _refuse_other_formats(source: str) -> None:
    """tiff2zarr on a file of another format (CZI, ND2 …): say which command reads it.
    Files no adapter claims are left to the TIFF reader, which says what is wrong."""
    from omeconv.converters import get_converter, guess_converter
    from omeconv.errors import UnsupportedSourceError, UsageError

    if get_converter("tiff").guess_can_open(source):
        return
    try:
        other = guess_converter(source)
    except UnsupportedSourceError:
        return
    raise UsageError(f"not a TIFF but {other.description}: use omeconv convert", path=source)


@cli.command(epilog=EPILOG_TIFF)
@click.argument("input", type=click.Path())
@click.argument("output", type=click.Path())
@click.option("--series", default=None, metavar="N|N,M|all", help=_SERIES_HELP)
@_layout_option
@_write_options
@_metadata_options
@_rocrate_options
@_safety_options
@_source_options
@click.pass_context
@_sub_global_options
def tiff2zarr(ctx: click.Context, /, input: str, output: str, **kw: Any) -> None:
    """Convert a TIFF or OME-TIFF file INPUT to an OME-Zarr store OUTPUT.

    Axes, physical sizes, units, channel names and colours come from the OME-XML or ImageJ
    metadata; the OME-XML is kept in OUTPUT/OME/METADATA.ome.xml. A pyramid is built
    (mean downsampling) unless the file has its own. Nothing at OUTPUT is touched unless
    --overwrite is given, and an interrupted run leaves no store at OUTPUT.
    """
    _convert(ctx, input, output, "tiff", **kw)


@cli.command()
@click.argument("input", type=click.Path())
@click.argument("output", type=click.Path())
@click.option("--series", default=None, metavar="N|N,M|all", help=_SERIES_HELP)
@_layout_option
@_write_options
@_metadata_options
@_rocrate_options
@_safety_options
@_source_options
@click.pass_context
@_sub_global_options
def convert(ctx: click.Context, /, input: str, output: str, **kw: Any) -> None:
    """Convert INPUT (TIFF, OME-TIFF, CZI, ND2, LIF, .npy …) to OME-Zarr, picking the reader
    by content.

    \b
    Examples:
      omeconv convert stack.npy stack.ome.zarr
      omeconv convert cells.ome.tif cells.ome.zarr --ome-version 0.4
    """
    _convert(ctx, input, output, None, **kw)


@cli.command()
@click.argument("path", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON, for scripts.")
@_sub_global_options
def info(path: str, as_json: bool) -> None:
    """Describe PATH (an OME-Zarr store, local or a URL, or an image file): version, axes,
    levels with their shapes, chunks and codecs, channels, labels, plate wells.

    \b
    Examples:
      omeconv info cells.ome.zarr
      omeconv info s3://bucket/plate.ome.zarr --json | jq '.root.wells | length'
    """
    from omeconv.info import describe, summarize
    from omeconv.stores import folder_stores

    stores = folder_stores(path)  # a --layout per-series output: each of its stores
    if stores and as_json:
        every = {"kind": "folder", "path": path, "stores": [summarize(s) for s in stores]}
        click.echo(json.dumps(every, indent=2))
    elif stores:
        head = f"{path}: a folder of {len(stores)} OME-Zarr store{'s' * (len(stores) != 1)}"
        click.echo("\n\n".join([head, *(describe(s) for s in stores)]))
    else:
        click.echo(json.dumps(summarize(path), indent=2) if as_json else describe(path))


@cli.command()
@click.argument("path", type=click.Path())
@click.option(
    "--strict",
    is_flag=True,
    default=False,
    help="Also reject what the spec's strict schemas ask for (SHOULD rules), not just warn.",
)
@_sub_global_options
def validate(path: str, strict: bool) -> None:
    """Check PATH (an OME-Zarr store or an NGFF JSON document) against the NGFF spec.

    Exits 0 when valid; otherwise prints each reason and exits 1. SHOULD rules (names,
    label colours …) and missing chunks are warnings.
    """
    from omeconv.stores import folder_stores
    from omeconv.validate import validate_path

    _refuse_non_json_file(path)
    for store in folder_stores(path) or [path]:  # each store of a --layout per-series output
        version = validate_path(store, strict=strict)
        click.echo(f"{store}: valid OME-Zarr {version}")


def _refuse_non_json_file(path: str) -> None:
    """``validate cells.tif``: say what validate takes (an image file is no NGFF document)."""
    from omeconv.errors import UsageError
    from omeconv.ozx import is_ozx

    if not os.path.isfile(path) or is_ozx(path):
        return
    with open(path, "rb") as f:
        head = f.read(64).lstrip()
    if not head.startswith(b"{"):
        raise UsageError(
            "validate takes an OME-Zarr store or an NGFF JSON document (zarr.json, .zattrs),"
            " not an image file; convert it first with omeconv convert",
            path=path,
        )


@cli.command("verify")
@click.argument("source", type=click.Path())
@click.argument("output", type=click.Path())
@click.option("--series", type=click.IntRange(min=0), default=None, help="SOURCE series converted.")
@_sub_global_options
def verify_command(source: str, output: str, series: int | None) -> None:
    """Check that OUTPUT holds SOURCE's pixels and valid metadata.

    Every level-0 chunk is read from both and compared by checksum, one chunk at a time;
    the first difference is reported and the exit code is 1.
    """
    from omeconv.verify import verify

    click.echo(f"{output}: {verify(source, output, series=series)}")


EPILOG_UPGRADE = """\b
Examples:
  omeconv upgrade 0.4 0.5 image.ome.zarr image-v05.ome.zarr     # copy; chunks copied as is
  omeconv upgrade 0.4 0.5 image.ome.zarr image-v05.ome.zarr --resume   # finish a stopped copy
  omeconv upgrade 0.4 0.5 plate.zarr --in-place                 # metadata only, crash-safe
  omeconv upgrade 0.4 0.5 plate.zarr --in-place --dry-run       # show what would change
  omeconv upgrade 0.4 0.5 in.zarr out.zarr --shards --compression zstd   # re-encode
  omeconv upgrade 0.5 0.6 image.ome.zarr --in-place             # group attributes only
  omeconv upgrade 0.4 0.6 image.ome.zarr image-v06.ozx          # one zip file (RFC-9)
"""


@cli.command("upgrade", epilog=EPILOG_UPGRADE)
@click.argument("from_version", metavar="FROM", type=click.Choice(["0.4", "v0.4", "0.5", "v0.5"]))
@click.argument("to_version", metavar="TO", type=click.Choice(["0.5", "v0.5", "0.6", "v0.6"]))
@click.argument("input", type=click.Path())
@click.argument("output", type=click.Path(), required=False)
@click.option(
    "--in-place",
    is_flag=True,
    help="Rewrite INPUT's metadata only (no chunk moves); a killed run is finished by re-running.",
)
@click.option("--dry-run", is_flag=True, help="Print what would change; change nothing.")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists (once complete).")
@click.option(
    "--resume",
    is_flag=True,
    help="Finish an interrupted copy: chunks already copied in full are not copied again.",
)
@click.option("--rechunk", is_flag=True, help="Re-encode with new default chunks.")
@click.option(
    "--chunks", default=None, help="Re-encode with this chunk shape (1,1,16,256,256 or z=16)."
)
@click.option("--shards", is_flag=True, help="Re-encode into shards (about 64 MiB at level 0).")
@click.option(
    "--compression",
    type=click.Choice(["balanced", "fast", "small", "zstd", "lz4", "gzip", "none"]),
    default=None,
    help="Re-encode with this codec (default: copy the chunks as they are).",
)
@click.option("--clevel", type=click.IntRange(0, 9), default=5, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Threads to re-encode.")
@_rocrate_options
@click.pass_context
@_sub_global_options
def upgrade_command(
    ctx: click.Context, /, from_version: str, to_version: str, input: str, **kw: Any
) -> None:
    """Upgrade the OME-Zarr FROM store INPUT to TO: 0.4 (Zarr v2) to 0.5 or 0.6, or 0.5 to
    0.6 (Zarr v3; 0.6 is written as 0.6rc0).

    INPUT may be an image, a plate, a bioformats2raw collection or a group of images; the
    whole hierarchy is upgraded. With OUTPUT, a new store is written and INPUT is never
    modified: encoded chunks are copied byte for byte wherever the codecs map to Zarr v3,
    unless --rechunk, --chunks, --shards or --compression ask to re-encode. With
    --in-place, only metadata files change: zarr.json files are written first, the
    .zgroup/.zattrs/.zarray files removed last (0.5 to 0.6: only group attributes are
    rewritten), and a journal lets a re-run finish a run that was killed.
    """
    from omeconv.progress import Progress, pick_mode, summary
    from omeconv.upgrade import upgrade

    quiet = ctx.obj["quiet"]
    chunks = _parse_chunks(kw.pop("chunks"))
    reencode = kw["rechunk"] or chunks is not None or kw["shards"] or kw["compression"]
    progress = Progress(mode=pick_mode(quiet=quiet), desc="re-encoding" if reencode else "copying")
    result = upgrade(
        input,
        kw.pop("output"),
        from_version=from_version,
        to_version=to_version,
        chunks=chunks,
        progress=progress,
        rocrate=_rocrate(kw),
        **kw,
    )
    target = to_version.removeprefix("v")
    if kw["dry_run"]:
        click.echo(result)
    elif not quiet and kw["in_place"]:
        click.echo(f"upgraded {input} to OME-Zarr {target}: {result}", err=True)
    elif not quiet:
        line = summary(
            f"upgraded {input} to OME-Zarr {target}:",
            result,
            levels=progress.levels,
            bytes_in=progress.bytes_in,
            seconds=progress.elapsed,
        )
        click.echo(line, err=True)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, delivered like Ctrl-C so that an unfinished output is kept for --resume."""


def _on_sigterm(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
    raise _Terminated


def _interrupted(exc: BaseException) -> int:
    """The exit code of an interruption: 143 for SIGTERM (128 + 15), 130 for Ctrl-C."""
    current: BaseException | None = exc
    while current is not None:
        if isinstance(current, _Terminated):
            return 128 + signal.SIGTERM
        current = current.__cause__ or current.__context__
    return 130


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, mapping errors to one line and an exit code.

    SIGTERM is handled like Ctrl-C (one line, an unfinished output kept for --resume),
    with exit code 143 instead of 130.
    """
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread: leave signals alone
        previous = None
    try:
        _run(argv)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _run(argv: list[str] | None) -> None:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="omeconv", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt, _Stopped) as exc:
        code = exc.code if isinstance(exc, _Stopped) else _interrupted(exc)
        click.echo(f"omeconv: {'terminated' if code == 143 else 'interrupted'}", err=True)
        sys.exit(code)
    except click.ClickException as exc:
        message = " ".join(exc.format_message().split())
        click.echo(f"omeconv: error: {message}", err=True)
        sys.exit(2 if isinstance(exc, click.UsageError) else exc.exit_code)
    except Exception as exc:
        if debug:
            raise
        error = _one_line_error(exc, argv if argv is not None else sys.argv[1:])
        click.echo(f"omeconv: error: {error}", err=True)
        for detail in getattr(error, "details", []):
            click.echo(f"  - {detail}", err=True)
        code = error.exit_code if isinstance(error, OmeconvError) else 1
        sys.exit(_interrupted(exc) if isinstance(exc, ConversionInterruptedError) else code)


def _one_line_error(exc: Exception, args: list[str] | None = None) -> OmeconvError | str:
    """What to print after ``omeconv: error:`` for ``exc`` (a remote location's refused
    credentials name the URL among ``args``)."""
    from omeconv.stores import remote_access_error

    access = remote_access_error(exc, args or ())
    if access is not None:
        return access
    if isinstance(exc, OmeconvError):
        return exc
    if isinstance(exc, OSError):
        return from_os_error(exc)
    if isinstance(exc, MemoryError):
        return OmeconvError("out of memory; try fewer --workers or smaller --chunks")
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"unexpected {type(exc).__name__}: {first} (run again with --debug for the traceback)"


if __name__ == "__main__":  # pragma: no cover
    main()
