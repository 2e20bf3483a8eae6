"""Flavour-specific bases of the mapping layer.

``etcdmap/_async/mapping.py`` subclasses the ``Async*Base`` classes; scripts/unasync strips the
``Async`` prefix, so the generated ``etcdmap/_sync/mapping.py`` subclasses the blocking twins.
Only the blocking ones can be ``collections.abc`` mappings and views (an ``async def
__getitem__`` cannot satisfy ``Mapping``), so they turn the dunders the abstract classes need
into the named methods both flavours define (``count``, ``contains``, ``set``, ``delete``).
The asyncio ones add only what must stay free of I/O in a running event loop (what the
notebook reprs show: they cannot await).
"""

from __future__ import annotations

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
    """Base of the asyncio read-only map: no dunders that would need I/O. A notebook calls
    the display hooks synchronously inside its running loop, so they show what the map
    already knows: the preview and the keys it fetched last."""

    last_preview: Any
    _known_keys: list[str]

    def _shown_preview(self) -> Any:
        return self.last_preview

    def _completions(self) -> list[str]:
        return self._known_keys


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

    def _shown_preview(self) -> Any:
        return self.preview()

    def _completions(self) -> list[str]:
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
