"""The example notebooks (examples/*.ipynb), executed with nbclient against a local etcd: what
their outputs show (the HTML tables of maps, mirrors, stats, plans and histories).
tests/test_docs_site.py checks that the site shows the executed copies (the mkdocs hook)."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError, CellTimeoutError
from nbformat.v4 import new_code_cell, new_notebook

from etcdmap import Client

ROOT = Path(__file__).resolve().parent.parent


def load_notebooks_script() -> ModuleType:
    """scripts/notebooks.py (the executor and mkdocs hook) as a module."""
    spec = importlib.util.spec_from_file_location("notebooks_script", ROOT / "scripts/notebooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


notebooks = load_notebooks_script()


def outputs(notebook: Any, first_line: str) -> list[Any]:
    """The outputs of the one code cell whose source starts with ``first_line``."""
    cells = [c for c in notebook.cells if c.cell_type == "code" and c.source.startswith(first_line)]
    assert len(cells) == 1, f"{len(cells)} cells start with {first_line!r}"
    return list(cells[0].outputs)


def html(notebook: Any, first_line: str) -> str:
    """The text/html output of the cell starting with ``first_line`` (exactly one)."""
    shown = [o.data["text/html"] for o in outputs(notebook, first_line) if "data" in o]
    assert len(shown) == 1, shown
    return str(shown[0])


def printed(notebook: Any, first_line: str) -> str:
    return "".join(o.text for o in outputs(notebook, first_line) if o.output_type == "stream")


@pytest.fixture(scope="module")
def executed(etcd_server: Any) -> dict[str, Any]:
    """Both notebooks executed against the module's etcd, and how far its revision moved."""
    with Client(etcd_server.endpoints) as client:
        before = client.get("/").header.revision
        runs = {
            path.stem: notebooks.execute(path, etcd_server.endpoints)
            for path in notebooks.notebooks()
        }
        runs["revisions"] = client.get("/").header.revision - before
    return runs


def test_both_notebooks_are_stored_without_outputs() -> None:
    names = [path.name for path in notebooks.notebooks()]
    assert names == ["config_store.ipynb", "explore.ipynb"]
    for path in notebooks.notebooks():
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        assert all(cell.outputs == [] and cell.execution_count is None for cell in code), path
        source = "\n".join(cell.source for cell in code)
        assert "2379" not in source and "127.0.0.1" not in source, path  # no fixed endpoint


def test_the_notebooks_use_the_etcd_of_etcdmap_endpoints(executed: dict[str, Any]) -> None:
    assert executed["revisions"] > 10  # their writes reached this etcd, not one of their own
    for name in ("explore", "config_store"):
        assert printed(executed[name], "import os").startswith("etcd 3.")


def test_no_cell_writes_to_stderr(executed: dict[str, Any]) -> None:
    """No warning shows in a cell (e.g. the sync client's "blocking call in a thread that
    runs an event loop": a notebook cell blocks its kernel's loop whatever it runs)."""
    for name in ("explore", "config_store"):
        for cell in executed[name].cells:
            for output in cell.get("outputs", []):
                assert output.get("name") != "stderr", (name, cell.source, output.text)


def test_explore_shows_the_maps_stats_history_and_a_live_mirror(
    executed: dict[str, Any],
) -> None:
    notebook = executed["explore"]
    table = html(notebook, "import msgspec")
    assert "5 keys" in table and "<th>limits.cpu</th>" in table
    for key in ("prod/api", "prod/db", "prod/web", "staging/api", "staging/web"):
        assert f"<td>{key}</td>" in table
    child = html(notebook, 'services.child("prod/")')
    assert "3 keys" in child and "<td>db</td>" in child and "staging" not in child
    assert "and 3 more" in html(notebook, "services.preview(2)")
    assert printed(notebook, 'web = services.search("web")').splitlines() == [
        "keys with 'web': ['prod/web', 'staging/web']",
        "owned by bob:   ['prod/api', 'staging/api']",
        "prod, regex:    ['prod/api', 'prod/db']",
    ]
    stats = html(notebook, "services.stats(depth=1)")
    assert "<td>prod/</td><td>3</td>" in stats and "<td>(total)</td><td>5</td>" in stats
    history = html(notebook, 'services["prod/web"] = ')
    assert "4 changes" in history and "<td>DELETE</td>" in history and "<td>dave</td>" in history
    # The mirror's display was redrawn after the write: it shows the new key.
    mirror = html(notebook, "from IPython.display import display")
    assert "Mirror [ready]" in mirror and "6 keys" in mirror
    assert "<td>prod/cache</td><td>erin</td>" in mirror
    assert "6 keys" in printed(notebook, "revision = services.set(")
    assert "'prod/cache'" in outputs(notebook, 'dict(mirror.search("cache"))')[0].data["text/plain"]


def test_config_store_shows_the_plan_the_conflict_the_history_and_the_callback(
    executed: dict[str, Any],
) -> None:
    notebook = executed["config_store"]
    typed = html(notebook, "from typing import Annotated")
    assert "<td>registry/api:1.4</td><td>3</td>" in typed
    assert "Expected `int` <= 100 - at `$.replicas`" in printed(
        notebook, "from typing import Annotated"
    )
    assert printed(notebook, "assert services.put_if_absent").splitlines() == [
        "replaced: True",
        "replaced again: False",
    ]
    plan = html(notebook, "desired = {")
    assert "1 added, 1 changed, 1 removed, 1 unchanged" in plan
    assert "<td>~</td><td>api</td>" in plan and "registry/api:1.5" in plan
    assert "<td>-</td><td>cron</td>" in plan and "<td>+</td><td>scheduler</td>" in plan
    assert printed(notebook, "services.apply(plan)") == (
        "written: 3 keys; now ['api', 'scheduler', 'worker']\n"
    )
    assert "nothing was written" in printed(notebook, "from etcdmap import ConflictError")
    history = html(notebook, "before = services.entry")
    assert "4 changes" in history and "<td>registry/worker:1.6</td>" in history
    assert "replicas=9" in outputs(notebook, "services.restore(")[0].data["text/plain"]
    assert printed(notebook, "import threading") == (
        "reloaded for: [('api', 'registry/api:1.6')]\n"
    )


@pytest.mark.parametrize(
    ("source", "error", "message"),
    [
        (
            "raise ValueError('boom')",
            CellExecutionError,
            "cell:\n------------------\nraise ValueError('boom')",
        ),
        ("time.sleep(60)", CellTimeoutError, "timed out"),
    ],
)
def test_a_cell_that_fails_or_hangs_fails_the_run(
    etcd_server: Any, tmp_path: Path, source: str, error: type[Exception], message: str
) -> None:
    path = tmp_path / "broken.ipynb"
    cells = [new_code_cell("import time"), new_code_cell(source), new_code_cell("print('after')")]
    nbformat.write(new_notebook(cells=cells), path)
    started = time.monotonic()
    with pytest.raises(error) as raised:
        notebooks.execute(path, etcd_server.endpoints, timeout=2)
    assert time.monotonic() - started < 30
    assert message in str(raised.value)
