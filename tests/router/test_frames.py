"""The router's reader for plain client WebSocket frames.

:func:`client_frames` takes the common frames itself and must stop exactly
at the first frame Autobahn has to judge; :func:`unmask` must agree with
Autobahn's own XOR masker.
"""

from __future__ import annotations

import struct

from autobahn.websocket.xormasker import create_xor_masker
from hypothesis import given
from hypothesis import strategies as st

from nova_ws.router.transports import client_frames, unmask

masks = st.binary(min_size=4, max_size=4)


def masked_frame(payload: bytes, mask: bytes, opcode: int = 2, fin: bool = True,
                 rsv: int = 0, masked: bool = True, length_form: str = "minimal") -> bytes:
    """A client frame by RFC 6455 5.2; ``length_form`` may choose a wasteful encoding."""
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | rsv << 4 | opcode])
    bit = 0x80 if masked else 0
    if length_form == "16" or (length_form == "minimal" and 126 <= n < 65536):
        head += struct.pack("!BH", bit | 126, n)
    elif length_form == "64" or (length_form == "minimal" and n >= 65536):
        head += struct.pack("!BQ", bit | 127, n)
    else:
        head += bytes([bit | n])
    if not masked:
        return head + payload
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + body


@given(masks, st.binary(max_size=300))
def test_unmask_is_autobahns(mask: bytes, payload: bytes) -> None:
    """For any mask and payload, unmasking gives what Autobahn's masker gives."""
    expected = create_xor_masker(mask, len(payload)).process(payload) if payload else b""
    assert unmask(mask, payload) == expected
    assert unmask(mask, unmask(mask, payload)) == payload


frames = st.lists(st.one_of(
    st.tuples(st.binary(max_size=200), st.just(True), masks),
    st.tuples(st.text(max_size=80).map(lambda t: t.encode()), st.just(False), masks),
), max_size=6)


@given(frames)
def test_plain_frames_come_out_whole(spec: list[tuple[bytes, bool, bytes]]) -> None:
    """For any run of plain frames, every payload comes out, in order, with its end offset."""
    data, ends = b"", []
    for payload, binary, mask in spec:
        data += masked_frame(payload, mask, opcode=2 if binary else 1)
        ends.append(len(data))
    got = client_frames(data, 0)
    assert [(end, p, b) for end, p, b in got] == [
        (end, payload, binary) for end, (payload, binary, _) in zip(ends, spec, strict=True)]


@given(frames, st.integers(min_value=0))
def test_a_cut_frame_waits(spec: list[tuple[bytes, bool, bytes]], cut: int) -> None:
    """When data ends inside a frame, only the frames before it come out."""
    data, ends = b"", []
    for payload, binary, mask in spec:
        data += masked_frame(payload, mask, opcode=2 if binary else 1)
        ends.append(len(data))
    cut = cut % (len(data) + 1)
    got = client_frames(data[:cut], 0)
    assert [end for end, _, _ in got] == [end for end in ends if end <= cut]


NOT_PLAIN = {
    "ping": lambda m: masked_frame(b"hi", m, opcode=9),
    "close": lambda m: masked_frame(b"\x03\xe8", m, opcode=8),
    "fragment": lambda m: masked_frame(b"part", m, opcode=1, fin=False),
    "continuation": lambda m: masked_frame(b"part", m, opcode=0),
    "reserved opcode": lambda m: masked_frame(b"x", m, opcode=3),
    "rsv bit": lambda m: masked_frame(b"x", m, rsv=4),
    "unmasked": lambda m: masked_frame(b"x", m, masked=False),
    "16-bit length for 5 bytes": lambda m: masked_frame(b"12345", m, length_form="16"),
    "64-bit length for 200 bytes": lambda m: masked_frame(b"y" * 200, m, length_form="64"),
    "invalid UTF-8 text": lambda m: masked_frame(b"\xff\xfe", m, opcode=1),
    "cut UTF-8 text": lambda m: masked_frame("é".encode()[:1], m, opcode=1),
    "over the limit": lambda m: masked_frame(b"z" * 1001, m),
}


@given(frames, st.sampled_from(sorted(NOT_PLAIN)), masks, frames)
def test_stops_at_the_first_frame_for_autobahn(before: list[tuple[bytes, bool, bytes]],
                                                kind: str, mask: bytes,
                                                after: list[tuple[bytes, bool, bytes]]) -> None:
    """When a frame is not plain, parsing stops right before it; nothing after it is taken."""
    data = b"".join(masked_frame(p, m, opcode=2 if b else 1) for p, b, m in before)
    boundary = len(data)
    data += NOT_PLAIN[kind](mask)
    data += b"".join(masked_frame(p, m, opcode=2 if b else 1) for p, b, m in after)
    got = client_frames(data, 1000)
    assert len(got) == len(before)
    assert (got[-1][0] if got else 0) == boundary


@given(st.binary(max_size=300), st.integers(min_value=0, max_value=300))
def test_garbage_never_raises(data: bytes, limit: int) -> None:
    """For any bytes, the reader returns increasing offsets within the data, never raising."""
    last = 0
    for end, payload, _ in client_frames(data, limit):
        assert last < end <= len(data)
        assert not limit or len(payload) <= limit
        last = end
