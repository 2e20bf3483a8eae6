"""Project hygiene as tests, so the one test command checks everything CI checks."""

from __future__ import annotations

import ast
import importlib
import importlib.machinery
import importlib.util
import pkgutil
import re
import shutil
import subprocess
import sys
import typing
from collections import Counter
from pathlib import Path
from types import FunctionType, ModuleType

import pytest

import etcdmap

ROOT = Path(__file__).resolve().parent.parent


def need(module: str) -> None:
    """Skip, saying so, where a code tool of the [test] extra is not installed (scripts/matrix's
    floors venvs: grpcio-tools pins a recent grpcio); CI installs them all."""
    pytest.importorskip(module, reason=f"{module} is not installed (a code tool of [test])")


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
#: Packages that reproduce another library's API (python-etcd3's): their names are that
#: library's, listed on their migration page (docs/migration-python-etcd3.md), not here.
MIRRORS = ("etcdmap.compat",)


def public_modules() -> dict[str, ModuleType]:
    """``etcdmap`` and each module below it (``etcdmap.testing.nemeses`` too) whose dotted
    name has no part with a leading underscore."""
    names = ["etcdmap"] + [
        info.name for info in pkgutil.walk_packages(etcdmap.__path__, "etcdmap.")
        if not any(part.startswith("_") for part in info.name.split("."))
        and not info.name.startswith(MIRRORS)
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


def unasync_script() -> ModuleType:
    """scripts/unasync imported as a module (it has no .py suffix)."""
    loader = importlib.machinery.SourceFileLoader("unasync_script", str(ROOT / "scripts/unasync"))
    spec = importlib.util.spec_from_loader("unasync_script", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_unasync_check_fails_on_a_rule_or_prose_entry_that_matches_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    unasync = unasync_script()
    assert unasync.main(["--check"]) == 0
    monkeypatch.setattr(unasync, "RULES", [*unasync.RULES, unasync.Rule(r"\bnowhere_xyz\b", "x")])
    assert unasync.main(["--check"]) == 1
    assert "unused rule" in capsys.readouterr().err
    monkeypatch.undo()
    stale = unasync.Prose("etcdmap/_async/mapping.py", "a sentence no docstring has", "x")
    monkeypatch.setattr(unasync, "PROSE", [*unasync.PROSE, stale])
    assert unasync.main(["--check"]) == 1
    assert "a sentence no docstring has" in capsys.readouterr().err


def test_unasync_renames_in_prose_but_keeps_flavour_wording_and_code_only_rules() -> None:
    unasync = unasync_script()
    source = (
        '"""``await m.get(k)`` on the asyncio client (``AsyncEtcdMap``):\n'
        "import asyncio\n"
        '"""\n'
        "import asyncio\n"
        "await asyncio.sleep(1)  # asyncio.sleep; Written for AsyncClient;\n"
    )
    assert unasync.unasync_text(source, "x.py", Counter()) == (
        '"""``m.get(k)`` on the blocking client (``EtcdMap``):\n'
        "import asyncio\n"  # a code-only rule: not in a docstring
        '"""\n'
        "import time\n"
        "time.sleep(1)  # time.sleep; Written for AsyncClient;\n"  # a prose entry kept it
    )


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
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed (a code tool of [test])")
    result = run(ruff, "check", "etcdmap", "tests", "scripts/unasync", "examples")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_clean() -> None:
    need("mypy")
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


def test_types_reach_the_user_for_mypy() -> None:
    need("mypy")
    # tests/typing/ asserts what a checker infers for user code (``assert_type``)
    result = run(sys.executable, "-m", "mypy", "--strict", "tests/typing")
    assert result.returncode == 0, result.stdout + result.stderr


def test_types_reach_the_user_for_pyright() -> None:
    need("pyright")
    result = run(sys.executable, "-m", "pyright", "--pythonpath", sys.executable, "tests/typing")
    assert result.returncode == 0, result.stdout + result.stderr
