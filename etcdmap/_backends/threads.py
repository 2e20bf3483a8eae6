"""Thread primitives: blocking grpc channels."""

from __future__ import annotations

from typing import Any

import grpc

__all__ = ["open_channel"]


def open_channel(target: str, options: list[tuple[str, Any]]) -> Any:
    """An insecure blocking grpc channel to ``target``."""
    return grpc.insecure_channel(target, options=options)


