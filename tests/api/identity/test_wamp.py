"""
Tests for L{nova_ws.api.identity.wamp.authenticate_ticket}: Identity tokens
as WAMP tickets.
"""

from __future__ import annotations

import pytest
import pytest_twisted
from autobahn.wamp.exception import ApplicationError

from nova_ws.api.identity.wamp import INVALID_TOKEN, authenticate_ticket
from nova_ws.db.queries import identity
from tests.api.identity.conftest import DEMO_PASSWORD, Cloud, call, login


def _details(ticket: str) -> dict[str, object]:
    return {"ticket": ticket, "peer": "tcp4:127.0.0.1:5000", "authextra": {}}


@pytest_twisted.ensureDeferred
async def test_valid_tokens_give_roles(cloud: Cloud) -> None:
    """
    When a valid token is the ticket of its own user, an admin token gives
    role admin and a member token role member, with project and user ids.
    """
    admin, body = await login(cloud)
    answer = await authenticate_ticket(cloud.db, "nova", "admin", _details(admin),
                                       clock=cloud.clock)
    assert answer == {"role": "admin", "extra": {"project_id": body["project"]["id"],
                                                 "user_id": body["user"]["id"]}}
    demo, body = await login(cloud, "demo", DEMO_PASSWORD, "demo")
    answer = await authenticate_ticket(cloud.db, "nova", "demo", _details(demo),
                                       clock=cloud.clock)
    assert answer["role"] == "member"
    assert answer["extra"]["project_id"] == cloud.boot.demo_project.id  # type: ignore[union-attr]


async def _refused(cloud: Cloud, authid: str, ticket: str) -> None:
    with pytest.raises(ApplicationError) as caught:
        await authenticate_ticket(cloud.db, "nova", authid, _details(ticket), clock=cloud.clock)
    assert caught.value.error == INVALID_TOKEN
    assert ticket not in str(caught.value.args)


@pytest_twisted.ensureDeferred
async def test_refused_tickets(cloud: Cloud) -> None:
    """
    When the ticket is another user's token, unknown, revoked or expired,
    the call fails with nova.error.invalid_token and never echoes the ticket.
    """
    admin, _ = await login(cloud)
    await _refused(cloud, "demo", admin)
    await _refused(cloud, "admin", "not-a-token-at-all")
    revoked, _ = await login(cloud)
    answer = await call(cloud, "DELETE", "/v3/auth/tokens", token=admin,
                        headers={"X-Subject-Token": revoked})
    assert answer.code == 204
    await _refused(cloud, "admin", revoked)
    cloud.clock.advance(3600)
    await _refused(cloud, "admin", admin)
    with pytest.raises(ApplicationError):
        await authenticate_ticket(cloud.db, "nova", "admin", {}, clock=cloud.clock)


@pytest_twisted.ensureDeferred
async def test_revoked_by_user(cloud: Cloud) -> None:
    """When all of a user's tokens are revoked, its ticket is refused."""
    admin, _ = await login(cloud)
    await cloud.db.run(identity.revoke_user_tokens, cloud.boot.admin_user.id)
    await _refused(cloud, "admin", admin)
