"""The broker: subscriptions and event delivery for one realm.

Each handler does three separate steps: authorize, validate, deliver. An
event is built once per subscription and serialized once per serializer
(Autobahn caches the bytes on the message object), then sent to every
receiver.
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any

from autobahn.wamp import message

from nova_ws.router.authz import PUBLISH, SUBSCRIBE
from nova_ws.router.urimap import EXACT, MATCH_POLICIES, UriMap, UriMapError, check_pattern

if TYPE_CHECKING:
    from nova_ws.router.peer import Peer
    from nova_ws.router.realm import Realm

NOT_AUTHORIZED = "wamp.error.not_authorized"
INVALID_URI = "wamp.error.invalid_uri"
NO_SUCH_SUBSCRIPTION = "wamp.error.no_such_subscription"


def new_global_id() -> int:
    """A random ID in WAMP's global scope [1, 2^53]."""
    return random.randint(1, 2**53)


class Subscription:
    """One subscription: a topic pattern and the sessions subscribed to it."""

    __slots__ = ("id", "uri", "match", "created", "subscribers")

    def __init__(self, sub_id: int, uri: str, match: str) -> None:
        self.id = sub_id
        self.uri = uri
        self.match = match
        self.created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.subscribers: dict[int, Peer] = {}

    def details(self) -> dict[str, Any]:
        """The meta API's description of this subscription."""
        return {"id": self.id, "created": self.created, "uri": self.uri, "match": self.match}


class Broker:
    """Routes PUBLISH to subscribers of one realm."""

    def __init__(self, realm: Realm) -> None:
        self._realm = realm
        self.subscriptions: UriMap[Subscription] = UriMap()
        self.by_id: dict[int, Subscription] = {}

    # -- subscribe / unsubscribe -------------------------------------------

    def subscribe(self, session: Peer, msg: message.Subscribe) -> None:
        """Handle SUBSCRIBE."""
        match = msg.match or EXACT
        if not session.permissions.allows(SUBSCRIBE, msg.topic):
            return _error(session, message.Subscribe.MESSAGE_TYPE, msg.request, NOT_AUTHORIZED,
                          f"session is not authorized to subscribe to topic '{msg.topic}'")
        if match not in MATCH_POLICIES:
            return _error(session, message.Subscribe.MESSAGE_TYPE, msg.request, INVALID_URI,
                          f"unknown match policy '{match}'")
        try:
            check_pattern(msg.topic, match)
        except UriMapError as exc:
            return _error(session, message.Subscribe.MESSAGE_TYPE, msg.request, INVALID_URI,
                          str(exc))
        sub = self.subscriptions.get(msg.topic, match)
        created = sub is None
        if sub is None:
            sub = Subscription(new_global_id(), msg.topic, match)
            self.subscriptions.set(msg.topic, match, sub)
            self.by_id[sub.id] = sub
        added = session.session_id not in sub.subscribers
        sub.subscribers[session.session_id] = session
        session.subscriptions.add(sub.id)
        session.send(message.Subscribed(msg.request, sub.id))
        if created:
            self.publish_meta("wamp.subscription.on_create", [session.session_id, sub.details()])
        if added:
            self.publish_meta("wamp.subscription.on_subscribe", [session.session_id, sub.id])

    def unsubscribe(self, session: Peer, msg: message.Unsubscribe) -> None:
        """Handle UNSUBSCRIBE."""
        sub = self.by_id.get(msg.subscription)
        if sub is None or session.session_id not in sub.subscribers:
            return _error(session, message.Unsubscribe.MESSAGE_TYPE, msg.request,
                          NO_SUCH_SUBSCRIPTION, f"no subscription {msg.subscription}")
        self._remove(session, sub)
        session.send(message.Unsubscribed(msg.request))

    def _remove(self, session: Peer, sub: Subscription) -> None:
        del sub.subscribers[session.session_id]
        session.subscriptions.discard(sub.id)
        self.publish_meta("wamp.subscription.on_unsubscribe", [session.session_id, sub.id])
        if not sub.subscribers:
            self.subscriptions.pop(sub.uri, sub.match)
            del self.by_id[sub.id]
            self.publish_meta("wamp.subscription.on_delete", [session.session_id, sub.id])

    def detach(self, session: Peer) -> None:
        """Forget every subscription of a session that left."""
        for sub_id in list(session.subscriptions):
            sub = self.by_id.get(sub_id)
            if sub is not None and session.session_id in sub.subscribers:
                self._remove(session, sub)
        session.subscriptions.clear()

    # -- publish -------------------------------------------------------------

    def publish(self, session: Peer, msg: message.Publish) -> None:
        """Handle PUBLISH: authorize, then deliver, then acknowledge."""
        topic = msg.topic
        if not session.permissions.allows(PUBLISH, topic) or (
            topic.startswith("wamp.") and not session.internal
        ):
            if msg.acknowledge:
                _error(session, message.Publish.MESSAGE_TYPE, msg.request, NOT_AUTHORIZED,
                       f"session is not authorized to publish to topic '{topic}'")
            return
        publication = new_global_id()
        disclose = session.permissions.discloses(PUBLISH, topic)
        for sub in self.subscriptions.match_all(topic):
            receivers = _receivers(session, sub, msg)
            if not receivers:
                continue
            event = message.Event(
                sub.id, publication, args=msg.args, kwargs=msg.kwargs, payload=msg.payload,
                publisher=session.session_id if disclose else None,
                publisher_authid=session.authid if disclose else None,
                publisher_authrole=session.authrole if disclose else None,
                topic=topic if sub.match != EXACT else None,
                enc_algo=msg.enc_algo, enc_key=msg.enc_key, enc_serializer=msg.enc_serializer,
            )
            for receiver in receivers:
                receiver.send(event)
        if msg.acknowledge:
            session.send(message.Published(msg.request, publication))

    def publish_meta(self, topic: str, args: list[Any]) -> None:
        """Publish a router event (meta API) to the realm's subscribers."""
        subs = self.subscriptions.match_all(topic)
        if not subs:
            return
        publication = new_global_id()
        for sub in subs:
            event = message.Event(sub.id, publication, args=args,
                                  topic=topic if sub.match != EXACT else None)
            for receiver in list(sub.subscribers.values()):
                receiver.send(event)


def _receivers(session: Peer, sub: Subscription, msg: message.Publish) -> list[Peer]:
    """The subscribers of *sub* that should get this publication."""
    subscribers = sub.subscribers
    exclude_me = msg.exclude_me is not False
    plain = not (msg.exclude or msg.exclude_authid or msg.exclude_authrole
                 or msg.eligible is not None or msg.eligible_authid is not None
                 or msg.eligible_authrole is not None)
    if plain:
        if exclude_me and session.session_id in subscribers:
            return [s for sid, s in subscribers.items() if sid != session.session_id]
        return list(subscribers.values())
    out: list[Peer] = []
    exclude = set(msg.exclude or ())
    exclude_authid = set(msg.exclude_authid or ())
    exclude_authrole = set(msg.exclude_authrole or ())
    eligible = set(msg.eligible) if msg.eligible is not None else None
    eligible_authid = set(msg.eligible_authid) if msg.eligible_authid is not None else None
    eligible_authrole = (set(msg.eligible_authrole)
                         if msg.eligible_authrole is not None else None)
    for sid, s in subscribers.items():
        if exclude_me and sid == session.session_id:
            continue
        if sid in exclude or s.authid in exclude_authid or s.authrole in exclude_authrole:
            continue
        if eligible is not None and sid not in eligible:
            continue
        if eligible_authid is not None and s.authid not in eligible_authid:
            continue
        if eligible_authrole is not None and s.authrole not in eligible_authrole:
            continue
        out.append(s)
    return out


def _error(session: Peer, request_type: int, request: int, error: str, text: str) -> None:
    session.send(message.Error(request_type, request, error, args=[text]))
