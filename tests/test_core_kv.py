"""Request builders and response parsers of the KV service, without a server."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etcdmap import Compare, GetResponse, KeyValue, Op, PutResponse, TxnResponse
from etcdmap._core import kv
from etcdmap._pb import etcdserverpb, mvccpb


def test_range_request_defaults_set_nothing_but_the_key() -> None:
    request = kv.Op.get("k").request
    assert request == etcdserverpb.RangeRequest(key=b"k")


def test_range_request_every_option() -> None:
    request = kv.Op.get(
        b"a", range_end=b"z", limit=5, revision=7, sort_order="descend", sort_target="mod",
        serializable=True, keys_only=True, count_only=True, min_mod_revision=1,
        max_mod_revision=2, min_create_revision=3, max_create_revision=4,
    ).request
    assert (request.key, request.range_end, request.limit, request.revision) == (b"a", b"z", 5, 7)
    assert request.sort_order == etcdserverpb.RangeRequest.DESCEND
    assert request.sort_target == etcdserverpb.RangeRequest.MOD
    assert request.serializable and request.keys_only and request.count_only
    assert (request.min_mod_revision, request.max_mod_revision) == (1, 2)
    assert (request.min_create_revision, request.max_create_revision) == (3, 4)


@pytest.mark.parametrize(
    ("key", "options", "expected"),
    [
        ("/app/", {"prefix": True}, (b"/app/", b"/app0")),
        ("", {"prefix": True}, (b"\x00", b"\x00")),
        ("m", {"from_key": True}, (b"m", b"\x00")),
        ("", {"from_key": True}, (b"\x00", b"\x00")),
        ("a", {"range_end": "c"}, (b"a", b"c")),
    ],
)
def test_range_resolution(key: str, options: dict[str, object], expected: tuple[bytes, bytes]) -> None:
    request = kv.range_request(key, options)  # type: ignore[arg-type]
    assert (request.key, request.range_end) == expected
    delete = kv.delete_request(key, options)  # type: ignore[arg-type]
    assert (delete.key, delete.range_end) == expected


def test_sort_by_key_ascending_is_left_to_the_server_order() -> None:
    # As Go's WithSort: the server's natural order already is key-ascending.
    request = kv.Op.get("a", prefix=True, sort_order="ascend", sort_target="key").request
    assert request.sort_order == 0 and request.sort_target == 0
    request = kv.Op.get("a", prefix=True, sort_order="ascend", sort_target="create").request
    assert request.sort_order == 1 and request.sort_target == 2


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"prefix": True, "from_key": True}, "at most one of range_end, prefix and from_key"),
        ({"prefix": True, "range_end": "z"}, "at most one"),
        ({"sort_order": "up"}, "sort_order must be one of none, ascend, descend"),
        ({"sort_target": "size"}, "sort_target must be one of"),
        ({"limit": -1}, "limit must not be negative"),
        ({"revision": -3}, "revision must not be negative"),
    ],
)
def test_range_request_rejects_bad_options(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        kv.range_request("a", options)  # type: ignore[arg-type]


def test_put_request_options_and_lease_objects() -> None:
    class Lease:
        id = 42

    request = kv.Op.put("k", b"\x00\xff", lease=Lease(), prev_kv=True).request
    assert (request.key, request.value, request.lease, request.prev_kv) == (
        b"k", b"\x00\xff", 42, True
    )
    request = kv.Op.put("k", "", lease=None, ignore_value=True, ignore_lease=True).request
    assert request.ignore_value and request.ignore_lease and request.lease == 0
    with pytest.raises(TypeError, match="lease must be an int lease id or a Lease"):
        kv.Op.put("k", "v", lease="7")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="value must be bytes or str"):
        kv.Op.put("k", 3)  # type: ignore[arg-type]


def test_compare_constructors() -> None:
    cases = [
        (Compare.value("k", "==", "v"), "value", b"v", etcdserverpb.Compare.EQUAL),
        (Compare.version("k", "!=", 2), "version", 2, etcdserverpb.Compare.NOT_EQUAL),
        (Compare.create_revision("k", "<", 5), "create_revision", 5, etcdserverpb.Compare.LESS),
        (Compare.mod_revision("k", ">", 6), "mod_revision", 6, etcdserverpb.Compare.GREATER),
        (Compare.lease("k", "==", 9), "lease", 9, etcdserverpb.Compare.EQUAL),
    ]
    targets = etcdserverpb.Compare.CompareTarget
    for compare, field, operand, result in cases:
        request = kv.txn_request([compare], [], [])
        message = request.compare[0]
        assert message.key == b"k"
        assert message.result == result
        assert message.target == targets.Value(field.split("_")[0].upper())
        assert getattr(message, field) == operand
        assert message.range_end == b""


def test_compare_over_a_prefix_and_a_range() -> None:
    message = kv.txn_request([Compare.version("/a/", "==", 0, prefix=True)], [], []).compare[0]
    assert (message.key, message.range_end) == (b"/a/", b"/a0")
    message = kv.txn_request([Compare.mod_revision("a", "<", 3, range_end="c")], [], []).compare[0]
    assert (message.key, message.range_end) == (b"a", b"c")


def test_compare_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="compare op must be one of"):
        Compare.value("k", "=", "v")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="version comparison needs an int"):
        Compare.version("k", "==", "1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="compare must hold Compare objects"):
        kv.txn_request(["k"], [], [])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="success must hold Op objects"):
        kv.txn_request([], [kv.Op.put("k", "v").request], [])


def test_ops_build_request_ops_including_nested_txn() -> None:
    nested = Op.txn([Compare.version("x", "==", 0)], [Op.put("x", "1")], [Op.get("x")])
    request = kv.txn_request(
        [], [Op.get("a", prefix=True), Op.put("b", "2", prev_kv=True), Op.delete("c"), nested], []
    )
    kinds = [op.WhichOneof("request") for op in request.success]
    assert kinds == ["request_range", "request_put", "request_delete_range", "request_txn"]
    assert request.success[0].request_range.range_end == b"b"
    assert request.success[1].request_put.prev_kv
    inner = request.success[3].request_txn
    assert inner.success[0].request_put.key == b"x"
    assert inner.failure[0].request_range.key == b"x"
    assert "Op.put" in repr(Op.put("b", "2"))


def _kv(key: bytes, rev: int) -> object:
    return mvccpb.KeyValue(
        key=key, value=b"v" + key, create_revision=rev, mod_revision=rev + 1, version=2, lease=7
    )


def test_parse_get_and_put() -> None:
    header = etcdserverpb.ResponseHeader(cluster_id=1, member_id=2, revision=30, raft_term=4)
    response = etcdserverpb.RangeResponse(
        header=header, kvs=[_kv(b"a", 3), _kv(b"b", 5)], count=9, more=True
    )
    result = kv.parse_get(response)
    assert isinstance(result, GetResponse)
    assert result.header.revision == 30 and result.header.raft_term == 4
    assert result.kvs == [KeyValue(key=b"a", value=b"va", create_revision=3, mod_revision=4, version=2, lease=7), KeyValue(key=b"b", value=b"vb", create_revision=5, mod_revision=6, version=2, lease=7)]
    assert (result.count, result.more) == (9, True)
    put = kv.parse_put(etcdserverpb.PutResponse(header=header))
    assert put == PutResponse(result.header, None)
    put = kv.parse_put(etcdserverpb.PutResponse(header=header, prev_kv=_kv(b"a", 3)))
    assert put.prev_kv == KeyValue(key=b"a", value=b"va", create_revision=3, mod_revision=4, version=2, lease=7)


def test_parse_delete_compact_and_txn() -> None:
    header = etcdserverpb.ResponseHeader(revision=8)
    deleted = kv.parse_delete(
        etcdserverpb.DeleteRangeResponse(header=header, deleted=1, prev_kvs=[_kv(b"z", 1)])
    )
    assert deleted.deleted == 1 and deleted.prev_kvs[0].key == b"z"
    assert kv.parse_compact(etcdserverpb.CompactionResponse(header=header)).header.revision == 8
    response = etcdserverpb.TxnResponse(
        header=header,
        succeeded=True,
        responses=[
            etcdserverpb.ResponseOp(response_put=etcdserverpb.PutResponse()),
            etcdserverpb.ResponseOp(response_range=etcdserverpb.RangeResponse(count=1)),
            etcdserverpb.ResponseOp(response_delete_range=etcdserverpb.DeleteRangeResponse()),
            etcdserverpb.ResponseOp(response_txn=etcdserverpb.TxnResponse(succeeded=False)),
        ],
    )
    txn = kv.parse_txn(response)
    assert txn.succeeded
    assert [type(r).__name__ for r in txn.responses] == [
        "PutResponse", "GetResponse", "DeleteResponse", "TxnResponse"
    ]
    nested = txn.responses[3]
    assert isinstance(nested, TxnResponse) and not nested.succeeded


@pytest.mark.parametrize("compact_at", [2, 3, 50, 99, 100])
def test_compact_revision_search_finds_the_point(compact_at: int) -> None:
    search = kv.CompactRevisionSearch(1, 100)
    probes = 0
    while not search.done:
        revision = search.probe()
        search.record(revision, revision >= compact_at)
        probes += 1
    assert search.result == compact_at
    assert probes <= 7


# --- paging ------------------------------------------------------------------------------------


class PagingServer:
    """A sorted keyspace answering limited range reads as etcd 3.5 does, counting the keys the
    server visits: every key from the read's start to its range end, not just those returned."""

    def __init__(self, keys: list[bytes]) -> None:
        self.keys = sorted(set(keys))
        self.reads = 0
        self.visited = 0

    def read(self, start: bytes, end: bytes, limit: int) -> tuple[list[mvccpb.KeyValue], bool, int]:
        if end == b"":
            found = [k for k in self.keys if k == start]
        else:
            found = [k for k in self.keys if k >= start and (end == b"\x00" or k < end)]
        self.reads += 1
        self.visited += len(found)
        return [mvccpb.KeyValue(key=k) for k in found[:limit]], len(found) > limit, len(found)


def read_in_pages(server: PagingServer, start: bytes, end: bytes, page_size: int) -> list[list[bytes]]:
    plan = kv.PagePlan(start, end, page_size)
    pages = []
    while not plan.done:
        kvs, more, count = server.read(*plan.window(), page_size)
        pages.append([kv.key for kv in kvs])
        plan.advance(kvs, more, count)
    return pages


def numbered(count: int) -> list[bytes]:
    return [b"/app/key-%06d" % i for i in range(count)]


def random_keys(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [b"/app/" + rng.randbytes(rng.randint(1, 12)) for _ in range(count)]


def hex_ids(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [b"/app/%032x" % rng.getrandbits(128) for _ in range(count)]


def clumps(count: int) -> list[bytes]:
    # dense runs far apart in key space, the densest last
    return ([b"/app/a/%05d" % i for i in range(count // 4)] + [b"/app/m%d" % i for i in range(50)]
            + [b"/app/z/" + b"%08d" % i for i in range(count - count // 4 - 50)])


@pytest.mark.parametrize("keys", [numbered(20_000), random_keys(20_000, 1), hex_ids(20_000, 2),
                                  clumps(20_000)], ids=["numbered", "random", "hex", "clumps"])
@pytest.mark.parametrize("page_size", [100, 1000])
def test_paged_read_visits_each_key_once_at_linear_server_cost(keys: list[bytes], page_size: int) -> None:
    server = PagingServer(keys + [b"/ap", b"/app", b"/apq", b"/b"])  # neighbours outside the range
    pages = read_in_pages(server, b"/app/", b"/app0", page_size)
    inside = [k for k in server.keys if k.startswith(b"/app/")]
    assert [key for page in pages for key in page] == inside
    assert all(len(page) <= page_size for page in pages)
    # The first page counts the range once; then each page costs about itself. Pages that all
    # ran to the end would visit len(inside)**2 / (2 * page_size) keys: 200,000 to 2,000,000.
    assert server.visited <= 5 * len(inside)
    assert server.reads <= 1.5 * len(inside) / page_size + 5


@pytest.mark.parametrize("keys", [numbered(20_000), random_keys(20_000, 1), hex_ids(20_000, 2)],
                         ids=["numbered", "random", "hex"])
@pytest.mark.parametrize("page_size", [100, 1000])
def test_paged_read_of_evenly_spread_keys_fills_nearly_every_page(
    keys: list[bytes], page_size: int
) -> None:
    # windows aim past a page, so the limit ends a page, not an estimate that fell short
    server = PagingServer(keys)
    pages = read_in_pages(server, b"/app/", b"/app0", page_size)
    full = sum(len(page) == page_size for page in pages)
    assert full >= 0.9 * (len(pages) - 1)
    assert server.reads <= 1.05 * len(server.keys) / page_size + 2


@pytest.mark.parametrize(("start", "end"), [(b"/app/", b"\x00"), (b"", b"\x00"), (b"/app/key-000010", b"")])
def test_paged_read_of_open_and_single_key_ranges(start: bytes, end: bytes) -> None:
    keys = numbered(500)
    server = PagingServer(keys)
    pages = read_in_pages(server, start, end, 64)
    expected = [k for k in server.keys if k >= start] if end else [start]
    assert [key for page in pages for key in page] == expected


@pytest.mark.parametrize("page_size", [1, 7, 5000])
def test_paged_read_of_small_and_empty_ranges(page_size: int) -> None:
    server = PagingServer(numbered(30))
    assert [k for page in read_in_pages(server, b"/app/", b"/app0", page_size) for k in page] == server.keys
    assert read_in_pages(server, b"/nothing/", b"/nothing0", page_size) == [[]]


@settings(max_examples=300, deadline=None)
@given(keys=st.lists(st.binary(min_size=1, max_size=6), max_size=200), bounds=st.lists(st.binary(max_size=3), min_size=2, max_size=2),
       page_size=st.integers(1, 40), unbounded=st.booleans())
def test_paged_read_returns_exactly_the_range_for_any_keys(keys: list[bytes], bounds: list[bytes], page_size: int, unbounded: bool) -> None:
    start, end = sorted(bounds)
    start = start or b"\x00"
    end = b"\x00" if unbounded else end + b"\xff"
    server = PagingServer(keys)
    pages = read_in_pages(server, start, end, page_size)
    assert [k for page in pages for k in page] == [k for k in server.keys if k >= start and (unbounded or k < end)]
    assert all(len(page) <= page_size for page in pages)


def test_misspelt_options_are_type_errors() -> None:
    for build in (
        lambda: kv.range_request("k", {"limt": 3}),  # type: ignore[typeddict-unknown-key]
        lambda: kv.put_request("k", "v", {"lease_id": 3}),  # type: ignore[typeddict-unknown-key]
        lambda: kv.delete_request("k", {"prevkv": True}),  # type: ignore[typeddict-unknown-key]
        lambda: kv.Op.get("k", limt=3),  # type: ignore[call-arg]
    ):
        with pytest.raises(TypeError, match="unexpected keyword argument"):
            build()


def test_compact_ops_stay_out_of_transactions() -> None:
    op = kv.Op.compact(5, physical=True)
    assert (op.kind, op.request.revision, op.request.physical) == ("compact", 5, True)
    with pytest.raises(ValueError, match="Op.compact cannot run inside a transaction"):
        kv.Op.txn(success=[op])  # type: ignore[list-item]
