"""Hypothesis strategies for WAMP messages as lists, right and subtly wrong."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

texts = st.text(max_size=6).filter(lambda t: not t.startswith("\x00"))
junk = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | texts | st.binary(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6)
ids = st.integers(min_value=0, max_value=2**53)
bad_ids = st.sampled_from([-1, 2**53 + 1, True, None, "1", 1.0])
uris = st.sampled_from(["com.a", "com.a.b", "x", "nova.compute.h1.spawn", "com.ü"])
bad_uris = st.one_of(st.sampled_from(["", "a..b", "a.", ".a", "a b", "a#b", None, 5]),
                     st.text(max_size=8))
call_options = st.fixed_dictionaries({}, optional={
    "timeout": st.integers(min_value=0, max_value=10**6), "receive_progress": st.booleans()})
yield_options = st.fixed_dictionaries({}, optional={"progress": st.booleans()})
option_keys = st.sampled_from(["timeout", "receive_progress", "progress", "caller",
                               "transaction_hash", "forward_for", "enc_algo", "other", 1])
option_values = st.one_of(st.sampled_from([-1, 0, 1, 1500, True, False, None, "x", 1.5, [1]]),
                          junk)
bad_options = st.one_of(st.dictionaries(option_keys, option_values, min_size=1, max_size=3),
                        junk)
app_args = st.one_of(st.none(), st.lists(junk, max_size=3))
bad_args = st.one_of(texts, st.binary(max_size=6), junk)
app_kwargs = st.dictionaries(texts, junk, max_size=3)
bad_kwargs = st.one_of(st.dictionaries(st.integers(), junk, min_size=1, max_size=2), junk)


def _with_one_fault(draw: Any, raw: list[Any], fields: dict[int, Any]) -> list[Any]:
    """*raw*, or *raw* with one field replaced from ``fields`` (or cut, or extended)."""
    fault = draw(st.sampled_from([None, *fields, "cut", "extend"]))
    if fault == "cut":
        return raw[:draw(st.integers(min_value=1, max_value=len(raw) - 1))]
    if fault == "extend":
        return raw + draw(st.lists(junk, min_size=1, max_size=2))
    if fault is not None:
        raw[fault] = draw(fields[fault])
    return raw


@st.composite
def raw_calls(draw: Any) -> list[Any]:
    """CALL lists as clients write them, or with one field wrong."""
    raw = [48, draw(ids), draw(call_options), draw(uris)]
    extra = draw(st.integers(min_value=0, max_value=2))
    if extra:
        raw.append(draw(app_args))
    if extra == 2:
        raw.append(draw(app_kwargs))
    faults = {1: bad_ids, 2: bad_options, 3: bad_uris}
    if extra:
        faults[4] = bad_args
    if extra == 2:
        faults[5] = bad_kwargs
    return _with_one_fault(draw, raw, faults)


@st.composite
def raw_yields(draw: Any) -> list[Any]:
    """YIELD lists as clients write them, or with one field wrong."""
    raw = [70, draw(ids), draw(yield_options)]
    extra = draw(st.integers(min_value=0, max_value=2))
    if extra:
        raw.append(draw(app_args))
    if extra == 2:
        raw.append(draw(app_kwargs))
    faults = {1: bad_ids, 2: bad_options}
    if extra:
        faults[3] = bad_args
    if extra == 2:
        faults[4] = bad_kwargs
    return _with_one_fault(draw, raw, faults)
