"""Execute the example notebooks (``examples/*.ipynb``) against an etcd, for the tests and the
documentation site.

- ``execute(path, endpoints)`` runs one notebook with nbclient in a kernel of this very
  interpreter (a kernelspec written to a temporary directory: nothing is registered with
  Jupyter), with ``ETCDMAP_ENDPOINTS`` set in the kernel's environment, and returns it with its
  outputs. A cell that raises fails the run (``nbclient.exceptions.CellExecutionError``).
- As a mkdocs hook (``hooks: [scripts/notebooks.py]`` in ``mkdocs.yml``), it executes every
  example notebook against a temporary ``etcdmap.testing.EtcdServer`` before the pages are
  collected and puts the executed copies in the place of ``docs/notebooks/NAME.ipynb`` (links
  to the examples, without outputs), which mkdocs-jupyter then renders. Nothing is written
  under ``docs/``: ``mkdocs serve`` sees no file change. A failed or timed-out cell fails the
  build.
- ``python scripts/notebooks.py OUTDIR`` writes the executed copies to OUTDIR.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
#: Where the executed copies go in the site (``docs/notebooks/NAME.ipynb`` in the nav).
SITE_FOLDER = "notebooks"
KERNEL = "etcdmap-notebooks"
CELL_TIMEOUT = 60


def notebooks() -> list[Path]:
    """The example notebooks, by name."""
    return sorted(EXAMPLES.glob("*.ipynb"))


@contextmanager
def _kernel_manager(endpoints: Sequence[str]) -> Iterator[Any]:
    """A kernel manager for a kernel of this interpreter that sees ``endpoints`` in
    ``ETCDMAP_ENDPOINTS`` and imports this checkout's etcdmap."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    with tempfile.TemporaryDirectory(prefix="etcdmap-kernel-") as kernels:
        spec = Path(kernels, KERNEL)
        spec.mkdir()
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
        kernel = {
            "argv": [
                sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                "--HistoryManager.enabled=False",
            ],
            "display_name": "etcdmap notebooks",
            "language": "python",
            "env": {"ETCDMAP_ENDPOINTS": ",".join(endpoints), "PYTHONPATH": path},
        }  # fmt: skip
        (spec / "kernel.json").write_text(json.dumps(kernel))
        specs = KernelSpecManager(kernel_dirs=[kernels])
        # IPC sockets under the temporary directory: no TCP port, and no warning about one.
        # An asyncio manager, as nbclient's own: a blocking one would run each of its calls
        # on a thread of its own (jupyter_core's run_sync inside nbclient's loop).
        yield AsyncKernelManager(
            kernel_name=KERNEL, kernel_spec_manager=specs, transport="ipc",
            ip=str(Path(kernels, "kernel")),
        )  # fmt: skip


def execute(path: Path, endpoints: Sequence[str], timeout: int = CELL_TIMEOUT) -> Any:
    """The notebook at ``path`` executed against the etcd at ``endpoints`` (each cell within
    ``timeout`` seconds), as an ``nbformat.NotebookNode`` with its outputs."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    with _kernel_manager(endpoints) as km:
        client = NotebookClient(
            notebook, km=km, timeout=timeout, startup_timeout=60, shutdown_kernel="immediate",
            resources={"metadata": {"path": str(path.parent)}},
        )  # fmt: skip
        # cleanup_kc: stop the kernel and its client when done (nbclient only stops the
        # kernels of managers it made itself), also after a failed cell. asyncio.run, not
        # execute(): that one leaves an event loop set (and never closed) on this thread.
        asyncio.run(client.async_execute(cleanup_kc=True))
    return notebook


def write_executed(folder: Path) -> list[Path]:
    """Execute every example notebook against a temporary etcd and write the executed
    copies to ``folder``; returns their paths."""
    import nbformat

    from etcdmap.testing import EtcdServer

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with EtcdServer() as server:
        for source in notebooks():
            target = folder / source.name
            nbformat.write(execute(source, server.endpoints), target)
            written.append(target)
    return written


# --- mkdocs hook -------------------------------------------------------------------------------

_built: tempfile.TemporaryDirectory[str] | None = None


def on_files(files: Any, config: Any) -> Any:
    """Add the executed notebooks as ``notebooks/NAME.ipynb`` (replacing any file of that
    name), before mkdocs-jupyter's ``on_files`` wraps the ``.ipynb`` files it renders."""
    from mkdocs.exceptions import PluginError
    from mkdocs.structure.files import File
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    global _built
    _built = tempfile.TemporaryDirectory(prefix="etcdmap-notebooks-")
    try:
        executed = write_executed(Path(_built.name, SITE_FOLDER))
    except (CellExecutionError, CellTimeoutError) as error:
        raise PluginError(f"an example notebook failed:\n{error}") from error
    for path in executed:
        uri = f"{SITE_FOLDER}/{path.name}"
        if (existing := files.get_file_from_path(uri)) is not None:
            files.remove(existing)
        files.append(File(uri, _built.name, config["site_dir"], config["use_directory_urls"]))
    return files


on_files.mkdocs_priority = 100  # type: ignore[attr-defined]  # mkdocs' event_priority(100)


def on_post_build(config: Any) -> None:
    """Remove the executed copies (the site has its own rendering of them)."""
    global _built
    if _built is not None:
        _built.cleanup()
        _built = None


def on_build_error(error: Exception) -> None:
    """Remove the executed copies after a failed build too."""
    on_post_build(None)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/notebooks.py OUTDIR")
    for written in write_executed(Path(sys.argv[1])):
        print(written)
