# Generated from tests/_async/test_kv.py by scripts/unasync: do not edit.
"""KV behaviour against a real etcd: every option, Compare target and Op kind, and the errors.

Written for AsyncClient; tests/_sync/test_kv.py is generated from this file by scripts/unasync,
so the blocking Client passes exactly the same tests.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import time
import uuid

import pytest

import etcdmap
from etcdmap import Client, Compare, Op
from etcdmap.testing._metrics import scrape, total

from .helpers import KVCalls

MiB = 1024 * 1024


def lease_via_etcdctl(etcd_server: object, ttl: int = 60) -> int:
    out = etcd_server.etcdctl("lease", "grant", str(ttl))  # type: ignore[attr-defined]
    match = re.search(r"lease ([0-9a-f]+) granted", out)
    assert match, out
    return int(match.group(1), 16)


def test_put_get_round_trip_and_revisions(etcd_client: Client, etcd_prefix: str) -> None:
    key = etcd_prefix + "a"
    first = etcd_client.put(key, "1")
    second = etcd_client.put(key, b"2", prev_kv=True)
    assert second.header.revision == first.header.revision + 1
    assert second.prev_kv is not None and second.prev_kv.value == b"1"
    result = etcd_client.get(key)
    assert result.count == 1 and not result.more
    (kv,) = result.kvs
    assert (kv.key, kv.value, kv.version) == (key.encode(), b"2", 2)
    assert kv.create_revision == first.header.revision
    assert kv.mod_revision == second.header.revision
    assert result.header.revision >= second.header.revision
    assert (etcd_client.get(etcd_prefix + "missing")).kvs == []


def test_binary_keys_and_values(etcd_client: Client, etcd_server: object, etcd_prefix: str) -> None:
    key = etcd_prefix.encode() + b"\x00bin\xff"
    value = bytes(range(256))
    etcd_client.put(key, value)
    assert (etcd_client.get(key)).kvs[0].value == value
    # etcdctl reads back the same bytes (its JSON output is base64)
    out = json.loads(etcd_server.etcdctl("get", "--prefix", etcd_prefix, "-w", "json"))  # type: ignore[attr-defined]
    stored = {base64.b64decode(k["key"]): base64.b64decode(k["value"]) for k in out["kvs"]}
    assert stored == {key: value}


def test_etcdctl_cross_check_both_ways(etcd_client: Client, etcd_server: object, etcd_prefix: str) -> None:
    etcd_server.etcdctl("put", etcd_prefix + "from-etcdctl", "héllo")  # type: ignore[attr-defined]
    assert (etcd_client.get(etcd_prefix + "from-etcdctl")).kvs[0].value == "héllo".encode()
    etcd_client.put(etcd_prefix + "from-etcdmap", "wörld")
    out = etcd_server.etcdctl("get", etcd_prefix + "from-etcdmap", "--print-value-only")  # type: ignore[attr-defined]
    assert out.strip() == "wörld"


def fill(client: Client, prefix: str, names: str) -> dict[str, int]:
    revisions = {}
    for name in names:
        revisions[name] = (client.put(prefix + name, name * 2)).header.revision
    return revisions


def test_range_options(etcd_client: Client, etcd_prefix: str) -> None:
    c = etcd_client
    revs = fill(c, etcd_prefix, "abcde")
    p = etcd_prefix

    def keys(result: etcdmap.GetResponse) -> list[str]:
        return [kv.key.decode()[len(p):] for kv in result.kvs]

    assert keys(c.get(p, prefix=True)) == list("abcde")
    assert keys(c.get_prefix(p)) == list("abcde")
    assert keys(c.get(p + "b", range_end=p + "d")) == ["b", "c"]
    limited = c.get(p, prefix=True, limit=2)
    assert keys(limited) == ["a", "b"] and limited.more and limited.count == 5
    assert keys(c.get(p, prefix=True, revision=revs["c"])) == ["a", "b", "c"]
    assert keys(c.get(p, prefix=True, sort_order="descend")) == list("edcba")
    assert keys(c.get(p, prefix=True, sort_order="ascend", sort_target="key")) == list("abcde")
    assert keys(c.get(p, prefix=True, sort_order="descend", sort_target="create")) == list("edcba")
    assert keys(c.get(p, prefix=True, sort_order="descend", sort_target="mod")) == list("edcba")
    assert keys(c.get(p, prefix=True, sort_order="descend", sort_target="value")) == list("edcba")
    c.put(p + "a", "aa2")
    assert keys(c.get(p, prefix=True, sort_order="descend", sort_target="version"))[0] == "a"
    serial = c.get(p, prefix=True, serializable=True)
    assert keys(serial) == list("abcde")
    only_keys = c.get(p, prefix=True, keys_only=True)
    assert keys(only_keys) == list("abcde") and all(kv.value == b"" for kv in only_keys.kvs)
    counted = c.get(p, prefix=True, count_only=True)
    assert counted.count == 5 and counted.kvs == []
    assert keys(c.get(p, prefix=True, min_mod_revision=revs["d"])) == ["a", "d", "e"]
    assert keys(c.get(p, prefix=True, max_mod_revision=revs["b"])) == ["b"]
    assert keys(c.get(p, prefix=True, min_create_revision=revs["d"])) == ["d", "e"]
    assert keys(c.get(p, prefix=True, max_create_revision=revs["b"])) == ["a", "b"]


def test_from_key(etcd_client: Client) -> None:
    # from_key reaches the end of the keyspace: use keys that sort after everything else.
    top = b"\xff\xfe" + uuid.uuid4().hex.encode()
    etcd_client.put(top + b"/1", "x")
    etcd_client.put(top + b"/2", "y")
    result = etcd_client.get(top, from_key=True)
    assert [kv.key for kv in result.kvs] == [top + b"/1", top + b"/2"]
    deleted = etcd_client.delete(top + b"/2", from_key=True)
    assert deleted.deleted == 1
    assert (etcd_client.get(top, from_key=True)).count == 1


def test_put_with_lease_ignore_value_and_ignore_lease(
    etcd_client: Client, etcd_server: object, etcd_prefix: str
) -> None:
    c = etcd_client
    lease = lease_via_etcdctl(etcd_server)
    key = etcd_prefix + "leased"
    c.put(key, "v1", lease=lease)
    assert (c.get(key)).kvs[0].lease == lease
    c.put(key, "v2", ignore_lease=True)
    kv = (c.get(key)).kvs[0]
    assert (kv.value, kv.lease) == (b"v2", lease)
    c.put(key, "", ignore_value=True, lease=0)
    kv = (c.get(key)).kvs[0]
    assert (kv.value, kv.lease) == (b"v2", 0)
    with pytest.raises(etcdmap.errors.KeyNotFoundError, match="etcdserver: key not found"):
        c.put(etcd_prefix + "absent", "", ignore_value=True)
    with pytest.raises(etcdmap.errors.ValueProvidedError):
        c.put(key, "x", ignore_value=True)
    with pytest.raises(etcdmap.errors.LeaseNotFoundError):
        c.put(key, "x", lease=0x7777)


def test_delete_options(etcd_client: Client, etcd_prefix: str) -> None:
    c = etcd_client
    fill(c, etcd_prefix, "abcd")
    one = c.delete(etcd_prefix + "a", prev_kv=True)
    assert one.deleted == 1 and [kv.value for kv in one.prev_kvs] == [b"aa"]
    ranged = c.delete(etcd_prefix + "b", range_end=etcd_prefix + "c")
    assert ranged.deleted == 1 and ranged.prev_kvs == []
    assert (c.delete(etcd_prefix + "zzz")).deleted == 0
    rest = c.delete_prefix(etcd_prefix, prev_kv=True)
    assert rest.deleted == 2 and {kv.key[-1:] for kv in rest.prev_kvs} == {b"c", b"d"}
    assert (c.get_prefix(etcd_prefix)).count == 0


def test_txn_every_compare_target(etcd_client: Client, etcd_server: object, etcd_prefix: str) -> None:
    c = etcd_client
    key = etcd_prefix + "k"
    lease = lease_via_etcdctl(etcd_server)
    created = (c.put(key, "v", lease=lease)).header.revision
    modified = (c.put(key, "w", lease=lease)).header.revision
    holds = [
        Compare.value(key, "==", "w"),
        Compare.value(key, "!=", "v"),
        Compare.value(key, ">", "a"),
        Compare.version(key, "==", 2),
        Compare.version(key, ">", 1),
        Compare.create_revision(key, "==", created),
        Compare.mod_revision(key, "==", modified),
        Compare.mod_revision(key, "<", modified + 1),
        Compare.lease(key, "==", lease),
        Compare.version(etcd_prefix + "nothing", "==", 0),
    ]
    for compare in holds:
        assert (c.txn([compare])).succeeded, compare
        negated = {"==": "!=", "!=": "==", "<": ">", ">": "<"}[compare.op]
        opposite = etcdmap.Compare(
            compare.target, compare.key, negated, compare.operand, compare.range_end  # type: ignore[arg-type]
        )
        if compare.op in ("==", "!="):
            assert not (c.txn([opposite])).succeeded, opposite


def test_txn_compare_over_range_and_prefix(etcd_client: Client, etcd_prefix: str) -> None:
    c = etcd_client
    fill(c, etcd_prefix, "abc")
    assert (c.txn([Compare.version(etcd_prefix, "==", 1, prefix=True)])).succeeded
    c.put(etcd_prefix + "b", "again")
    assert not (c.txn([Compare.version(etcd_prefix, "==", 1, prefix=True)])).succeeded
    ranged = Compare.version(etcd_prefix + "a", "==", 1, range_end=etcd_prefix + "b")
    assert (c.txn([ranged])).succeeded


def test_txn_ops_and_branches(etcd_client: Client, etcd_prefix: str) -> None:
    c = etcd_client
    lock = etcd_prefix + "lock"
    took = c.txn(
        compare=[Compare.version(lock, "==", 0)],
        success=[Op.put(lock, "me"), Op.get(lock), Op.delete(etcd_prefix + "none")],
        failure=[Op.get(lock)],
    )
    assert took.succeeded
    put, got, deleted = took.responses
    assert isinstance(put, etcdmap.PutResponse)
    assert isinstance(got, etcdmap.GetResponse) and got.kvs[0].value == b"me"
    assert isinstance(deleted, etcdmap.DeleteResponse) and deleted.deleted == 0
    lost = c.txn([Compare.version(lock, "==", 0)], [Op.put(lock, "you")], [Op.get(lock)])
    assert not lost.succeeded
    (current,) = lost.responses
    assert isinstance(current, etcdmap.GetResponse) and current.kvs[0].value == b"me"
    nested = c.txn(
        [],
        [Op.txn([Compare.value(lock, "==", "me")], [Op.put(etcd_prefix + "inner", "1")], [])],
    )
    (inner,) = nested.responses
    assert isinstance(inner, etcdmap.TxnResponse) and inner.succeeded
    assert (c.get(etcd_prefix + "inner")).kvs[0].value == b"1"
    assert took.header.revision < nested.header.revision


def test_txn_server_limits(etcd_client: Client, etcd_prefix: str) -> None:
    c = etcd_client
    with pytest.raises(etcdmap.errors.TooManyOpsError, match="too many operations"):
        c.txn([], [Op.put(f"{etcd_prefix}{i}", "x") for i in range(129)])
    with pytest.raises(etcdmap.errors.DuplicateKeyError, match="duplicate key"):
        c.txn([], [Op.put(etcd_prefix + "d", "1"), Op.put(etcd_prefix + "d", "2")])
    assert (c.get_prefix(etcd_prefix)).count == 0


def test_empty_key_and_future_revision(etcd_client: Client, etcd_prefix: str) -> None:
    c = etcd_client
    with pytest.raises(etcdmap.errors.EmptyKeyError, match=r"key is not provided \(put b''"):
        c.put("", "v")
    with pytest.raises(etcdmap.errors.EmptyKeyError):
        c.get("")
    now = (c.put(etcd_prefix + "r", "1")).header.revision
    with pytest.raises(etcdmap.errors.FutureRevisionError, match="future revision"):
        c.get(etcd_prefix + "r", revision=now + 1000)


def test_compaction(etcd_client: Client, etcd_prefix: str) -> None:
    c = etcd_client
    key = etcd_prefix + "c"
    old = (c.put(key, "old")).header.revision
    new = (c.put(key, "new")).header.revision
    assert (c.get(key, revision=old)).kvs[0].value == b"old"
    compacted = c.compact(new, physical=True)
    assert compacted.header.revision >= new
    with pytest.raises(etcdmap.CompactedError, match="compacted") as caught:
        c.get(key, revision=old)
    assert caught.value.compact_revision == new
    assert (c.get(key, revision=new)).kvs[0].value == b"new"
    with pytest.raises(etcdmap.CompactedError):
        c.compact(old)


def test_value_over_the_request_limits_writes_nothing(etcd_client: Client, etcd_prefix: str) -> None:
    c = etcd_client
    server_limited = etcd_prefix + "big-1.6MiB"
    with pytest.raises(etcdmap.RequestTooLargeError) as caught:
        c.put(server_limited, b"x" * (MiB * 16 // 10))
    assert server_limited in str(caught.value) and "max-request-bytes" in str(caught.value)
    client_limited = etcd_prefix + "big-3MiB"
    with pytest.raises(etcdmap.RequestTooLargeError) as caught:
        c.put(client_limited, b"x" * (3 * MiB))
    assert client_limited in str(caught.value) and "max_send_bytes" in str(caught.value)
    assert (c.get_prefix(etcd_prefix)).count == 0


def test_range_response_over_4_mib(etcd_client: Client, etcd_prefix: str) -> None:
    c = etcd_client
    chunk = b"v" * MiB
    for i in range(6):
        c.put(f"{etcd_prefix}{i}", chunk)
    result = c.get_prefix(etcd_prefix)
    assert len(result.kvs) == 6 and all(kv.value == chunk for kv in result.kvs)
    c.delete_prefix(etcd_prefix)


def test_per_call_timeout(etcd_client: Client, etcd_prefix: str) -> None:
    # A listening socket that never answers: TCP connects, gRPC never gets a reply.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        endpoint = f"127.0.0.1:{silent.getsockname()[1]}"
        with Client(endpoint) as client:
            started = time.monotonic()
            with pytest.raises(etcdmap.DeadlineExceededError) as caught:
                client.get(etcd_prefix + "t", timeout=0.5)
            assert 0.4 < time.monotonic() - started < 3
    assert isinstance(caught.value, TimeoutError)
    assert endpoint in str(caught.value)
    # the per-call timeout applies to the shared client too
    assert (etcd_client.get(etcd_prefix + "t", timeout=10)).count == 0


def test_unreachable_endpoint_is_named_quickly() -> None:
    # Refused connections are named long before the deadline (~2.5 s; a loaded 2-core CI
    # machine took 5 s, which a 5 s timeout turned into DeadlineExceededError).
    with Client("127.0.0.1:1", timeout=30) as client:
        started = time.monotonic()
        with pytest.raises(etcdmap.ConnectionFailedError, match="127.0.0.1:1"):
            client.get("k")
        assert time.monotonic() - started < 10


def test_one_channel_reused_and_closed_client_refuses(etcd_server: object, etcd_prefix: str) -> None:
    client = Client(etcd_server.endpoints)  # type: ignore[attr-defined]
    client.put(etcd_prefix + "x", "1")
    channel = client._conn.channel  # type: ignore[union-attr]
    for _ in range(20):
        client.get(etcd_prefix + "x")
    assert client._conn.channel is channel  # type: ignore[union-attr]
    client.close()
    with pytest.raises(etcdmap.ClientClosedError):
        client.get(etcd_prefix + "x")


def test_bad_arguments_are_typed_errors(etcd_client: Client) -> None:
    with pytest.raises(TypeError, match="key must be bytes or str, not int"):
        etcd_client.get(5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at most one of range_end, prefix and from_key"):
        etcd_client.get("a", prefix=True, from_key=True)


def test_get_pages_is_one_snapshot_in_bounded_pages(etcd_client: Client, etcd_prefix: str) -> None:
    c = etcd_client
    for i in range(25):
        c.put(f"{etcd_prefix}{i:02d}", str(i))
    sizes, keys = [], []
    for page in c.get_pages(etcd_prefix, prefix=True, page_size=10):
        sizes.append(len(page.kvs))
        keys.extend(kv.key for kv in page.kvs)
        c.put(f"{etcd_prefix}zz-written-during-the-pass-{len(sizes)}", "x")
        c.delete(f"{etcd_prefix}{24 - len(sizes):02d}")
    assert sizes[0] == 10 and all(0 < size <= 10 for size in sizes) and sum(sizes) == 25
    assert keys == [f"{etcd_prefix}{i:02d}".encode() for i in range(25)]
    with pytest.raises(ValueError, match="page_size must be positive"):
        for _ in c.get_pages(etcd_prefix, prefix=True, page_size=0):
            pass


@pytest.mark.needs_direct_server(reason="counts the Ranges on the server's own /metrics")
def test_get_pages_reads_the_next_page_ahead_while_the_caller_works(
    etcd_server: object, etcd_prefix: str
) -> None:
    # read_ahead asks for the next page as soon as one arrives: while the caller handles a
    # page without awaiting anything (here a blocking wait, so an event loop stands still),
    # the server already gets the next page's Range. A client with hooks has the longest way
    # from a new task to the request on the wire (grpc.aio's interceptor task).
    def ranges() -> float:
        samples = scrape(etcd_server.metrics_url)  # type: ignore[attr-defined]
        return total(samples, "grpc_server_started_total", grpc_method="Range")

    with Client(etcd_server.endpoints, hooks=KVCalls()) as c:  # type: ignore[attr-defined]
        for i in range(25):
            c.put(f"{etcd_prefix}{i:02d}", str(i))
        plain = [[kv.key for kv in page.kvs] for page in c.get_pages(etcd_prefix, prefix=True, page_size=10)]
        before = ranges()
        seen: list[list[bytes]] = []
        for page in c.get_pages(etcd_prefix, prefix=True, page_size=10, read_ahead=True):
            seen.append([kv.key for kv in page.kvs])
            if len(seen) == 1:
                deadline = time.monotonic() + 10
                while ranges() < before + 2 and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert ranges() == before + 2  # this page's and the next one's
        assert seen == plain and len(seen) == 3
        for _page in c.get_pages(etcd_prefix, prefix=True, page_size=10, read_ahead=True):
            break  # the page read ahead is dropped, and the client goes on
        assert [kv.key for kv in (c.get(etcd_prefix + "00")).kvs] == [plain[0][0]]


@pytest.mark.needs_direct_server(reason="checks the status codes of etcd's errors, which the gRPC proxy forwards as UNKNOWN")
def test_get_pages_at_a_future_revision_asks_twice_then_raises(
    etcd_server: object, etcd_prefix: str
) -> None:
    # a pinned page is read serializable first; a member behind the revision answers
    # FutureRevisionError, and the page is asked for once more, linearizable (which waits for
    # the member to catch up): here the revision is beyond the whole cluster, so that fails
    # too. (The hooks see two Ranges; the quorum-loss test in test_failover shows which kind.)
    hooks = KVCalls()
    with Client(etcd_server.endpoints, hooks=hooks) as c:  # type: ignore[attr-defined]
        ahead = (c.put(etcd_prefix + "k", "v")).header.revision + 5
        with pytest.raises(etcdmap.errors.FutureRevisionError):
            for _ in c.get_pages(etcd_prefix, prefix=True, revision=ahead):
                pass
    assert hooks.codes[1:] == [("KV/Range", "OUT_OF_RANGE")] * 2  # after the put


def test_get_kv_and_value_name_a_missing_key_without_index_errors(
    etcd_client: Client, etcd_prefix: str
) -> None:
    c = etcd_client
    missing = c.get(f"{etcd_prefix}missing")
    assert missing.kv is None and missing.value is None
    written = (c.put(f"{etcd_prefix}k", "v")).header.revision
    found = c.get(f"{etcd_prefix}k")
    assert found.value == b"v" and found.kv is not None and found.kv.mod_revision == written
    assert repr(found.kv).startswith(f"KeyValue(key=b'{etcd_prefix}k', value=b'v', ")
