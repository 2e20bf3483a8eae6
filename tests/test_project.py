"""Project hygiene as tests, so the one test command checks everything CI checks."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import shutil
import subprocess
import sys
import typing
from pathlib import Path
from types import FunctionType, ModuleType

import etcdmap

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_sync_code_is_generated_from_async() -> None:
    result = run(sys.executable, "scripts/unasync", "--check")
    assert result.returncode == 0, result.stderr


#: The one place the public names are written down: a "## `module`" heading per public module,
#: then lines "- `Name`, `Other` — what they are".
API_DOC = ROOT / "docs" / "api.md"
#: Public modules nobody imports names from: the pytest plugin (its fixtures: docs/testing.md).
NOT_IMPORTED = {"etcdmap.pytest_plugin"}


def public_modules() -> dict[str, ModuleType]:
    """``etcdmap`` and each module below it (``etcdmap.testing.nemeses`` too) whose dotted
    name has no part with a leading underscore."""
    names = ["etcdmap"] + [
        info.name for info in pkgutil.walk_packages(etcdmap.__path__, "etcdmap.")
        if not any(part.startswith("_") for part in info.name.split("."))
    ]
    return {name: importlib.import_module(name) for name in names if name not in NOT_IMPORTED}


def documented_names() -> dict[str, list[str]]:
    """docs/api.md's names, by the module heading they are listed under, in order."""
    documented: dict[str, list[str]] = {}
    names: list[str] = []
    for line in API_DOC.read_text().splitlines():
        if heading := re.fullmatch(r"## `(etcdmap[\w.]*)`", line):
            names = documented.setdefault(heading[1], [])
        elif line.startswith("## "):
            names = []  # a section about no module
        elif line.startswith("- `"):
            names.extend(re.findall(r"`(\w+)`", line.split(" — ")[0]))
    return documented


def test_public_names_are_sorted_and_exist() -> None:
    for name, module in public_modules().items():
        assert module.__all__ == sorted(module.__all__), name
        for public in module.__all__:
            assert hasattr(module, public), f"{name}.{public}"


def test_public_names_are_exactly_the_documented_ones() -> None:
    documented = documented_names()
    modules = public_modules()
    assert sorted(documented) == sorted(modules), "docs/api.md needs one section per module"
    for name, module in modules.items():
        listed = documented[name]
        assert len(listed) == len(set(listed)), f"{name}: a name listed twice in docs/api.md"
        assert sorted(listed) == module.__all__, f"{name}: __all__ differs from docs/api.md"


def test_public_objects_name_the_module_users_import_them_from() -> None:
    for name, module in public_modules().items():
        for public in module.__all__:
            obj = getattr(module, public)
            if not isinstance(obj, (type, FunctionType)) or obj.__module__ is None:
                continue  # a constant, or a protobuf message class (KeyValue)
            home = obj.__module__
            assert not any(part.startswith("_") for part in home.split(".")), (
                f"{name}.{public}.__module__ is {home}"
            )
            assert getattr(sys.modules[home], obj.__qualname__) is obj, f"{name}.{public}"


def test_public_classes_keep_resolvable_annotations() -> None:
    # typing and msgspec resolve a class's string annotations in the module its
    # __module__ names; moving __module__ must not hide the names they use.
    for module in public_modules().values():
        for public in module.__all__:
            obj = getattr(module, public)
            if isinstance(obj, type):
                try:
                    typing.get_type_hints(obj)
                except NameError as error:
                    raise AssertionError(f"{obj.__module__}.{public}: {error}") from error


def test_every_error_is_public_in_etcdmap_errors() -> None:
    errors = importlib.import_module("etcdmap.errors")
    classes: set[type] = set()
    todo: list[type] = [etcdmap.EtcdError]
    while todo:
        cls = todo.pop()
        if cls not in classes and "(" not in cls.__name__:  # not a made PartialWriteError(X)
            classes.add(cls)
            todo.extend(cls.__subclasses__())
    assert sorted(cls.__name__ for cls in classes) == errors.__all__
    assert not hasattr(errors, "CancelledError"), "asyncio.CancelledError's name"


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
