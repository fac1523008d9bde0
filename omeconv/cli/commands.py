"""The ``omeconv`` command group and its commands: tiff2zarr, convert, info, validate, verify
and upgrade."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from omeconv.cli.exits import Stopped, interrupted
from omeconv.cli.options import (
    apply_global_options,
    conversion_options,
    global_options,
    overrides,
    parse_chunks,
    parse_series,
    rocrate,
    rocrate_options,
    sub_global_options,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

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


class Group(click.Group):
    """Reports Ctrl-C and SIGTERM itself (click would print an empty line first)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            raise Stopped(interrupted(exc)) from exc


@click.group(
    cls=Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="omeconv", prog_name="omeconv")
@global_options
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
    apply_global_options(ctx, quiet=quiet, debug=debug, log_level=log_level)


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
    chunks = parse_chunks(kw.pop("chunks"))
    kw["series"] = parse_series(kw.pop("series"))
    kw["overrides"] = overrides(kw)
    kw["rocrate"] = rocrate(kw)
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
@conversion_options
@click.pass_context
@sub_global_options
def tiff2zarr(ctx: click.Context, /, input: str, output: str, **kw: Any) -> None:
    """Convert a TIFF or OME-TIFF file INPUT to an OME-Zarr store OUTPUT.

    Axes, physical sizes, units, channel names and colours come from the OME-XML or ImageJ
    metadata; the OME-XML is kept in OUTPUT/OME/METADATA.ome.xml. A pyramid is built
    (mean downsampling) unless the file has its own. Nothing at OUTPUT is touched unless
    --overwrite is given, and an interrupted run leaves no store at OUTPUT.
    """
    _convert(ctx, input, output, "tiff", **kw)


@cli.command()
@conversion_options
@click.pass_context
@sub_global_options
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
@sub_global_options
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
@sub_global_options
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
@sub_global_options
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
@rocrate_options
@click.pass_context
@sub_global_options
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
    chunks = parse_chunks(kw.pop("chunks"))
    reencode = kw["rechunk"] or chunks is not None or kw["shards"] or kw["compression"]
    progress = Progress(mode=pick_mode(quiet=quiet), desc="re-encoding" if reencode else "copying")
    result = upgrade(
        input,
        kw.pop("output"),
        from_version=from_version,
        to_version=to_version,
        chunks=chunks,
        progress=progress,
        rocrate=rocrate(kw),
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
