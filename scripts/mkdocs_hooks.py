"""mkdocs hook (mkdocs.yml ``hooks:``): fill the docs/reference/ pages from docs/api.md.

docs/api.md is the checked list of public names (tests/test_project.py fails when a module's
``__all__`` and its section there differ). A line

    <!-- api: etcdmap.testing -->

in a page becomes, for each line ``- `Name`, `Other` — what they are`` of that module's section,
a heading, the description and one ``::: etcdmap.testing.Name`` block per name, which
mkdocstrings renders from the docstrings. ``<!-- api: etcdmap | The KV | Views -->`` takes only
the lines under the paragraphs of the section that start with those words (the lines ending
in ``:`` that group them). So a name added to docs/api.md is in the reference with no other
edit, and a marker that selects nothing fails the build.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

#: A module's lines of docs/api.md: (paragraph, description, names), in order.
Lines = list[tuple[str, str, list[str]]]

#: ``<!-- api: MODULE -->`` or ``<!-- api: MODULE | Paragraph | Paragraph -->`` on a line.
MARK = re.compile(r"^<!-- api: (?P<module>etcdmap[\w.]*)(?P<parts>(?: \| [^|>]+?)*) -->$", re.M)


def sections(api_md: str) -> dict[str, Lines]:
    """Each module of docs/api.md and its lines."""
    found: dict[str, Lines] = {}
    module, paragraph = None, ""
    for line in api_md.splitlines():
        if heading := re.fullmatch(r"## `(etcdmap[\w.]*)`", line):
            module, paragraph = heading[1], ""
            found[module] = []
        elif line.startswith("## "):
            module = None  # a section about no module
        elif module and line.startswith("- `"):
            names, _, text = line[2:].partition(" — ")
            found[module].append((paragraph, text, re.findall(r"`(\w+)`", names)))
        elif module and line.endswith(":") and line[:1].isupper():
            paragraph = line[:-1]
    return found


def render(module: str, paragraphs: list[str], api: dict[str, Lines]) -> str:
    """The Markdown that stands for one marker."""
    if module not in api:
        raise ValueError(f"<!-- api: {module} -->: docs/api.md has no section `{module}`")
    lines: list[str] = []
    for paragraph, text, names in api[module]:
        if paragraphs and not paragraph.startswith(tuple(paragraphs)):
            continue
        heading = ", ".join(f"`{name}`" for name in names)
        lines += [f"## {heading}", "", text[:1].upper() + text[1:], ""]
        lines += [f"::: {module}.{name}\n" for name in names]
    if not lines:
        raise ValueError(f"<!-- api: {module} | {' | '.join(paragraphs)} -->: selects no name")
    return "\n".join(lines)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """mkdocs' event: expand the markers of a page before it is rendered."""
    if "<!-- api: " not in markdown:
        return markdown
    api = sections((Path(config["docs_dir"]) / "api.md").read_text())

    def expand(mark: re.Match[str]) -> str:
        paragraphs = [part.strip() for part in mark["parts"].split("|") if part.strip()]
        return render(mark["module"], paragraphs, api)

    return MARK.sub(expand, markdown)
