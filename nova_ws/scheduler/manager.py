"""The scheduler manager: ``nova.scheduler.select_destinations``.

It reads the hosts (services and compute nodes) from the database, lets the
filters and weighers rank them, and claims the request's resources on the
best host with one atomic conditional UPDATE; when a concurrent claim won
that host, it tries the next. Any number of schedulers can run: the
procedure is a shared registration, and the claim is what keeps them from
overcommitting a host.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from autobahn.wamp.exception import ApplicationError
from sqlalchemy.orm import Session
from twisted.internet.defer import DeferredLock
from twisted.logger import Logger

from nova_ws.db.engine import Database
from nova_ws.db.queries import aggregates, compute_nodes, services
from nova_ws.scheduler.request import HostState, RequestSpec, ServerGroup
from nova_ws.scheduler.select import NoValidHost, apply_claim, select_hosts

log = Logger()
NO_VALID_HOST = "nova.error.no_valid_host"


def load_hosts(session: Session, service_down_time: float) -> list[HostState]:
    """Every compute host with its service state and resources (a DB function).

    A host's zone is its aggregate's (``availability_zone`` metadata), else
    the one its service reported, else ``nova``, as in Nova.
    """
    now = datetime.now(UTC)
    by_host = {s.host: s for s in services.list_services(session, binary="nova-compute")}
    zones = aggregates.host_availability_zones(session)
    hosts = []
    for node in compute_nodes.list_compute_nodes(session):
        service = by_host.get(node.host)
        hosts.append(HostState(
            host=node.host, node_uuid=node.uuid,
            availability_zone=zones.get(node.host)
            or (service.availability_zone if service else None) or "nova",
            up=service is not None and services.is_up(service, now, service_down_time),
            disabled=service is None or service.disabled,
            vcpus=node.vcpus, vcpus_used=node.vcpus_used, memory_mb=node.memory_mb,
            memory_mb_used=node.memory_mb_used, local_gb=node.local_gb,
            local_gb_used=node.local_gb_used,
            cpu_allocation_ratio=node.cpu_allocation_ratio,
            ram_allocation_ratio=node.ram_allocation_ratio,
            disk_allocation_ratio=node.disk_allocation_ratio,
            hypervisor_type=node.hypervisor_type,
            cpu_arch=str((node.cpu_info or {}).get("arch", "x86_64")),
            running_vms=node.running_vms))
    return hosts


def spec_from_dict(data: Mapping[str, Any]) -> RequestSpec:
    """A RequestSpec from the plain dict sent over WAMP."""
    group = data.get("group")
    return RequestSpec(
        instance_uuid=str(data["instance_uuid"]),
        vcpus=int(data["vcpus"]), memory_mb=int(data["memory_mb"]),
        root_gb=int(data["root_gb"]), ephemeral_gb=int(data.get("ephemeral_gb", 0)),
        availability_zone=data.get("availability_zone"),
        image_properties=dict(data.get("image_properties") or {}),
        group=ServerGroup(group["uuid"], group["policy"], tuple(group.get("member_hosts", ())),
                          max_server_per_host=int(group.get("max_server_per_host", 1)))
        if group else None,
        ignore_hosts=frozenset(data.get("ignore_hosts") or ()))


class SchedulerManager:
    """Picks and claims a host for each request.

    Decisions of one scheduler are taken one at a time on a view of the
    hosts that is reloaded from the database when older than
    ``refresh_interval`` seconds (or after a claim was lost) and that counts
    this scheduler's own claims meanwhile, as Nova's host manager does, so a
    storm of requests spreads instead of every request racing for the same
    best host. The database claim stays the authority: several schedulers
    never overcommit a host.
    """

    def __init__(self, db: Database, filters: Sequence[Any], weighers: Sequence[Any],
                 service_down_time: float = 60.0, host_subset_size: int = 1,
                 clock: Any = None, refresh_interval: float = 1.0) -> None:
        self.db = db
        self.filters = list(filters)
        self.weighers = list(weighers)
        self.service_down_time = service_down_time
        self.host_subset_size = host_subset_size
        self.clock = clock
        self.refresh_interval = refresh_interval
        self._lock = DeferredLock()
        self._hosts: list[HostState] | None = None
        self._loaded_at = 0.0

    def invalidate(self, *args: Any, **kwargs: Any) -> None:
        """Forget the view of the hosts (a service was disabled, enabled or forced down)."""
        self._hosts = None

    def _now(self) -> float:
        return float(self.clock.seconds()) if self.clock is not None else time.monotonic()

    async def _current_hosts(self) -> list[HostState]:
        if self._hosts is None or self._now() - self._loaded_at > self.refresh_interval:
            self._hosts = await self.db.run(load_hosts, self.service_down_time)
            self._loaded_at = self._now()
        return self._hosts

    async def select_destinations(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Choose a host for *spec* and claim its resources there.

        Returns ``{"host", "node"}``; fails with ``nova.error.no_valid_host``
        when no host passes the filters or every candidate is full.
        """
        request = spec_from_dict(spec)
        await self._lock.acquire()
        try:
            return await self._select(request)
        finally:
            self._lock.release()

    async def _select(self, request: RequestSpec) -> dict[str, Any]:
        hosts = await self._current_hosts()
        try:
            candidates = select_hosts(hosts, request, self.filters, self.weighers,
                                      host_subset_size=self.host_subset_size)
        except NoValidHost as exc:
            raise ApplicationError(NO_VALID_HOST, str(exc)) from exc
        for host in candidates:
            claimed = await self.db.run(compute_nodes.claim, host.node_uuid,
                                        vcpus=request.vcpus, memory_mb=request.memory_mb,
                                        disk_gb=request.disk_gb)
            if claimed:
                if self._hosts is not None:
                    self._hosts = [apply_claim(h, request) if h is host else h
                                   for h in self._hosts]
                return {"host": host.host, "node": host.node_uuid}
            log.debug("{host} was fuller than this scheduler knew; reloading hosts",
                      host=host.host)
            self._hosts = None  # another scheduler (or a release) changed the hosts
        raise ApplicationError(NO_VALID_HOST, f"no host had room for {request.instance_uuid} "
                                              f"after {len(candidates)} claim attempts")
