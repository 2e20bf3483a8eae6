"""etcdmap.compat.etcd3, python-etcd3's API on etcdmap's client, against one real etcd:
every method of Etcd3Client with python-etcd3's return shapes and exceptions, its
transactions, events, leases and locks (python-etcd3's lock layout), and the places where it
does better than python-etcd3 (watches that resume after an outage, no lost lock release).
"""

from __future__ import annotations

import io
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

import etcdmap.compat.etcd3 as etcd3
import etcdmap.errors
from etcdmap.compat.etcd3 import etcdrpc, events, exceptions, utils
from etcdmap.compat.etcd3.client import EtcdTokenCallCredentials
from etcdmap.testing import EtcdServer, find_binary, generate_certificates
from etcdmap.testing.nemeses import frozen, outage


def _address(server: EtcdServer) -> tuple[str, int]:
    host, port = server.endpoint.split("://")[-1].rsplit(":", 1)
    return host, int(port)


@pytest.fixture
def etcd(etcd_server: EtcdServer) -> Iterator[etcd3.Etcd3Client]:
    host, port = _address(etcd_server)
    with etcd3.client(host=host, port=port, timeout=10) as client:
        yield client


def test_import_etcdmap_does_not_import_the_compat_layer() -> None:
    code = "import sys, etcdmap; print(sorted(m for m in sys.modules if 'compat' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "etcdmap.compat" not in out.stdout


def test_names_of_python_etcd3() -> None:
    assert etcd3.__version__ == "0.12.0"
    for name in ("client", "Etcd3Client", "Etcd3Exception", "Transactions", "Lease", "Lock",
                 "Member", "etcdrpc"):  # fmt: skip
        assert hasattr(etcd3, name)
    assert etcdrpc.NOSPACE == 1 and etcdrpc.Compare.NOT_EQUAL == 3
    assert isinstance(etcdrpc.RangeRequest(key=b"k").key, bytes)
    for name in ("WatchTimedOut", "InternalServerError", "ConnectionFailedError",
                 "ConnectionTimeoutError", "PreconditionFailedError", "RevisionCompactedError"):  # fmt: skip
        assert issubclass(getattr(exceptions, name), etcd3.Etcd3Exception)


def test_utils() -> None:
    assert utils.increment_last_byte(b"foo") == b"fop"
    assert utils.prefix_range_end(b"a\xff") == b"b" and utils.prefix_range_end("") == b"\0"
    assert utils.to_bytes("é") == "é".encode() and utils.to_bytes(b"x") == b"x"
    assert utils.lease_to_id(etcd3.Lease(7, 10)) == 7
    assert utils.lease_to_id("8") == 8 and utils.lease_to_id(None) == 0


def test_get_put_and_metadata(etcd: etcd3.Etcd3Client, etcd_prefix: str) -> None:
    key = etcd_prefix + "k"
    assert etcd.get(key) == (None, None)
    put = etcd.put(key, "v1")
    assert isinstance(put, etcdrpc.PutResponse) and not put.HasField("prev_kv")
    again = etcd.put(key, b"v2", prev_kv=True)
    assert again.prev_kv.value == b"v1" and again.header.revision == put.header.revision + 1
    value, meta = etcd.get(key)
    assert value == b"v2"
    assert isinstance(meta, etcd3.KVMetadata)
    assert (meta.key, meta.version, meta.lease_id) == (key.encode(), 2, 0)
    assert meta.create_revision == put.header.revision
    assert meta.mod_revision == again.header.revision == meta.response_header.revision
    assert etcd.get(key, serializable=True)[0] == b"v2"
    assert etcd.get(key, revision=put.header.revision)[0] == b"v1"  # master's range options
    response = etcd.get_response(key)
    assert isinstance(response, etcdrpc.RangeResponse) and response.count == 1


def test_get_prefix_range_and_all(etcd: etcd3.Etcd3Client, etcd_prefix: str) -> None:
    for name in "edcba":
        etcd.put(f"{etcd_prefix}r/{name}", name.upper())
    etcd.put(etcd_prefix + "s", "not in r/")
    found = list(etcd.get_prefix(etcd_prefix + "r/"))
    assert [v for v, _ in found] == [b"A", b"B", b"C", b"D", b"E"]
    descending = etcd.get_prefix(etcd_prefix + "r/", sort_order="descend", sort_target="value")
    assert [v for v, _ in descending] == [b"E", b"D", b"C", b"B", b"A"]
    keys_only = list(etcd.get_prefix(etcd_prefix + "r/", keys_only=True, limit=2))
    assert [(v, m.key) for v, m in keys_only] == [(b"", f"{etcd_prefix}r/a".encode()),
                                                  (b"", f"{etcd_prefix}r/b".encode())]  # fmt: skip
    assert etcd.get_prefix_response(etcd_prefix + "r/", count_only=True).count == 5
    with pytest.raises(TypeError, match="Don't use key or range_end with prefix"):
        etcd.get_prefix(etcd_prefix, range_end="x")
    with pytest.raises(ValueError, match="sort_order"):
        etcd.get_prefix(etcd_prefix, sort_order="sideways")
    in_range = etcd.get_range(f"{etcd_prefix}r/b", f"{etcd_prefix}r/d")
    assert [v for v, _ in in_range] == [b"B", b"C"]
    assert etcd.get_range_response(f"{etcd_prefix}r/b", f"{etcd_prefix}r/d").count == 2
    everything = [m.key for _, m in etcd.get_all(keys_only=True)]
    assert f"{etcd_prefix}s".encode() in everything and len(everything) >= 6
    assert etcd.get_all_response(count_only=True).count == len(everything)


def test_conditional_writes_and_deletes(etcd: etcd3.Etcd3Client, etcd_prefix: str) -> None:
    key = etcd_prefix + "k"
    assert etcd.put_if_not_exists(key, "first") is True
    assert etcd.put_if_not_exists(key, "second") is False
    assert etcd.replace(key, "nope", "x") is False
    assert etcd.replace(key, "first", "third") is True
    assert etcd.get(key)[0] == b"third"
    assert etcd.delete(key) is True and etcd.delete(key) is False
    etcd.put(key, "again")
    deleted = etcd.delete(key, prev_kv=True, return_response=True)
    assert isinstance(deleted, etcdrpc.DeleteRangeResponse)
    assert deleted.prev_kvs[0].value == b"again" and deleted.header.revision > 0
    for i in range(3):
        etcd.put(f"{etcd_prefix}p/{i}", str(i))
    assert etcd.delete_prefix(etcd_prefix + "p/").deleted == 3


def test_transaction_shapes(etcd: etcd3.Etcd3Client, etcd_prefix: str) -> None:
    tx, a, b = etcd.transactions, etcd_prefix + "a", etcd_prefix + "b"
    etcd.put(a, "1")
    succeeded, responses = etcd.transaction(
        compare=[tx.value(a) == "1", tx.version(a) > 0, tx.create(b) == 0, tx.mod(a) != 0],
        success=[tx.put(b, "2"), tx.get(a), tx.delete(a, prev_kv=True),
                 tx.txn([], [tx.get(b)], [])],
        failure=[],
    )  # fmt: skip
    assert succeeded is True
    put, got, deleted, nested = responses
    assert put.WhichOneof("response") == "response_put" and put.response_put.header.revision
    assert [(v, m.key) for v, m in got] == [(b"1", a.encode())]
    assert deleted.response_delete_range.prev_kvs[0].value == b"1"
    assert nested.response_txn.responses[0].response_range.kvs[0].value == b"2"
    failed, responses = etcd.transaction(
        compare=[tx.value(etcd_prefix, utils.prefix_range_end(etcd_prefix)) == "2"],
        success=[], failure=[tx.get(b)],
    )  # fmt: skip
    assert failed is True  # every key of the range (only b is left) holds "2"
    assert etcd.transaction([tx.value(b) < "2"], [], [tx.get(b)])[0] is False
    with pytest.raises(TypeError, match="not a transaction op"):
        etcd.transaction([], ["not an op"], [])
    with pytest.raises(TypeError):
        etcd._ops_to_requests(0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="compare with one of"):
        etcd.transaction([tx.value(b)], [], [])


def test_compares_build_python_etcd3_messages() -> None:
    tx = etcd3.Transactions()
    compare = tx.create("k", "l") > -12
    message = compare.build_message()
    assert compare.op == etcdrpc.Compare.GREATER
    assert (message.target, message.create_revision, message.range_end) == (
        etcdrpc.Compare.CREATE, -12, b"l"
    )
    assert (tx.mod("k") < 3).build_message().target == etcdrpc.Compare.MOD
    assert repr(tx.value("k") == "v") == "Value: 'k' == 'v'"


def test_watch_iterators_and_cancel(etcd: etcd3.Etcd3Client, etcd_prefix: str) -> None:
    key = etcd_prefix + "w"
    first = etcd.put(key, "0").header.revision
    etcd.put(key, "1")
    etcd.delete(key)
    events_iterator, cancel = etcd.watch(key, start_revision=first, prev_kv=True)
    seen = [next(events_iterator) for _ in range(3)]
    assert [type(e) for e in seen] == [events.PutEvent, events.PutEvent, events.DeleteEvent]
    assert [e.key for e in seen] == [key.encode()] * 3
    assert seen[1].value == b"1" and seen[1].prev_value == b"0"
    assert seen[2].prev_value == b"1" and seen[2].mod_revision == first + 2
    assert "PutEvent" in str(seen[0])
    cancel()
    assert list(events_iterator) == []
    responses, cancel = etcd.watch_prefix_response(etcd_prefix, start_revision=first)
    response = next(responses)
    assert isinstance(response.header, etcdrpc.ResponseHeader) and response.header.revision
    cancel()
    responses, cancel = etcd.watch_response(key, start_revision=first)
    assert [e.value for e in next(responses).events] == [b"0", b"1", b""]
    cancel()
    prefixed, cancel = etcd.watch_prefix(etcd_prefix, start_revision=first, filters=[0])
    assert isinstance(next(prefixed), events.DeleteEvent)  # NOPUT: only the deletion
    cancel()


def test_watch_once(etcd: etcd3.Etcd3Client, etcd_prefix: str) -> None:
    key = etcd_prefix + "once"
    revision = etcd.put(key, "v").header.revision
    assert etcd.watch_once(key, timeout=5, start_revision=revision).value == b"v"
    assert etcd.watch_prefix_once(etcd_prefix, timeout=5, start_revision=revision).key == key.encode()
    response = etcd.watch_once_response(key, timeout=5, start_revision=revision)
    assert len(response.events) == 1
    assert len(etcd.watch_prefix_once_response(etcd_prefix, 5, start_revision=revision).events) == 1
    started = time.monotonic()
    with pytest.raises(exceptions.WatchTimedOut):
        etcd.watch_once(key, timeout=0.3)
    with pytest.raises(exceptions.WatchTimedOut):
        etcd.watch_prefix_once(etcd_prefix, timeout=0.3)
    assert time.monotonic() - started < 5


def test_watch_callbacks_run_on_a_background_thread(
    etcd: etcd3.Etcd3Client, etcd_prefix: str
) -> None:
    received: queue.Queue[Any] = queue.Queue()

    def callback(response: Any) -> None:
        received.put((threading.current_thread(), response))

    watch_id = etcd.add_watch_callback(etcd_prefix + "a", callback)
    prefix_id = etcd.add_watch_prefix_callback(etcd_prefix, callback)
    assert watch_id != prefix_id
    etcd.put(etcd_prefix + "a", "1")
    got = [received.get(timeout=5) for _ in range(2)]
    assert all(thread is not threading.current_thread() for thread, _ in got)
    assert [r.events[0].value for _, r in got] == [b"1", b"1"]
    etcd.cancel_watch(watch_id)
    etcd.cancel_watch(prefix_id)
    etcd.cancel_watch(prefix_id)  # unknown by now: nothing happens
    etcd.put(etcd_prefix + "a", "2")
    with pytest.raises(queue.Empty):
        received.get(timeout=0.3)


def test_a_compacted_start_revision_ends_the_watch(
    etcd: etcd3.Etcd3Client, etcd_prefix: str
) -> None:
    key = etcd_prefix + "c"
    first = etcd.put(key, "0").header.revision
    last = etcd.put(key, "1").header.revision
    etcd.compact(last)
    events_iterator, cancel = etcd.watch(key, start_revision=first)
    with pytest.raises(exceptions.RevisionCompactedError) as caught:
        next(events_iterator)
    assert caught.value.compacted_revision == last
    cancel()
    with pytest.raises(grpc.RpcError) as compacted:  # python-etcd3 let this one through
        etcd.compact(last)
    assert compacted.value.code() is grpc.StatusCode.OUT_OF_RANGE
    assert "compacted" in compacted.value.details()


def test_a_watch_resumes_after_an_outage_without_losing_events(
    etcd: etcd3.Etcd3Client, etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    # python-etcd3 ended every watch (an error to each callback) when its stream broke
    key = etcd_prefix + "r"
    events_iterator, cancel = etcd.watch(key)
    etcd.put(key, "before")
    assert next(events_iterator).value == b"before"
    with outage(etcd_server):
        pass
    etcd.put(key, "after")
    assert next(events_iterator).value == b"after"
    cancel()


def test_errors_are_python_etcd3s(etcd_server: EtcdServer, etcd_prefix: str) -> None:
    host, port = _address(etcd_server)
    with etcd3.client(host=host, port=port, timeout=0.5) as etcd:
        with frozen(etcd_server), pytest.raises(exceptions.ConnectionTimeoutError) as timed_out:
            etcd.get(etcd_prefix + "k")
        assert isinstance(timed_out.value.__cause__, etcdmap.errors.DeadlineExceededError)
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        free_port = unused.getsockname()[1]
    with etcd3.client(host="127.0.0.1", port=free_port, timeout=1) as down:
        with pytest.raises(exceptions.ConnectionFailedError, match="cannot reach"):
            down.put(etcd_prefix + "k", "v")


def test_leases(etcd: etcd3.Etcd3Client, etcd_prefix: str) -> None:
    lease = etcd.lease(30)
    assert isinstance(lease, etcd3.Lease) and lease.ttl == 30 and lease.id > 0
    assert lease.keys == []
    etcd.put(etcd_prefix + "l", "v", lease=lease)
    etcd.put(etcd_prefix + "m", "v", lease=lease.id)
    assert sorted(lease.keys) == [f"{etcd_prefix}l".encode(), f"{etcd_prefix}m".encode()]
    assert etcd.get(etcd_prefix + "l")[1].lease_id == lease.id
    assert 0 < lease.remaining_ttl <= lease.granted_ttl == 30
    (refreshed,) = lease.refresh()
    assert isinstance(refreshed, etcdrpc.LeaseKeepAliveResponse) and refreshed.TTL == 30
    info = etcd.get_lease_info(lease.id)
    assert isinstance(info, etcdrpc.LeaseTimeToLiveResponse) and info.ID == lease.id
    lease.revoke()
    assert etcd.get(etcd_prefix + "l") == (None, None)
    assert [r.TTL for r in etcd.refresh_lease(lease.id)] == [0]  # gone: TTL 0, as etcd says
    assert lease.remaining_ttl == -1
    chosen = etcd.lease(5, lease_id=lease.id + 1)
    assert chosen.id == lease.id + 1
    etcd.revoke_lease(chosen.id)
    with pytest.raises(grpc.RpcError):
        etcd.revoke_lease(chosen.id)


def test_lock_layout_and_semantics(etcd: etcd3.Etcd3Client, etcd_prefix: str) -> None:
    name = etcd_prefix.strip("/").replace("/", "_")
    lock = etcd.lock(name, ttl=10)
    assert lock.key == "/locks/" + name  # python-etcd3's layout: its processes exclude ours
    assert lock.is_acquired() is False
    with pytest.raises(ValueError, match="acquire"):
        lock.refresh()
    assert lock.acquire() is True
    value, meta = etcd.get(lock.key)
    assert value == lock.uuid and meta.lease_id == lock.lease.id  # type: ignore[union-attr]
    assert lock.acquire(timeout=0) is False  # not reentrant
    other = etcd.lock(name, ttl=10)
    started = time.monotonic()
    assert other.acquire(timeout=0.5) is False
    assert 0.4 < time.monotonic() - started < 5
    assert lock.refresh()[0].TTL == 10
    assert other.release() is False
    assert lock.is_acquired() is True and other.is_acquired() is False
    assert lock.release() is True and lock.release() is False
    assert etcd.get(lock.key) == (None, None)
    with etcd.lock(name, ttl=10) as held:
        assert held.is_acquired() is True
    assert held.is_acquired() is False


def test_a_waiting_lock_takes_over_when_the_holder_releases(
    etcd: etcd3.Etcd3Client, etcd_prefix: str
) -> None:
    name = etcd_prefix.strip("/").replace("/", "_") + "w"
    holder = etcd.lock(name, ttl=30)
    assert holder.acquire() is True
    results: list[bool] = []
    waiter = threading.Thread(target=lambda: results.append(etcd.lock(name).acquire(timeout=20)))
    waiter.start()
    started = time.monotonic()
    try:
        holder.release()
    finally:
        waiter.join(25)
    assert results == [True] and time.monotonic() - started < 5
    assert etcd.get(holder.key)[0] not in (None, holder.uuid)
    etcd.delete(holder.key)


def test_a_lock_not_acquired_does_not_enter_the_block(etcd: etcd3.Etcd3Client) -> None:
    # python-etcd3 ran the block without the lock after acquire() gave up (10 s)
    blocked = etcd.lock("never-taken")
    blocked.acquire = lambda timeout=10: False  # type: ignore[method-assign]  # 10 s saved
    with pytest.raises(exceptions.LockTimedOut), blocked:
        pytest.fail("entered the block without the lock")


def test_cluster_and_maintenance_calls(etcd: etcd3.Etcd3Client, etcd_server: EtcdServer) -> None:
    (member,) = list(etcd.members)
    assert isinstance(member, etcd3.Member) and member.name == "default"
    assert member.client_urls == [etcd_server.client_url] and "peer urls" in str(member)
    status = etcd.status()
    assert status.version.startswith("3.") and status.db_size > 0 and status.raft_term >= 1
    assert status.raft_index > 0
    assert status.leader is not None and status.leader.id == member.id
    assert isinstance(etcd.hash(), int)
    etcd.defragment()
    snapshot = io.BytesIO()
    etcd.snapshot(snapshot)
    assert len(snapshot.getvalue()) > 4096


def test_alarms(etcd: etcd3.Etcd3Client) -> None:
    (member,) = list(etcd.members)
    try:
        raised = etcd.create_alarm(member_id=member.id)
        assert [(a.member_id, a.alarm_type) for a in raised] == [(member.id, etcdrpc.NOSPACE)]
        listed = list(etcd.list_alarms())
        assert [(a.member_id, a.alarm_type) for a in listed] == [(member.id, etcdrpc.NOSPACE)]
        assert len(member.active_alarms) == 1
        assert list(etcd.list_alarms(member_id=member.id + 1)) == []
        assert len(list(etcd.list_alarms(alarm_type="no space"))) == 1
        with pytest.raises(grpc.RpcError):  # NOSPACE: writes are refused
            etcd.put("/compat-alarm", "v")
    finally:
        cleared = etcd.disarm_alarm()
    assert [a.member_id for a in cleared] == [member.id]
    assert list(etcd.list_alarms()) == [] and member.active_alarms == []


def test_client_arguments(etcd_server: EtcdServer) -> None:
    host, port = _address(etcd_server)
    options = [("grpc.max_receive_message_length", -1), ("grpc.keepalive_time_ms", 20000)]
    with etcd3.Etcd3Client(host=host, port=port, grpc_options=options) as etcd:
        assert etcd.uses_secure_channel is False
        assert etcd.get("/compat-none") == (None, None)
    with pytest.raises(ValueError, match="grpc.enable_http_proxy"):
        etcd3.client(grpc_options={"grpc.enable_http_proxy": 0})
    with pytest.raises(ValueError, match="cert_key"):
        etcd3.client(ca_cert="ca.pem", cert_key="client.key")
    with pytest.raises(ValueError):
        etcd3.client(user="root")


def test_mutual_tls(tmp_path: Any, etcd_prefix: str) -> None:
    certs = generate_certificates(tmp_path)
    with EtcdServer(tls=certs.server_tls(client_cert_auth=True)) as server:
        host, port = _address(server)
        with etcd3.client(
            host=host, port=int(port), ca_cert=certs.ca_file, cert_key=certs.client_key_file,
            cert_cert=certs.client_cert_file, timeout=5,
        ) as etcd:  # fmt: skip
            assert etcd.uses_secure_channel is True
            etcd.put(etcd_prefix + "k", "v")
            assert etcd.get(etcd_prefix + "k")[0] == b"v"
    # a client certificate without ca_cert: TLS trusting gRPC's roots (python-etcd3: plaintext)
    with etcd3.client(cert_key=certs.client_key_file, cert_cert=certs.client_cert_file) as etcd:
        assert etcd.uses_secure_channel is True


def test_token_credentials_plugin() -> None:
    sent: list[Any] = []
    plugin = EtcdTokenCallCredentials("tok")
    plugin(None, lambda metadata, error: sent.append((metadata, error)))  # type: ignore[arg-type]
    assert sent == [((("token", "tok"),), None)]


def test_auth_token_is_sent_and_renewed(etcd_server: EtcdServer, etcd_prefix: str) -> None:
    etcdctl = [find_binary("etcdctl"), "--endpoints", etcd_server.client_url]
    subprocess.run([*etcdctl, "user", "add", "root:pwd"], check=True, capture_output=True)
    subprocess.run([*etcdctl, "auth", "enable"], check=True, capture_output=True)
    try:
        host, port = _address(etcd_server)
        with etcd3.client(host=host, port=port, user="root", password="pwd", timeout=5) as etcd:
            etcd.put(etcd_prefix + "a", "1")
            with outage(etcd_server):  # a restarted member forgets simple tokens
                pass
            assert etcd.get(etcd_prefix + "a")[0] == b"1"
        with etcd3.client(host=host, port=port, timeout=5) as anonymous:
            with pytest.raises(grpc.RpcError):
                anonymous.get(etcd_prefix + "a")
    finally:
        subprocess.run([*etcdctl, "--user", "root:pwd", "auth", "disable"], check=True,
                       capture_output=True)  # fmt: skip
        subprocess.run([*etcdctl, "user", "delete", "root"], check=True, capture_output=True)
