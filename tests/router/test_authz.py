"""Authorization rules: patterns, placeholders, longest match, deny by default."""

from __future__ import annotations

import pytest

from nova_ws.router.authz import Authorizer, PolicyError, RolePolicy, Rule, split_pattern
from nova_ws.router.policy import builtin_roles
from nova_ws.router.urimap import EXACT, PREFIX, WILDCARD


def test_pattern_forms() -> None:
    """When a pattern is written, its form picks the match policy."""
    assert split_pattern("*") == ("", PREFIX)
    assert split_pattern("nova.compute.*") == ("nova.compute.", PREFIX)
    assert split_pattern("nova..start") == ("nova..start", WILDCARD)
    assert split_pattern("nova.api.x") == ("nova.api.x", EXACT)
    with pytest.raises(PolicyError):
        split_pattern("nova.*.x")


def test_unknown_action_refused() -> None:
    """When a rule names an unknown action, it is an error, not a silent grant."""
    with pytest.raises(PolicyError):
        Rule("nova.*", frozenset({"cal"}))


def test_longest_match_wins_and_default_deny() -> None:
    """When a narrower rule matches, it decides, even to grant less."""
    role = RolePolicy("r", (Rule("nova.*", frozenset({"call", "subscribe"})),
                            Rule("nova.cert.*", frozenset({"subscribe"})),
                            Rule("nova.cert.root", frozenset({"call"}))))
    perms = role.bind("x", {})
    assert perms.allows("call", "nova.api.list")
    assert not perms.allows("call", "nova.cert.issue")
    assert perms.allows("call", "nova.cert.root")
    assert not perms.allows("register", "nova.api.list")
    assert not perms.allows("call", "other.thing")


def test_placeholders_are_per_session() -> None:
    """When a rule uses {authid}/{project}, each session gets only its own URIs."""
    role = RolePolicy("c", (Rule("nova.compute.{authid}.*", frozenset({"register"})),
                            Rule("nova.project.{project}.*", frozenset({"subscribe"}))))
    a = role.bind("host1", {"project_id": "p1"})
    assert a.allows("register", "nova.compute.host1.spawn")
    assert not a.allows("register", "nova.compute.host2.spawn")
    assert a.allows("subscribe", "nova.project.p1.server")
    assert not a.allows("subscribe", "nova.project.p2.server")


@pytest.mark.parametrize("authid", [None, "", "a.b", "a#", "a b"])
def test_unsafe_placeholder_values_grant_nothing(authid: str | None) -> None:
    """When a placeholder value is missing or not one URI component, the rule is dropped."""
    role = RolePolicy("c", (Rule("nova.compute.{authid}.*", frozenset({"register"})),))
    perms = role.bind(authid, {})
    assert not perms.allows("register", "nova.compute..x")
    assert not perms.allows("register", "nova.compute.a.b.x")


def test_builtin_roles_least_privilege() -> None:
    """When the built-in roles are bound, a compute host reaches only its own URIs."""
    authz = Authorizer(builtin_roles())
    compute = authz.bind("compute", "host1", {})
    assert compute.allows("register", "nova.compute.host1.build_and_run")
    assert not compute.allows("register", "nova.compute.host2.build_and_run")
    assert compute.allows("call", "nova.conductor.instance_update")
    assert not compute.allows("call", "nova.cert.issue")
    assert not compute.allows("call", "wamp.session.kill")
    member = authz.bind("member", "alice", {"project_id": "p1"})
    assert member.allows("subscribe", "nova.project.p1.servers")
    assert not member.allows("subscribe", "nova.project.p2.servers")
    admin = authz.bind("admin", "root", {})
    assert admin.allows("call", "wamp.session.kill") and admin.discloses("call", "x.y")


def test_every_service_role_may_report_heartbeats() -> None:
    """When any service joins, it may call the heartbeat; only the conductor registers it."""
    authz = Authorizer(builtin_roles())
    uri = "nova.conductor.service_heartbeat"
    for role in ("api", "conductor", "scheduler", "compute", "consoleauth", "console", "cert"):
        assert authz.bind(role, "x", {}).allows("call", uri), role
    assert authz.bind("conductor", "c", {}).allows("register", uri)
    assert authz.bind("conductor", "c", {}).allows("register", "nova.conductor.build_instances")
    assert not authz.bind("scheduler", "s", {}).allows("register", uri)
    assert not authz.bind("member", "m", {"project_id": "p"}).allows("call", uri)


def test_compute_hosts_only_report() -> None:
    """When a compute host calls the conductor, only reporting procedures are open to it."""
    compute = Authorizer(builtin_roles()).bind("compute", "host1", {})
    for name in ("instance_update", "compute_node_update", "action_event_finish"):
        assert compute.allows("call", f"nova.conductor.{name}")
    for name in ("build_instances", "instance_action", "service_update"):
        assert not compute.allows("call", f"nova.conductor.{name}")
    assert not compute.allows("call", "nova.scheduler.select_destinations")
