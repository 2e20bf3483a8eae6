"""Project hygiene as tests, so the one test command checks everything CI checks."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

import etcdmap

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_sync_code_is_generated_from_async() -> None:
    result = run(sys.executable, "scripts/unasync", "--check")
    assert result.returncode == 0, result.stderr


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


def test_types_reach_the_user_for_mypy() -> None:
    # tests/typing/ asserts what a checker infers for user code (``assert_type``)
    result = run(sys.executable, "-m", "mypy", "--strict", "tests/typing")
    assert result.returncode == 0, result.stdout + result.stderr


def test_types_reach_the_user_for_pyright() -> None:
    result = run(sys.executable, "-m", "pyright", "--pythonpath", sys.executable, "tests/typing")
    assert result.returncode == 0, result.stdout + result.stderr
