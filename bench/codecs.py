"""Measure the codec front: compression ratio and encode/decode speed per dtype group.

Chunks of about 2 MiB (the writer's default chunk shape) are cut from real files (the
corpus TIFFs and vendor files, read with the readers that are installed) and from
generated images (the benchmark's input at a reduced size, an 8-bit and a float32 variant
of it, segmentation-like labels and a boolean mask), then encoded with each candidate codec
through the numcodecs objects the writer uses, on 2 threads as the writer does (each thread
encodes whole chunks with single-threaded Blosc). Codecs run interleaved, the order rotating
each repeat; the best of the repeats is kept. Speeds are reported as wall-time MB/s on the
2 threads and as MB/s per CPU second (less sensitive to other load on the machine), and as
ratios to today's default (Blosc zstd 5 + byte shuffle) measured in the same run.

Usage: ``python -m bench.codecs [--corpus DIR] [--repeat 3] [--max-mib 8]``. Writes
``bench/results/codecs.md`` and ``codecs.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.make_data import _plane
from omeconv.emit.write import default_chunks

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

REPO = Path(__file__).resolve().parent.parent
THREADS = 2
MIN_BYTES = 256 * 2**10
#: The codec every other one is compared with: today's default.
REFERENCE = "blosc-zstd5-byte"
#: Directories of the TIFF corpus that hold format-test pictures, not microscopy.
NOT_MICROSCOPY = ("malformed", "image-tiff", "libtiffpic")
#: Corpus files that could not be read, and why.
SKIPPED: dict[str, str] = {}


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:80]}" if lines else type(exc).__name__


@dataclass(frozen=True)
class Codec:
    """One candidate: a key, a readable name and the numcodecs object that encodes it."""

    key: str
    name: str
    make: Callable[[], Any]


def _blosc(cname: str, clevel: int, shuffle: str, blocksize: int = 0) -> Codec:
    import numcodecs

    flag = {"none": numcodecs.Blosc.NOSHUFFLE, "byte": numcodecs.Blosc.SHUFFLE}.get(
        shuffle, numcodecs.Blosc.BITSHUFFLE
    )
    label = {"none": "no shuffle", "byte": "shuffle", "bit": "bitshuffle"}[shuffle]
    blocks = f", {blocksize // 2**10} KiB blocks" if blocksize else ""
    return Codec(
        f"blosc-{cname}{clevel}-{shuffle}" + (f"-{blocksize // 2**10}k" if blocksize else ""),
        f"Blosc {cname} {clevel} + {label}{blocks}",
        lambda: numcodecs.Blosc(cname=cname, clevel=clevel, shuffle=flag, blocksize=blocksize),
    )


def candidates() -> list[Codec]:
    """Every codec measured: Blosc zstd and lz4 at several levels and shuffles (with 256 KiB
    blocks as the presets write them; automatic blocks for today's default), plain zstd
    (zarr's default) and gzip."""
    import numcodecs

    kib256 = 256 * 2**10
    out = [_blosc("zstd", 5, "none"), _blosc("zstd", 5, "byte"), _blosc("zstd", 6, "byte")]
    out += [_blosc("zstd", level, s, kib256) for level in (1, 2, 3, 5) for s in ("byte", "bit")]
    out += [_blosc("lz4", 5, "none")]
    out += [_blosc("lz4", 5, s, kib256) for s in ("byte", "bit")]
    out += [
        Codec("zstd0", "zstd 0 (zarr's default)", lambda: numcodecs.Zstd(level=0)),
        Codec("zstd1", "zstd 1", lambda: numcodecs.Zstd(level=1)),
        Codec("gzip5", "gzip 5", lambda: numcodecs.GZip(level=5)),
    ]
    return out


@dataclass
class Group:
    """Chunks of one kind of data (e.g. 16-bit microscopy), and where they came from."""

    name: str
    chunks: list[np.ndarray] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    @property
    def nbytes(self) -> int:
        return sum(c.nbytes for c in self.chunks)


def chunks_of(array: np.ndarray, max_bytes: int) -> list[np.ndarray]:
    """The writer's default chunks of ``array`` (as ``c, z, y, x``), edge chunks padded with 0;
    at most ``max_bytes`` of them, evenly spread."""
    shape = (math.prod(array.shape[:-3]) or 1, *array.shape[-3:])
    array = array.reshape(shape)
    size = default_chunks(shape, ["c", "z", "y", "x"], array.dtype.itemsize)
    starts = [range(0, n, c) for n, c in zip(shape, size, strict=True)]
    corners = list(np.ndindex(*(len(s) for s in starts)))
    per_chunk = math.prod(size) * array.dtype.itemsize
    keep = max(1, min(len(corners), max_bytes // per_chunk))
    picked = [corners[round(i * len(corners) / keep)] for i in range(keep)]
    out = []
    for index in picked:
        lo = [s[i] for s, i in zip(starts, index, strict=True)]
        part = array[tuple(slice(a, a + c) for a, c in zip(lo, size, strict=True))]
        chunk = np.zeros(size, dtype=array.dtype)
        chunk[tuple(slice(0, n) for n in part.shape)] = part
        out.append(chunk)
    return out


def _as_czyx(array: np.ndarray, axes: str) -> np.ndarray:
    """Put samples/channels first and Z, Y, X last; other axes fold into the first."""
    axes = axes.upper()
    if array.ndim != len(axes):
        return array
    order = [i for i, a in enumerate(axes) if a not in "ZYX"]
    order += [axes.index(a) for a in "ZYX" if a in axes]
    out = np.transpose(array, order)
    if "Z" not in axes:
        out = out[..., None, :, :]
    return out


def _group_name(array: np.ndarray) -> str | None:
    """The dtype group of a real image; None for dtypes not measured."""
    kind = array.dtype
    if kind == np.uint8:
        return "uint8"
    if kind in (np.uint16, np.int16):
        return "uint16 (≤12 bits used)" if int(array.max(initial=0)) < 4096 else "uint16"
    if kind == np.float32:
        return "float32"
    return None


def _corpus_tiffs(root: Path) -> Iterator[tuple[str, np.ndarray]]:
    import tifffile

    manifest = json.loads((root / "tiff" / "MANIFEST.json").read_text())
    for entry in manifest:
        rel = entry["file"]
        if any(part in rel for part in NOT_MICROSCOPY):
            continue
        summary = entry.get("tifffile_summary") or {}
        if summary.get("read_ok") is not True:
            continue
        try:
            with tifffile.TiffFile(root / rel) as tif:
                series = tif.series[0]
                array = series.asarray()
                axes = series.axes
        except Exception as exc:  # noqa: BLE001 - damaged files are skipped, not measured
            SKIPPED[rel] = _first_line(exc)
            continue
        if array.nbytes >= MIN_BYTES:
            yield rel, _as_czyx(array, axes)


def _vendor_files(root: Path) -> Iterator[tuple[str, np.ndarray]]:
    """Pixels of the vendor files whose reader is installed (other files are skipped)."""
    import tifffile

    def read(path: Path) -> tuple[np.ndarray, str]:
        suffix = path.suffix.lower()
        if suffix in (".tif", ".tiff", ".lsm", ".stk", ".svs", ".ndpi"):
            with tifffile.TiffFile(path) as tif:
                return tif.series[0].asarray(), tif.series[0].axes
        if suffix == ".czi":
            import czifile

            with czifile.CziFile(path) as czi:
                data = czi.asarray()
                return np.squeeze(data), ""
        if suffix == ".nd2":
            import nd2

            with nd2.ND2File(path) as f:
                return np.asarray(f.asarray()), "".join(f.sizes)
        if suffix == ".lif":
            import liffile

            return np.asarray(liffile.imread(path)), ""
        if suffix in (".dv", ".map", ".mrc"):
            import mrcfile

            with mrcfile.open(path, permissive=True) as f:
                return np.asarray(f.data), ""
        if suffix == ".oib":
            import oiffile

            return np.asarray(oiffile.imread(path)), ""
        raise ValueError(suffix)

    for path in sorted((root / "vendor").rglob("*")):
        if not path.is_file() or path.stat().st_size < MIN_BYTES or path.suffix == ".json":
            continue
        try:
            array, axes = read(path)
        except Exception as exc:  # noqa: BLE001 - no reader, or a damaged file
            SKIPPED[str(path.relative_to(root))] = _first_line(exc)
            continue
        if array.ndim < 2 or array.nbytes < MIN_BYTES:
            continue
        if axes.upper().endswith("YXS") or (not axes and array.shape[-1] in (3, 4)):
            array = np.moveaxis(array, -1, 0)  # RGB samples become channels
            axes = ""
        array = _as_czyx(array, axes) if axes else array.reshape(-1, 1, *array.shape[-2:])
        yield str(path.relative_to(root)), array


def _bench_input(c: int, z: int, size: int) -> np.ndarray:
    """The benchmark's uint16 input (``bench.make_data``), generated in memory, as czyx."""
    rng = np.random.default_rng(12345)
    return np.stack(
        [np.stack([_plane(rng, ci, zi, z, size, size) for zi in range(z)]) for ci in range(c)]
    )


def _labels(z: int, size: int, seed: int = 7) -> np.ndarray:
    """Segmentation-like labels: blobs from smoothed noise, split into numbered objects."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    noise = ndimage.gaussian_filter(rng.standard_normal((z, size, size)), (1.5, 6, 6))
    mask = noise > 0.6 * noise.std()
    labels, _ = ndimage.label(mask)
    return labels.astype(np.uint32)


def load_groups(corpus: Path | None, max_bytes: int, size: int) -> list[Group]:
    """Every group, corpus files (when ``corpus`` exists) and generated images."""
    groups: dict[str, Group] = {}

    def add(name: str, source: str, array: np.ndarray, limit: int | None = None) -> None:
        group = groups.setdefault(name, Group(name))
        group.chunks += chunks_of(array, limit or array.nbytes)
        group.sources.append(source)

    if corpus is not None and corpus.is_dir():
        for source, array in [*_corpus_tiffs(corpus), *_vendor_files(corpus)]:
            name = _group_name(array)
            if name is not None:
                add(name, source, array, max_bytes)
    bench = _bench_input(3, 16, size)
    add("bench input (uint16, synthetic)", f"bench.make_data 3x16x{size}x{size}", bench)
    add("uint8 (synthetic)", "bench input / 16", (bench >> 4).clip(0, 255).astype(np.uint8))
    add("float32 (synthetic)", "bench input / 100, 1 channel", (bench[:1] / 100).astype("f4"))
    labels = _labels(16, size)
    add("labels uint32", "generated segmentation", labels)
    add("labels uint16", "generated segmentation", labels.astype(np.uint16))
    add("labels uint8", "generated segmentation (mod 256)", (labels % 256).astype(np.uint8))
    add("bool", "generated mask", labels > 0)
    return list(groups.values())


def _run(
    pool: ThreadPoolExecutor, fn: Callable[[Any], Any], items: list[Any]
) -> tuple[list[Any], float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    out = list(pool.map(fn, items))
    return out, time.perf_counter() - wall, time.process_time() - cpu


def measure(groups: list[Group], codecs: list[Codec], repeat: int) -> list[dict[str, Any]]:
    """One row per (group, codec): ratio, best encode/decode wall and CPU MB/s."""
    rows = []
    with ThreadPoolExecutor(THREADS) as pool:
        for group in groups:
            best: dict[str, dict[str, Any]] = {}
            for r in range(repeat):
                order = codecs[r % len(codecs) :] + codecs[: r % len(codecs)]
                for codec in order:
                    compressor = codec.make()
                    encoded, wall, cpu = _run(pool, compressor.encode, group.chunks)
                    decoded, dwall, dcpu = _run(pool, compressor.decode, encoded)
                    if r == 0:  # lossless, checked once
                        for raw, back in zip(group.chunks, decoded, strict=True):
                            if np.frombuffer(back, raw.dtype).tobytes() != raw.tobytes():
                                raise AssertionError(f"{codec.key} changed {group.name}")
                    row = best.setdefault(
                        codec.key,
                        {"compressed": sum(len(e) for e in encoded), "enc_wall": wall},
                    )
                    for key, value in (
                        ("enc_wall", wall),
                        ("enc_cpu", cpu),
                        ("dec_wall", dwall),
                        ("dec_cpu", dcpu),
                    ):
                        row[key] = min(row.get(key, value), value)
            mb = group.nbytes / 1e6
            for codec in codecs:
                m = best[codec.key]
                rows.append(
                    {
                        "group": group.name,
                        "codec": codec.key,
                        "name": codec.name,
                        "mb": round(mb, 2),
                        "ratio": round(group.nbytes / m["compressed"], 3),
                        "encode_mbs": round(mb / m["enc_wall"], 1),
                        "encode_mbs_cpu": round(mb / max(m["enc_cpu"], 1e-9), 1),
                        "decode_mbs": round(mb / m["dec_wall"], 1),
                        "decode_mbs_cpu": round(mb / max(m["dec_cpu"], 1e-9), 1),
                    }
                )
            print(
                f"measured {group.name} ({group.chunks[0].dtype}): {mb:.0f} MB, {len(group.chunks)} chunks",
                flush=True,
            )
    for row in rows:
        ref = next(r for r in rows if r["group"] == row["group"] and r["codec"] == REFERENCE)
        row["size_vs_default"] = round(ref["ratio"] / row["ratio"], 3)
        row["speed_vs_default"] = round(row["encode_mbs_cpu"] / ref["encode_mbs_cpu"], 2)
    return rows


def preset_codecs(dtype: np.dtype) -> dict[str, str]:
    """The codec key each omeconv preset writes for ``dtype`` (``{key: preset}``)."""
    from omeconv.emit.write import PRESETS, Encoding

    out = {}
    for preset in PRESETS:
        blosc = Encoding(compression=preset).blosc(dtype)  # type: ignore[arg-type]
        assert blosc is not None
        cname, clevel, shuffle, blocksize = blosc
        out[f"blosc-{cname}{clevel}-{shuffle}-{blocksize // 2**10}k"] = preset
    return out


def markdown(rows: list[dict[str, Any]], groups: list[Group], repeat: int) -> str:
    """The report: how it was measured, then one table per group."""
    versions = ", ".join(f"{n} {metadata.version(n)}" for n in ("numcodecs", "zarr", "numpy"))
    lines = [
        "# Codec front: compression ratio and speed per dtype",
        "",
        f"- run: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, `python -m bench.codecs`",
        f"- machine: {os.cpu_count()} CPUs, {platform.platform()}; {versions}",
        (
            f"- chunks: the writer's default (~2 MiB); encoded on {THREADS} threads, single-"
            f"threaded Blosc per chunk as in the writer; best of {repeat} interleaved repeats"
        ),
        (
            "- **ratio**: raw / encoded bytes (noise-free). **size x**: encoded size relative to"
            f" `{REFERENCE}` (the old default). **enc MB/s**: wall, {THREADS} threads."
            " **enc MB/s/CPU**: per CPU second. **speed x**: enc MB/s/CPU relative to the old"
            " default. **dec MB/s**: wall, decoding the same chunks."
        ),
        "- real data: corpus TIFFs (not the format-test pictures under "
        + ", ".join(f"`{d}`" for d in NOT_MICROSCOPY)
        + ") and vendor files, at least 256 KiB; groups by dtype. Presets are marked.",
        "- skipped (unreadable here): "
        + (", ".join(f"`{k}` ({v})" for k, v in SKIPPED.items()) or "none"),
        "",
    ]
    for group in groups:
        sub = [r for r in rows if r["group"] == group.name]
        presets = preset_codecs(group.chunks[0].dtype)
        presets[REFERENCE] = "old default"
        lines += [
            f"## {group.name}: {group.chunks[0].dtype}, {sub[0]['mb']:.0f} MB, {len(group.chunks)} chunks",
            "",
            "From: " + ", ".join(f"`{s}`" for s in group.sources),
            "",
            "| codec | ratio | size x | enc MB/s | enc MB/s/CPU | speed x | dec MB/s |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for r in sorted(sub, key=lambda r: -r["ratio"]):
            lines.append(
                f"| {r['name']}{' **(' + presets[r['codec']] + ')**' if r['codec'] in presets else ''}"
                f" | {r['ratio']:.2f} | {r['size_vs_default']:.3f} "
                f"| {r['encode_mbs']:.0f} | {r['encode_mbs_cpu']:.0f} "
                f"| {r['speed_vs_default']:.2f} | {r['decode_mbs']:.0f} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    default_corpus = Path(os.environ.get("OMECONV_CORPUS", REPO.parent / "shared" / "corpus"))
    parser.add_argument("--corpus", type=Path, default=default_corpus)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--max-mib", type=int, default=8, help="per corpus file")
    parser.add_argument("--size", type=int, default=512, help="Y = X of generated images")
    parser.add_argument("--results-dir", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--codecs", default=None, help="comma list of codec keys (default all)")
    args = parser.parse_args(argv)
    codecs = candidates()
    if args.codecs:
        wanted = {REFERENCE, *args.codecs.split(",")}
        codecs = [c for c in codecs if c.key in wanted]
    groups = load_groups(args.corpus, args.max_mib * 2**20, args.size)
    rows = measure(groups, codecs, args.repeat)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    report = markdown(rows, groups, args.repeat)
    (args.results_dir / "codecs.md").write_text(report)
    payload = {"groups": {g.name: g.sources for g in groups}, "skipped": SKIPPED, "rows": rows}
    (args.results_dir / "codecs.json").write_text(json.dumps(payload, indent=1) + "\n")
    print(report)


if __name__ == "__main__":
    main()
