"""``publish(__name__)``: make a public module the home of the names it exports.

Each public module (``etcdmap``, ``etcdmap.errors``, ...) calls it once, last, so that reprs,
tracebacks, pickles and generated docs show the name users import
(``etcdmap.errors.KeyNotFoundError``), not the private module that implements it
(``etcdmap._core.errors.KeyNotFoundError``).
"""

from __future__ import annotations

import sys
from types import FunctionType
from typing import Any

__all__ = ["publish"]


def publish(module_name: str) -> None:
    """Set ``__module__`` of every class and function in the ``__all__`` of ``module_name``
    that still names a private module of etcdmap to ``module_name``.

    A name two public modules export (``etcdmap.CompactedError`` is also
    ``etcdmap.errors.CompactedError``) keeps the module that published it first: import the
    more specific module before listing its names higher up. A class's string annotations are
    resolved first in the module that wrote them, since typing and msgspec look them up in
    ``sys.modules[cls.__module__]``.
    """
    module = sys.modules[module_name]
    for name in module.__all__:
        obj = getattr(module, name)
        if isinstance(obj, (type, FunctionType)) and _private(obj.__module__ or ""):
            if isinstance(obj, type):
                _resolve_annotations(obj)
            obj.__module__ = module_name


def _private(module_name: str) -> bool:
    """Whether ``module_name`` is etcdmap's and private (not e.g. a protobuf class's None)."""
    parts = module_name.split(".")
    return parts[0] == "etcdmap" and any(part.startswith("_") for part in parts)


def _resolve_annotations(cls: type) -> None:
    annotations: dict[str, Any] = cls.__dict__.get("__annotations__", {})
    namespace = vars(sys.modules[cls.__module__])
    for field, hint in annotations.items():
        if isinstance(hint, str):
            try:
                annotations[field] = eval(hint, namespace, dict(vars(cls)))
            except Exception:  # left as written, as typing leaves what it cannot resolve
                continue
