"""What the broker and dealer need from a joined session.

Client sessions (:class:`nova_ws.router.session.RouterSession`) and the
router's own in-process peers (:mod:`nova_ws.router.internal`) both have this
shape, so meta procedures are ordinary registrations and router-side calls
are ordinary calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from nova_ws.router.authz import SessionPermissions


@dataclass(frozen=True)
class PeerFeatures:
    """The advanced features a peer announced in HELLO that the router uses."""

    callee_cancel: bool = False
    callee_progress: bool = False
    caller_progress: bool = False
    caller_cancel: bool = False


class Peer(Protocol):
    """A session the broker and dealer can deliver to."""

    session_id: int
    subscriptions: set[int]
    registrations: set[int]
    next_invocation_id: int

    @property
    def authid(self) -> str | None: ...
    @property
    def authrole(self) -> str | None: ...
    @property
    def authmethod(self) -> str | None: ...
    @property
    def authprovider(self) -> str | None: ...
    @property
    def authextra(self) -> Mapping[str, Any] | None: ...
    @property
    def permissions(self) -> SessionPermissions: ...
    @property
    def features(self) -> PeerFeatures: ...
    @property
    def internal(self) -> bool: ...

    @property
    def peer_description(self) -> str:
        """Where the peer connects from."""

    def send(self, msg: Any) -> None:
        """Deliver one WAMP message; never raises."""

    def send_wire(self, wire: list[Any]) -> None:
        """Deliver one WAMP message given as its list (INVOCATION, RESULT); never raises."""

    def kill(self, reason: str, text: str | None) -> None:
        """Close the session from the router side."""
