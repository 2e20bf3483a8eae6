"""Project hygiene as tests, so the one test command checks everything CI checks."""

from __future__ import annotations

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


def test_types_reach_the_user_for_mypy() -> None:
    # tests/typing/ asserts what a checker infers for user code (``assert_type``)
    result = run(sys.executable, "-m", "mypy", "--strict", "tests/typing")
    assert result.returncode == 0, result.stdout + result.stderr


def test_types_reach_the_user_for_pyright() -> None:
    result = run(sys.executable, "-m", "pyright", "--pythonpath", sys.executable, "tests/typing")
    assert result.returncode == 0, result.stdout + result.stderr
