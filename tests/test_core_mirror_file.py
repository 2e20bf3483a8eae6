"""A mirror's persistence (``MirrorFile``): the copy saved and restored through a file, with
no server."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from etcdmap._core.keyspace import KeySpace
from etcdmap._core.mirror import InvalidValue, MirrorStore
from etcdmap._core.mirror_file import MirrorFile, saved_pages
from etcdmap.codecs import Json, Str

KS: KeySpace[object] = KeySpace("/p/", Json(), Str())


def test_save_then_load_gives_the_copy_back(tmp_path: Path) -> None:
    file = MirrorFile(tmp_path / "copy", KS, keys_only=False)
    bad = InvalidValue("b", b"{broken", None, 3)
    assert file.save(7, {"a": {"x": 1}}, {"b": bad}) == tmp_path / "copy"
    assert not list(tmp_path.glob("*.tmp"))  # written aside, then renamed over
    saved = file.load()
    assert saved is not None and saved.revision == 7
    assert dict(zip(saved.keys, saved.values, strict=True)) == {
        b"/p/a": b'{"x":1}', b"/p/b": b"{broken"
    }
    store = MirrorStore(b"/p/", KS.key_codec.decode, KS.codec.decode, codec=KS.codec)
    data, invalid = store.build(saved_pages(saved))
    assert data == {"a": {"x": 1}} and set(invalid) == {"b"}


def test_keys_only_saves_no_values_and_save_takes_another_path(tmp_path: Path) -> None:
    file = MirrorFile(None, KS, keys_only=True)
    with pytest.raises(ValueError, match="save\\(\\) needs a path"):
        file.save(1, {"a": None}, {})
    assert file.load() is None  # no path: nothing to restore
    file.save(1, {"a": None}, {}, tmp_path / "other")
    saved = MirrorFile(tmp_path / "other", KS, keys_only=True).load()
    assert saved is not None and saved.values == [b""]


def test_a_missing_damaged_or_foreign_file_restores_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "copy"
    assert MirrorFile(path, KS, keys_only=False).load() is None  # missing: no warning
    MirrorFile(path, KeySpace("/q/", Json(), Str()), keys_only=False).save(3, {"a": 1}, {})
    with caplog.at_level(logging.WARNING, logger="etcdmap.mirror"):
        assert MirrorFile(path, KS, keys_only=False).load() is None
        path.write_bytes(b"not msgpack at all")
        assert MirrorFile(path, KS, keys_only=False).load() is None
    first, second = (r.getMessage() for r in caplog.records)
    assert "cannot restore" in first and "of prefix b'/q/', not b'/p/'" in first
    assert "cannot restore" in second and "not a mirror snapshot" in second
