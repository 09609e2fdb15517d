"""The instance state machine: which actions are allowed from which states."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nova_ws.compute import states

VM_STATES = [states.ACTIVE, states.BUILDING, states.PAUSED, states.SUSPENDED, states.STOPPED,
             states.DELETED, states.ERROR]
TASK_STATES = [None, states.SPAWNING, states.POWERING_OFF, states.REBOOTING, states.DELETING,
               states.REBUILDING, states.REBUILD_SPAWNING]


def test_stop_start_cycle() -> None:
    """When an active server is stopped, only start (not stop again) is allowed next."""
    t = states.check("stop", states.ACTIVE, None)
    assert (t.task, t.to_vm) == (states.POWERING_OFF, states.STOPPED)
    with pytest.raises(states.InvalidState) as err:
        states.check("stop", states.STOPPED, None)
    assert "vm_state stopped" in str(err.value)
    assert states.check("start", states.STOPPED, None).to_vm == states.ACTIVE


def test_rebuild_as_nova_allows_it() -> None:
    """When a server is ACTIVE, STOPPED or ERROR and idle it may be rebuilt, as in Nova;
    paused, suspended or busy it may not, and a rebuild in progress may still be deleted."""
    for vm_state in (states.ACTIVE, states.STOPPED, states.ERROR):
        assert states.check("rebuild", vm_state, None).task == states.REBUILDING
    for vm_state, task in ((states.PAUSED, None), (states.SUSPENDED, None),
                           (states.BUILDING, states.SPAWNING), (states.ACTIVE, states.REBUILDING)):
        with pytest.raises(states.InvalidState) as err:
            states.check("rebuild", vm_state, task)
        assert str(err.value).startswith(f"Cannot 'rebuild' instance while it is in vm_state "
                                         f"{vm_state}")
    for task in (states.REBUILDING, states.REBUILD_SPAWNING):
        assert states.check("delete", states.ACTIVE, task).task == states.DELETING


def test_busy_instance_refuses_actions_but_delete() -> None:
    """When a task is in progress, other actions are refused; delete still goes through."""
    with pytest.raises(states.InvalidState):
        states.check("pause", states.ACTIVE, states.POWERING_OFF)
    assert states.check("delete", states.ACTIVE, states.POWERING_OFF).task == states.DELETING


@given(st.sampled_from(sorted(states.ACTIONS)), st.sampled_from(VM_STATES),
       st.sampled_from(TASK_STATES))
def test_check_agrees_with_table(action: str, vm: str, task: str | None) -> None:
    """For any action and state, check allows exactly what the table lists."""
    t = states.ACTIONS[action]
    allowed = vm in t.from_vm and task in t.from_task
    if allowed:
        assert states.check(action, vm, task) is t
    else:
        with pytest.raises(states.InvalidState):
            states.check(action, vm, task)
    assert states.DELETED not in t.from_vm
