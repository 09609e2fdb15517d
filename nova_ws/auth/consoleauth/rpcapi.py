"""How other services reach nova-consoleauth: its URIs, errors and a typed client.

``authorize`` (the API) issues a token for one console of one instance;
``validate`` (a console proxy, at every connect) checks and consumes it and
re-checks the target with the instance's compute host; ``revoke`` ends an
instance's tokens. Every revocation is published on ``REVOKED`` so proxies
close the live sessions it opened.
"""

from __future__ import annotations

from typing import Any, Protocol

from twisted.internet.defer import Deferred

PREFIX = "nova.consoleauth."
AUTHORIZE = PREFIX + "authorize"
VALIDATE = PREFIX + "validate"
REVOKE = PREFIX + "revoke"
REVOKED = PREFIX + "revoked"

#: A token that is unknown, expired, used, revoked or of another console type.
TOKEN_INVALID = "nova.error.console_token_invalid"
#: The instance has no console right now (not running, or no such console).
CONSOLE_UNAVAILABLE = "nova.error.console_unavailable"

#: Console type (Nova's API name) -> the compute driver's console kind.
DRIVER_KINDS = {"novnc": "vnc", "spice-html5": "spice", "serial": "serial"}


class Caller(Protocol):
    """Anything that can call a WAMP procedure."""

    def call(self, procedure: str, *args: Any, **kwargs: Any) -> Deferred[Any]: ...


class ConsoleAuthAPI:
    """A typed client for nova-consoleauth's procedures."""

    def __init__(self, caller: Caller) -> None:
        self._caller = caller

    def authorize(self, instance_uuid: str, console_type: str, *, user_id: str,
                  project_id: str, view_only: bool = False) -> Deferred[Any]:
        """A new token: ``{"token", "expires", "console_type", "instance_uuid"}``."""
        return self._caller.call(AUTHORIZE, instance_uuid, console_type, user_id=user_id,
                                 project_id=project_id, view_only=view_only)

    def validate(self, token: str, console_type: str) -> Deferred[Any]:
        """What ``token`` grants (see ``ConsoleAuthManager.validate``), consuming it."""
        return self._caller.call(VALIDATE, token, console_type)

    def revoke(self, instance_uuid: str, reason: str = "console access revoked") -> Deferred[Any]:
        """Revoke every token of the instance; fires with how many there were."""
        return self._caller.call(REVOKE, instance_uuid, reason)
