"""The all-in-one as `nova-ws up` builds it: Identity tokens open WAMP sessions.

Every service of the process starts on free ports; a person logs in with
the Identity API over HTTP and joins the router with WAMP-Ticket, the ticket
being the token, as the dashboard and users' WAMP clients do.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_twisted
from autobahn.wamp.exception import ApplicationError

from nova_ws.testing.allinone import identity_token, start_allinone
from nova_ws.testing.wamp import join

pytestmark = pytest.mark.integration


@pytest_twisted.ensureDeferred
async def test_people_join_the_router_with_identity_tokens(tmp_path: Path) -> None:
    """When a user logs in, the token opens a WAMP session with the user's role and project."""
    from twisted.internet import reactor

    aio = start_allinone(tmp_path)
    service, credentials, api = aio.service, aio.credentials, aio.api
    router = service.getServiceNamed("nova-router")
    try:
        for name in ("nova-api", "nova-conductor"):
            await service.getServiceNamed(name).client.when_joined()
        token, body = await identity_token(api, "demo", credentials.demo_password, "demo")
        project = body["project"]["id"]
        demo = await join(reactor, router, authmethods=["ticket"], authid="demo", ticket=token)
        assert demo._authrole == "member"
        await demo.subscribe(lambda *a: None, f"nova.project.{project}.instance")
        with pytest.raises(ApplicationError) as err:
            await demo.subscribe(lambda *a: None, "nova.project.someone-else.instance")
        assert err.value.error == "wamp.error.not_authorized"
        with pytest.raises(ApplicationError) as err:
            await demo.call("nova.conductor.instance_action", "x", "delete")
        assert err.value.error == "wamp.error.not_authorized"
        admin_token, _ = await identity_token(api, "admin", credentials.admin_password, "admin")
        admin = await join(reactor, router, authmethods=["ticket"], authid="admin",
                           ticket=admin_token)
        assert admin._authrole == "admin"
        listed = await admin.call("nova.conductor.service_list")
        assert "nova-conductor" in {s["binary"] for s in listed}  # admin-only procedure
        with pytest.raises(ApplicationError) as err:
            await join(reactor, router, authmethods=["ticket"], authid="demo",
                       ticket=admin_token)  # someone else's token
        assert err.value.error == "wamp.error.not_authorized"
        demo.leave()
        admin.leave()
    finally:
        await service.stopService()
