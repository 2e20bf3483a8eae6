"""The executed explore notebook, converted to HTML by nbconvert, in a real browser: headless
Chromium (Debian's ``chromium`` package; ``.ci/run`` installs it when missing) driven through
the DevTools protocol over a pipe. The page's tables are queried in the rendered DOM, and the
screenshot must show them (not a blank page)."""

from __future__ import annotations

import base64
import fcntl
import io
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from nbconvert import HTMLExporter
from PIL import Image
from test_notebooks import notebooks  # scripts/notebooks.py, loaded there

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium on PATH: install Debian's chromium package (.ci/run does when root)",
)

WIDTH, HEIGHT = 1280, 2000
DEADLINE = 60.0  # seconds for the whole browser session


class DevTools:
    """A headless Chromium and its DevTools protocol over ``--remote-debugging-pipe``
    (commands on the browser's fd 3, replies and events on its fd 4, each JSON message
    ended by a NUL byte)."""

    def __init__(self, binary: str, profile: Path) -> None:
        browser_reads, self._to_browser = os.pipe()
        self._from_browser, browser_writes = os.pipe()
        # Out of the way of fds 3 and 4, which the child's dup2 below sets.
        ends = [
            fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (browser_reads, browser_writes)
        ]
        for fd in (browser_reads, browser_writes):
            os.close(fd)

        def remap() -> None:
            os.dup2(ends[0], 3)
            os.dup2(ends[1], 4)

        command = [
            binary, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
            f"--user-data-dir={profile}", "--hide-scrollbars", "--no-first-run",
            "--host-resolver-rules=MAP * ~NOTFOUND",  # the page's CDN scripts fail at once
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, preexec_fn=remap, close_fds=False,
        )  # fmt: skip
        for fd in ends:
            os.close(fd)
        self._deadline = time.monotonic() + DEADLINE
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def _message(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = self._deadline - time.monotonic()
            ready, _, _ = select.select([self._from_browser], [], [], max(left, 0))
            if not ready:
                raise TimeoutError(f"chromium sent nothing within {DEADLINE} s")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise EOFError(f"chromium closed its pipe (exit code {self.process.poll()})")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        result: dict[str, Any] = json.loads(message)
        return result

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send one command and return its result (events meanwhile go to ``events``)."""
        self._next_id += 1
        command: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session is not None:
            command["sessionId"] = session
        os.write(self._to_browser, json.dumps(command).encode() + b"\0")
        while True:
            message = self._message()
            if message.get("id") != self._next_id:
                self.events.append(message)
            elif "error" in message:
                raise RuntimeError(f"{method}: {message['error']}")
            else:
                result: dict[str, Any] = message["result"]
                return result

    def wait_event(self, method: str) -> dict[str, Any]:
        while not any(event.get("method") == method for event in self.events):
            self.events.append(self._message())
        return next(event for event in self.events if event.get("method") == method)

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (OSError, EOFError, TimeoutError, RuntimeError):
            pass  # it is killed below anyway
        finally:
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            os.close(self._to_browser)
            os.close(self._from_browser)


def non_white(png: bytes) -> float:
    """The fraction of the image's pixels that are not (nearly) white."""
    image = Image.open(io.BytesIO(png)).convert("L")
    histogram = image.histogram()
    return sum(histogram[:240]) / (image.width * image.height)


#: The rendered page's tables: text, rows and where they are drawn.
TABLES = """JSON.stringify([...document.querySelectorAll("table")].map(t => {
    const box = t.getBoundingClientRect();
    return {text: t.innerText, rows: t.rows.length, x: box.x, y: box.y + window.scrollY,
            width: box.width, height: box.height};
}))"""


def test_the_executed_notebook_shows_its_tables_in_chromium(
    etcd_server: Any, tmp_path: Path
) -> None:
    assert CHROMIUM is not None
    explore = notebooks.execute(notebooks.EXAMPLES / "explore.ipynb", etcd_server.endpoints)
    body, _ = HTMLExporter().from_notebook_node(explore)
    page = tmp_path / "explore.html"
    page.write_text(body)

    browser = DevTools(CHROMIUM, tmp_path / "profile")
    try:
        target = browser.send("Target.createTarget", url="about:blank")["targetId"]
        session = browser.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        browser.send(
            "Emulation.setDeviceMetricsOverride", session, width=WIDTH, height=HEIGHT,
            deviceScaleFactor=1, mobile=False,
        )  # fmt: skip
        browser.send("Page.enable", session)
        browser.send("Page.navigate", session, url=page.as_uri())
        browser.wait_event("Page.loadEventFired")
        evaluated = browser.send("Runtime.evaluate", session, expression=TABLES)
        tables = json.loads(evaluated["result"]["value"])
        whole = browser.send("Page.captureScreenshot", session, format="png")
        mirror = next(t for t in tables if "prod/cache" in t["text"])
        clip = {k: mirror[k] for k in ("x", "y", "width", "height")} | {"scale": 1}
        shot = browser.send(
            "Page.captureScreenshot", session, format="png", clip=clip,
            captureBeyondViewport=True,
        )  # fmt: skip
    finally:
        browser.close()

    # The map's table, as the browser laid it out: a header and the 5 keys, drawn.
    first = tables[0]
    assert first["rows"] == 6 and "limits.cpu" in first["text"] and "staging/web" in first["text"]
    assert all(t["width"] > 100 and t["height"] > 20 for t in tables), tables
    # The live mirror's table shows the key written after it was first displayed.
    assert "erin" in mirror["text"] and mirror["rows"] == 7
    # Not a blank page: text and shaded code cells cover a good part of the screenshot...
    image = base64.b64decode(whole["data"])
    assert Image.open(io.BytesIO(image)).size == (WIDTH, HEIGHT)
    assert non_white(image) > 0.03
    # ...and the mirror's table, where the browser drew it, holds text.
    assert non_white(base64.b64decode(shot["data"])) > 0.05
