"""Per-service router identities for the all-in-one, made fresh at each start.

In the all-in-one every service still joins the router as itself, with only
its own role's URIs: each gets a WAMP-CRA secret generated at start-up (never
written anywhere), and the router learns the matching principals. A compute
host's authid is its host name, as its role's ``nova.compute.{authid}.*``
rule requires.
"""

from __future__ import annotations

import secrets
import types
from dataclasses import replace

from nova_ws.config import CraPrincipal, NovaConfig

TICKET_PROCEDURE = "nova.identity.authenticate_ticket"

ROLES = {
    "nova-api": "api",
    "nova-scheduler": "scheduler",
    "nova-conductor": "conductor",
    "nova-compute": "compute",
    "nova-novncproxy": "console",
    "nova-spicehtml5proxy": "console",
    "nova-serialproxy": "console",
    "nova-consoleauth": "consoleauth",
    "nova-cert": "cert",
}


def authid_for(tapname: str, config: NovaConfig) -> str:
    """The authid a service joins with."""
    return config.default.host if tapname == "nova-compute" else tapname


def with_identities(config: NovaConfig, tapnames: list[str]
                    ) -> tuple[NovaConfig, dict[str, NovaConfig]]:
    """The router's config (with one principal per service) and each service's config."""
    principals = dict(config.router_wampcra)
    per_service: dict[str, NovaConfig] = {}
    for tapname in tapnames:
        role = ROLES.get(tapname)
        if role is None:
            continue
        authid = authid_for(tapname, config)
        secret = secrets.token_urlsafe(32)
        principals[authid] = CraPrincipal(authid, role, secret)
        per_service[tapname] = replace(config, wamp=replace(
            config.wamp, authid=authid, authmethod="wampcra", secret=secret))
    methods = config.router.auth_methods
    if "wampcra" not in methods:
        methods = (*methods, "wampcra")
    router = replace(config.router, auth_methods=methods)
    if "nova-api" in tapnames and not router.ticket_authenticator:
        # people (the dashboard, users' WAMP clients) join with an Identity token
        router = replace(router, ticket_authenticator=TICKET_PROCEDURE,
                         auth_methods=(*router.auth_methods, "ticket")
                         if "ticket" not in router.auth_methods else router.auth_methods)
    router_config = replace(config, router_wampcra=types.MappingProxyType(principals),
                            router=router)
    return router_config, per_service
