"""etcdmap's typed results back into the protobuf messages python-etcd3 handed out.

The messages are etcdmap's (its private pool, the names of ``etcd3.etcdrpc``), so fields,
``HasField``, ``WhichOneof`` and serialisation all work as they did.
"""

from __future__ import annotations

from typing import Any

from ... import DeleteResponse, GetResponse, PutResponse, ResponseHeader, TxnResponse
from ..._pb import etcdserverpb


def header(h: ResponseHeader) -> Any:
    """An ``etcdrpc.ResponseHeader``."""
    return etcdserverpb.ResponseHeader(
        cluster_id=h.cluster_id, member_id=h.member_id, revision=h.revision, raft_term=h.raft_term
    )


def range_response(r: GetResponse) -> Any:
    """An ``etcdrpc.RangeResponse``."""
    return etcdserverpb.RangeResponse(
        header=header(r.header), kvs=r.kvs, count=r.count, more=r.more
    )


def put_response(r: PutResponse) -> Any:
    """An ``etcdrpc.PutResponse`` (``prev_kv`` unset when there was none)."""
    return etcdserverpb.PutResponse(header=header(r.header), prev_kv=r.prev_kv)


def delete_response(r: DeleteResponse) -> Any:
    """An ``etcdrpc.DeleteRangeResponse``."""
    return etcdserverpb.DeleteRangeResponse(
        header=header(r.header), deleted=r.deleted, prev_kvs=r.prev_kvs
    )


def txn_response(r: TxnResponse) -> Any:
    """An ``etcdrpc.TxnResponse``."""
    return etcdserverpb.TxnResponse(
        header=header(r.header), succeeded=r.succeeded,
        responses=[response_op(op) for op in r.responses],
    )  # fmt: skip


def response_op(r: GetResponse | PutResponse | DeleteResponse | TxnResponse) -> Any:
    """An ``etcdrpc.ResponseOp``: one result of a transaction."""
    if isinstance(r, GetResponse):
        return etcdserverpb.ResponseOp(response_range=range_response(r))
    if isinstance(r, PutResponse):
        return etcdserverpb.ResponseOp(response_put=put_response(r))
    if isinstance(r, DeleteResponse):
        return etcdserverpb.ResponseOp(response_delete_range=delete_response(r))
    return etcdserverpb.ResponseOp(response_txn=txn_response(r))
