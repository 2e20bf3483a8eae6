"""``ls``: a tree of the keyspace with the keys and bytes under each node.

etcd's keys-only reads carry no value sizes, so the tree is built from paged reads WITH
values (one consistent revision, ``get_pages``), each page folded into the counters and
dropped: memory is the tree (at most ``max_children`` nodes per node, to ``depth``), never
the keys; the cost is reading every value once (the prefix's bytes over the network).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click
from rich.filesize import decimal

from ._app import Settings, about, common, progress

if TYPE_CHECKING:
    from rich.tree import Tree


class Node:
    """Keys and bytes (keys + values) under a path; children by their next segment."""

    __slots__ = ("children", "keys", "more_bytes", "more_keys", "more_nodes", "name",
                 "size", "_last_more")

    def __init__(self, name: str) -> None:
        self.name = name
        self.keys = 0
        self.size = 0
        self.children: dict[str, Node] = {}
        self.more_nodes = self.more_keys = self.more_bytes = 0
        self._last_more: str | None = None

    def add(self, parts: list[str], size: int, max_children: int) -> None:
        """Count one key of ``size`` bytes at the path ``parts`` below this node."""
        node = self
        node.keys += 1
        node.size += size
        for part in parts:
            child = node.children.get(part)
            if child is None:
                if len(node.children) >= max_children:
                    # Past the cap, children are only counted (keys arrive sorted, so a
                    # child's keys are mostly contiguous: count a name when it changes).
                    if part != node._last_more:
                        node.more_nodes += 1
                        node._last_more = part
                    node.more_keys += 1
                    node.more_bytes += size
                    return
                child = node.children[part] = Node(part)
            child.keys += 1
            child.size += size
            node = child

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "keys": self.keys, "bytes": self.size}
        if self.children:
            out["children"] = [child.to_json() for child in self.children.values()]
        if self.more_nodes:
            out["more"] = {"nodes": self.more_nodes, "keys": self.more_keys,
                           "bytes": self.more_bytes}
        return out

    def to_tree(self, tree: Tree | None = None) -> Tree:
        from rich.tree import Tree

        label = f"[bold]{self.name}[/]  {self.keys} keys, {decimal(self.size)}"
        branch = Tree(label) if tree is None else tree.add(label)
        for child in self.children.values():
            child.to_tree(branch)
        if self.more_nodes:
            branch.add(f"... {self.more_nodes} more: {self.more_keys} keys, "
                       f"{decimal(self.more_bytes)}")
        return branch


def build_tree(
    pages: Any, prefix: bytes, sep: str, depth: int, max_children: int, bar: Any = None
) -> Node:
    """Fold ``get_pages`` pages into a tree (the ``KeyValue``s are dropped page by page)."""
    root = Node(prefix.decode("utf-8", "backslashreplace") or sep)
    start = len(prefix)
    task = None
    for page in pages:
        if bar is not None and task is None:
            task = bar.add_task("ls", total=page.count)
        for kv in page.kvs:
            rel = kv.key[start:].decode("utf-8", "backslashreplace")
            parts = [part for part in rel.split(sep) if part][:depth]
            root.add(parts, len(kv.key) + len(kv.value), max_children)
        if task is not None:
            bar.advance(task, len(page.kvs))
    return root


@click.command()
@click.argument("prefix", default="")
@click.option("--depth", type=click.IntRange(min=0), default=2, show_default=True)
@click.option("--sep", default="/", show_default=True, help="The separator of path segments.")
@click.option("--max-children", type=click.IntRange(min=1), default=100, show_default=True,
              help="Nodes shown under one node; the rest are summed up.")
@click.option("-o", "--output", type=click.Choice(["tree", "json"]), default="tree")
@common
def ls(
    prefix: str, depth: int, sep: str, max_children: int, output: str, settings: Settings
) -> None:
    """A tree of the keys under PREFIX (default: all) with the keys and bytes (keys plus
    values) under each node, from paged reads at one revision in bounded memory."""
    if not sep:
        raise click.UsageError("--sep must not be empty")
    base = prefix.encode("utf-8")
    with settings.client() as client, about(prefix or "(all keys)", client), \
            progress() as bar:
        pages = (client.get_pages(base, prefix=True, page_size=2000) if base
                 else client.get_pages(b"\x00", range_end=b"\x00", page_size=2000))
        root = build_tree(pages, base, sep, depth, max_children, bar)
    if output == "json":
        click.echo(json.dumps(root.to_json(), indent=2, ensure_ascii=False))
    else:
        from rich.console import Console

        Console(highlight=False).print(root.to_tree())
