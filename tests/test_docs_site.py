"""The documentation site: `mkdocs build --strict` passes, every page is in the nav, every
public name is rendered, and docs/errors.md's tree is the real class tree."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from test_project import public_modules

import etcdmap.errors

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def script(name: str) -> ModuleType:
    """scripts/<name> imported as a module (``errors-tree`` has no .py suffix)."""
    loader = importlib.machinery.SourceFileLoader(name.replace("-", "_"), str(ROOT / "scripts" / name))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built with --strict (a warning, a broken link or anchor, a docstring mkdocstrings
    cannot parse fails the build)."""
    pytest.importorskip("mkdocs", reason="mkdocs is not installed: pip install -e '.[docs]'")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # Material's banner, not a finding
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    return out


def nav_pages(nav: list[object]) -> list[str]:
    """Every page a mkdocs nav lists, depth first."""
    pages: list[str] = []
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        if isinstance(value, list):
            pages += nav_pages(value)
        else:
            pages.append(str(value))
    return pages


def test_the_nav_lists_every_page_once() -> None:
    nav = nav_pages(yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"])
    on_disk = sorted(
        str(path.relative_to(DOCS)) for path in DOCS.rglob("*")
        if path.suffix in (".md", ".ipynb") and ".ipynb_checkpoints" not in path.parts
    )
    assert len(nav) == len(set(nav)), "a page listed twice in mkdocs.yml's nav"
    assert sorted(nav) == on_disk, "mkdocs.yml's nav and the pages under docs/ differ"


@pytest.mark.timeout(600)  # ~20 s of CPU, but minutes of wall time on a loaded machine
def test_the_site_builds_strict_and_renders_every_public_name(site: Path) -> None:
    rendered = set()
    for page in (site / "reference").rglob("index.html"):
        rendered.update(re.findall(r'id="(etcdmap\.[\w.]+)"', page.read_text()))
    homes: dict[int, set[str]] = {}  # an object exported twice is rendered once
    for name, module in public_modules().items():
        for public in module.__all__:
            homes.setdefault(id(getattr(module, public)), set()).add(f"{name}.{public}")
    missing = [
        f"{name}.{public}" for name, module in public_modules().items() for public in module.__all__
        if not homes[id(getattr(module, public))] & rendered
    ]
    assert not missing, f"public names without a reference entry in docs/reference/: {missing}"
    assert (site / "errors" / "index.html").is_file()
    assert "etcdmap.compat.etcd3" in rendered


@pytest.mark.timeout(600)
def test_the_site_shows_the_notebooks_executed_and_leaves_them_unchanged(site: Path) -> None:
    """docs/notebooks/*.ipynb link to the examples, stored without outputs; the mkdocs hook
    (scripts/notebooks.py) executes them against a temporary etcd for the build."""
    explore = (site / "notebooks/explore/index.html").read_text()
    assert "&lt;td&gt;" not in explore  # the tables are HTML, not escaped text
    assert "<td>prod/cache</td><td>erin</td>" in explore
    plan = (site / "notebooks/config_store/index.html").read_text()
    assert "1 added, 1 changed, 1 removed, 1 unchanged" in plan
    for path in (DOCS / "notebooks").iterdir():
        assert not any(cell.get("outputs") for cell in json.loads(path.read_text())["cells"])


def test_the_error_tree_is_the_class_tree() -> None:
    errors_tree = script("errors-tree")
    assert errors_tree.main(["--check"]) == 0, "docs/errors.md: run scripts/errors-tree"
    tree = errors_tree.page_tree((DOCS / "errors.md").read_text())
    listed = re.findall(r"^ *- \[`(\w+)`\]", tree, flags=re.MULTILINE)
    assert sorted(listed) == etcdmap.errors.__all__  # each error once
    # its marks are the classes' outcomes: the ones that may have been applied, say
    unknown = re.findall(r"^ *- \[`(\w+)`\][^\n]*may have been applied", tree, flags=re.MULTILINE)
    assert sorted(unknown) == sorted(
        name for name in etcdmap.errors.__all__
        if getattr(etcdmap.errors, name).outcome == "unknown"
    )
    assert "OutcomeUnknownError" in unknown and "ConnectionLostError" in unknown
    assert "ConnectionFailedError" not in unknown


def test_a_reference_marker_that_selects_nothing_fails_the_build() -> None:
    hooks = script("mkdocs_hooks.py")
    api = hooks.sections((DOCS / "api.md").read_text())
    assert "::: etcdmap.testing.nemeses.frozen" in hooks.render("etcdmap.testing.nemeses", [], api)
    kv = hooks.render("etcdmap", ["The KV"], api)
    assert "::: etcdmap.Compare" in kv and "etcdmap.EtcdMap" not in kv
    with pytest.raises(ValueError, match="no section"):
        hooks.render("etcdmap.nowhere", [], api)
    with pytest.raises(ValueError, match="selects no name"):
        hooks.render("etcdmap", ["No such paragraph"], api)
