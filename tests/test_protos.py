"""etcd v3 API protos: generator freshness, isolation, wire compatibility.

No etcd server needed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

import etcdmap._pb as pb
from etcdmap._pb import etcdserverpb, mvccpb

ROOT = Path(__file__).resolve().parent.parent
GEN = ROOT / "scripts" / "gen_protos"


def _need(module: str) -> None:
    """Skip, saying so, where a code tool of the [test] extra is not installed (scripts/matrix's
    floors venvs: grpcio-tools pins a recent grpcio); CI installs them all."""
    pytest.importorskip(module, reason=f"{module} is not installed (a code tool of [test])")


def _run(args: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=ROOT, **kw)


# --------------------------------------------------------------- generator


def test_generated_output_is_fresh() -> None:
    _need("grpc_tools")
    proc = _run([sys.executable, str(GEN), "--check"])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_namespaces_and_private_pool() -> None:
    from google.protobuf import descriptor_pool

    assert pb.etcdserverpb.RangeRequest(key=b"a").key == b"a"
    assert pb.etcdserverpb.RangeRequest.DESCEND == 2
    assert pb.etcdserverpb.Compare.EQUAL == 0
    assert pb.mvccpb.Event.PUT == 0
    assert pb.etcdserverpb.AlarmType.Value("NOSPACE") == 1
    assert pb.authpb.Permission.READWRITE == 2
    assert pb.v3lockpb.LockRequest(name=b"l").name == b"l"
    assert pb.v3electionpb.LeaderKey(rev=3).rev == 3
    desc = pb.etcdserverpb.RangeRequest.DESCRIPTOR
    assert desc.file.pool is pb.pool
    assert pb.pool is not descriptor_pool.Default()


# --------------------------------------------------------------- coexistence

_COEXIST = textwrap.dedent(
    """
    import importlib, sys
    order = sys.argv[1:]
    for name in order:
        importlib.import_module(name)
    import aetcd.rpc.rpc_pb2 as theirs
    import etcdmap._pb as ours
    from google.protobuf import descriptor_pool

    a = theirs.RangeRequest(key=b"k", limit=3)
    b = ours.etcdserverpb.RangeRequest(key=b"k", limit=3)
    assert type(a) is not type(b)
    assert a.SerializeToString() == b.SerializeToString()
    assert ours.etcdserverpb.RangeRequest.FromString(a.SerializeToString()) == b
    # aetcd owns the default pool's etcdserverpb.*; ours lives elsewhere.
    default = descriptor_pool.Default()
    found = default.FindMessageTypeByName("etcdserverpb.RangeRequest")
    assert found is theirs.RangeRequest.DESCRIPTOR
    assert found.file.name != "etcdserverpb/rpc.proto"
    print("ok", *order)
    """
)


@pytest.mark.parametrize(
    "order",
    [["etcdmap", "aetcd"], ["aetcd", "etcdmap"]],
    ids=["etcdmap-first", "aetcd-first"],
)
def test_coexists_with_aetcd(order: list[str]) -> None:
    _need("aetcd")
    proc = _run([sys.executable, "-W", "error", "-c", _COEXIST, *order])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("ok")


# --------------------------------------------------------------- wire compatibility


def _is_repeated(field: FieldDescriptor) -> bool:
    # protobuf >= 6.31 has is_repeated; 7.x dropped label.
    flag = getattr(field, "is_repeated", None)
    if flag is None:
        return bool(field.label == FieldDescriptor.LABEL_REPEATED)
    return bool(flag)


def _assert_same(ours: Message, theirs: Message, path: str = "") -> None:
    """Compare field by field; fields unknown to `theirs` are skipped."""
    their_fields = theirs.DESCRIPTOR.fields_by_name
    for field in ours.DESCRIPTOR.fields:
        where = f"{path}{ours.DESCRIPTOR.name}.{field.name}"
        other = their_fields.get(field.name)
        if other is None:
            continue  # older aetcd protos lack this field
        assert other.number == field.number, where
        a, b = getattr(ours, field.name), getattr(theirs, field.name)
        is_msg = field.type == FieldDescriptor.TYPE_MESSAGE
        if _is_repeated(field):
            assert len(a) == len(b), where
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                if is_msg:
                    _assert_same(x, y, f"{where}[{i}].")
                else:
                    assert x == y, f"{where}[{i}]"
        elif is_msg:
            assert ours.HasField(field.name) == theirs.HasField(field.name), where
            if ours.HasField(field.name):
                _assert_same(a, b, f"{where}.")
        else:
            assert a == b, where
    for oneof in ours.DESCRIPTOR.oneofs:
        if oneof.name in theirs.DESCRIPTOR.oneofs_by_name:
            assert ours.WhichOneof(oneof.name) == theirs.WhichOneof(oneof.name)


def _kv(i: int) -> Any:
    return mvccpb.KeyValue(
        key=b"k%d" % i,
        create_revision=10 + i,
        mod_revision=20 + i,
        version=i + 1,
        value=b"v%d" % i,
        lease=0x7000 + i,
    )


def _samples() -> list[Message]:
    E = etcdserverpb  # noqa: N806
    header = E.ResponseHeader(cluster_id=2**63 + 5, member_id=7, revision=42, raft_term=3)
    nested = E.TxnRequest(
        compare=[E.Compare(key=b"n", target=E.Compare.VALUE, value=b"x")],
        success=[E.RequestOp(request_delete_range=E.DeleteRangeRequest(key=b"n", prev_kv=True))],
    )
    return [
        E.RangeRequest(
            key=b"a",
            range_end=b"\x00",
            limit=10,
            revision=99,
            sort_order=E.RangeRequest.DESCEND,
            sort_target=E.RangeRequest.MOD,
            serializable=True,
            keys_only=True,
            count_only=True,
            min_mod_revision=1,
            max_mod_revision=2,
            min_create_revision=3,
            max_create_revision=4,
        ),
        E.PutRequest(
            key=b"k",
            value=b"\xff\x00v",
            lease=123,
            prev_kv=True,
            ignore_value=True,
            ignore_lease=True,
        ),
        E.TxnRequest(
            compare=[
                E.Compare(
                    result=E.Compare.GREATER,
                    target=E.Compare.MOD,
                    key=b"p/",
                    range_end=b"p0",
                    mod_revision=17,
                ),
                E.Compare(result=E.Compare.NOT_EQUAL, target=E.Compare.LEASE, key=b"q", lease=9),
            ],
            success=[
                E.RequestOp(request_put=E.PutRequest(key=b"p/1", value=b"1")),
                E.RequestOp(request_txn=nested),
            ],
            failure=[E.RequestOp(request_range=E.RangeRequest(key=b"p/", range_end=b"p0"))],
        ),
        E.WatchRequest(
            create_request=E.WatchCreateRequest(
                key=b"w",
                range_end=b"x",
                start_revision=5,
                progress_notify=True,
                filters=[E.WatchCreateRequest.NOPUT, E.WatchCreateRequest.NODELETE],
                prev_kv=True,
                watch_id=77,
                fragment=True,
            )
        ),
        E.WatchRequest(progress_request=E.WatchProgressRequest()),
        E.RangeResponse(header=header, kvs=[_kv(0), _kv(1), _kv(2)], more=True, count=30),
        E.TxnResponse(
            header=header,
            succeeded=True,
            responses=[
                E.ResponseOp(response_put=E.PutResponse(header=header, prev_kv=_kv(5))),
                E.ResponseOp(response_txn=E.TxnResponse(succeeded=False)),
            ],
        ),
        E.WatchResponse(
            header=header,
            watch_id=77,
            created=True,
            compact_revision=4,
            fragment=True,
            events=[
                mvccpb.Event(type=mvccpb.Event.PUT, kv=_kv(1)),
                mvccpb.Event(type=mvccpb.Event.DELETE, kv=_kv(2), prev_kv=_kv(3)),
            ],
        ),
        # hash_revision is newer than aetcd's protos: exercises the skip path.
        E.HashKVResponse(header=header, hash=0xDEADBEEF, compact_revision=8, hash_revision=12),
        E.StatusResponse(
            header=header,
            version="3.6.0",
            dbSize=1 << 20,
            leader=7,
            raftIndex=100,
            raftTerm=3,
            storageVersion="3.6",
            downgradeInfo=E.DowngradeInfo(enabled=True, targetVersion="3.5"),
        ),
        E.MemberListResponse(
            header=header,
            members=[E.Member(ID=1, name="m1", peerURLs=["http://a:2380"], isLearner=True)],
        ),
    ]


@pytest.mark.parametrize("ours", _samples(), ids=lambda m: m.DESCRIPTOR.name)
def test_wire_compatible_with_aetcd(ours: Message) -> None:
    rpc_pb2 = pytest.importorskip("aetcd.rpc.rpc_pb2")
    their_cls = getattr(rpc_pb2, ours.DESCRIPTOR.name)
    data = ours.SerializeToString(deterministic=True)

    theirs = their_cls.FromString(data)
    _assert_same(ours, theirs)

    back = type(ours).FromString(theirs.SerializeToString(deterministic=True))
    _assert_same(back, theirs)
    # Fields aetcd does not know survive its round trip as unknown fields.
    assert back == ours


def test_keyvalue_wire_compatible_with_aetcd() -> None:
    kv_pb2 = pytest.importorskip("aetcd.rpc.kv_pb2")
    ours = _kv(4)
    theirs = kv_pb2.KeyValue.FromString(ours.SerializeToString())
    _assert_same(ours, theirs)
    assert mvccpb.KeyValue.FromString(theirs.SerializeToString()) == ours


# --------------------------------------------------------------- method_path


@pytest.mark.parametrize(
    ("service", "method", "path"),
    [
        ("KV", "Range", "/etcdserverpb.KV/Range"),
        ("etcdserverpb.KV", "Txn", "/etcdserverpb.KV/Txn"),
        ("Watch", "Watch", "/etcdserverpb.Watch/Watch"),
        ("Lease", "LeaseKeepAlive", "/etcdserverpb.Lease/LeaseKeepAlive"),
        ("Maintenance", "Downgrade", "/etcdserverpb.Maintenance/Downgrade"),
        ("Auth", "Authenticate", "/etcdserverpb.Auth/Authenticate"),
        ("Lock", "Unlock", "/v3lockpb.Lock/Unlock"),
        ("v3electionpb.Election", "Observe", "/v3electionpb.Election/Observe"),
    ],
)
def test_method_path(service: str, method: str, path: str) -> None:
    assert pb.method_path(service, method) == path


@pytest.mark.parametrize(
    ("service", "method", "needle"),
    [("KV", "Get", "Get"), ("Kv", "Range", "Kv"), ("etcdserverpb.Nope", "Range", "Nope")],
)
def test_method_path_unknown(service: str, method: str, needle: str) -> None:
    with pytest.raises(KeyError, match=needle):
        pb.method_path(service, method)


# --------------------------------------------------------------- field numbers vs etcd


@pytest.mark.parametrize(
    ("message", "field", "number"),
    [
        ("RangeRequest", "count_only", 9),
        ("RangeRequest", "min_create_revision", 12),
        ("RangeRequest", "max_create_revision", 13),
        ("PutRequest", "ignore_lease", 6),
        ("Compare", "lease", 8),
        ("Compare", "range_end", 64),
        ("RequestOp", "request_txn", 4),
        ("WatchCreateRequest", "filters", 5),
        ("WatchCreateRequest", "watch_id", 7),
        ("WatchCreateRequest", "fragment", 8),
        ("WatchRequest", "progress_request", 3),
        ("WatchResponse", "events", 11),
        ("HashKVResponse", "hash_revision", 4),
        ("Member", "isLearner", 5),
        ("StatusResponse", "downgradeInfo", 13),
        ("LeaseTimeToLiveResponse", "grantedTTL", 4),
    ],
)
def test_field_numbers_match_etcd(message: str, field: str, number: int) -> None:
    desc = getattr(etcdserverpb, message).DESCRIPTOR
    assert desc.fields_by_name[field].number == number


def _streaming(service: str, method: str) -> tuple[bool, bool]:
    # Through the proto: protobuf 4.22's MethodDescriptor has no client_streaming attribute.
    proto = descriptor_pb2.MethodDescriptorProto()
    pb.pool.FindServiceByName(service).methods_by_name[method].CopyToProto(proto)
    return proto.client_streaming, proto.server_streaming


def test_streaming_shapes() -> None:
    assert _streaming("etcdserverpb.Watch", "Watch") == (True, True)
    assert _streaming("etcdserverpb.Maintenance", "Snapshot") == (False, True)
