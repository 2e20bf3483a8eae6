"""Project hygiene as tests, so the one test command checks everything CI checks."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import etcdmap

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_sync_code_is_generated_from_async() -> None:
    result = run(sys.executable, "scripts/unasync", "--check")
    assert result.returncode == 0, result.stderr


def test_public_names_are_sorted_and_exist() -> None:
    assert etcdmap.__all__ == sorted(etcdmap.__all__)
    for name in etcdmap.__all__:
        assert hasattr(etcdmap, name), name


def test_ruff_clean() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    result = run(ruff, "check", "etcdmap", "tests", "scripts/unasync", "examples")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_clean() -> None:
    result = run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The modules of ``modules`` that ``path`` imports anywhere in its text (TYPE_CHECKING
    blocks and function bodies included); a parent package run implicitly is not counted."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            base = base[: len(base) - node.level + 1] if node.level else []
            source = ".".join([*base, *filter(None, [node.module])])
            for alias in node.names:
                found.add(f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules
                          else source)
    return found & modules


def test_no_import_cycles() -> None:
    """No module of etcdmap imports (even for type checking only) a module that imports it
    back, directly or through others: a cycle makes import order matter and the layers blur."""
    files = sorted((ROOT / "etcdmap").rglob("*.py"))
    modules = {_module_name(path) for path in files}
    graph = {_module_name(path): _imports(path, modules) for path in files}
    cycles = []
    for start in sorted(graph):  # a path from a module back to itself
        paths = {start: [start]}
        todo = [start]
        while todo:
            current = todo.pop()
            for nxt in sorted(graph[current]):
                if nxt == start:
                    cycles.append(" -> ".join([*paths[current], start]))
                    todo = []
                    break
                if nxt not in paths:
                    paths[nxt] = [*paths[current], nxt]
                    todo.append(nxt)
    assert not cycles, "\n".join(cycles)
