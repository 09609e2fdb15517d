"""An in-memory ``ITokenValidator``: tokens kept in a dict, expired by a clock.

It stands in for ``nova-consoleauth`` in tests and in the all-in-one until
consoleauth exists. Like consoleauth it stores only a hash of each token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import replace

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import IReactorTime
from zope.interface import implementer

from nova_ws.console.interfaces import ConsoleTarget, InvalidToken, ITokenValidator


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@implementer(ITokenValidator)
class MemoryTokenValidator:
    """Console tokens in memory; ``issue`` makes one, ``revoke`` forgets one."""

    def __init__(self, clock: IReactorTime) -> None:
        self._clock = clock
        self._targets: dict[str, ConsoleTarget] = {}

    def issue(self, target: ConsoleTarget, token: str | None = None) -> str:
        """Store ``target`` under a new (or the given) token and return the token."""
        token = token if token is not None else secrets.token_urlsafe(24)
        self._targets[_digest(token)] = target
        return token

    def issue_for(self, ttl: float = 600.0, **fields: object) -> tuple[str, ConsoleTarget]:
        """Issue a token for a target built from ``fields``, expiring ``ttl`` from now."""
        defaults: dict[str, object] = {
            "instance_uuid": "00000000-0000-0000-0000-000000000001",
            "console_type": "novnc",
            "host": "127.0.0.1",
            "port": 5900,
            "token_id": secrets.token_hex(8),
            "user_id": "user",
            "project_id": "project",
            "expires_at": self._clock.seconds() + ttl,
        }
        target = ConsoleTarget(**{**defaults, **fields})  # type: ignore[arg-type]
        return self.issue(target), target

    def revoke(self, token: str) -> None:
        """Forget ``token`` (no error when unknown)."""
        self._targets.pop(_digest(token), None)

    def validate(self, token: str, console_type: str) -> Deferred[ConsoleTarget]:
        target = self._targets.get(_digest(token))
        if target is None:
            return fail(InvalidToken("invalid token", 401))
        if target.expires_at <= self._clock.seconds():
            return fail(InvalidToken("token expired", 403))
        if target.console_type != console_type:
            return fail(InvalidToken(
                f"token is for a {target.console_type} console, not {console_type}", 403))
        return succeed(replace(target))
