"""Nova's instance state machine: vm_state, task_state, and which actions fit.

``vm_state`` is the stable state the user sees; ``task_state`` is the action
in progress (None when idle); ``power_state`` (:mod:`power_state`) is what
the hypervisor reports. An action is allowed only from the vm_states and
task_states listed for it in :data:`ACTIONS`; anything else is refused with
:class:`InvalidState` (HTTP 409 at the API), as Nova's
``check_instance_state`` does.

Pure logic: nothing here touches Twisted, the database or a driver.
"""

from __future__ import annotations

from dataclasses import dataclass

# vm_states
ACTIVE = "active"
BUILDING = "building"
PAUSED = "paused"
SUSPENDED = "suspended"
STOPPED = "stopped"
DELETED = "deleted"
ERROR = "error"

# task_states
SCHEDULING = "scheduling"
NETWORKING = "networking"
SPAWNING = "spawning"
POWERING_OFF = "powering-off"
POWERING_ON = "powering-on"
REBOOTING = "rebooting"
REBOOTING_HARD = "rebooting_hard"
PAUSING = "pausing"
UNPAUSING = "unpausing"
SUSPENDING = "suspending"
RESUMING = "resuming"
DELETING = "deleting"
REBUILDING = "rebuilding"
REBUILD_SPAWNING = "rebuild_spawning"


@dataclass(frozen=True)
class Transition:
    """An action: where it may start, its task_state, and where it ends."""

    action: str
    from_vm: frozenset[str]
    from_task: frozenset[str | None]
    task: str
    to_vm: str | None  # None: unchanged (reboot)


def _t(action: str, from_vm: set[str], task: str, to_vm: str | None,
       from_task: set[str | None] | None = None) -> Transition:
    return Transition(action, frozenset(from_vm), frozenset(from_task or {None}), task, to_vm)


ACTIONS: dict[str, Transition] = {t.action: t for t in (
    _t("start", {STOPPED}, POWERING_ON, ACTIVE),
    _t("stop", {ACTIVE, ERROR}, POWERING_OFF, STOPPED),
    _t("reboot", {ACTIVE, STOPPED, PAUSED, SUSPENDED, ERROR}, REBOOTING, ACTIVE),
    _t("reboot_hard", {ACTIVE, STOPPED, PAUSED, SUSPENDED, ERROR}, REBOOTING_HARD, ACTIVE,
       {None, REBOOTING, REBOOTING_HARD}),
    _t("pause", {ACTIVE}, PAUSING, PAUSED),
    _t("unpause", {PAUSED}, UNPAUSING, ACTIVE),
    _t("suspend", {ACTIVE}, SUSPENDING, SUSPENDED),
    _t("resume", {SUSPENDED}, RESUMING, ACTIVE),
    # a stopped instance ends stopped again (the compute host powers it off after)
    _t("rebuild", {ACTIVE, STOPPED, ERROR}, REBUILDING, ACTIVE),
    _t("delete", {ACTIVE, BUILDING, PAUSED, SUSPENDED, STOPPED, ERROR}, DELETING, DELETED,
       {None, SCHEDULING, NETWORKING, SPAWNING, POWERING_OFF, POWERING_ON, REBOOTING,
        REBOOTING_HARD, PAUSING, UNPAUSING, SUSPENDING, RESUMING, REBUILDING,
        REBUILD_SPAWNING}),
)}


class InvalidState(Exception):
    """An action that the instance's current state does not allow."""

    def __init__(self, action: str, vm_state: str, task_state: str | None) -> None:
        super().__init__(f"Cannot '{action}' instance while it is in vm_state {vm_state}"
                         + (f", task_state {task_state}" if task_state else ""))
        self.action = action
        self.vm_state = vm_state
        self.task_state = task_state


def check(action: str, vm_state: str, task_state: str | None) -> Transition:
    """The transition for *action*, or InvalidState when it does not fit."""
    transition = ACTIONS[action]
    if vm_state not in transition.from_vm or task_state not in transition.from_task:
        raise InvalidState(action, vm_state, task_state)
    return transition
