"""A compute host's periodic tasks: resource report and power sync.

(Its heartbeat is the one every service runs: :mod:`nova_ws.wamp.heartbeat`.)

Each task runs on a ``LoopingCall`` driven by the clock it is given; a task
that fails is logged and runs again next time, never stops the loop. A task
that finds no conductor on the router yet (services start in any order) is
not a failure: it says so and tries again after ``retry_delay`` seconds.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from autobahn.wamp.exception import ApplicationError
from twisted.internet.defer import ensureDeferred
from twisted.internet.interfaces import IDelayedCall
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from nova_ws.compute import power_state, states
from nova_ws.compute.drivers.interfaces import InstanceNotFound
from nova_ws.compute.manager import ComputeManager

log = Logger()


class PeriodicTasks:
    """The loops of one compute host."""

    def __init__(self, manager: ComputeManager, clock: Any, resource_interval: float = 60.0,
                 sync_interval: float = 60.0, retry_delay: float = 2.0) -> None:
        self.manager = manager
        self.clock = clock
        self.retry_delay = retry_delay
        self._retries: dict[str, IDelayedCall] = {}
        self._running = False
        self._intervals = {self.update_resources: resource_interval,
                           self.sync_power_states: sync_interval}
        self._loops: list[LoopingCall] = []

    def start(self) -> None:
        """Start every loop (each runs once at once)."""
        self._running = True
        for task, interval in self._intervals.items():
            loop = LoopingCall(self._guarded, task)
            loop.clock = self.clock
            loop.start(interval, now=True)
            self._loops.append(loop)

    def stop(self) -> None:
        """Stop every loop."""
        self._running = False
        for loop in self._loops:
            if loop.running:
                loop.stop()
        self._loops.clear()
        for retry in self._retries.values():
            if retry.active():
                retry.cancel()
        self._retries.clear()

    def _guarded(self, task: Any) -> Any:
        d = ensureDeferred(task())
        d.addErrback(self._failed, task)
        return d

    def _failed(self, failure: Failure, task: Any) -> None:
        name = task.__name__
        error = failure.value
        if isinstance(error, ApplicationError) and \
                error.error == ApplicationError.NO_SUCH_PROCEDURE:
            log.info("periodic task {task} waits for the conductor (not on the router yet); "
                     "again in {delay} s", task=name, delay=self.retry_delay)
            if name not in self._retries and self._running:
                def retry() -> None:
                    del self._retries[name]
                    self._guarded(task)
                self._retries[name] = self.clock.callLater(self.retry_delay, retry)
            return
        log.failure("periodic task {task} failed", failure, task=name)

    async def update_resources(self) -> None:
        """Report the host's totals and usage."""
        resources = await self.manager.driver.get_available_resource()
        await self.manager.conductor.compute_node_update(self.manager.host, asdict(resources))

    async def sync_power_states(self) -> None:
        """Notice guests whose power changed behind our back, as Nova does.

        An idle instance whose guest is no longer running gets its power
        state recorded; an ACTIVE one whose guest stopped becomes STOPPED.
        """
        manager = self.manager
        for inst in await manager.conductor.instances_on_host(manager.host):
            if inst.get("task_state") is not None:
                continue  # an action is in progress; it will report itself
            try:
                info = await manager.driver.get_info(inst["uuid"])
                power = info.power_state
            except InstanceNotFound:
                power = power_state.NOSTATE
            if power == inst.get("power_state"):
                continue
            updates: dict[str, Any] = {"power_state": power}
            if inst.get("vm_state") == states.ACTIVE and power in (
                    power_state.SHUTDOWN, power_state.CRASHED, power_state.NOSTATE):
                updates["vm_state"] = states.STOPPED
            log.info("instance {uuid}: power state {old} -> {new} noticed on {host}",
                     uuid=inst["uuid"], old=inst.get("power_state"), new=power,
                     host=manager.host)
            await manager.conductor.instance_update(inst["uuid"], updates,
                                                    expected_task_state=[None])
