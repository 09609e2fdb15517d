"""The contract between the router's sessions and its authenticators.

One authenticator class per WAMP authmethod (``ticket``, ``wampcra``,
``tls``, ``anonymous``), looked up by name in
:data:`nova_ws.router.auth.registry.AUTHENTICATORS`. A session hands the
authenticator what the client said in HELLO plus what the transport knows
(:class:`HelloInfo`); the authenticator answers with an :class:`Accept`, a
:class:`Deny`, or a :class:`Challenge` whose ``respond`` checks the client's
AUTHENTICATE.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from twisted.internet.defer import Deferred
from zope.interface import Attribute, Interface


@dataclass(frozen=True)
class TransportInfo:
    """What the router knows about a session's connection.

    ``peer_cert`` is the verified client certificate when the connection is
    TLS and the client presented one that chains to the router's CA file:
    ``{"subject": {"CN": ..., "OU": ..., ...}, "issuer": {...},
    "serial": int, "sha256": "hex"}``; otherwise None.
    """

    peer: str
    is_secure: bool = False
    peer_cert: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class HelloInfo:
    """The parts of HELLO an authenticator may use."""

    realm: str
    authid: str | None
    authrole: str | None
    authextra: Mapping[str, Any]
    session_id: int
    transport: TransportInfo


@dataclass(frozen=True)
class Accept:
    """Authentication succeeded: the session joins with this identity."""

    authid: str
    authrole: str
    authmethod: str
    authprovider: str
    authextra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Deny:
    """Authentication failed: the session is aborted with this reason."""

    reason: str = "wamp.error.not_authorized"
    message: str = "authentication failed"


@dataclass(frozen=True)
class Challenge:
    """The client must answer CHALLENGE(method, extra) with AUTHENTICATE.

    ``respond(signature, extra)`` returns (or fires a Deferred with) an
    :class:`Accept` or a :class:`Deny`.
    """

    method: str
    extra: Mapping[str, Any]
    respond: Callable[[str, Mapping[str, Any]], Outcome | Deferred[Outcome]]


Outcome = Accept | Deny
HelloOutcome = Accept | Deny | Challenge


class IInternalCaller(Interface):
    """Lets router-side code call a WAMP procedure registered on a realm."""

    def call(realm: str, procedure: str, *args: Any, **kwargs: Any) -> Deferred:
        """Call *procedure* on *realm*.

        Fires with the first result value (or None) on success; fails with
        :class:`autobahn.wamp.exception.ApplicationError` when the callee
        answers with an error or no callee is registered
        (``wamp.error.no_such_procedure``).
        """


class IAuthenticator(Interface):
    """Decides whether a HELLO may join, for one authmethod."""

    authmethod = Attribute("The WAMP authmethod this authenticator handles (str).")

    def hello(info: HelloInfo) -> HelloOutcome | Deferred[HelloOutcome]:
        """Answer a HELLO that asked for this authmethod.

        Success: an :class:`Accept` (join now) or a :class:`Challenge` (ask
        the client to prove itself). Failure: a :class:`Deny` whose reason
        is a WAMP error URI (usually ``wamp.error.not_authorized``). Must not
        raise; an unexpected exception is treated as a Deny by the session.
        """
