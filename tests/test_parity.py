"""docs/clientv3-parity.md: every etcdmap name the table lists still exists."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

import etcdmap

DOC = Path(__file__).resolve().parent.parent / "docs" / "clientv3-parity.md"


def listed_names() -> list[str]:
    """The `code` spans of the second column of every table row."""
    names = []
    for line in DOC.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or cells[0] in ("Go item", "---") or set(cells[0]) <= {"-"}:
            continue
        names += re.findall(r"`([^`]+)`", cells[1])
    return names


def resolve(dotted: str) -> object:
    head, *rest = dotted.split(".")
    if hasattr(etcdmap, head):
        obj: object = getattr(etcdmap, head)
    else:
        obj = importlib.import_module(f"etcdmap.{head}")  # a public submodule: etcdmap.naming
    for part in rest:
        obj = getattr(obj, part)
    return obj


def test_the_table_lists_names() -> None:
    assert len(listed_names()) > 100


@pytest.mark.parametrize("name", sorted(set(listed_names())))
def test_listed_name_exists(name: str) -> None:
    resolve(name)


def test_every_section_has_a_table() -> None:
    text = DOC.read_text()
    for section in ("## 1.", "## 2.", "## 3.", "## 4.", "## 5."):
        assert section in text
    for item in ("4.1", "4.2", "4.3", "4.4", "4.5", "4.6", "4.7", "4.8", "4.9", "4.10"):
        assert f"| {item} " in text, item
