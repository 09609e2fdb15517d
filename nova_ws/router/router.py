"""The router: its realms, its authenticators, and sessions for transports."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from autobahn.wamp import message, role

from nova_ws.router import meta
from nova_ws.router.auth.interfaces import IAuthenticator
from nova_ws.router.authz import Authorizer, RolePolicy
from nova_ws.router.internal import InternalCaller, InternalPeer
from nova_ws.router.realm import Realm
from nova_ws.router.session import RouterSession
from nova_ws.router.wire import CallIn, YieldIn

if TYPE_CHECKING:
    from twisted.internet.interfaces import IReactorTime

WELCOME_ROLES = {
    "broker": role.RoleBrokerFeatures(
        publisher_identification=True, pattern_based_subscription=True,
        session_meta_api=True, subscription_meta_api=True,
        subscriber_blackwhite_listing=True, publisher_exclusion=True,
        payload_transparency=True),
    "dealer": role.RoleDealerFeatures(
        caller_identification=True, pattern_based_registration=True,
        session_meta_api=True, registration_meta_api=True, shared_registration=True,
        call_timeout=True, call_canceling=True, progressive_call_results=True,
        payload_transparency=True),
}


class Router:
    """A WAMP router: realms with their roles, and the authenticators.

    ``session_factory`` is what Autobahn's transport factories want: each call
    makes a :class:`RouterSession` bound to this router.
    """

    def __init__(
        self,
        realms: Mapping[str, Mapping[str, RolePolicy]],
        clock: IReactorTime,
        authenticators: Mapping[str, IAuthenticator] | None = None,
        call_timeout: float = 0.0,
        handshake_timeout: float = 30.0,
    ) -> None:
        self.clock = clock
        self.handshake_timeout = handshake_timeout
        self._session_ids: set[int] = set()
        self.realms: dict[str, Realm] = {}
        self.peers: dict[str, InternalPeer] = {}
        for name, roles in realms.items():
            realm = Realm(name, Authorizer(roles), clock, call_timeout)
            peer = InternalPeer(realm, self.new_session_id())
            realm.sessions[peer.session_id] = peer
            meta.install(realm, peer)
            self.realms[name] = realm
            self.peers[name] = peer
        self.caller = InternalCaller(self.peers)
        self.authenticators: dict[str, IAuthenticator] = dict(authenticators or {})
        self.welcome_roles = WELCOME_ROLES

    def new_session_id(self) -> int:
        """A fresh random session ID, unique on this router."""
        while True:
            sid = random.randint(1, 2**53)
            if sid not in self._session_ids:
                self._session_ids.add(sid)
                return sid

    def release_session_id(self, sid: int) -> None:
        """Forget a session ID that is no longer in use."""
        self._session_ids.discard(sid)

    def session_factory(self) -> RouterSession:
        """A new session for a new transport."""
        return RouterSession(self)

    def dispatch_table(self, session: RouterSession) -> dict[type, Callable[[Any], None]]:
        """Handlers for a joined session, by message class."""
        realm = session.realm
        assert realm is not None
        broker, dealer = realm.broker, realm.dealer
        return {
            message.Publish: partial(broker.publish, session),
            message.Subscribe: partial(broker.subscribe, session),
            message.Unsubscribe: partial(broker.unsubscribe, session),
            CallIn: partial(dealer.call, session),
            YieldIn: partial(dealer.yield_, session),
            message.Call: partial(dealer.call, session),
            message.Cancel: partial(dealer.cancel, session),
            message.Register: partial(dealer.register, session),
            message.Unregister: partial(dealer.unregister, session),
            message.Yield: partial(dealer.yield_, session),
            message.Error: session.on_caller_error,
            message.Goodbye: session.on_goodbye,
        }
