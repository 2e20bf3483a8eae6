"""``AsyncRepository``: typed records under a prefix with secondary indexes and unique fields,
kept consistent with the records in one Txn per write (layout and Txns: ``_core.repository``).

``AsyncRepositoryMirror`` answers ``get``/``find`` from an ``AsyncMirror`` of the records,
with the same index definitions as the mirror's indexes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Any, Generic, TypeVar

from .._core.bulk import MAX_REQUEST_BYTES, MAX_TXN_OPS, TxnLimits
from .._core.checks import check_client, check_count
from .._core.errors import ConflictError, ValueDecodeError
from .._core.keys import prefix_range
from .._core.kv import Op, check_page_size
from .._core.mapping import Entry
from .._core.repository import (
    ABSENT,
    Derived,
    Diff,
    FieldSpec,
    Layout,
    Repair,
    RepositoryCheck,
    Schema,
    Stored,
    Write,
    plan_groups,
)
from .._core.results import GetResponse, KeyValue
from ..codecs import codec_for
from .kv import AsyncKV, watch_kv_of
from .mapping import AsyncEtcdMap
from .mirror import AsyncMirror

__all__ = ["AsyncRepository", "AsyncRepositoryMirror"]

R = TypeVar("R")

#: How often a save or delete is computed again after a harmless race (the record changed
#: between its read and its Txn, or a claim it believed absent is its own) before
#: ``ConflictError``.
RETRIES = 16
#: How many (key, revision, index values) of records read or written are remembered, so a
#: ``save``/``delete`` with an ``expect_revision`` they match needs no read.
KNOWN = 10_000

IndexDef = str | tuple[str, Callable[[Any], Any]]


class AsyncRepository(Generic[R]):
    """Typed records under ``prefix``, each at ``<prefix><key>``, with secondary indexes and
    unique fields kept consistent with them by one Txn per write (docs/repository.md).

    ``AsyncRepository(kv, model, prefix, *, key, indexes=(), unique=(), codec=None,
    page_size=1000, max_txn_ops=128, max_request_bytes=1.5 MiB)``.

    A field a model does not have, a key field value that is empty or holds ``/`` and a value
    that does not encode raise ``TypeError``/``ValueError`` before any I/O. Index values are
    str, int, bool, float, bytes (or an Enum of them); None indexes nothing.

    Parameters
    ----------
    kv:
        An ``AsyncClient`` or any ``AsyncKV`` (a namespace...); ``mirror()`` needs a watch.
    model:
        The record type: anything the codecs take (msgspec Struct, dataclass, attrs class,
        TypedDict...). Records are encoded with ``codec``, by default ``Json(model)``.
    prefix:
        Where the records live; it must end with ``/``. The index and unique claims live
        beside it, under ``<prefix without />.index/`` and ``.unique/``.
    key:
        The field whose value (a str, or an int as its decimal) is the record's key:
        non-empty and without ``/``.
    indexes:
        Fields looked up by equality (``find``): field names, or ``(name, fn)`` pairs where
        ``fn(record)`` returns a value, several (an iterable: labels) or None.
    unique:
        Fields no two records may share, given as for ``indexes``; ``find`` looks them up too.
    codec:
        The records' codec (default ``Json(model)``).
    page_size, max_txn_ops, max_request_bytes:
        Keys per Range of a paged read; the server's ``--max-txn-ops`` and
        ``--max-request-bytes`` that batched reads and ``reindex`` plan their Txns under.
    """

    def __init__(
        self,
        kv: AsyncKV,
        model: type[R] | Any,
        prefix: bytes | str,
        *,
        key: str,
        indexes: Iterable[IndexDef] = (),
        unique: Iterable[IndexDef] = (),
        codec: Any = None,
        page_size: int = 1000,
        max_txn_ops: int = MAX_TXN_OPS,
        max_request_bytes: int = MAX_REQUEST_BYTES,
    ) -> None:
        check_client(kv, AsyncRepository)
        self.kv = kv
        self.schema = Schema(model, key, indexes, unique)
        self.layout = Layout(prefix)
        codec = codec_for(value_type=model) if codec is None else codec_for(codec)
        #: The records as a map (key -> record), with the repository's codec.
        self.map: AsyncEtcdMap[R] = AsyncEtcdMap(
            kv, self.layout.prefix, codec=codec, page_size=page_size
        )
        self.page_size = check_page_size(page_size)
        self.limits = TxnLimits(max_txn_ops, max_request_bytes)
        self._known: OrderedDict[str, Stored] = OrderedDict()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.map.prefix!r}, {self.schema.model!r}, "
            f"key={self.schema.key!r})"
        )

    # --- helpers ------------------------------------------------------------------------------

    def _remember(self, key: str, stored: Stored) -> None:
        known = self._known
        known[key] = stored
        known.move_to_end(key)
        while len(known) > KNOWN:
            known.popitem(last=False)

    def _derived_of(self, kv: KeyValue) -> Derived | None:
        """What a stored record keeps in the index; None if it does not decode."""
        key = self.map.keyspace.relative(bytes(kv.key))
        try:
            return self.schema.derive(self.map.keyspace.decode(key, kv))
        except (ValueDecodeError, TypeError, ValueError):
            return None

    async def _stored(self, key: str, expect_revision: int | None) -> Stored:
        """The stored state of ``key``: remembered if it matches ``expect_revision``, else
        read (one Range, linearizable)."""
        if expect_revision is not None:
            check_count(expect_revision, "expect_revision")
            known = self._known.get(key)
            if expect_revision == 0:
                return ABSENT
            if known is not None and known.revision == expect_revision:
                return known
        kvs = (await self.kv.get(self.layout.record(key))).kvs
        return Stored(kvs[0].mod_revision, self._derived_of(kvs[0])) if kvs else ABSENT

    async def _write(
        self, key: str, data: bytes | None, new: Derived | None, expect_revision: int | None
    ) -> int:
        """Save (``data`` and ``new``) or delete (both None) the record ``key``."""
        stored = await self._stored(key, expect_revision)
        write = Write(
            self.schema, self.layout, key, data, new, stored,
            expect_revision=expect_revision, decode=self._derived_of,
        )  # fmt: skip
        for _ in range(RETRIES):
            response = await self.kv.txn(*write.request())
            if response.succeeded:
                revision = response.header.revision
                self._remember(write.key, Stored(revision, write.new) if write.new else ABSENT)
                return revision
            write.failed(response)
        raise ConflictError(
            f"record {write.key!r} kept changing: {RETRIES} attempts lost a race",
            key=write.key, revision=write.stored.revision,
        )  # fmt: skip

    # --- writes -------------------------------------------------------------------------------

    async def save(self, record: R, *, expect_revision: int | None = None) -> int:
        """Store ``record`` at its key and return its new ``mod_revision``: one Range of the
        record (none when ``expect_revision`` is 0 or that of the record as this repository
        last read or wrote it), then ONE Txn (linearizable) that writes it, adds and removes
        exactly the index entries whose values changed, claims its new unique values and frees
        the old ones.

        ``UniqueViolationError`` (a ``ConflictError``: ``field``, ``value``, ``holder``) if a
        unique value is another record's; nothing is written. ``expect_revision``: the
        record's ``mod_revision`` as the caller read it (0: must not exist), else
        ``ConflictError``. Without it a record changed between the read and the Txn is read
        again from the Txn's answer and the Txn computed again (at most 16 times).
        """
        key = self.schema.key_of(record)
        data = self.map.keyspace.encode(key, record)
        return await self._write(key, data, self.schema.derive(record), expect_revision)

    async def delete(self, key: str, *, expect_revision: int | None = None) -> int:
        """Delete the record ``key`` with its index entries and claims in one Txn (after one
        Range of the record, none as for ``save``) and return the revision; ``KeyError`` if
        it does not exist, ``ConflictError`` if ``expect_revision`` is not its revision."""
        return await self._write(self.schema.check_key(key), None, None, expect_revision)

    # --- reads --------------------------------------------------------------------------------

    async def get(self, key: str) -> R:
        """The record ``key`` (one Range, linearizable); ``KeyError`` if it does not exist."""
        return (await self.entry(key)).value

    async def entry(self, key: str) -> Entry[R]:
        """The record ``key`` with its ``mod_revision``, ``version``... (one Range,
        linearizable; ``KeyError`` if absent). Pass its ``mod_revision`` as
        ``expect_revision`` to ``save``: that save sends its Txn only."""
        entry = await self.map.entry(self.schema.check_key(key))
        try:
            derived = self.schema.derive(entry.value)
        except (TypeError, ValueError):  # a raw write's value: a save will read it again
            return entry
        self._remember(entry.key, Stored(entry.mod_revision, derived))
        return entry

    async def count(self) -> int:
        """The number of records (one count-only Range)."""
        return await self.map.count()

    async def __aiter__(self) -> AsyncIterator[R]:
        """Every record, in key order, paged (``page_size`` per Range) at one revision."""
        async for record in self.map.values():
            yield record

    async def find(self, **equals: Any) -> list[R]:
        """The records whose indexed or unique fields equal the values given, in key order.

        All read at one revision: the index entries of the first field (paged Ranges,
        keys-only; the first linearizable), those of the others at its revision, then the
        records at it (Txns of Ranges, ``max_txn_ops`` each). ``ValueError`` naming a field
        that is neither indexed nor unique (or for no field), before any I/O.
        """
        wanted = self.schema.lookup(equals)
        revision, keys = 0, None
        for spec, encoded in wanted:
            found, revision = await self._holders(spec, encoded, revision)
            if keys is not None:
                also = set(found)
                found = [k for k in keys if k in also]
            keys = found
            if not keys:
                return []
        assert keys is not None
        records = []
        for kv in await self._records(keys, revision):
            derived = self._derived_of(kv)
            if derived is not None and self.schema.matches(derived, wanted):
                records.append(self.map.keyspace.decode(self.map.keyspace.relative(kv.key), kv))
        return records

    async def find_one(self, **equals: Any) -> R | None:
        """The first record (in key order) ``find(**equals)`` finds, or None."""
        found = await self.find(**equals)
        return found[0] if found else None

    async def _holders(
        self, spec: FieldSpec, encoded: bytes, revision: int
    ) -> tuple[list[str], int]:
        """The keys of the records with ``encoded`` in ``spec``, and the revision read at."""
        layout = self.layout
        if spec in self.schema.unique:
            claim = await self.kv.get(layout.claim(spec.name, encoded), revision=revision)
            holders = [bytes(kv.value).decode("utf-8", "surrogateescape") for kv in claim.kvs]
            return holders, revision or claim.header.revision
        start, end = layout.index_range(spec.name, encoded)
        keys = []
        async for page in self.kv.get_pages(
            start, range_end=end, page_size=self.page_size, revision=revision, keys_only=True
        ):
            revision = revision or page.header.revision
            keys += [layout.parse_index(bytes(kv.key))[2] for kv in page.kvs]
        return keys, revision

    async def _records(self, keys: Sequence[str], revision: int) -> list[KeyValue]:
        """The stored records ``keys`` at ``revision`` (absent ones left out), in Txns of at
        most ``max_txn_ops`` Ranges."""
        found: list[KeyValue] = []
        step = self.limits.max_txn_ops
        for first in range(0, len(keys), step):
            batch = keys[first:first + step]
            ops = [Op.get(self.layout.record(key), revision=revision) for key in batch]
            response = await self.kv.txn(success=ops)
            for read in response.responses:
                assert isinstance(read, GetResponse)
                found += read.kvs
        return found

    # --- maintenance --------------------------------------------------------------------------

    async def _diff(self) -> tuple[Diff, int]:
        """The records, index entries and claims, read at one revision (paged Ranges: the
        first linearizable, the rest at its revision)."""
        diff = Diff(self.schema, self.layout)
        keyspace, revision = self.map.keyspace, 0
        async for page in self.kv.get_pages(
            keyspace.start, range_end=keyspace.end, page_size=self.page_size
        ):
            revision = revision or page.header.revision
            for kv in page.kvs:
                diff.add_record(keyspace.relative(bytes(kv.key)), kv.mod_revision,
                                self._derived_of(kv))  # fmt: skip
        for start, keys_only in ((self.layout.index, True), (self.layout.unique, False)):
            begin, end = prefix_range(start)
            async for page in self.kv.get_pages(
                begin, range_end=end, page_size=self.page_size, revision=revision,
                keys_only=keys_only,
            ):  # fmt: skip
                (diff.add_entries if keys_only else diff.add_claims)(page.kvs)
        return diff, revision

    async def check(self) -> RepositoryCheck:
        """Compare the index entries and unique claims with the records, all read at one
        revision (paged Ranges), and report what is missing, stale or clashing (e.g. after a
        raw write that bypassed the repository). Writes nothing."""
        diff, revision = await self._diff()
        return diff.report(revision)

    async def reindex(self) -> RepositoryCheck:
        """Repair what ``check()`` finds: read everything at one revision, then add the
        missing index entries and claims and remove the stale ones, in Txns planned under
        ``max_txn_ops``/``max_request_bytes``. Each record's repair compares the record and
        every key it touches with their revisions at the read, so a concurrent save is never
        undone (that repair is ``skipped``; run again). Idempotent. Clashing unique values
        (held by several records) are reported, not resolved. Returns what was found, with
        ``repaired`` and ``skipped`` counts."""
        diff, revision = await self._diff()
        repaired = skipped = 0
        for batch in plan_groups(diff.repairs(), self.limits):
            if await self._repair(batch):
                repaired += len(batch)
                continue
            for repair in batch:  # one lost a race: each alone, to apply the others
                if await self._repair([repair]):
                    repaired += 1
                else:
                    skipped += 1
        return diff.report(revision, repaired, skipped)

    async def _repair(self, batch: list[Repair]) -> bool:
        compare = [c for repair in batch for c in repair.compare]
        ops = [op for repair in batch for op in repair.ops]
        return (await self.kv.txn(compare, ops)).succeeded

    # --- mirror -------------------------------------------------------------------------------

    def mirror(self, **options: Any) -> AsyncRepositoryMirror[R]:
        """A local copy of the records (an ``AsyncMirror`` of the prefix, which ``options``
        go to) that answers ``get``/``find`` from memory with this repository's indexes.
        ``async with repo.mirror() as m:`` starts it and waits until it is synced."""
        return AsyncRepositoryMirror(self, options)


class AsyncRepositoryMirror(Generic[R]):
    """A repository's records kept locally by an ``AsyncMirror`` (``mirror``), with one mirror
    index per index and unique field; ``get``, ``find`` and ``find_one`` answer from it with
    no I/O, at the mirror's ``revision``."""

    def __init__(self, repository: AsyncRepository[R], options: dict[str, Any]) -> None:
        self.schema = repository.schema
        source = repository.map
        self.mirror: AsyncMirror[R] = AsyncMirror(
            watch_kv_of(repository.kv, "a repository mirror"), source.keyspace.prefix,
            codec=source.codec, **options,
        )  # fmt: skip
        for spec in self.schema.by_name.values():
            self.mirror.add_index(spec.name, _index_function(spec))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.mirror!r})"

    async def __aenter__(self) -> AsyncRepositoryMirror[R]:
        await self.mirror.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the mirror (``AsyncMirror.aclose``)."""
        await self.mirror.aclose()

    @property
    def revision(self) -> int:
        """The server revision the local copy equals."""
        return self.mirror.revision

    def get(self, key: str) -> R:
        """The record ``key`` in the local copy (``KeyError`` if absent); no I/O.
        ``MirrorDegradedError`` as for the mirror's ``m[key]``."""
        return self.mirror[key]

    def find(self, **equals: Any) -> list[R]:
        """The records ``AsyncRepository.find(**equals)`` finds, from the local copy at one
        revision, in key order; no I/O. ``MirrorDegradedError`` as for ``get``."""
        wanted = self.schema.lookup(equals)
        mirror = self.mirror
        with mirror._guard:  # every lookup on one copy: no batch applied in between
            data = mirror._copy()
            keys: set[str] | None = None
            for spec, encoded in wanted:
                found = mirror._store.lookup(spec.name, encoded)
                keys = set(found) if keys is None else keys.intersection(found)
            return [data[key] for key in sorted(keys or ())]

    def find_one(self, **equals: Any) -> R | None:
        """The first record (in key order) ``find(**equals)`` finds, or None; no I/O."""
        found = self.find(**equals)
        return found[0] if found else None


def _index_function(spec: FieldSpec) -> Callable[[str, Any], tuple[bytes, ...]]:
    def values(key: str, record: Any) -> tuple[bytes, ...]:
        return spec.values(record)

    return values
