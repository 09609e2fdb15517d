"""Anonymous: anyone may join, with one configured role and a fresh authid.

Only built when ``anonymous`` is in ``[router] auth_methods`` and
``[router] anonymous_role`` names a role; that role should grant little.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from zope.interface import implementer

from nova_ws.router.auth.interfaces import Accept, HelloInfo, IAuthenticator


def _random_suffix() -> str:
    return secrets.token_hex(8)


@implementer(IAuthenticator)
class AnonymousAuthenticator:
    """Accepts every HELLO as ``anonymous-<random hex>`` with *role*.

    The authid a client asks for is ignored. *suffix* makes the random part
    injectable for tests. Raises ValueError when *role* is empty.
    """

    authmethod = "anonymous"

    def __init__(self, role: str, suffix: Callable[[], str] = _random_suffix) -> None:
        if not role:
            raise ValueError("anonymous authentication needs a role")
        self.role = role
        self._suffix = suffix

    def hello(self, info: HelloInfo) -> Accept:
        """Accept at once."""
        return Accept(f"anonymous-{self._suffix()}", self.role, self.authmethod, "static")
