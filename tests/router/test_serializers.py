"""The router's fast JSON serializer speaks exactly Autobahn's JSON wire format."""

from __future__ import annotations

from typing import Any

import pytest
from autobahn.wamp.serializer import JsonObjectSerializer
from hypothesis import given
from hypothesis import strategies as st

from nova_ws.router.serializers import FastJsonObjectSerializer

# A text string that starts with NUL means "binary" in WAMP's JSON convention, so
# such strings cannot round-trip by design (in Autobahn or here); they are left out.
texts = st.text().filter(lambda t: not t.startswith("\x00"))
values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False) | texts | st.binary(max_size=16),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner,
                                                                max_size=4),
    max_leaves=12)


@given(st.lists(values, max_size=5))
def test_same_bytes_and_values_as_autobahn(msg: list[Any]) -> None:
    """For any message, both serializers write the same bytes and read back the same value."""
    ours, theirs = FastJsonObjectSerializer(), JsonObjectSerializer()
    wire = theirs.serialize(msg)
    assert ours.serialize(msg) == wire
    assert ours.unserialize(wire) == theirs.unserialize(wire) == [msg]


@given(st.lists(st.lists(values, max_size=3), min_size=1, max_size=4))
def test_batched(msgs: list[list[Any]]) -> None:
    """For any batch, the batched framing matches Autobahn's."""
    ours, theirs = FastJsonObjectSerializer(batched=True), JsonObjectSerializer(batched=True)
    wire = b"".join(theirs.serialize(m) for m in msgs)
    assert b"".join(ours.serialize(m) for m in msgs) == wire
    assert ours.unserialize(wire) == msgs


def test_bad_json_raises() -> None:
    """When the payload is not JSON, unserialize raises (the transport aborts the session)."""
    with pytest.raises(ValueError):
        FastJsonObjectSerializer().unserialize(b"{nope")
