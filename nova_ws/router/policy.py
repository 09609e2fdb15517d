"""The roles the router ships with for the ``nova`` realm.

Each service role gets only the URIs its service uses (DESIGN.md: URIs are
``nova.<service>.<procedure>``; a compute host's are
``nova.compute.<host>.<procedure>``; project events live under
``nova.project.<project_id>.``). nova.conf may replace a role or add one with
a ``[router_role:<realm>:<role>]`` section; a role named there replaces the
built-in role of the same name entirely.

``wamp.*`` meta procedures and topics are for ``admin`` only, except that
``cert`` (nova-cert) may list, read and kill sessions, to end those joined
with a certificate it has revoked.
"""

from __future__ import annotations

from collections.abc import Mapping

from nova_ws.router.authz import RolePolicy, rules_from_table

HEARTBEAT = "nova.conductor.service_heartbeat"  # every service reports itself alive

BUILTIN_ROLES: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "admin": {"*": ("all", "disclose")},
    "api": {
        "nova.*": ("call", "disclose"),
        HEARTBEAT: ("call", "disclose"),
        "nova.identity.*": ("register",),
        "nova.project.*": ("publish", "subscribe"),
        # of the certificate authority, only what os-certificates needs
        "nova.cert.*": (),
        **{f"nova.cert.{name}": ("call", "disclose") for name in (
            "fetch_ca", "fetch_crl", "generate_x509_cert")},
    },
    "conductor": {
        "nova.conductor.*": ("register",),
        HEARTBEAT: ("register", "call", "disclose"),
        "nova.scheduler.*": ("call", "disclose"),
        "nova.compute.*": ("call", "disclose"),
        "nova.consoleauth.revoke": ("call", "disclose"),  # before a guest goes away
        "nova.project.*": ("publish",),
        "nova.event.*": ("publish",),
    },
    "scheduler": {
        "nova.scheduler.*": ("register",),
        HEARTBEAT: ("call", "disclose"),
        "nova.event.*": ("subscribe",),
    },
    "compute": {
        "nova.compute.{authid}.*": ("register",),
        # only the conductor's reporting procedures, not builds or actions
        **{f"nova.conductor.{name}": ("call", "disclose") for name in (
            "service_heartbeat", "compute_node_update", "instance_update",
            "instances_on_host", "action_event_start", "action_event_finish")},
    },
    "consoleauth": {
        "nova.consoleauth.*": ("register", "publish"),
        HEARTBEAT: ("call", "disclose"),
        "nova.compute..get_console": ("call", "disclose"),  # any host's, nothing else
        # instance events of every project, to revoke consoles that go away
        "nova.project.*": ("subscribe",),
    },
    "console": {
        # validate tokens (consoleauth re-checks the target with compute) and
        # hear revocations; nothing else
        "nova.consoleauth.validate": ("call", "disclose"),
        "nova.consoleauth.revoked": ("subscribe",),
        HEARTBEAT: ("call", "disclose"),
    },
    "cert": {
        "nova.cert.*": ("register",),
        HEARTBEAT: ("call", "disclose"),
        **{f"wamp.session.{name}": ("call",) for name in ("list", "get", "kill")},
    },
    "dashboard": {
        "nova.project.{project}.*": ("subscribe",),
    },
    "member": {
        "nova.project.{project}.*": ("subscribe", "call", "disclose"),
    },
}


def builtin_roles() -> dict[str, RolePolicy]:
    """The built-in roles as :class:`RolePolicy` objects."""
    return {
        name: RolePolicy(name, rules_from_table(table)) for name, table in BUILTIN_ROLES.items()
    }
