"""Flavour-specific bases of the mapping layer.

``etcdmap/_async/mapping.py`` subclasses the ``Async*Base`` classes; scripts/unasync strips the
``Async`` prefix, so the generated ``etcdmap/_sync/mapping.py`` subclasses the blocking twins.
Only the blocking ones can be ``collections.abc`` mappings and views (an ``async def
__getitem__`` cannot satisfy ``Mapping``), so they turn the dunders the abstract classes need
into the named methods both flavours define (``count``, ``contains``, ``set``, ``delete``).
The asyncio ones add only what must stay free of I/O in a running event loop (the notebook
reprs, which cannot await).
"""

from __future__ import annotations

import html
from abc import abstractmethod
from collections.abc import (
    Awaitable,
    Callable,
    ItemsView,
    Iterator,
    KeysView,
    Mapping,
    MutableMapping,
    ValuesView,
)
from typing import Any, Generic, TypeVar

__all__ = [
    "AsyncBody",
    "AsyncItemsViewBase",
    "AsyncKeysViewBase",
    "AsyncMappingBase",
    "AsyncMutableMappingBase",
    "AsyncValuesViewBase",
    "Body",
    "ItemsViewBase",
    "KeysViewBase",
    "MappingBase",
    "MutableMappingBase",
    "ValuesViewBase",
]

V = TypeVar("V")
A = TypeVar("A")
T = TypeVar("T")

#: A user function run with an argument of type ``A`` (a transaction), giving ``T``: a
#: coroutine function for the asyncio map, a plain function for the blocking one.
AsyncBody = Callable[[A], Awaitable[T]]
Body = Callable[[A], T]


# --- asyncio ----------------------------------------------------------------------------------


class AsyncMappingBase(Generic[V]):
    """Base of the asyncio read-only map: no dunders that would need I/O."""

    prefix: str
    revision: int

    def _repr_html_(self) -> str:
        # A notebook calls this synchronously inside its running loop: no I/O is possible,
        # so show what is known and point to the awaitable preview.
        return (
            f"<b>{html.escape(type(self).__name__)}</b> <code>{html.escape(self.prefix)}</code>"
            f" (last revision {self.revision}); <code>await m.preview()</code> shows the "
            "count and the first keys."
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


class AsyncMutableMappingBase(AsyncMappingBase[V]):
    """Base of the asyncio map."""


class AsyncKeysViewBase:
    """Base of the asyncio keys view."""


class AsyncValuesViewBase(Generic[V]):
    """Base of the asyncio values view."""


class AsyncItemsViewBase(Generic[V]):
    """Base of the asyncio items view."""


# --- blocking ---------------------------------------------------------------------------------


class MappingBase(Mapping[str, V]):
    """Base of the blocking read-only map: a real ``collections.abc.Mapping``."""

    @abstractmethod
    def count(self) -> int: ...

    @abstractmethod
    def contains(self, key: object) -> bool: ...

    @abstractmethod
    def preview(self, limit: int = ...) -> Any: ...

    @abstractmethod
    def completion_keys(self) -> list[str]: ...

    def __len__(self) -> int:
        return self.count()

    def __contains__(self, key: object) -> bool:
        return self.contains(key)

    def _repr_html_(self) -> str:
        html_text: str = self.preview()._repr_html_()
        return html_text

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        if cycle:
            printer.text(repr(self))
        else:
            self.preview()._repr_pretty_(printer, cycle)

    def _ipython_key_completions_(self) -> list[str]:
        return self.completion_keys()


class MutableMappingBase(MappingBase[V], MutableMapping[str, V]):
    """Base of the blocking map: a real ``collections.abc.MutableMapping``."""

    @abstractmethod
    def set(self, key: str, value: V) -> int: ...

    @abstractmethod
    def delete(self, key: str) -> int: ...

    def __setitem__(self, key: str, value: V) -> None:
        self.set(key, value)

    def __delitem__(self, key: str) -> None:
        self.delete(key)


class _ViewBase:
    @abstractmethod
    def count(self) -> int: ...

    @abstractmethod
    def contains(self, item: object) -> bool: ...

    def __len__(self) -> int:
        return self.count()

    def __contains__(self, item: object) -> bool:
        return self.contains(item)


class KeysViewBase(_ViewBase, KeysView[str]):
    """Base of the blocking keys view (a ``collections.abc.KeysView``)."""

    @abstractmethod
    def __iter__(self) -> Iterator[str]: ...


class ValuesViewBase(_ViewBase, ValuesView[V]):
    """Base of the blocking values view (a ``collections.abc.ValuesView``)."""

    @abstractmethod
    def __iter__(self) -> Iterator[V]: ...


class ItemsViewBase(_ViewBase, ItemsView[str, V]):
    """Base of the blocking items view (a ``collections.abc.ItemsView``)."""

    @abstractmethod
    def __iter__(self) -> Iterator[tuple[str, V]]: ...
