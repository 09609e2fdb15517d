"""Server actions: each maps to the conductor's action; the console log to the host."""

from __future__ import annotations

from typing import Any

import pytest_twisted
from autobahn.wamp.exception import ApplicationError

from nova_ws.db.queries import instances
from tests.api.compute.conftest import Api, boot, call

ACTION = "nova.conductor.instance_action"


@pytest_twisted.ensureDeferred
async def test_power_actions_map_to_conductor_actions(api: Api) -> None:
    """When a client posts each power action, the conductor gets Nova's action (202)."""
    uuid = await boot(api)
    for body, expected, hard in (({"os-start": None}, "start", None),
                                 ({"os-stop": None}, "stop", None),
                                 ({"reboot": {"type": "SOFT"}}, "reboot", False),
                                 ({"reboot": {"type": "hard"}}, "reboot", True),
                                 ({"pause": None}, "pause", None),
                                 ({"unpause": None}, "unpause", None),
                                 ({"suspend": None}, "suspend", None),
                                 ({"resume": None}, "resume", None)):
        answer = await call(api, "POST", f"/servers/{uuid}/action", body)
        assert answer.code == 202 and answer.body is None, body
        args, kwargs = api.caller.named(ACTION)[-1]
        assert args == (uuid, expected) and kwargs.get("hard") == hard


@pytest_twisted.ensureDeferred
async def test_bad_or_refused_actions(api: Api) -> None:
    """When an action is unknown or malformed it is 400; refused by state, 409."""
    uuid = await boot(api)
    body: Any
    for body in ({"os-migrateLive": {}}, {}, {"reboot": {}}, {"reboot": {"type": "x"}},
                 {"os-getConsoleOutput": {"length": "a"}}):
        answer = await call(api, "POST", f"/servers/{uuid}/action", body)
        assert answer.code == 400, body

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise ApplicationError("nova.error.instance_invalid_state",
                               "Cannot 'unpause' instance while it is in vm_state active")
    api.caller.answers[ACTION] = refuse
    answer = await call(api, "POST", f"/servers/{uuid}/action", {"unpause": None})
    assert answer.code == 409
    assert answer.body["conflictingRequest"]["message"] == (
        f"Cannot 'unpause' instance {uuid} while it is in vm_state active")


@pytest_twisted.ensureDeferred
async def test_console_output_from_the_host(api: Api) -> None:
    """When the console log is asked for, the instance's host answers; length tails it."""
    uuid = await boot(api)
    building = await call(api, "POST", f"/servers/{uuid}/action",
                          {"os-getConsoleOutput": {}})
    assert building.code == 409
    await api.db.run(lambda s: instances.update_instance(
        s, uuid, vm_state="active", task_state=None, host="host7"))
    api.caller.answers["nova.compute.host7.get_console_output"] = lambda u: "a\nb\nc\n"
    whole = await call(api, "POST", f"/servers/{uuid}/action",
                       {"os-getConsoleOutput": {"length": None}})
    assert whole.code == 200 and whole.body == {"output": "a\nb\nc\n"}
    tail = await call(api, "POST", f"/servers/{uuid}/action",
                      {"os-getConsoleOutput": {"length": 2}})
    assert tail.body == {"output": "b\nc\n"}
