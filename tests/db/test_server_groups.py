"""
Tests for L{nova_ws.db.queries.server_groups} on every backend.
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from nova_ws.db.errors import NotFound
from nova_ws.db.queries import instances
from nova_ws.db.queries import server_groups as groups
from tests.db import factories
from tests.db.conftest import NOW

UUID = "44444444-4444-4444-4444-444444444444"
A, B, C = (f"55555555-5555-5555-5555-55555555555{n}" for n in range(3))


def test_create_and_get(session: Session) -> None:
    """
    When a group is created with rules and members, it reads back the same.
    """
    created = groups.create_server_group(
        session, name="web", policy="anti-affinity", project_id="p1", user_id="u1",
        rules={"max_server_per_host": 2}, members=[A, B, A], uuid=UUID, now=NOW,
    )
    assert (created.name, created.policy, created.rules) == (
        "web", "anti-affinity", {"max_server_per_host": 2})
    assert created.members == (A, B)
    assert created.created_at == NOW
    assert groups.get_server_group(session, UUID) == created


@pytest.mark.parametrize("policy", sorted(groups.POLICIES))
def test_policies(session: Session, policy: str) -> None:
    """
    When a group uses any of Nova's four policies, it is created.
    """
    group = groups.create_server_group(session, name="g", policy=policy, project_id="p",
                                       user_id="u")
    assert group.policy == policy and group.rules == {}


def test_bad_policy_or_rules(session: Session) -> None:
    """
    When the policy is unknown, or rules come with a policy that has none, ValueError.
    """
    with pytest.raises(ValueError):
        groups.create_server_group(session, name="g", policy="spread", project_id="p",
                                   user_id="u")
    with pytest.raises(ValueError):
        groups.create_server_group(session, name="g", policy="affinity", project_id="p",
                                   user_id="u", rules={"max_server_per_host": 1})


def test_members(session: Session) -> None:
    """
    When members are added (twice) and removed, the group lists each once, in order.
    """
    groups.create_server_group(session, name="g", policy="affinity", project_id="p",
                               user_id="u", uuid=UUID)
    assert groups.add_members(session, UUID, [A, B]).members == (A, B)
    assert groups.add_members(session, UUID, [B, C]).members == (A, B, C)
    assert groups.remove_members(session, UUID, [B, "unknown"]).members == (A, C)
    assert groups.get_group_for_instance(session, C).uuid == UUID  # type: ignore[union-attr]
    assert groups.get_group_for_instance(session, B) is None
    with pytest.raises(NotFound):
        groups.add_members(session, "nope", [A])
    with pytest.raises(NotFound):
        groups.remove_members(session, "nope", [A])


def test_list_and_delete(session: Session) -> None:
    """
    When groups are listed by project and one is deleted, it is gone with its members.
    """
    groups.create_server_group(session, name="g1", policy="affinity", project_id="p1",
                               user_id="u", uuid=UUID, members=[A])
    groups.create_server_group(session, name="g2", policy="affinity", project_id="p2",
                               user_id="u")
    assert [g.name for g in groups.list_server_groups(session)] == ["g1", "g2"]
    assert [g.name for g in groups.list_server_groups(session, project_id="p2")] == ["g2"]
    groups.delete_server_group(session, UUID)
    assert groups.get_group_for_instance(session, A) is None
    with pytest.raises(NotFound):
        groups.get_server_group(session, UUID)
    with pytest.raises(NotFound):
        groups.delete_server_group(session, UUID)


def test_count_and_live_members(session: Session) -> None:
    """
    When groups are counted per project, and members checked against their
    instances, deleted or unknown instances are not live.
    """
    one, two, three = (factories.instance(session).uuid for _ in range(3))
    groups.create_server_group(session, name="g", policy="affinity", project_id="p1",
                               user_id="u", members=[one, two, three, A])
    groups.create_server_group(session, name="h", policy="affinity", project_id="p1",
                               user_id="u")
    assert groups.count_server_groups(session, "p1") == 2
    assert groups.count_server_groups(session, "p2") == 0
    instances.soft_delete_instance(session, two)
    assert groups.live_members(session, [one, two, three, A, one]) == {one, three}
    assert groups.live_members(session, []) == frozenset()
