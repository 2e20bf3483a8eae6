"""pydantic models as the ``type`` of the ``Json`` and ``MsgPack`` codecs (the optional extra
``etcdmap[pydantic]``).

msgspec encodes Structs, dataclasses, attrs classes and TypedDicts itself, but not pydantic
models: for a model class the codec uses pydantic to validate and dump, and msgspec only for
the MessagePack bytes. Values are validated on write (a model instance again, since an
instance may have been mutated or built without validation; a dict is validated into the
model) and on read. pydantic is never imported here: a model class exists only once the
user has imported it.
"""

from __future__ import annotations

import sys
from typing import Any

import msgspec

__all__ = ["PydanticFormat", "pydantic_format"]


def pydantic_format(tp: Any, module: Any) -> PydanticFormat | None:
    """The format of ``tp`` in msgspec's ``module`` (``msgspec.json`` or
    ``msgspec.msgpack``) if it is a pydantic model class, else None."""
    pydantic = sys.modules.get("pydantic")
    if pydantic is None or not isinstance(tp, type) or not issubclass(tp, pydantic.BaseModel):
        return None
    return PydanticFormat(tp, json=module is msgspec.json)


class PydanticFormat:
    """``encode``/``decode`` of one pydantic model class, as JSON or MessagePack."""

    __slots__ = ("json", "model")

    def __init__(self, model: Any, *, json: bool) -> None:
        self.model = model
        self.json = json

    def encode(self, value: Any) -> bytes:
        """``value`` validated as the model and encoded; ``TypeError`` if it is not valid."""
        model = self.model
        try:
            if not isinstance(value, model):
                value = model.model_validate(value)
            # Through JSON, which validates every field again (pydantic does not re-check
            # an instance) and keeps strict models' rules for dates and the like.
            valid = model.model_validate_json(value.model_dump_json(warnings=False))
            if self.json:
                encoded: bytes = valid.model_dump_json().encode()
                return encoded
            return msgspec.msgpack.encode(valid.model_dump(mode="json"))
        except ValueError as error:  # pydantic's ValidationError and serialization errors
            raise TypeError(str(error)) from None

    def decode(self, data: bytes) -> Any:
        """The stored bytes validated as the model (pydantic's ``ValidationError``, a
        ``ValueError``, if they are not valid)."""
        if self.json:
            return self.model.model_validate_json(data)
        return self.model.model_validate(msgspec.msgpack.decode(data))
