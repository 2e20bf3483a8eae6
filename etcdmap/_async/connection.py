"""One endpoint's gRPC channel and a callable per RPC, created once and reused by every call."""

from __future__ import annotations

from typing import Any

from .._backends.asyncio import open_channel
from .._pb import etcdserverpb, method_path

__all__ = ["AsyncConnection"]


class AsyncConnection:
    """The channel to one endpoint and the unary method callables on it."""

    def __init__(self, endpoint: str, options: list[tuple[str, Any]]) -> None:
        self.endpoint = endpoint
        self.channel = open_channel(endpoint, options)
        self.range = self._unary("KV", "Range", "RangeRequest", "RangeResponse")
        self.put = self._unary("KV", "Put", "PutRequest", "PutResponse")
        self.delete_range = self._unary(
            "KV", "DeleteRange", "DeleteRangeRequest", "DeleteRangeResponse"
        )
        self.txn = self._unary("KV", "Txn", "TxnRequest", "TxnResponse")
        self.compact = self._unary("KV", "Compact", "CompactionRequest", "CompactionResponse")

    def _unary(self, service: str, method: str, request: str, response: str) -> Any:
        return self.channel.unary_unary(
            method_path(f"etcdserverpb.{service}", method),
            request_serializer=getattr(etcdserverpb, request).SerializeToString,
            response_deserializer=getattr(etcdserverpb, response).FromString,
            _registered_method=True,
        )

    async def aclose(self) -> None:
        """Close the channel; calls still in flight fail with CANCELLED."""
        await self.channel.close()
