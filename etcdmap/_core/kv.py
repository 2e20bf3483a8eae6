"""KV requests and responses: builders for Range/Put/DeleteRange/Txn/Compaction, the ``Compare``
and ``Op`` values of transactions, and the parsers that turn responses into typed results."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypedDict

import msgspec

from .._pb import etcdserverpb
from .checks import check_count, check_lease_id, check_revision
from .keys import ALL_KEYS, prefix_range, to_bytes
from .results import (
    CompactResponse,
    DeleteResponse,
    GetResponse,
    OpResponse,
    PutResponse,
    ResponseHeader,
    TxnResponse,
)

if TYPE_CHECKING:
    from typing_extensions import TypeVar, Unpack

__all__ = [
    "Compare",
    "CompareRange",
    "DeleteOptions",
    "DeleteRangeOptions",
    "KeyRange",
    "LeaseLike",
    "Op",
    "PagePlan",
    "PutOptions",
    "RangeOptions",
    "ReadOptions",
    "SortOrder",
    "SortTarget",
    "check_page_size",
    "compact_request",
    "compare_size",
    "delete_request",
    "parse_compact",
    "parse_delete",
    "parse_get",
    "parse_put",
    "parse_txn",
    "put_request",
    "range_request",
    "resolve_range",
    "txn_request",
]

SortOrder = Literal["none", "ascend", "descend"]
SortTarget = Literal["key", "version", "create", "mod", "value"]
_SORT_ORDERS = {"none": 0, "ascend": 1, "descend": 2}
_SORT_TARGETS = {"key": 0, "version": 1, "create": 2, "mod": 3, "value": 4}

RangeRequest = etcdserverpb.RangeRequest
PutRequest = etcdserverpb.PutRequest
DeleteRangeRequest = etcdserverpb.DeleteRangeRequest
TxnRequest = etcdserverpb.TxnRequest
RequestOp = etcdserverpb.RequestOp
CompactionRequest = etcdserverpb.CompactionRequest
CompareMessage = etcdserverpb.Compare


class _HasLeaseId(Protocol):
    """Anything with an ``id`` attribute (a ``Lease``) may be passed where a lease id goes."""

    @property
    def id(self) -> int: ...


#: A lease id, or an object with an ``id`` (a ``Lease``); None or 0 means no lease.
LeaseLike = int | _HasLeaseId | None


def lease_id(lease: Any) -> int:
    """The numeric id of ``lease`` (an int or an object with ``id``); 0 for None (no lease).
    An id is 1 to 2**63 - 1 (etcd's int64, as the server grants them): ``ValueError``
    otherwise."""
    if lease is None:
        return 0
    ident = lease if isinstance(lease, int) else getattr(lease, "id", None)
    if isinstance(ident, bool) or not isinstance(ident, int):
        raise TypeError(f"lease must be an int lease id or a Lease, not {type(lease).__name__}")
    return check_lease_id(ident, zero=True)


def required_lease(lease: Any) -> int:
    """``lease_id(lease)`` for a call that needs a lease: ``ValueError`` for none (0/None)."""
    ident = lease_id(lease)
    if ident == 0:
        raise ValueError("a lease id (or Lease) is required, not 0/None")
    return ident


def resolve_range(
    key: bytes, range_end: bytes | str | None, prefix: bool, from_key: bool
) -> tuple[bytes, bytes]:
    """Resolve the key and range end of a ranged request as Go's WithPrefix/WithFromKey do."""
    if (range_end is not None) + prefix + from_key > 1:
        raise ValueError("give at most one of range_end, prefix and from_key")
    if prefix:
        return prefix_range(key)
    if from_key:
        return key or ALL_KEYS, ALL_KEYS
    if range_end is not None:
        return key, to_bytes(range_end, "range_end")
    return key, b""


class CompareRange(TypedDict, total=False):
    """Which keys a ``Compare`` checks besides ``key`` (at most one of the two)."""

    #: Address ``[key, range_end)``.
    range_end: bytes | str | None
    #: Address every key starting with ``key``.
    prefix: bool


class KeyRange(CompareRange, total=False):
    """Which keys a read or delete addresses besides ``key`` (at most one of the three)."""

    #: Address every key ``>= key``.
    from_key: bool


class ReadOptions(TypedDict, total=False):
    """The options of a Range besides the keys it reads (see ``AsyncKV.get``)."""

    limit: int
    revision: int
    sort_order: SortOrder
    sort_target: SortTarget
    serializable: bool
    keys_only: bool
    count_only: bool
    min_mod_revision: int
    max_mod_revision: int
    min_create_revision: int
    max_create_revision: int


class RangeOptions(KeyRange, ReadOptions, total=False):
    """Every option of a Range (``get``, ``Op.get``)."""


class PutOptions(TypedDict, total=False):
    """The options of a Put (``put``, ``Op.put``)."""

    lease: LeaseLike
    prev_kv: bool
    ignore_value: bool
    ignore_lease: bool


class DeleteOptions(TypedDict, total=False):
    """The options of a DeleteRange besides the keys it deletes."""

    prev_kv: bool


class DeleteRangeOptions(KeyRange, DeleteOptions, total=False):
    """Every option of a DeleteRange (``delete``, ``Op.delete``)."""


def _check_names(options: Mapping[str, object], known: frozenset[str]) -> None:
    """``TypeError`` naming the first option not in ``known`` (a misspelt keyword)."""
    unknown = options.keys() - known
    if unknown:
        raise TypeError(f"got an unexpected keyword argument {min(unknown)!r}")


_COMPARE_RANGE = frozenset(CompareRange.__optional_keys__)
_RANGE_OPTIONS = frozenset(RangeOptions.__optional_keys__)
_PUT_OPTIONS = frozenset(PutOptions.__optional_keys__)
_DELETE_OPTIONS = frozenset(DeleteRangeOptions.__optional_keys__)


def _key_range(request: Any, options: KeyRange) -> None:
    """Set the key and range end of ``request`` from the ``KeyRange`` options."""
    range_end = options.get("range_end")
    prefix = options.get("prefix", False)
    from_key = options.get("from_key", False)
    if range_end is not None or prefix or from_key:
        request.key, request.range_end = resolve_range(request.key, range_end, prefix, from_key)


def range_request(key: bytes | str, options: RangeOptions) -> Any:
    """Build an ``etcdserverpb.RangeRequest`` (only the non-default fields are set). The
    defaults of every option are here: absent, false, 0 or ``"none"``/``"key"``. (The
    options come as the dict the caller's ``**options`` made: no copy on the hot path.)"""
    request = RangeRequest(key=to_bytes(key))
    if not options:
        return request
    _check_names(options, _RANGE_OPTIONS)
    _key_range(request, options)
    if limit := options.get("limit", 0):
        request.limit = check_count(limit, "limit")
    if revision := options.get("revision", 0):
        request.revision = check_revision(revision)
    sort_order = options.get("sort_order", "none")
    sort_target = options.get("sort_target", "key")
    if sort_order != "none" or sort_target != "key":
        order = _choice(_SORT_ORDERS, sort_order, "sort_order")
        target = _choice(_SORT_TARGETS, sort_target, "sort_target")
        # etcd already returns keys in ascending key order; asking for that sort explicitly
        # would only make the server sort (and, with a limit, read) the whole range.
        if not (target == 0 and order == 1):
            request.sort_order = order
            request.sort_target = target
    for flag in ("serializable", "keys_only", "count_only"):
        if options.get(flag):
            setattr(request, flag, True)
    for bound in _REVISION_BOUNDS:
        if value := options.get(bound, 0):
            setattr(request, bound, check_revision(value, bound))
    return request


_REVISION_BOUNDS = (
    "min_mod_revision", "max_mod_revision", "min_create_revision", "max_create_revision"
)


def put_request(key: bytes | str, value: bytes | str, options: PutOptions) -> Any:
    """Build an ``etcdserverpb.PutRequest`` (defaults: no lease, every flag false)."""
    request = PutRequest(key=to_bytes(key), value=to_bytes(value, "value"))
    if not options:
        return request
    _check_names(options, _PUT_OPTIONS)
    if (lease := options.get("lease")) is not None:
        request.lease = lease_id(lease)
    for flag in ("prev_kv", "ignore_value", "ignore_lease"):
        if options.get(flag):
            setattr(request, flag, True)
    return request


def delete_request(key: bytes | str, options: DeleteRangeOptions) -> Any:
    """Build an ``etcdserverpb.DeleteRangeRequest`` (defaults: one key, no ``prev_kv``)."""
    request = DeleteRangeRequest(key=to_bytes(key))
    if not options:
        return request
    _check_names(options, _DELETE_OPTIONS)
    _key_range(request, options)
    if options.get("prev_kv"):
        request.prev_kv = True
    return request


def compact_request(revision: int, physical: bool = False) -> Any:
    """Build an ``etcdserverpb.CompactionRequest``."""
    return CompactionRequest(revision=check_revision(revision), physical=physical)


def txn_request(
    compare: Iterable[Compare], success: Iterable[Op], failure: Iterable[Op]
) -> Any:
    """Build an ``etcdserverpb.TxnRequest`` from comparisons and the two op lists."""
    return TxnRequest(
        compare=[_compare_message(c) for c in _checked(compare, Compare, "compare")],
        success=[op.request_op() for op in _checked(success, Op, "success")],
        failure=[op.request_op() for op in _checked(failure, Op, "failure")],
    )


def _checked(items: Iterable[Any], cls: type, what: str) -> list[Any]:
    listed = list(items)
    for item in listed:
        if not isinstance(item, cls):
            raise TypeError(f"{what} must hold {cls.__name__} objects, not {type(item).__name__}")
    return listed


def _choice(table: dict[str, int], name: str, what: str) -> int:
    try:
        return table[name]
    except KeyError:
        raise ValueError(f"{what} must be one of {', '.join(table)}; got {name!r}") from None


def check_page_size(page_size: int) -> int:
    """``page_size`` if it is a positive int (``TypeError`` / ``ValueError`` otherwise)."""
    return check_count(page_size, "page_size", minimum=1)


class PagePlan:
    """Where each page of a paged range read starts and ends (no I/O: the client asks
    ``window()``, reads it with ``limit=page_size``, and reports back with ``advance()``).

    etcd counts every key from a limited Range's start to its range end, so pages that all
    run to the end of an N-key range make the server visit about N²/(2·page_size) keys. Only
    the first page runs to the end, and its ``count`` says how many keys the range holds at
    the pinned revision. Each later page reads a window from the first unread key to an end
    chosen to hold about 1.5 pages of keys, by how the keys of the last two pages were
    spread (see ``KeyScale``), so the limit, not an estimate that fell short, ends nearly
    every page: counting a key costs the server far less than another request. The last
    page, once the rest fits, runs to the end. A window
    cut short by the limit continues from just after its last key, a window read whole from
    its end: the windows tile the range, so every key is read exactly once, in order,
    whatever the estimates. A poor one costs a short page or a larger count, never a key.
    """

    #: How much a window may grow after an empty one.
    MAX_GROWTH = 16
    #: How many keys of each page teach the scale.
    SAMPLE = 8

    def __init__(self, start: bytes, end: bytes, page_size: int) -> None:
        self.start = start
        self.end = end
        self.page_size = page_size
        self.window_end = end
        self.done = False
        shared = 0  # every key of the range starts with what its two ends share
        while shared < min(len(start), len(end)) and start[shared] == end[shared]:
            shared += 1
        self._scale = KeyScale(start[:shared] if end != ALL_KEYS else b"")
        self._left: int | None = None  # keys not read yet, once the first page counted them
        self._spans: list[tuple[bytes, bytes, int]] = []  # last two pages: from, to, keys between

    def window(self) -> tuple[bytes, bytes]:
        """The key and range end of the next page's read."""
        return self.start, self.window_end

    def advance(self, kvs: Sequence[Any], more: bool, count: int) -> None:
        """Record the page read from ``window()``: its keys, ``more`` and ``count``."""
        read = len(kvs)
        self._left = (count if self._left is None else self._left) - read
        if self._left <= 0 or not more and self.window_end == self.end:
            self.done = True
            return
        if read:  # the last key exactly (estimates count from it), a sample of the rest
            step = max(1, read // self.SAMPLE)
            self._scale.learn(bytes(kv.key) for kv in kvs[-1::-step])
        if more:  # cut short: the keys read say how dense the window is
            last = bytes(kvs[-1].key)
            span = bytes(kvs[0].key), last, read - 1
            self.start = last + b"\x00"
        else:  # read whole: so is the window, gaps included
            last = self.window_end
            span = self.start, last, read
            self.start = last
        self._spans = [*self._spans[-1:], span]
        if self._left <= self.page_size:
            end = self.end  # the rest fits one page
        else:
            end = self._estimate_end(last)
            if more and count - read > self.page_size:  # this window holds a page more
                end = min(end, self.window_end, key=_range_order)
        self.window_end = end

    def _estimate_end(self, last: bytes) -> bytes:
        """An end for the window after ``last`` expected to hold 1.5 pages of keys (at most
        ``MAX_GROWTH`` times the keys the last two pages spanned)."""
        scale = self._scale
        keys = sum(read for _, _, read in self._spans)
        spread = scale.number(self._spans[-1][1]) - scale.number(self._spans[0][0])
        wanted = min(self.page_size * 3 // 2, self.MAX_GROWTH * keys) if keys else self.MAX_GROWTH
        end = scale.key(scale.number(last) + max(1, spread * wanted // max(1, keys)))
        if end is None or end <= self.start or _range_order(end) >= _range_order(self.end):
            return self.end
        return end


def _range_order(range_end: bytes) -> tuple[bool, bytes]:
    """Sorts range ends, ``ALL_KEYS`` (no end) last."""
    return range_end == ALL_KEYS, range_end


class KeyScale:
    """Numbers for keys that grow about evenly with the count of keys between them.

    Keys all start with ``prefix`` (what the two ends of the range share); after it, each byte
    position counts in the base of the distinct bytes seen at it or at any later position in
    the keys read so far, plus one for the byte after the largest. So ``key-000123`` counts
    (about) in tens and a hex id in sixteens, where plain big-endian bytes would leap at every
    carry (``key-000999`` → ``key-001000``). Later positions cycle through their alphabet from
    key to key; sharing it with the earlier, slower ones lets an estimate carry into a byte
    not seen there yet. A byte not seen counts as the one below it.
    """

    def __init__(self, prefix: bytes = b"") -> None:
        self._prefix = prefix
        self._seen: list[set[int]] = []  # per position: the distinct bytes seen there
        self._alphabets: list[list[int]] = []  # per position: the sorted bytes it counts in

    def learn(self, keys: Iterable[bytes]) -> None:
        """Add the bytes of ``keys`` to those seen at each position."""
        seen, skip, grown = self._seen, len(self._prefix), False
        for key in keys:
            seen.extend(set() for _ in range(len(key) - skip - len(seen)))
            for position, byte in enumerate(key[skip:]):
                symbols = seen[position]
                if byte not in symbols:
                    symbols.add(byte)
                    grown = True
        if grown:
            alphabets, later = [], set()
            for symbols in reversed(seen):
                later |= symbols
                alphabets.append(sorted(later))
            alphabets.reverse()
            self._alphabets = alphabets

    def number(self, key: bytes) -> int:
        """The number of ``key``; a position the key does not reach counts as zero."""
        number, rest = 0, key[len(self._prefix) :]
        for position, symbols in enumerate(self._alphabets):
            rank = 0
            if position < len(rest):
                byte = rest[position]
                rank = bisect.bisect_right(symbols, byte)
                rank = rank - 1 + (byte > symbols[-1]) if rank else 0
            number = number * (len(symbols) + 1) + rank
        return number

    def key(self, number: int) -> bytes | None:
        """A key whose number is ``number``; ``None`` if it is beyond every key."""
        out = bytearray()
        for symbols in reversed(self._alphabets):
            number, rank = divmod(number, len(symbols) + 1)
            out.append(symbols[rank] if rank < len(symbols) else min(symbols[-1] + 1, 255))
        if number:
            return None
        out.reverse()
        return self._prefix + bytes(out)


# --- transactions -----------------------------------------------------------------------------

_COMPARE_OPS = {"==": 0, ">": 1, "<": 2, "!=": 3}
CompareOp = Literal["==", "!=", "<", ">"]
CompareTarget = Literal["version", "create_revision", "mod_revision", "value", "lease"]
_COMPARE_TARGETS = {"version": 0, "create_revision": 1, "mod_revision": 2, "value": 3, "lease": 4}


class Compare(msgspec.Struct, frozen=True):
    """One condition of a transaction, checked by the server against the current revision.

    Build it with a constructor per target, e.g. ``Compare.value("k", "==", b"v")`` or
    ``Compare.mod_revision("k", "<", 42)``; ``op`` is one of ``"==", "!=", "<", ">"``. Over a
    range (``range_end=``) or a prefix (``prefix=True``) the condition must hold for every key
    in it. A missing key has version, create and mod revision 0 and no value.
    """

    target: CompareTarget
    key: bytes
    op: CompareOp
    operand: bytes | int
    range_end: bytes = b""

    @classmethod
    def value(
        cls, key: bytes | str, op: CompareOp, value: bytes | str, **where: Unpack[CompareRange]
    ) -> Compare:
        """Compare the stored value (bytes, compared lexically)."""
        return cls._make("value", key, op, to_bytes(value, "value"), where)

    @classmethod
    def version(
        cls, key: bytes | str, op: CompareOp, version: int, **where: Unpack[CompareRange]
    ) -> Compare:
        """Compare the key's version (0 when the key does not exist)."""
        return cls._make("version", key, op, version, where)

    @classmethod
    def create_revision(
        cls, key: bytes | str, op: CompareOp, revision: int, **where: Unpack[CompareRange]
    ) -> Compare:
        """Compare the revision at which the key was created (0 when it does not exist)."""
        return cls._make("create_revision", key, op, revision, where)

    @classmethod
    def mod_revision(
        cls, key: bytes | str, op: CompareOp, revision: int, **where: Unpack[CompareRange]
    ) -> Compare:
        """Compare the revision of the key's last modification (0 when it does not exist)."""
        return cls._make("mod_revision", key, op, revision, where)

    @classmethod
    def lease(
        cls, key: bytes | str, op: CompareOp, lease: LeaseLike, **where: Unpack[CompareRange]
    ) -> Compare:
        """Compare the id of the key's lease (0 for no lease)."""
        return cls._make("lease", key, op, lease_id(lease), where)

    @classmethod
    def _make(
        cls,
        target: CompareTarget,
        key: bytes | str,
        op: str,
        operand: bytes | int,
        where: CompareRange,
    ) -> Compare:
        if op not in _COMPARE_OPS:
            raise ValueError(f"compare op must be one of ==, !=, <, >; got {op!r}")
        if target != "value":
            if not isinstance(operand, int) or isinstance(operand, bool):
                raise TypeError(f"{target} comparison needs an int, not {type(operand).__name__}")
            check_count(operand, f"{target} comparison value")
        key_bytes, end = to_bytes(key), b""
        if where:
            _check_names(where, _COMPARE_RANGE)
            key_bytes, end = resolve_range(
                key_bytes, where.get("range_end"), where.get("prefix", False), False
            )
        return cls(target, key_bytes, op, operand, end)  # type: ignore[arg-type]


def compare_size(compare: Compare) -> int:
    """The bytes ``compare`` adds to a TxnRequest: its encoded Compare with tag and length."""
    size: int = _compare_message(compare).ByteSize()
    return 1 + max(1, (size.bit_length() + 6) // 7) + size


def _compare_message(compare: Compare) -> Any:
    message = CompareMessage(
        result=_COMPARE_OPS[compare.op],
        target=_COMPARE_TARGETS[compare.target],
        key=compare.key,
        **{compare.target: compare.operand},
    )
    if compare.range_end:
        message.range_end = compare.range_end
    return message


if TYPE_CHECKING:
    #: What running an ``Op`` returns (``GetResponse`` for ``Op.get``...); a bare ``Op`` is
    #: one that may go inside a transaction.
    Response = TypeVar("Response", covariant=True, default=OpResponse)
else:  # typing_extensions is no dependency; Python 3.10's TypeVar has no default
    from typing import TypeVar

    Response = TypeVar("Response", covariant=True)
OpKind = Literal["get", "put", "delete", "txn", "compact"]


class Op(msgspec.Struct, Generic[Response], eq=False):
    """One KV operation: ``Op.get``, ``Op.put``, ``Op.delete``, ``Op.txn`` or ``Op.compact``.

    A KV runs it with ``do(op)`` (which returns the op's typed response); the first four also
    go inside transactions. Each takes the same options as the KV method of the same name and
    builds its request at once, so a bad argument is reported where the op is made. (A Struct:
    built in C, as every get and put builds one; compared by identity.)
    """

    #: What the op does.
    kind: OpKind
    #: Its ``etcdserverpb`` request message.
    request: Any

    def __repr__(self) -> str:
        return f"Op.{self.kind}({self.request!r})".replace("\n", " ")

    @staticmethod
    def get(key: bytes | str, **options: Unpack[RangeOptions]) -> Op[GetResponse]:
        """A Range (in a transaction: read at the transaction's revision)."""
        return Op("get", range_request(key, options))

    @staticmethod
    def put(
        key: bytes | str, value: bytes | str, **options: Unpack[PutOptions]
    ) -> Op[PutResponse]:
        """A Put."""
        return Op("put", put_request(key, value, options))

    @staticmethod
    def delete(key: bytes | str, **options: Unpack[DeleteRangeOptions]) -> Op[DeleteResponse]:
        """A DeleteRange."""
        return Op("delete", delete_request(key, options))

    @staticmethod
    def txn(
        compare: Sequence[Compare] = (),
        success: Sequence[Op] = (),
        failure: Sequence[Op] = (),
    ) -> Op[TxnResponse]:
        """A transaction (nested in another: etcd ≥ 3.3)."""
        return Op("txn", txn_request(compare, success, failure))

    @staticmethod
    def compact(revision: int, *, physical: bool = False) -> Op[CompactResponse]:
        """A Compaction; it cannot go inside a transaction (``ValueError`` there)."""
        return Op("compact", compact_request(revision, physical))

    def request_op(self) -> Any:
        """This op as an ``etcdserverpb.RequestOp`` (an op inside a transaction)."""
        if self.kind == "get":
            return RequestOp(request_range=self.request)
        if self.kind == "put":
            return RequestOp(request_put=self.request)
        if self.kind == "delete":
            return RequestOp(request_delete_range=self.request)
        if self.kind == "compact":
            raise ValueError("Op.compact cannot run inside a transaction")
        return RequestOp(request_txn=self.request)


class CompactRevisionSearch:
    """Find the store's compaction point by bisection, when a read hit ``CompactedError``.

    etcd does not say where it compacted in a Range error, but a read at revision ``r``
    succeeds exactly when ``r`` is at or after that point. Starting from a revision known to
    be compacted and one known to be readable (the current revision), each ``probe()`` is a
    revision to try; ``record()`` its outcome; when ``done``, ``result`` is the compaction
    point. About log2(current revision) cheap count-only reads, on the error path only.
    """

    def __init__(self, compacted: int, readable: int) -> None:
        self.compacted = compacted
        self.readable = readable

    @property
    def done(self) -> bool:
        """Whether the bounds have met."""
        return self.readable - self.compacted <= 1

    @property
    def result(self) -> int:
        """The oldest readable revision found (the compaction point when ``done``)."""
        return self.readable

    def probe(self) -> int:
        """The next revision to try reading."""
        return (self.compacted + self.readable) // 2

    def record(self, revision: int, readable: bool) -> None:
        """Narrow the bounds with the outcome of reading at ``revision``."""
        if readable:
            self.readable = min(self.readable, revision)
        else:
            self.compacted = max(self.compacted, revision)


def probe_request(revision: int) -> Any:
    """The cheapest Range at ``revision``: count-only on one key that needs no data."""
    return RangeRequest(key=b"\x00", revision=revision, count_only=True)


# --- responses --------------------------------------------------------------------------------


def parse_header(header: Any) -> ResponseHeader:
    """``etcdserverpb.ResponseHeader`` -> ResponseHeader."""
    return ResponseHeader(header.cluster_id, header.member_id, header.revision, header.raft_term)


def parse_get(response: Any) -> GetResponse:
    """``RangeResponse`` -> GetResponse."""
    # The keys stay in the decoded message: no per-key copy (see results.KeyValue).
    return GetResponse(parse_header(response.header), response.kvs, response.count, response.more)


def parse_put(response: Any) -> PutResponse:
    """``PutResponse`` -> PutResponse."""
    prev = response.prev_kv if response.HasField("prev_kv") else None
    return PutResponse(parse_header(response.header), prev)


def parse_delete(response: Any) -> DeleteResponse:
    """``DeleteRangeResponse`` -> DeleteResponse."""
    return DeleteResponse(
        parse_header(response.header),
        response.deleted,
        response.prev_kvs,
    )


def parse_compact(response: Any) -> CompactResponse:
    """``CompactionResponse`` -> CompactResponse."""
    return CompactResponse(parse_header(response.header))


def parse_txn(response: Any) -> TxnResponse:
    """``TxnResponse`` -> TxnResponse, with one typed result per ``ResponseOp``."""
    return TxnResponse(
        parse_header(response.header),
        response.succeeded,
        [_parse_response_op(op) for op in response.responses],
    )


def _parse_response_op(op: Any) -> OpResponse:
    kind = op.WhichOneof("response")
    if kind == "response_range":
        return parse_get(op.response_range)
    if kind == "response_put":
        return parse_put(op.response_put)
    if kind == "response_delete_range":
        return parse_delete(op.response_delete_range)
    return parse_txn(op.response_txn)
