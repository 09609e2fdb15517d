"""Nova's Origin check: same host, allowed hosts, schemes, forwarded headers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nova_ws.console.origin import OriginPolicy, origin_refusal

OPEN = OriginPolicy()


@pytest.mark.parametrize(
    ("origin", "host", "secure", "allowed"),
    [
        ("http://console.example:6080", "console.example:6080", False, True),
        ("HTTP://Console.Example:6080", "console.EXAMPLE:6080", False, True),
        ("http://console.example", "console.example:80", False, True),
        ("https://console.example", "console.example", True, True),
        ("https://console.example", "console.example", False, False),
        ("http://console.example", "console.example", True, False),
        ("http://console.example:6081", "console.example:6080", False, False),
        ("http://evil.example:6080", "console.example:6080", False, False),
        ("null", "console.example", False, False),
        ("http://[::1]:6080", "[::1]:6080", False, True),
    ],
)
def test_same_host(origin: str, host: str, secure: bool, allowed: bool) -> None:
    """When the Origin names the Host (scheme and port included), it is allowed."""
    assert (origin_refusal(origin, host, secure=secure, policy=OPEN) is None) == allowed


def test_missing_origin() -> None:
    """When there is no Origin, the request is refused unless the policy allows it."""
    assert origin_refusal(None, "h", secure=False, policy=OPEN) == "missing Origin header"
    lax = OriginPolicy(require_origin=False)
    assert origin_refusal(None, "h", secure=False, policy=lax) is None


def test_forwarded_headers() -> None:
    """When a TLS front end forwards the request, its host and proto are what count."""
    refusal = origin_refusal(
        "https://cloud.example", "127.0.0.1:6080", secure=False, policy=OPEN,
        forwarded_host="cloud.example", forwarded_proto="https",
    )
    assert refusal is None
    refusal = origin_refusal(
        "http://cloud.example", "127.0.0.1:6080", secure=False, policy=OPEN,
        forwarded_host="cloud.example", forwarded_proto="https",
    )
    assert refusal == "Origin header protocol does not match this host"


def test_allowed_origins() -> None:
    """When the Origin's host is listed (alone or with its port), it is allowed."""
    policy = OriginPolicy.from_config(["Dashboard.example", "other.example:8443"])
    assert origin_refusal("http://dashboard.example:9", "c:6080", secure=False,
                          policy=policy) is None
    assert origin_refusal("https://other.example:8443", "c", secure=True, policy=policy) is None
    assert origin_refusal("https://other.example", "c", secure=True, policy=policy) is not None
    with pytest.raises(ValueError):
        OriginPolicy.from_config(["http://no/path"])


hosts = st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z]{2,5}){0,2}", fullmatch=True)
ports = st.integers(min_value=1, max_value=65535)


@given(host=hosts, port=ports, secure=st.booleans(), upper=st.booleans())
def test_own_host_always_allowed(host: str, port: int, secure: bool, upper: bool) -> None:
    """When the Origin is the proxy's own host and port in any case, it is allowed."""
    scheme = "https" if secure else "http"
    origin = f"{scheme}://{host.upper() if upper else host}:{port}"
    assert origin_refusal(origin, f"{host}:{port}", secure=secure, policy=OPEN) is None


@given(host=hosts, other=hosts, port=ports, other_port=ports, secure=st.booleans(),
       origin_secure=st.booleans())
def test_anything_else_refused(host: str, other: str, port: int, other_port: int,
                               secure: bool, origin_secure: bool) -> None:
    """When the Origin differs in host, port or scheme (and nothing is listed), it is refused."""
    scheme = "https" if origin_secure else "http"
    refusal = origin_refusal(f"{scheme}://{other}:{other_port}", f"{host}:{port}",
                             secure=secure, policy=OPEN)
    same = (other, other_port, origin_secure) == (host, port, secure)
    assert (refusal is None) == same
