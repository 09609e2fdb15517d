"""Nova's Origin check for console WebSockets, as a pure function.

A browser's WebSocket is allowed when its ``Origin`` names the host (and
port) the browser reached the proxy at -- the ``Host`` header, or
``X-Forwarded-Host`` behind a proxy -- or a host listed in
``allowed_origins``; and when the Origin's scheme matches the proxy's (an
``https`` page for a ``wss`` proxy, ``http`` for ``ws``; ``X-Forwarded-Proto``
overrides what the proxy's own socket says). A request with no Origin is
refused unless the policy says otherwise (non-browser clients). Hosts compare
case-insensitively; a missing port is the scheme's default.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

_SCHEMES = {"http": "http", "ws": "http", "https": "https", "wss": "https"}
_DEFAULT_PORTS = {"http": 80, "https": 443}

HostPort = tuple[str, int | None]


def _split_host(value: str) -> HostPort | None:
    """``host[:port]`` (IPv6 in brackets) -> (lower-case host, port or None)."""
    try:
        parts = urlsplit("//" + value.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host or parts.path or parts.query or parts.username is not None:
        return None
    return host.lower(), port


def _first(value: str | None) -> str | None:
    """The first of a comma-separated header value (proxies chain them)."""
    if value is None:
        return None
    first = value.split(",")[0].strip()
    return first or None


@dataclass(frozen=True)
class OriginPolicy:
    """Which Origins a proxy accepts besides its own host.

    ``allowed_origins`` holds host names or ``host:port`` pairs (Nova's
    ``[console] allowed_origins``); ``require_origin`` refuses requests that
    carry no Origin at all, as browsers always send one.
    """

    allowed_origins: frozenset[HostPort] = frozenset()
    require_origin: bool = True

    @classmethod
    def from_config(cls, allowed: Iterable[str], require_origin: bool = True) -> OriginPolicy:
        """Build a policy from configured ``host`` / ``host:port`` strings; ValueError if bad."""
        parsed = set()
        for entry in allowed:
            split = _split_host(entry)
            if split is None:
                raise ValueError(f"not a host or host:port: {entry!r}")
            parsed.add(split)
        return cls(frozenset(parsed), require_origin)

    def allows_host(self, host: str, port: int) -> bool:
        """True when ``host`` (any port) or ``host:port`` is listed."""
        return (host, None) in self.allowed_origins or (host, port) in self.allowed_origins


def origin_refusal(
    origin: str | None,
    host: str | None,
    *,
    secure: bool,
    policy: OriginPolicy,
    forwarded_host: str | None = None,
    forwarded_proto: str | None = None,
) -> str | None:
    """Why a WebSocket with these headers must be refused, or None when it is allowed.

    ``origin``, ``host``, ``forwarded_host`` and ``forwarded_proto`` are the
    raw header values (None when absent); ``secure`` is whether the proxy's
    own socket is TLS.
    """
    if origin is None:
        return "missing Origin header" if policy.require_origin else None
    try:
        parts = urlsplit(origin.strip())
        origin_host, origin_port = parts.hostname, parts.port
    except ValueError:
        return "Origin header not valid"
    origin_scheme = _SCHEMES.get(parts.scheme.lower())
    if not origin_host or origin_scheme is None:
        return "Origin header not valid"
    origin_host = origin_host.lower()
    origin_port = origin_port or _DEFAULT_PORTS[origin_scheme]

    proto = _first(forwarded_proto)
    if proto is not None:
        proxy_scheme = _SCHEMES.get(proto.lower())
        if proxy_scheme is None:
            return "X-Forwarded-Proto header not valid"
    else:
        proxy_scheme = "https" if secure else "http"
    if origin_scheme != proxy_scheme:
        return "Origin header protocol does not match this host"

    expected = _first(forwarded_host) or _first(host)
    if expected is None:
        return "missing Host header"
    split = _split_host(expected)
    if split is None:
        return "Host header not valid"
    expected_host, expected_port = split
    expected_port = expected_port or _DEFAULT_PORTS[proxy_scheme]
    if (origin_host, origin_port) == (expected_host, expected_port):
        return None
    if policy.allows_host(origin_host, origin_port):
        return None
    return "Origin header does not match this host"
