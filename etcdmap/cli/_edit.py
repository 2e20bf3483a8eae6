"""``edit``: a value in $VISUAL / $EDITOR, written back with a compare-and-swap."""

from __future__ import annotations

import difflib
import json
import os
import shlex
import subprocess
import tempfile
from pathlib import Path

import click

from .. import Client, Compare, GetResponse, Op
from ._app import CompareFailed, Settings, about, common, note


def editor_command() -> list[str]:
    """``$VISUAL``, else ``$EDITOR``, else ``vi``, split as a shell would."""
    return shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")


def for_editing(value: bytes) -> tuple[str, bool]:
    """The text to edit (JSON pretty-printed) and whether the value is JSON."""
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        raise click.UsageError(
            "the value is not UTF-8 text; edit it with get -o value / put -"
        ) from None
    try:
        parsed = json.loads(text)
    except ValueError:
        return text, False
    return json.dumps(parsed, indent=2, ensure_ascii=False) + "\n", True


def from_editing(original: bytes, edited: str, is_json: bool) -> bytes:
    """The value to store: JSON in the original's style (compact if it was on one line)."""
    if not is_json:
        return edited.encode("utf-8")
    try:
        parsed = json.loads(edited)
    except ValueError as error:
        raise click.ClickException(f"not valid JSON any more: {error}") from None
    if b"\n" not in original.strip():
        return json.dumps(parsed, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return edited.encode("utf-8")


def run_editor(text: str, suffix: str) -> str:
    """Open the editor on ``text`` in a temporary file and return what it saved."""
    with tempfile.TemporaryDirectory(prefix="etcdmap-edit-") as directory:
        path = Path(directory) / ("value" + suffix)
        path.write_text(text, encoding="utf-8")
        command = [*editor_command(), str(path)]
        try:
            status = subprocess.call(command)
        except OSError as error:
            raise click.ClickException(f"cannot run editor {command[0]!r}: {error}") from None
        if status != 0:
            raise click.ClickException(f"editor {command[0]!r} exited with {status}; not saved")
        return path.read_text(encoding="utf-8")


def _read(client: Client, key: str) -> tuple[bytes, int]:
    kvs = client.get(key).kvs
    return (kvs[0].value, kvs[0].mod_revision) if kvs else (b"", 0)


def _write(client: Client, key: str, value: bytes, mod_revision: int) -> GetResponse | None:
    """Put ``value`` if ``key`` is still at ``mod_revision``; else the key as it is now."""
    response = client.txn(
        [Compare.mod_revision(key, "==", mod_revision)], [Op.put(key, value)], [Op.get(key)]
    )
    if response.succeeded:
        note(f"saved {key} at revision {response.header.revision}")
        return None
    theirs = response.responses[0]
    assert isinstance(theirs, GetResponse)
    return theirs


@click.command()
@click.argument("key")
@common
def edit(key: str, settings: Settings) -> None:
    """Edit KEY's value in $VISUAL / $EDITOR; saved only if nobody wrote it meanwhile.

    JSON is shown pretty-printed. On a conflict it shows the diff of their value and yours and
    asks: retry (edit again on top of theirs), overwrite, or abort (exit 3). No change: no
    write. A missing key is created.
    """
    with settings.client() as client, about(key, client):
        original, mod_revision = _read(client, key)
        text, is_json = for_editing(original)
        suffix = ".json" if is_json else ".txt"
        edited = run_editor(text, suffix)
        while True:
            if edited == text:
                note("no change; nothing written")
                return
            value = from_editing(original, edited, is_json)
            if value == original:
                note("no change; nothing written")
                return
            theirs = _write(client, key, value, mod_revision)
            if theirs is None:
                return
            now = theirs.kvs[0].value if theirs.kvs else b""
            mod_revision = theirs.kvs[0].mod_revision if theirs.kvs else 0
            note(f"{key} was changed by someone else (now at mod_revision {mod_revision}):")
            their_text = for_editing(now)[0] if now else ""
            diff = difflib.unified_diff(
                their_text.splitlines(keepends=True), edited.splitlines(keepends=True),
                "theirs", "yours",
            )
            click.echo("".join(diff), err=True, nl=False)
            choice = click.prompt(
                "[r]etry, [o]verwrite or [a]bort?", type=click.Choice(["r", "o", "a"]),
                err=True,
            )
            if choice == "a":
                raise CompareFailed(f"{key}: not saved (changed by someone else)")
            if choice == "r":
                original, text = now, their_text
                edited = run_editor(edited, suffix)
            # "o": write ours over theirs, still only over the version just seen.
