"""A realm: its joined sessions, its broker, its dealer and its roles."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from nova_ws.router.authz import Authorizer
from nova_ws.router.broker import Broker
from nova_ws.router.dealer import Dealer

if TYPE_CHECKING:
    from twisted.internet.interfaces import IReactorTime

    from nova_ws.router.peer import Peer


class Realm:
    """One WAMP routing realm.

    Sessions attach when they are welcomed and detach when they leave; the
    broker and dealer forget a detached session's subscriptions, registrations
    and calls, and the meta API announces both.
    """

    def __init__(
        self,
        name: str,
        authorizer: Authorizer,
        clock: IReactorTime,
        call_timeout: float = 0.0,
    ) -> None:
        self.name = name
        self.authorizer = authorizer
        self.sessions: dict[int, Peer] = {}
        self.broker = Broker(self)
        self.dealer = Dealer(self, clock, call_timeout)

    def attach(self, session: Peer) -> None:
        """Add a welcomed session and announce it."""
        self.sessions[session.session_id] = session
        if not session.internal:
            self.broker.publish_meta("wamp.session.on_join", [session_details(session)])

    def detach(self, session: Peer) -> None:
        """Remove a session that left, with everything it held."""
        if self.sessions.pop(session.session_id, None) is None:
            return
        self.dealer.detach(session)
        self.broker.detach(session)
        if not session.internal:
            self.broker.publish_meta(
                "wamp.session.on_leave",
                [session.session_id, session.authid, session.authrole],
            )

    def public_sessions(self) -> Iterator[Peer]:
        """The sessions of clients (not the router's own peers)."""
        return (s for s in self.sessions.values() if not s.internal)


def session_details(session: Peer) -> dict[str, Any]:
    """The meta API's description of a session."""
    return {
        "session": session.session_id,
        "authid": session.authid,
        "authrole": session.authrole,
        "authmethod": session.authmethod,
        "authprovider": session.authprovider,
        "authextra": dict(session.authextra or {}),
        "transport": {"peer": session.peer_description},
    }
