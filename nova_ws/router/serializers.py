"""WAMP serializers for the router's listeners.

MessagePack and CBOR are Autobahn's own. For JSON the router uses
:class:`FastJsonSerializer`: the same wire format as Autobahn's (binary values
travel as strings holding a NUL byte then base64), but decoded with the C
scanner of the standard library, which is several times faster than the
pure-Python scanner Autobahn needs for its binary convention. The slow path
only runs for messages that actually carry a ``\\u0000``-prefixed string.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any

from autobahn.wamp.serializer import (
    CBORSerializer,
    JsonObjectSerializer,
    JsonSerializer,
    MsgPackSerializer,
)

_decode = json.JSONDecoder().decode
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False,
                           default=lambda o: _binary(o)).encode


def _binary(value: Any) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "\x00" + base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _unbinary(value: Any) -> Any:
    """Turn NUL-prefixed base64 strings back into bytes, recursively."""
    if isinstance(value, str):
        return base64.b64decode(value[1:]) if value[:1] == "\x00" else value
    if isinstance(value, list):
        return [_unbinary(v) for v in value]
    if isinstance(value, dict):
        return {k: _unbinary(v) for k, v in value.items()}
    return value


class FastJsonObjectSerializer(JsonObjectSerializer):
    """Autobahn's JSON object serializer, on the C encoder and decoder."""

    def serialize(self, obj: Any) -> bytes:
        data = _encode(obj).encode("utf8")
        return data + b"\x18" if self._batched else data

    def unserialize(self, payload: bytes) -> list[Any]:
        chunks = payload.split(b"\x18")[:-1] if self._batched else [payload]
        if not chunks:
            raise ValueError("batch format error")
        out = []
        for chunk in chunks:
            text = chunk.decode("utf8")
            value = _decode(text)
            if "\\u0000" in text:
                value = _unbinary(value)
            out.append(value)
        return out


class FastJsonSerializer(JsonSerializer):
    """``wamp.2.json`` with :class:`FastJsonObjectSerializer`."""

    def __init__(self, batched: bool = False) -> None:
        super().__init__(batched=batched)
        self._serializer = FastJsonObjectSerializer(batched=batched)


SERIALIZERS: dict[str, Callable[..., Any]] = {
    "json": FastJsonSerializer, "msgpack": MsgPackSerializer, "cbor": CBORSerializer,
}


def make_serializers(names: Sequence[str], batched: bool = True) -> list[Any]:
    """Serializers for the configured names (with batched variants for WebSocket)."""
    out = []
    for name in names:
        out.append(SERIALIZERS[name]())
        if batched:
            out.append(SERIALIZERS[name](batched=True))
    return out
