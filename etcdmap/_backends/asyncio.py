"""asyncio primitives: grpc.aio channels."""

from __future__ import annotations

from typing import Any

import grpc
import grpc.aio

__all__ = ["open_channel"]


def open_channel(target: str, options: list[tuple[str, Any]]) -> Any:
    """An insecure grpc.aio channel to ``target``, bound to the running event loop."""
    return grpc.aio.insecure_channel(target, options=options)


