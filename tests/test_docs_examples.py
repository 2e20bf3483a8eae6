"""Every fenced ```python block of README.md and docs/*.md, executed against a local etcd.

The blocks of one file run in order in one namespace (a later block uses the names of the
earlier ones), each as one test named ``file:line``. ``ETCDMAP_ENDPOINTS`` points at one etcd
started for this module (``Client()`` reads it), the working directory is a temporary one and
the keyspace is emptied before each file, so examples never reach a fixed port nor each other.

A block that cannot run on its own is marked by an HTML comment on the line before it (blank
lines allowed between), which the site does not show::

    <!-- docs-test: skip because it needs a real cluster at 10.0.0.1 -->

and is reported as skipped with that reason; an unmarked block that fails is a failure. Each
block runs under ``BLOCK_TIMEOUT`` seconds (pytest-timeout). When a file's last block has run,
every etcdmap object its namespace still holds is closed, then no thread may be left running.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import etcdmap
from etcdmap.testing import EtcdServer

ROOT = Path(__file__).resolve().parent.parent
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: Seconds one block may run (and the blocks before it in its file, run first if needed).
BLOCK_TIMEOUT = 30

_FENCE = re.compile(r"^(?P<indent> *)```(?P<info>[^\n`]*)$")
_MARK = re.compile(r"^<!--\s*docs-test:\s*skip\s+(?P<reason>\S.*?)\s*-->$")


class Block:
    """One fenced python block: its file, the line of its opening fence, its code and, when
    marked, why it is skipped."""

    def __init__(self, path: Path, line: int, code: str, skip: str | None) -> None:
        self.path, self.line, self.code, self.skip = path, line, code, skip

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks_of(path: Path) -> list[Block]:
    """The python blocks of a Markdown file, in order. A block's code keeps its place: the
    line numbers of a traceback are the file's."""
    lines = path.read_text().splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if fence is None:
            i += 1
            continue
        start, indent = i, len(fence["indent"])
        end = next(
            (j for j in range(i + 1, len(lines)) if lines[j].strip() == "```"), len(lines)
        )
        i = end + 1
        if fence["info"].strip().split(" ")[0] != "python":
            continue
        before = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        mark = _MARK.match(before.strip())
        if mark is None and "docs-test" in before:
            raise ValueError(f"{path.name}:{start}: write <!-- docs-test: skip REASON -->")
        body = "\n".join(line[indent:] for line in lines[start + 1 : end])
        code = "\n" * (start + 1) + body + "\n"
        found.append(Block(path, start + 1, code, mark["reason"] if mark else None))
    return found


BLOCKS = [block for path in FILES for block in blocks_of(path)]


class FileRun:
    """The namespace of one file's blocks and which of them ran."""

    def __init__(self, blocks: list[Block], cwd: Path) -> None:
        self.blocks, self.cwd = blocks, cwd
        self.namespace: dict[str, Any] = {"__name__": "__docs__"}
        self.done: dict[int, BaseException | None] = {}
        self.threads = set(threading.enumerate())
        self.closed = False

    def run_until(self, block: Block) -> None:
        """Run every unmarked block of the file up to ``block`` not run yet, then ``block``."""
        for earlier in self.blocks:
            if earlier.skip is not None:
                continue
            if earlier is not block and earlier.line in self.done:
                if self.done[earlier.line] is not None:
                    pytest.fail(f"{earlier.name}, which this block follows, failed")
                continue
            try:
                exec(compile(earlier.code, str(earlier.path), "exec"), self.namespace)
            except BaseException as error:
                self.done[earlier.line] = error
                raise
            self.done[earlier.line] = None
            if earlier is block:
                return

    def close(self) -> None:
        """Close what the blocks left open (mirrors, sessions and watchers before clients),
        then fail if a thread is left running."""
        if self.closed:
            return
        self.closed = True
        objects = [
            value for value in self.namespace.values()
            if str(type(value).__module__).startswith("etcdmap") and callable(
                getattr(value, "close", None)
            )
        ]
        clients = (etcdmap.Client,)
        for value in sorted(objects, key=lambda value: isinstance(value, clients)):
            value.close()
        self.namespace.clear()
        deadline = time.monotonic() + 2.0
        while (leaked := _new_threads(self.threads)) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not leaked, f"{self.blocks[0].path.name}: threads left running: {leaked}"


@pytest.fixture(scope="module")
def docs_etcd() -> Iterator[EtcdServer]:
    with EtcdServer() as server, pytest.MonkeyPatch.context() as patch:
        patch.setenv("ETCDMAP_ENDPOINTS", server.endpoint)
        yield server


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[Path, FileRun]]:
    runs: dict[Path, FileRun] = {}
    yield runs
    for run in runs.values():  # a file whose last block was deselected
        run.close()


@pytest.fixture(autouse=True)
def no_leaked_threads() -> None:
    """Replaces conftest's per-test check: a file's blocks share objects across tests, so
    threads are checked when the file is done (``file_run``)."""


@pytest.fixture
def file_run(
    request: pytest.FixtureRequest,
    docs_etcd: EtcdServer,
    runs: dict[Path, FileRun],
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[FileRun]:
    block: Block = request.node.callspec.params["block"]
    if block.path not in runs:
        with etcdmap.Client(docs_etcd.endpoints) as client:
            client.delete("\0", range_end="\0")  # every key: the file starts from nothing
        blocks = [b for b in BLOCKS if b.path == block.path]
        runs[block.path] = FileRun(blocks, tmp_path_factory.mktemp(block.path.stem))
    run = runs[block.path]
    monkeypatch.chdir(run.cwd)
    yield run
    if block is run.blocks[-1]:
        run.close()


def _new_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    return [
        t for t in threading.enumerate()
        if t not in before and t.is_alive()
        and "_poll_wrapper" not in t.name and not t.name.startswith("etcdmap-spawner")
    ]


@pytest.mark.timeout(BLOCK_TIMEOUT)
@pytest.mark.parametrize("block", BLOCKS, ids=[block.name for block in BLOCKS])
def test_docs_example(block: Block, file_run: FileRun) -> None:
    if block.skip is not None:
        pytest.skip(f"{block.name}: {block.skip}")
    file_run.run_until(block)


def test_blocks_are_found() -> None:
    """The collector finds the blocks (a changed fence syntax would silently find none)."""
    assert len(BLOCKS) > 20
    assert {block.path.name for block in BLOCKS} >= {"README.md", "config-store.md"}


def test_the_collector_keeps_lines_indents_and_marks(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# t\n\n```sh\nnot python\n```\n\n<!-- docs-test: skip a fragment -->\n\n"
        "```python\nfragment()\n```\n\n- a list item:\n\n    ```python\n    x = 1\n    ```\n"
    )
    skipped, indented = blocks_of(page)
    assert (skipped.line, skipped.skip) == (9, "a fragment")
    assert indented.skip is None and indented.line == 15
    namespace: dict[str, Any] = {}
    exec(compile(indented.code, str(page), "exec"), namespace)
    assert namespace["x"] == 1
    with pytest.raises(ZeroDivisionError) as failure:
        exec(compile(indented.code.replace("x = 1", "1 / 0"), str(page), "exec"), {})
    assert failure.traceback[-1].lineno + 1 == 16  # the error names the file's own line
    page.write_text("<!-- docs-test: skip -->\n```python\npass\n```\n")
    with pytest.raises(ValueError, match="REASON"):
        blocks_of(page)
