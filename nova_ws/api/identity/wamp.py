"""
Identity tokens as WAMP tickets: the procedure the router's dynamic ticket
authenticator calls (L{nova_ws.router.auth.ticket}), registered by the API
service at C{nova.identity.authenticate_ticket}.

A person or program joins realm C{nova} with authmethod C{ticket}, authid
its user name and ticket an Identity token. The token must be valid and
belong to that user; the session then gets role C{admin} if the token
carries the C{admin} role, C{member} otherwise, and the token's project and
user ids as its authextra.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from autobahn.wamp.exception import ApplicationError
from twisted.internet.interfaces import IReactorTime

from nova_ws.db.engine import Database
from nova_ws.db.queries import identity as q

PROCEDURE = "nova.identity.authenticate_ticket"
INVALID_TOKEN = "nova.error.invalid_token"


async def authenticate_ticket(db: Database, realm: str, authid: str, details: dict[str, Any],
                              *, clock: IReactorTime | None = None) -> dict[str, Any]:
    """
    Check the ticket in C{details["ticket"]} as an Identity token of user
    C{authid} (the user's name or id), at the time of C{clock} (default:
    the system's).

    @return: C{{"role": "admin" | "member", "extra": {"project_id", "user_id"}}}.
    @raise ApplicationError: C{nova.error.invalid_token} when the ticket is
        missing, invalid, expired or revoked, or belongs to another user. The
        message never contains the ticket.
    """
    ticket = details.get("ticket") if isinstance(details, dict) else None
    if not isinstance(ticket, str) or not ticket:
        raise ApplicationError(INVALID_TOKEN, "no ticket given")
    now = datetime.fromtimestamp(clock.seconds(), UTC) if clock else datetime.now(UTC)
    record = await db.run(q.validate_token, ticket, now=now)
    if record is None:
        raise ApplicationError(INVALID_TOKEN, "the token is invalid, expired or revoked")
    if authid not in (record.user.name, record.user.id):
        raise ApplicationError(INVALID_TOKEN, f"the token does not belong to {authid!r}")
    role = "admin" if record.project is not None and "admin" in record.role_names else "member"
    project_id = record.project.id if record.project is not None else None
    return {"role": role, "extra": {"project_id": project_id, "user_id": record.user.id}}
