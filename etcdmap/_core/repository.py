"""Sans-IO parts of ``Repository``: the schema of a model (key field, indexes, unique fields),
the storage layout with its escaped key encoding, the Txn of a save or delete computed from the
stored and the new record, and the diff ``check``/``reindex`` find between records and index.

Storage, for a repository at ``prefix`` (which ends with ``/``), ``root`` being the prefix
without it::

    <prefix><key>                                 the record (the codec's bytes)
    <root>.index/<name>/<encoded value>/<key>     one index entry per value (empty)
    <root>.unique/<name>/<encoded value>          a unique claim, holding the owner's key

The index and claims live beside the records' prefix, not under it, so the records' prefix
holds records only (a map or a mirror of it sees nothing else). A value is encoded as a type
tag and its text: ``s:`` str, ``i:`` int, ``b:true``/``b:false`` bool, ``f:`` float
(``repr``), ``x:`` bytes; the text's bytes ``%``, ``/`` and controls (below 0x20, 0x7f) are
written ``%XX``, so an encoded value never holds ``/`` and decodes back exactly.
"""

from __future__ import annotations

import enum
import math
import re
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import msgspec

from .bulk import TxnLimits, op_size
from .errors import ConflictError, UniqueViolationError
from .keys import prefix_range, to_bytes
from .kv import Compare, Op, compare_size
from .results import GetResponse, KeyValue, TxnResponse

__all__ = [
    "ABSENT",
    "Derived",
    "Diff",
    "FieldSpec",
    "Layout",
    "Repair",
    "RepositoryCheck",
    "Schema",
    "Stored",
    "Write",
    "decode_value",
    "encode_value",
    "model_fields",
    "plan_groups",
]

SEP = b"/"
_UNSAFE = re.compile(b"[%/\x00-\x1f\x7f]")


def _escape(data: bytes) -> bytes:
    if _UNSAFE.search(data) is None:
        return data
    return _UNSAFE.sub(lambda match: b"%%%02X" % match[0][0], data)


def _unescape(text: bytes) -> bytes:
    parts = text.split(b"%")
    out = bytearray(parts[0])
    for part in parts[1:]:
        if len(part) < 2:
            raise ValueError(f"bad escape in {text!r}")
        out.append(int(part[:2], 16))
        out += part[2:]
    return bytes(out)


def encode_value(value: Any, what: str = "value") -> bytes:
    """The index encoding of ``value`` (see the module docstring): ``TypeError`` naming
    ``what`` for a type that has none (anything but str, int, bool, float, bytes, or an
    ``Enum`` of them, encoded as its value), ``ValueError`` for a NaN or a str that is not
    valid Unicode (lone surrogates)."""
    if type(value) is str:  # the common case first
        try:
            return b"s:" + _escape(value.encode("utf-8"))
        except UnicodeEncodeError:
            raise ValueError(f"{what} {value!r} is not valid Unicode") from None
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, bool):
        return b"b:true" if value else b"b:false"
    if isinstance(value, int):
        return b"i:%d" % value
    if isinstance(value, str):
        return encode_value(str(value), what)
    if isinstance(value, float):
        if math.isnan(value):
            raise ValueError(f"{what} is NaN, which equals nothing: it cannot be indexed")
        return b"f:" + repr(value + 0.0).encode()  # + 0.0: -0.0 == 0.0, one encoding
    if isinstance(value, (bytes, bytearray, memoryview)):
        return b"x:" + _escape(bytes(value))
    raise TypeError(
        f"{what} must be str, int, bool, float, bytes or an Enum of them to be indexed, "
        f"not {type(value).__name__}"
    )


def decode_value(encoded: bytes) -> str | int | bool | float | bytes:
    """The value ``encode_value`` encoded as ``encoded`` (``ValueError`` if it is none)."""
    tag, sep, text = encoded.partition(b":")
    if sep and tag == b"s":
        return _unescape(text).decode("utf-8")
    if sep and tag == b"x":
        return _unescape(text)
    if sep and tag == b"i":
        return int(text)
    if sep and tag == b"f":
        return float(text)
    if encoded in (b"b:true", b"b:false"):
        return encoded == b"b:true"
    raise ValueError(f"not an encoded index value: {encoded!r}")


def _values(result: Any, what: str) -> tuple[bytes, ...]:
    """The encoded values of an index function's or field's result: none for None, one for
    a scalar, each item of any other iterable (sorted, without repeats)."""
    if result is None:
        return ()
    if type(result) is str:
        return (encode_value(result, what),)
    if isinstance(result, (str, bytes, bytearray, int, float, enum.Enum)):
        return (encode_value(result, what),)
    if not isinstance(result, (list, tuple, set, frozenset)) and not isinstance(result, Iterable):
        encode_value(result, what)  # raises the TypeError naming the type
    encoded = {encode_value(item, what) for item in result if item is not None}
    return tuple(sorted(encoded)) if len(encoded) > 1 else tuple(encoded)


def _encodes(text: str, errors: str) -> bool:
    try:
        text.encode("utf-8", errors)
    except UnicodeEncodeError:
        return False
    return True


def _attribute(record: Any, name: str) -> Any:
    if isinstance(record, Mapping):  # a TypedDict record
        return record.get(name)
    return getattr(record, name, None)


def model_fields(model: Any) -> frozenset[str] | None:
    """The field names of ``model`` (a msgspec Struct, dataclass, attrs class, TypedDict or
    pydantic model); None when its fields cannot be told (then fields are not checked)."""
    try:
        info = msgspec.inspect.type_info(model)
    except Exception:  # a type msgspec cannot describe
        info = None
    fields = getattr(info, "fields", None)
    if fields is not None:
        return frozenset(field.name for field in fields)
    pydantic_fields = getattr(model, "model_fields", None)
    if isinstance(pydantic_fields, Mapping):
        return frozenset(pydantic_fields)
    try:
        return frozenset(typing.get_type_hints(model)) or None
    except Exception:  # not a class with annotations
        return None


class FieldSpec:
    """One index or unique field: its ``name`` and how a record gives its values (the field
    of that name, or ``fn(record)``)."""

    __slots__ = ("fn", "name", "what")

    def __init__(self, name: str, fn: Callable[[Any], Any] | None) -> None:
        self.name = name
        self.fn = fn
        self.what = f"field {name!r}"

    def __repr__(self) -> str:
        return f"FieldSpec({self.name!r}{', fn' if self.fn else ''})"

    def values(self, record: Any) -> tuple[bytes, ...]:
        """The encoded values ``record`` has for this field (sorted, no repeats)."""
        raw = _attribute(record, self.name) if self.fn is None else self.fn(record)
        return _values(raw, self.what)


def _specs(
    items: Iterable[str | tuple[str, Callable[[Any], Any]]],
    fields: frozenset[str] | None,
    what: str,
) -> list[FieldSpec]:
    if isinstance(items, (str, bytes)):
        raise TypeError(f"{what} must be a sequence of field names, not one str")
    specs = []
    for item in items:
        if isinstance(item, str):
            name, fn = item, None
            if fields is not None and name not in fields:
                raise ValueError(f"{what}: the model has no field {name!r}")
        elif (
            isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
            and callable(item[1])
        ):
            name, fn = item
        else:
            raise TypeError(f"{what} holds field names or (name, function) pairs, not {item!r}")
        if not name or "/" in name or "%" in name or not _encodes(name, "strict"):
            raise ValueError(
                f"{what}: name {name!r} must be non-empty valid Unicode without '/' or '%'"
            )
        specs.append(FieldSpec(name, fn))
    return specs


class Derived(msgspec.Struct, frozen=True):
    """What a record keeps in the index: for each index and each unique field (by name), its
    encoded values."""

    index: dict[str, tuple[bytes, ...]]
    unique: dict[str, tuple[bytes, ...]]


class Stored(msgspec.Struct, frozen=True):
    """What is known of a record on the server: its ``mod_revision`` (0: absent) and what it
    keeps in the index (None: absent, or it does not decode)."""

    revision: int
    derived: Derived | None


ABSENT = Stored(0, None)


class Layout:
    """The keys of a repository at ``prefix`` (see the module docstring); no I/O."""

    __slots__ = ("index", "prefix", "unique")

    def __init__(self, prefix: bytes | str) -> None:
        self.prefix = to_bytes(prefix, "prefix")
        if not self.prefix.endswith(SEP) or self.prefix == SEP:
            raise ValueError(f"prefix must end with '/' and hold more, not {self.prefix!r}")
        root = self.prefix[:-1]
        self.index = root + b".index/"
        self.unique = root + b".unique/"

    def record(self, key: str) -> bytes:
        """The record's etcd key."""
        return self.prefix + key.encode("utf-8", "surrogateescape")

    def index_key(self, name: str, encoded: bytes, key: str) -> bytes:
        """The index entry saying ``key`` has ``encoded`` in index ``name``."""
        return b"%s%s/%s/%s" % (
            self.index, name.encode(), encoded, key.encode("utf-8", "surrogateescape")
        )

    def index_range(self, name: str, encoded: bytes | None = None) -> tuple[bytes, bytes]:
        """The range of the entries of index ``name`` (with value ``encoded``, if given)."""
        tail = b"" if encoded is None else encoded + SEP
        return prefix_range(self.index + name.encode() + SEP + tail)

    def claim(self, name: str, encoded: bytes) -> bytes:
        """The claim key of value ``encoded`` of unique field ``name``."""
        return self.unique + name.encode() + SEP + encoded

    def parse_index(self, full: bytes) -> tuple[str, bytes, str]:
        """``(name, encoded value, record key)`` of an index entry's key (``ValueError`` for
        a key that is none)."""
        parts = full[len(self.index):].split(SEP)
        if not full.startswith(self.index) or len(parts) != 3 or not all(parts):
            raise ValueError(f"not an index entry: {full!r}")
        return parts[0].decode(), parts[1], parts[2].decode("utf-8", "surrogateescape")

    def parse_claim(self, full: bytes) -> tuple[str, bytes]:
        """``(name, encoded value)`` of a claim key (``ValueError`` for a key that is none)."""
        parts = full[len(self.unique):].split(SEP)
        if not full.startswith(self.unique) or len(parts) != 2 or not all(parts):
            raise ValueError(f"not a unique claim: {full!r}")
        return parts[0].decode(), parts[1]


class Schema:
    """A model's key field, indexes and unique fields, checked when built."""

    def __init__(
        self,
        model: Any,
        key: str,
        indexes: Iterable[str | tuple[str, Callable[[Any], Any]]],
        unique: Iterable[str | tuple[str, Callable[[Any], Any]]],
    ) -> None:
        if not isinstance(key, str) or not key:
            raise TypeError(f"key must be the name of the model's key field, not {key!r}")
        fields = model_fields(model)
        if fields is not None and key not in fields:
            raise ValueError(f"key: the model {_name(model)} has no field {key!r}")
        self.model = model
        self.key = key
        self.indexes = _specs(indexes, fields, "indexes")
        self.unique = _specs(unique, fields, "unique")
        names = [spec.name for spec in self.indexes + self.unique]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"{name!r} is both an index and a unique field (or given twice)")
        self.by_name = {spec.name: spec for spec in self.indexes + self.unique}

    def check_key(self, key: Any, what: str = "key") -> str:
        """``key`` as the text of a record key: a non-empty str (or an int, as its decimal)
        without ``/`` (``TypeError`` / ``ValueError`` naming ``what`` otherwise)."""
        if isinstance(key, int) and not isinstance(key, bool):
            key = str(key)
        if not isinstance(key, str):
            raise TypeError(f"{what} must be a str (or int), not {type(key).__name__}")
        if not key or "/" in key or not _encodes(key, "surrogateescape"):
            raise ValueError(f"{what} must be non-empty valid Unicode without '/': {key!r}")
        return key

    def key_of(self, record: Any) -> str:
        """The key of ``record`` (from its key field), checked."""
        return self.check_key(_attribute(record, self.key), f"key field {self.key!r}")

    def derive(self, record: Any) -> Derived:
        """What ``record`` keeps in the index (``TypeError``/``ValueError`` for a value that
        does not encode)."""
        return Derived(
            {spec.name: spec.values(record) for spec in self.indexes},
            {spec.name: spec.values(record) for spec in self.unique},
        )

    def spec(self, name: str) -> FieldSpec:
        """The index or unique field ``name``: ``ValueError`` naming it if there is none."""
        try:
            return self.by_name[name]
        except KeyError:
            known = ", ".join(self.by_name) or "none"
            raise ValueError(
                f"{name!r} is not an indexed or unique field (those are: {known})"
            ) from None

    def lookup(self, equals: Mapping[str, Any]) -> list[tuple[FieldSpec, bytes]]:
        """The fields and encoded values of ``find(**equals)``, checked."""
        if not equals:
            raise ValueError("find needs at least one field=value (iterate for every record)")
        return [(self.spec(name), encode_value(value, name)) for name, value in equals.items()]

    def matches(self, derived: Derived, wanted: Sequence[tuple[FieldSpec, bytes]]) -> bool:
        """Whether a record keeping ``derived`` has every wanted value."""
        for spec, encoded in wanted:
            values = derived.index.get(spec.name) or derived.unique.get(spec.name, ())
            if encoded not in values:
                return False
        return True

    def entries(self, layout: Layout, key: str, derived: Derived | None) -> set[bytes]:
        """The index entries a record keeping ``derived`` has."""
        if derived is None:
            return set()
        return {
            layout.index_key(name, value, key)
            for name, values in derived.index.items()
            for value in values
        }

    def claims(
        self, layout: Layout, derived: Derived | None
    ) -> dict[bytes, tuple[str, bytes]]:
        """The claim keys of a record keeping ``derived``, with field name and value."""
        if derived is None:
            return {}
        return {
            layout.claim(name, value): (name, value)
            for name, values in derived.unique.items()
            for value in values
        }


def _name(model: Any) -> str:
    return getattr(model, "__name__", repr(model))


def _holder(response: Any) -> bytes | None:
    kvs = response.kvs
    return bytes(kvs[0].value) if kvs else None


class Write:
    """One save (``data`` and ``new`` given) or delete (both None) of the record ``key``, as
    Txns: ``request()`` gives the next one, ``failed(response)`` learns from a failed one
    (raising when the failure is final) and ``request()`` then gives the retry.

    Every Txn compares the record's ``mod_revision`` with the one the plan was computed from
    (so the index entries it adds and removes are exactly the changed ones), claims each new
    unique value with a compare that the claim is absent, checks each kept one is still the
    record's, and frees the old ones it holds. Its failure branch reads the record and every
    claim it touched, so a failure tells why: the record changed (computed again from the
    record read: a harmless race, unless ``expect_revision`` was given: ``ConflictError``),
    or a claim is another record's (``UniqueViolationError``).
    """

    def __init__(
        self,
        schema: Schema,
        layout: Layout,
        key: str,
        data: bytes | None,
        new: Derived | None,
        stored: Stored,
        *,
        expect_revision: int | None,
        decode: Callable[[KeyValue], Derived | None],
    ) -> None:
        self.schema = schema
        self.layout = layout
        self.key = key
        self.data = data
        self.new = new
        self.full = layout.record(key)
        self.owner = key.encode("utf-8", "surrogateescape")
        self.expect_revision = expect_revision
        self.decode = decode
        self.stored = stored
        self.holders: dict[bytes, bytes | None] = {}  # what is known of the claims touched
        self._check_expected()

    def _check_expected(self) -> None:
        expected, revision = self.expect_revision, self.stored.revision
        if expected is not None and revision != expected:
            raise ConflictError(
                f"record {self.key!r} is at revision {revision}, not the expected {expected}",
                key=self.key, revision=revision,
            )  # fmt: skip
        if self.new is None and not revision:
            raise KeyError(self.key)

    def _claims(self) -> tuple[dict[bytes, tuple[str, bytes]], dict[bytes, tuple[str, bytes]]]:
        """The claims wanted by the new record, and the claims held for the stored one."""
        layout, schema = self.layout, self.schema
        return schema.claims(layout, self.new), schema.claims(layout, self.stored.derived)

    def _holder_of(self, claim: bytes, held: Mapping[bytes, Any]) -> bytes | None:
        if claim in self.holders:
            return self.holders[claim]
        return self.owner if claim in held else None  # kept with the record: ours

    def request(self) -> tuple[list[Compare], list[Op], list[Op]]:
        """``(compare, success, failure)`` of the next Txn."""
        layout, schema, key = self.layout, self.schema, self.key
        wanted, held = self._claims()
        compare = [Compare.mod_revision(self.full, "==", self.stored.revision)]
        success: list[Op] = []
        failure: list[Op] = [Op.get(self.full)]
        if self.data is not None:
            success.append(Op.put(self.full, self.data))
        else:
            success.append(Op.delete(self.full))
        old_entries = schema.entries(layout, key, self.stored.derived)
        new_entries = schema.entries(layout, key, self.new)
        success += [Op.put(entry, b"") for entry in sorted(new_entries - old_entries)]
        success += [Op.delete(entry) for entry in sorted(old_entries - new_entries)]
        for claim in sorted(wanted.keys() | held.keys()):
            holder = self._holder_of(claim, held)
            failure.append(Op.get(claim))
            if claim in wanted:
                if holder is None:
                    compare.append(Compare.create_revision(claim, "==", 0))
                    success.append(Op.put(claim, self.owner))
                else:  # ours (any other holder raised in failed())
                    compare.append(Compare.value(claim, "==", self.owner))
            elif holder == self.owner:  # freed: delete it while it is still ours
                compare.append(Compare.value(claim, "==", self.owner))
                success.append(Op.delete(claim))
        return compare, success, failure

    def failed(self, response: TxnResponse) -> None:
        """Learn why the Txn of ``request()`` failed from its failure reads: raise
        ``ConflictError`` (the record changed and ``expect_revision`` was given),
        ``UniqueViolationError`` (a wanted claim is another record's) or ``KeyError`` (a
        delete whose record is gone); else the next ``request()`` is the retry."""
        reads = response.responses
        record = reads[0]
        assert isinstance(record, GetResponse)
        kvs = record.kvs
        revision = kvs[0].mod_revision if kvs else 0
        if revision != self.stored.revision:
            self.stored = Stored(revision, self.decode(kvs[0]) if kvs else None)
            self.holders.clear()  # the claims touched change with the record
            self._check_expected()
            return
        wanted, held = self._claims()
        for claim, read in zip(sorted(wanted.keys() | held.keys()), reads[1:], strict=True):
            holder = _holder(read)
            self.holders[claim] = holder
            if claim in wanted and holder not in (None, self.owner):
                name, encoded = wanted[claim]
                owner = holder.decode("utf-8", "surrogateescape")
                value = decode_value(encoded)
                raise UniqueViolationError(
                    f"record {self.key!r}: {name}={value!r} is taken by record {owner!r}; "
                    "nothing was written",
                    field=name, value=value, holder=owner, key=self.key,
                    revision=self.stored.revision,
                )  # fmt: skip


# --- check and reindex -------------------------------------------------------------------------


class Repair(msgspec.Struct, frozen=True):
    """The fix of one record's index and claims: the ops, and the compares that keep them
    right (every key touched, and the record, as they were at the check's revision)."""

    compare: list[Compare]
    ops: list[Op]


class RepositoryCheck(msgspec.Struct, frozen=True):
    """What ``check()`` (or ``reindex()``) found at ``revision``: the index entries and
    claims missing or stale (keys as text), unique values held by several records
    (``clashes``: field, value and the keys; a reindex cannot choose, it leaves them) and
    records that do not decode (their index is left alone). ``clean`` when nothing is
    missing, stale or clashing. ``repaired``: the record repairs a ``reindex`` applied;
    ``skipped``: those that lost a race with a concurrent write (run it again)."""

    revision: int
    records: int
    missing_entries: list[str]
    stale_entries: list[str]
    missing_claims: list[str]
    stale_claims: list[str]
    clashes: list[tuple[str, Any, list[str]]]
    undecodable: list[str]
    repaired: int = 0
    skipped: int = 0

    @property
    def clean(self) -> bool:
        """Whether the index and claims match the records exactly."""
        return not (
            self.missing_entries or self.stale_entries or self.missing_claims
            or self.stale_claims or self.clashes
        )


def _text(key: bytes) -> str:
    return key.decode("utf-8", "backslashreplace")


class Diff:
    """The index and claims a set of records (at one revision) should have against what the
    server has: fed with the three ranges' keys, then ``repairs()`` / ``report()``."""

    def __init__(self, schema: Schema, layout: Layout) -> None:
        self.schema = schema
        self.layout = layout
        self.records: dict[str, tuple[int, Derived | None]] = {}
        self.entries: dict[bytes, int] = {}  # index entry -> mod_revision
        self.claims: dict[bytes, tuple[bytes, int]] = {}  # claim -> (holder, mod_revision)
        #: Each claim the records want, with the keys of the records that want it.
        self.owners: dict[bytes, list[str]] = {}

    def add_record(self, key: str, revision: int, derived: Derived | None) -> None:
        self.records[key] = (revision, derived)

    def add_entries(self, kvs: Iterable[KeyValue]) -> None:
        for kv in kvs:
            self.entries[bytes(kv.key)] = kv.mod_revision

    def add_claims(self, kvs: Iterable[KeyValue]) -> None:
        for kv in kvs:
            self.claims[bytes(kv.key)] = (bytes(kv.value), kv.mod_revision)

    def _owners(self) -> dict[bytes, list[str]]:
        """Each claim the records want, with the keys of the records that want it."""
        owners: dict[bytes, list[str]] = {}
        for key, (_, derived) in self.records.items():
            for claim in self.schema.claims(self.layout, derived):
                owners.setdefault(claim, []).append(key)
        return owners

    def _record_of_entry(self, entry: bytes) -> str | None:
        try:
            return self.layout.parse_index(entry)[2]
        except ValueError:
            return None  # not an entry this layout writes: left to the user

    def _fixes(self) -> dict[str, list[tuple[bytes, bytes | None]]]:
        """By record key: the writes (key, value) and deletes (key, None) that fix it."""
        schema, layout = self.schema, self.layout
        fixes: dict[str, list[tuple[bytes, bytes | None]]] = {}
        wanted: set[bytes] = set()
        for key, (_, derived) in self.records.items():
            if derived is None:  # does not decode: its entries are unknown, keep them
                wanted.update(e for e in self.entries if self._record_of_entry(e) == key)
                continue
            for entry in schema.entries(layout, key, derived):
                wanted.add(entry)
                if entry not in self.entries:
                    fixes.setdefault(key, []).append((entry, b""))
        for entry in self.entries.keys() - wanted:
            owner = self._record_of_entry(entry)
            if owner is not None:
                fixes.setdefault(owner, []).append((entry, None))
        owners = self.owners = self._owners()
        for claim, keys in owners.items():
            if len(keys) == 1:
                wanted_holder = keys[0].encode("utf-8", "surrogateescape")
                if self.claims.get(claim, (None, 0))[0] != wanted_holder:
                    fixes.setdefault(keys[0], []).append((claim, wanted_holder))
        for claim, (holder, _) in self.claims.items():
            if claim not in owners:
                fixes.setdefault(holder.decode("utf-8", "surrogateescape"), []).append(
                    (claim, None)
                )
        return fixes

    def report(self, revision: int, repaired: int = 0, skipped: int = 0) -> RepositoryCheck:
        """What is wrong, as ``RepositoryCheck``."""
        missing_entries: list[str] = []
        stale_entries: list[str] = []
        missing_claims: list[str] = []
        stale_claims: list[str] = []
        for fixes in self._fixes().values():
            for key, value in fixes:
                is_claim = key.startswith(self.layout.unique)
                if value is None:
                    (stale_claims if is_claim else stale_entries).append(_text(key))
                elif is_claim and key in self.claims:
                    stale_claims.append(_text(key))  # held by another record
                else:
                    (missing_claims if is_claim else missing_entries).append(_text(key))
        clashes = []
        for claim, keys in sorted(self.owners.items()):
            if len(keys) > 1:
                name, encoded = self.layout.parse_claim(claim)
                clashes.append((name, decode_value(encoded), sorted(keys)))
        return RepositoryCheck(
            revision, len(self.records), sorted(missing_entries), sorted(stale_entries),
            sorted(missing_claims), sorted(stale_claims), clashes,
            sorted(k for k, (_, d) in self.records.items() if d is None), repaired, skipped,
        )  # fmt: skip

    def repairs(self) -> list[Repair]:
        """One ``Repair`` per record to fix, guarded by compares on every key it touches."""
        repairs = []
        for key, fixes in sorted(self._fixes().items()):
            revision = self.records.get(key, (0, None))[0]
            compare = [Compare.mod_revision(self.layout.record(key), "==", revision)]
            ops: list[Op] = []
            for target, value in fixes:
                before = self.entries.get(target) or self.claims.get(target, (b"", 0))[1]
                compare.append(Compare.mod_revision(target, "==", before))
                ops.append(Op.delete(target) if value is None else Op.put(target, value))
            repairs.append(Repair(compare, ops))
        return repairs


def plan_groups(repairs: Sequence[Repair], limits: TxnLimits) -> Iterator[list[Repair]]:
    """``repairs`` in consecutive batches, each one Txn within ``limits`` (ops and compares
    each at most ``max_txn_ops``, bytes at most ``max_txn_bytes``)."""
    batch: list[Repair] = []
    ops = compares = size = 0
    for repair in repairs:
        more = sum(op_size(op) for op in repair.ops) + sum(map(compare_size, repair.compare))
        if batch and (
            ops + len(repair.ops) > limits.max_txn_ops
            or compares + len(repair.compare) > limits.max_txn_ops
            or size + more > limits.max_txn_bytes
        ):
            yield batch
            batch, ops, compares, size = [], 0, 0, 0
        batch.append(repair)
        ops, compares, size = ops + len(repair.ops), compares + len(repair.compare), size + more
    if batch:
        yield batch
