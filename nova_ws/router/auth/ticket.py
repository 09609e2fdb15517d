"""WAMP-Ticket: the client proves itself with a shared ticket.

Static principals come from nova.conf (``[router_ticket]``); their ticket is
written in plain or as ``sha256:<hex>`` of the ticket. An authid that is not
a static principal goes to the dynamic authenticator, a WAMP procedure
(``[router] ticket_authenticator``) called as
``procedure(realm, authid, {"ticket", "peer", "authextra"})``; it answers a
role, or ``{"role": ..., "authid": ... (optional), "extra": {...} (optional,
becomes the session's authextra)}``, or an error, which denies. This is how
Identity v3 tokens are checked for people and their programs.

Tickets never appear in a Deny message or a log line.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any, Protocol

from autobahn.wamp.exception import ApplicationError
from twisted.internet.defer import Deferred, ensureDeferred
from zope.interface import implementer

from nova_ws.router.auth.interfaces import (
    Accept,
    Challenge,
    Deny,
    HelloInfo,
    IAuthenticator,
    IInternalCaller,
    Outcome,
)

NOT_AUTHORIZED = "wamp.error.not_authorized"
HASH_PREFIX = "sha256:"


class TicketPrincipalLike(Protocol):
    """A static ticket principal (``nova_ws.config.TicketPrincipal`` fits)."""

    @property
    def authid(self) -> str: ...

    @property
    def role(self) -> str: ...

    @property
    def ticket(self) -> str: ...


def ticket_matches(configured: str, presented: str) -> bool:
    """Whether *presented* is the ticket *configured* (plain or ``sha256:<hex>``).

    Constant time in the compared values.
    """
    given = presented.encode("utf-8")
    if configured.startswith(HASH_PREFIX):
        want = configured[len(HASH_PREFIX) :].strip().lower().encode("ascii", "replace")
        given = hashlib.sha256(given).hexdigest().encode("ascii")
        return hmac.compare_digest(want, given)
    return hmac.compare_digest(configured.encode("utf-8"), given)


@implementer(IAuthenticator)
class TicketAuthenticator:
    """Authenticates HELLOs asking for ``ticket``, by static principal or procedure.

    *principals* maps authid to principal. With *caller* and *procedure*,
    authids that are not static principals are checked by calling
    *procedure* on the session's realm; without them they are denied.
    """

    authmethod = "ticket"

    def __init__(
        self,
        principals: Mapping[str, TicketPrincipalLike],
        caller: IInternalCaller | None = None,
        procedure: str = "",
    ) -> None:
        self._principals = dict(principals)
        self._caller = caller if procedure else None
        self._procedure = procedure

    def hello(self, info: HelloInfo) -> Challenge | Deny:
        """Challenge a known (or dynamically checked) authid; deny the others."""
        authid = info.authid
        if not authid:
            return Deny(NOT_AUTHORIZED, "ticket authentication needs an authid")
        principal = self._principals.get(authid)
        if principal is not None:
            return Challenge(
                "ticket", {}, lambda signature, extra: self._check_static(principal, signature)
            )
        if self._caller is not None:
            return Challenge(
                "ticket", {}, lambda signature, extra: self._check_dynamic(info, signature)
            )
        return Deny(NOT_AUTHORIZED, f"no ticket principal {authid!r}")

    def _check_static(self, principal: TicketPrincipalLike, ticket: object) -> Outcome:
        if not isinstance(ticket, str) or not ticket_matches(principal.ticket, ticket):
            return Deny(NOT_AUTHORIZED, f"invalid ticket for {principal.authid!r}")
        return Accept(principal.authid, principal.role, self.authmethod, "static")

    def _check_dynamic(self, info: HelloInfo, ticket: object) -> Deferred[Outcome]:
        return ensureDeferred(self._ask(info, ticket))

    async def _ask(self, info: HelloInfo, ticket: object) -> Outcome:
        assert self._caller is not None and info.authid is not None
        authid = info.authid
        if not isinstance(ticket, str) or not ticket:
            return Deny(NOT_AUTHORIZED, f"no ticket given for {authid!r}")
        details = {"ticket": ticket, "peer": info.transport.peer, "authextra": dict(info.authextra)}
        try:
            answer = await self._caller.call(
                info.realm, self._procedure, info.realm, authid, details
            )
        except ApplicationError as e:
            why = _error_text(e, ticket)
            return Deny(
                NOT_AUTHORIZED, f"ticket for {authid!r} refused by {self._procedure}: {why}"
            )
        except Exception as e:
            return Deny(
                NOT_AUTHORIZED,
                f"ticket authenticator {self._procedure} failed for {authid!r}: {type(e).__name__}",
            )
        return self._accept_answer(authid, answer)

    def _accept_answer(self, authid: str, answer: Any) -> Outcome:
        bad = Deny(
            NOT_AUTHORIZED,
            f"ticket authenticator {self._procedure} gave no valid role for {authid!r}",
        )
        if isinstance(answer, str):
            return Accept(authid, answer, self.authmethod, "dynamic") if answer else bad
        if not isinstance(answer, Mapping):
            return bad
        role = answer.get("role")
        new_authid = answer.get("authid", authid)
        extra = answer.get("extra", {})
        if not isinstance(role, str) or not role:
            return bad
        if not isinstance(new_authid, str) or not new_authid or not isinstance(extra, Mapping):
            return bad
        return Accept(new_authid, role, self.authmethod, "dynamic", dict(extra))


def _error_text(error: ApplicationError, ticket: str) -> str:
    """The callee's error URI and message, with the ticket cut out if it was echoed."""
    text = error.error
    if error.args and isinstance(error.args[0], str) and error.args[0]:
        text = f"{text} ({error.args[0]})"
    return text.replace(ticket, "***")
