"""``ITokenValidator`` over WAMP: nova-consoleauth checks every token.

``RpcTokenValidator.validate`` calls ``nova.consoleauth.validate``; its
``nova.error.console_token_invalid`` errors become ``InvalidToken`` (shown to
the browser with their reason), anything else means consoleauth is
unavailable. The target's expiry arrives as seconds left and is turned into
this proxy's reactor time, so clocks of different hosts need not agree.
"""

from __future__ import annotations

from typing import Any

from autobahn.wamp.exception import ApplicationError
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure
from zope.interface import implementer

from nova_ws.auth.consoleauth import rpcapi
from nova_ws.console.interfaces import ConsoleTarget, InvalidToken, ITokenValidator


def target_from(grant: dict[str, Any], now: float) -> ConsoleTarget:
    """The ``ConsoleTarget`` for what ``nova.consoleauth.validate`` returned at ``now``."""
    return ConsoleTarget(
        instance_uuid=str(grant["instance_uuid"]), console_type=str(grant["console_type"]),
        host=str(grant["host"]), port=int(grant["port"]),
        expires_at=now + float(grant["expires_in"]), token_id=str(grant["token_id"]),
        user_id=str(grant.get("user_id") or ""), project_id=str(grant.get("project_id") or ""),
        tls=bool(grant.get("tls")), password=grant.get("password"),
        view_only=bool(grant.get("view_only")))


@implementer(ITokenValidator)
class RpcTokenValidator:
    """Validates tokens by calling nova-consoleauth through ``caller``."""

    def __init__(self, caller: Any, clock: IReactorTime) -> None:
        self._api = rpcapi.ConsoleAuthAPI(caller)
        self._clock = clock

    def validate(self, token: str, console_type: str) -> Deferred[ConsoleTarget]:
        d: Deferred[Any] = self._api.validate(token, console_type)

        def granted(grant: dict[str, Any]) -> ConsoleTarget:
            return target_from(grant, self._clock.seconds())

        def refused(failure: Failure) -> Failure:
            error = failure.value
            if isinstance(error, ApplicationError) and error.error == rpcapi.TOKEN_INVALID:
                reason = str(error.args[0]) if error.args else "invalid token"
                raise InvalidToken(reason, int(error.kwargs.get("status", 401)))
            return failure

        return d.addCallbacks(granted, refused)
