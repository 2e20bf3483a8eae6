"""Sans-IO ``to_pandas()`` of maps and mirrors: rows of ``(key, value, mod_revision)`` as a
pandas DataFrame indexed by key, one column per field of the values (``views.flatten``) plus
``mod_revision`` where it is known. pandas is the optional extra ``etcdmap[pandas]``."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

from .views import columns_of, flatten

__all__ = ["MOD_REVISION", "import_pandas", "to_frame"]

#: The column of each key's mod_revision.
MOD_REVISION = "mod_revision"


def import_pandas() -> Any:
    """The ``pandas`` module, or an ``ImportError`` that names the extra to install."""
    try:
        return importlib.import_module("pandas")  # no stubs needed: the frame is Any
    except ImportError as error:
        raise ImportError(
            "to_pandas() needs pandas, which is not installed: pip install 'etcdmap[pandas]'"
        ) from error


def to_frame(
    rows: Iterable[tuple[str, Any, int | None]], revision: int, depth: int = 2
) -> Any:
    """A DataFrame of ``rows`` (key, value, mod_revision or None), read at ``revision``
    (kept in ``frame.attrs["revision"]``); fields nested deeper than ``depth`` stay one
    cell."""
    pandas = import_pandas()
    keys, records, revisions = [], [], []
    for key, value, mod_revision in rows:
        keys.append(key)
        records.append(flatten(value, depth))
        revisions.append(mod_revision)
    index = pandas.Index(keys, name="key", dtype=object)
    frame = pandas.DataFrame.from_records(records, index=index, columns=columns_of(records))
    if revisions and revisions[0] is not None:
        frame[MOD_REVISION] = revisions
    frame.attrs["revision"] = revision
    return frame
