"""The table from authmethod name to authenticator, and building them from nova.conf.

Each entry of :data:`AUTHENTICATORS` is a builder ``(config, caller) ->
IAuthenticator | None`` around one authenticator class; None means the
method is listed but has nothing to do (``anonymous`` without
``anonymous_role``). This module is the only one here that reads the
configuration: the authenticator classes take plain arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from zope.interface.verify import verifyObject

from nova_ws.config import NovaConfig
from nova_ws.router.auth.anonymous import AnonymousAuthenticator
from nova_ws.router.auth.interfaces import IAuthenticator, IInternalCaller
from nova_ws.router.auth.ticket import TicketAuthenticator
from nova_ws.router.auth.tls import TlsAuthenticator
from nova_ws.router.auth.wampcra import WampCraAuthenticator

Builder = Callable[[NovaConfig, IInternalCaller], "IAuthenticator | None"]


def _ticket(config: NovaConfig, caller: IInternalCaller) -> IAuthenticator:
    return TicketAuthenticator(
        config.router_ticket, caller, procedure=config.router.ticket_authenticator
    )


def _wampcra(config: NovaConfig, caller: IInternalCaller) -> IAuthenticator:
    return WampCraAuthenticator(config.router_wampcra)


def _tls(config: NovaConfig, caller: IInternalCaller) -> IAuthenticator:
    return TlsAuthenticator()


def _anonymous(config: NovaConfig, caller: IInternalCaller) -> IAuthenticator | None:
    role = config.router.anonymous_role
    return AnonymousAuthenticator(role) if role else None


AUTHENTICATORS: Mapping[str, Builder] = MappingProxyType(
    {
        TicketAuthenticator.authmethod: _ticket,
        WampCraAuthenticator.authmethod: _wampcra,
        TlsAuthenticator.authmethod: _tls,
        AnonymousAuthenticator.authmethod: _anonymous,
    }
)


def build_authenticators(config: NovaConfig, caller: IInternalCaller) -> dict[str, IAuthenticator]:
    """One authenticator per method in ``[router] auth_methods``, keyed by authmethod.

    ``anonymous`` is left out unless ``[router] anonymous_role`` is set;
    ``ticket`` is always built when listed (without principals or a ticket
    authenticator it denies everyone). *caller* serves the dynamic ticket
    authenticator. Each object is checked against :class:`IAuthenticator`.

    Raises ValueError for a method with no authenticator, and
    ``zope.interface.exceptions.Invalid`` if one does not provide the interface.
    """
    built: dict[str, IAuthenticator] = {}
    for method in config.router.auth_methods:
        builder = AUTHENTICATORS.get(method)
        if builder is None:
            known = ", ".join(sorted(AUTHENTICATORS))
            raise ValueError(f"no authenticator for authmethod {method!r} (known: {known})")
        authenticator = builder(config, caller)
        if authenticator is None:
            continue
        verifyObject(IAuthenticator, authenticator)
        if authenticator.authmethod != method:
            raise ValueError(f"the {method!r} builder made a {authenticator.authmethod!r}")
        built[method] = authenticator
    return built
