"""The package as installed elsewhere: importable without POSIX-only modules, no import cycles."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import omeconv

ROOT = Path(omeconv.__file__).resolve().parents[1]

WITHOUT_FCNTL = """
import builtins, json, sys, types
sys.modules["fcntl"] = None  # import fcntl now raises ImportError, as on Windows
locked = []  # omeconv.locks then locks through msvcrt, as on Windows: a fake one for it only
msvcrt = types.SimpleNamespace(LK_NBLCK=2, locking=lambda *a: locked.append(a))
real_import = builtins.__import__
def fake_import(name, globals=None, *args, **kwargs):
    if name == "msvcrt" and (globals or {}).get("__name__") == "omeconv.locks":
        return msvcrt
    return real_import(name, globals, *args, **kwargs)
builtins.__import__ = fake_import
import numpy as np
import omeconv, omeconv.cli, omeconv.upgrade, omeconv.stores
from omeconv.validate import validate_store
out = sys.argv[1]
omeconv.convert(np.arange(24, dtype="uint8").reshape(4, 6), out, axes="yx")
pixels = omeconv.read(out).data.compute().tolist()
print(json.dumps({"version": validate_store(out), "pixels": pixels, "locked": bool(locked)}))
"""


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=False
    )


def test_import_and_convert_without_fcntl(tmp_path: Path) -> None:
    result = _python(WITHOUT_FCNTL, str(tmp_path / "a.ome.zarr"))
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    pixels = [list(range(r * 6, r * 6 + 6)) for r in range(4)]
    assert found == {"version": "0.5", "pixels": pixels, "locked": True}


def _imports(path: Path) -> set[str]:
    """The ``omeconv`` names ``path`` imports anywhere (in functions and for type checking too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("omeconv"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("omeconv"))
    return found


def _with_parents(imported: set[str], importer: str) -> set[str]:
    """``imported`` and the packages importing them runs first (``a.b`` for ``a.b.c``), but
    not the importer's own packages, which are already importing."""
    found = set(imported)
    for name in imported:
        parts = name.split(".")
        for n in range(2, len(parts)):
            parent = ".".join(parts[:n])
            if not (importer == parent or importer.startswith(f"{parent}.")):
                found.add(parent)
    return found


def test_no_import_cycles() -> None:
    """Modules import each other one way only; only ``omeconv`` itself, the facade over the
    API, is imported back (for ``__version__``)."""
    package = ROOT / "omeconv"
    modules: dict[str, Path] = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    graph = {
        name: {
            m
            for m in _with_parents(_imports(path), name)
            if m in modules and m not in (name, "omeconv")
        }
        for name, path in modules.items()
    }
    cycles: list[list[str]] = []

    def visit(name: str, stack: list[str]) -> None:
        if name in stack:
            cycles.append([*stack[stack.index(name) :], name])
            return
        for nxt in sorted(graph[name]):
            if not any(nxt == c[0] for c in cycles):
                visit(nxt, [*stack, name])

    for name in sorted(graph):
        visit(name, [])
    assert not cycles, cycles[0]
