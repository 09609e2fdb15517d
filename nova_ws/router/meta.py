"""The WAMP meta API: sessions, registrations and subscriptions.

Procedures are registered on each realm by the router's own peer; their
events (``wamp.session.on_join`` and so on) are published by the realm, the
broker and the dealer as things happen. Both are reachable only by roles with
permissions on ``wamp.*`` (``admin`` by default).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from autobahn.wamp.exception import ApplicationError

from nova_ws.router.realm import session_details
from nova_ws.router.urimap import EXACT, PREFIX, WILDCARD

if TYPE_CHECKING:
    from nova_ws.router.internal import InternalPeer
    from nova_ws.router.realm import Realm

NO_SUCH_SESSION = "wamp.error.no_such_session"
NO_SUCH_REGISTRATION = "wamp.error.no_such_registration"
NO_SUCH_SUBSCRIPTION = "wamp.error.no_such_subscription"
KILLED = "wamp.close.killed"


class SessionMeta:
    """``wamp.session.*`` procedures."""

    def __init__(self, realm: Realm) -> None:
        self._realm = realm

    def _filtered(self, filter_authroles: list[str] | None) -> list[Any]:
        sessions = self._realm.public_sessions()
        if filter_authroles:
            return [s for s in sessions if s.authrole in filter_authroles]
        return list(sessions)

    def count(self, filter_authroles: list[str] | None = None) -> int:
        return len(self._filtered(filter_authroles))

    def list_ids(self, filter_authroles: list[str] | None = None) -> list[int]:
        return [s.session_id for s in self._filtered(filter_authroles)]

    def get(self, session_id: int) -> dict[str, Any]:
        session = self._session(session_id)
        return session_details(session)

    def kill(self, session_id: int, reason: str | None = None,
             message: str | None = None) -> None:
        self._session(session_id).kill(reason or KILLED, message)

    def kill_by_authid(self, authid: str, reason: str | None = None,
                       message: str | None = None) -> list[int]:
        return self._kill_where(lambda s: s.authid == authid, reason, message)

    def kill_by_authrole(self, authrole: str, reason: str | None = None,
                         message: str | None = None) -> int:
        return len(self._kill_where(lambda s: s.authrole == authrole, reason, message))

    def _kill_where(self, pred: Any, reason: str | None, message: str | None) -> list[int]:
        victims = [s for s in self._realm.public_sessions() if pred(s)]
        for session in victims:
            session.kill(reason or KILLED, message)
        return [s.session_id for s in victims]

    def _session(self, session_id: int) -> Any:
        session = self._realm.sessions.get(session_id)
        if session is None or session.internal:
            raise ApplicationError(NO_SUCH_SESSION, f"no session {session_id}")
        return session


class RegistryMeta:
    """``wamp.registration.*`` or ``wamp.subscription.*`` procedures."""

    def __init__(self, uri_map: Any, by_id: dict[int, Any], members: str, missing: str) -> None:
        self._map = uri_map
        self._by_id = by_id
        self._members = members
        self._missing = missing

    def list_ids(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {EXACT: [], PREFIX: [], WILDCARD: []}
        for uri, match, entry in self._map.items():
            if not uri.startswith("wamp."):
                out[match].append(entry.id)
        return out

    def lookup(self, uri: str, options: dict[str, Any] | None = None) -> int | None:
        entry = self._map.get(uri, (options or {}).get("match", EXACT))
        return entry.id if entry is not None else None

    def get(self, entry_id: int) -> dict[str, Any]:
        return self._entry(entry_id).details()

    def list_members(self, entry_id: int) -> list[int]:
        members = getattr(self._entry(entry_id), self._members)
        if isinstance(members, dict):
            return [sid for sid, s in members.items() if not s.internal]
        return [s.session_id for s in members if not s.internal]

    def count_members(self, entry_id: int) -> int:
        return len(self.list_members(entry_id))

    def _entry(self, entry_id: int) -> Any:
        entry = self._by_id.get(entry_id)
        if entry is None:
            raise ApplicationError(self._missing, f"no such id {entry_id}")
        return entry


def install(realm: Realm, peer: InternalPeer) -> None:
    """Register the meta API's procedures on *realm* through *peer*."""
    sessions = SessionMeta(realm)
    for name, handler in (("count", sessions.count), ("list", sessions.list_ids),
                          ("get", sessions.get), ("kill", sessions.kill),
                          ("kill_by_authid", sessions.kill_by_authid),
                          ("kill_by_authrole", sessions.kill_by_authrole)):
        peer.register(f"wamp.session.{name}", handler)
    dealer, broker = realm.dealer, realm.broker
    regs = RegistryMeta(dealer.registrations, dealer.by_id, "callees", NO_SUCH_REGISTRATION)
    subs = RegistryMeta(broker.subscriptions, broker.by_id, "subscribers", NO_SUCH_SUBSCRIPTION)
    peer.register("wamp.registration.match",
                  lambda uri: _id_or_none(dealer.registrations.best_match(uri)))
    peer.register("wamp.subscription.match",
                  lambda uri: [s.id for s in broker.subscriptions.match_all(uri)] or None)
    for prefix, meta, members in (("wamp.registration", regs, "callees"),
                                  ("wamp.subscription", subs, "subscribers")):
        peer.register(f"{prefix}.list", meta.list_ids)
        peer.register(f"{prefix}.lookup", meta.lookup)
        peer.register(f"{prefix}.get", meta.get)
        peer.register(f"{prefix}.list_{members}", meta.list_members)
        peer.register(f"{prefix}.count_{members}", meta.count_members)


def _id_or_none(entry: Any) -> int | None:
    return entry.id if entry is not None else None
