"""``/os-services`` and ``/os-hypervisors``: what the admin sees of the cloud's hosts.

Services come from the conductor (``nova.conductor.service_list``), which
computes up/down from the heartbeats; enabling and disabling go through
``nova.conductor.service_update``. Hypervisors are the compute nodes in the
database. Both are admin-only, as in Nova.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from autobahn.wamp.exception import ApplicationError

from nova_ws.api.compute.context import RequestContext
from nova_ws.api.errors import BadRequest, NotFound
from nova_ws.api.microversions import Version
from nova_ws.db.queries import compute_nodes

V2_11, V2_28, V2_53, V2_88 = Version(2, 11), Version(2, 28), Version(2, 53), Version(2, 88)
LIST = "nova.conductor.service_list"
UPDATE = "nova.conductor.service_update"


_SERVICE_NS = uuid.UUID("6ba7b812-9dad-11d1-80b4-00c04fd430c8")


def service_uuid(s: dict[str, Any]) -> str:
    """The service's id from 2.53 on: a UUID, stable for its host and binary."""
    return str(uuid.uuid5(_SERVICE_NS, f"nova_ws/{s['host']}/{s['binary']}"))


def service_view(s: dict[str, Any], version: Version) -> dict[str, Any]:
    """Nova's service document (ids are UUIDs from 2.53, as in Nova)."""
    sid = service_uuid(s) if version >= V2_53 else s["id"]
    view = {"id": sid, "binary": s["binary"], "host": s["host"], "zone": s["zone"],
            "status": "disabled" if s["disabled"] else "enabled", "state": s["state"],
            "updated_at": s["updated_at"], "disabled_reason": s["disabled_reason"]}
    if version >= V2_11:
        view["forced_down"] = s["forced_down"]
    return view


class Services:
    """The os-services and os-hypervisors handlers; each returns ``(status, body)``."""

    def __init__(self, db: Any, client: Any) -> None:
        self.db = db
        self.client = client

    async def _services(self) -> list[dict[str, Any]]:
        return list(await self.client.call(LIST))

    async def index(self, ctx: RequestContext, version: Version,
                    query: dict[str, list[str]]) -> tuple[int, Any]:
        """``GET /os-services`` with ``host`` and ``binary`` filters."""
        ctx.require_admin("os_compute_api:os-services:list")
        args = {k: v[-1] for k, v in query.items() if v}
        found = [s for s in await self._services()
                 if args.get("host", s["host"]) == s["host"]
                 and args.get("binary", s["binary"]) == s["binary"]]
        return 200, {"services": [service_view(s, version) for s in found]}

    async def update(self, ctx: RequestContext, version: Version, service_id: str,
                     body: Any) -> tuple[int, Any]:
        """``PUT /os-services/{id}`` (2.53+) or ``/os-services/enable|disable|...``."""
        ctx.require_admin("os_compute_api:os-services:update")
        if not isinstance(body, dict):
            raise BadRequest("The request body must be a JSON object.")
        if service_id in ("enable", "disable", "disable-log-reason", "force-down"):
            return await self._legacy(version, service_id, body)
        target = next((s for s in await self._services()
                       if service_id in (str(s["id"]), service_uuid(s))), None)
        if target is None:
            raise NotFound(f"Service {service_id} could not be found.")
        kwargs: dict[str, Any] = {}
        status = body.get("status")
        if status not in (None, "enabled", "disabled"):
            raise BadRequest(f"Invalid status {status!r}: must be enabled or disabled.")
        if status is not None:
            kwargs["disabled"] = status == "disabled"
            kwargs["disabled_reason"] = body.get("disabled_reason")
        if "forced_down" in body:
            if not isinstance(body["forced_down"], bool):
                raise BadRequest("forced_down must be a boolean.")
            kwargs["forced_down"] = body["forced_down"]
        if not kwargs:
            raise BadRequest("Nothing to update: give status and/or forced_down.")
        updated = await self._update(target["host"], target["binary"], **kwargs)
        return 200, {"service": service_view(updated, version)}

    async def _legacy(self, version: Version, verb: str, body: dict[str, Any]
                      ) -> tuple[int, Any]:
        host, binary = body.get("host"), body.get("binary")
        if not isinstance(host, str) or not isinstance(binary, str):
            raise BadRequest("host and binary are required.")
        if verb == "force-down":
            updated = await self._update(host, binary, forced_down=bool(body.get("forced_down")))
            return 200, {"service": {"host": host, "binary": binary,
                                     "forced_down": updated["forced_down"]}}
        disabled = verb != "enable"
        reason = body.get("disabled_reason") if verb == "disable-log-reason" else None
        updated = await self._update(host, binary, disabled=disabled, disabled_reason=reason)
        answer = {"host": host, "binary": binary,
                  "status": "disabled" if updated["disabled"] else "enabled"}
        if reason:
            answer["disabled_reason"] = reason
        return 200, {"service": answer}

    async def _update(self, host: str, binary: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return dict(await self.client.call(UPDATE, host, binary, **kwargs))
        except ApplicationError as exc:
            if exc.error == "nova.error.service_not_found":
                raise NotFound(f"Service {binary} on host {host} could not be found.") from exc
            raise

    # -- availability zones ------------------------------------------------------

    async def zones(self, ctx: RequestContext, version: Version, detail: bool
                    ) -> tuple[int, Any]:
        """``GET /os-availability-zone[/detail]``: zones of compute hosts (detail: admin)."""
        if detail:
            ctx.require_admin("os_compute_api:os-availability-zone:detail")
        services = await self._services()
        zones: dict[str, dict[str, Any]] = {}
        for s in services:
            if s["binary"] != "nova-compute":
                continue
            zone = zones.setdefault(s["zone"] or "nova", {})
            available = s["state"] == "up" and not s["disabled"]
            zone.setdefault(s["host"], {})[s["binary"]] = {
                "available": available, "active": not s["disabled"],
                "updated_at": s["updated_at"]}
        info = []
        for name, hosts in sorted(zones.items()):
            up = any(svc["available"] for h in hosts.values() for svc in h.values())
            info.append({"zoneName": name, "zoneState": {"available": up},
                         "hosts": hosts if detail else None})
        return 200, {"availabilityZoneInfo": info}

    # -- hypervisors ---------------------------------------------------------

    async def hypervisors(self, ctx: RequestContext, version: Version,
                          detail: bool, node: str | None = None) -> tuple[int, Any]:
        """``GET /os-hypervisors[/detail|/{id}]``."""
        ctx.require_admin("os_compute_api:os-hypervisors:list")
        nodes = await self.db.run(compute_nodes.list_compute_nodes)
        by_host = {(s["host"]): s for s in await self._services()
                   if s["binary"] == "nova-compute"}
        views = [self._hypervisor(n, by_host.get(n.host), version, detail or node is not None)
                 for n in nodes]
        if node is None:
            return 200, {"hypervisors": views}
        for view in views:
            if str(view["id"]) == node:
                return 200, {"hypervisor": view}
        raise NotFound(f"Hypervisor with ID {node} could not be found.")

    def _hypervisor(self, n: compute_nodes.ComputeNode, service: dict[str, Any] | None,
                    version: Version, detail: bool) -> dict[str, Any]:
        view: dict[str, Any] = {
            "id": n.uuid if version >= V2_53 else n.id,
            "hypervisor_hostname": n.hypervisor_hostname,
            "state": service["state"] if service else "down",
            "status": "disabled" if service and service["disabled"] else "enabled"}
        if not detail:
            return view
        view.update({"hypervisor_type": n.hypervisor_type,
                     "hypervisor_version": n.hypervisor_version, "host_ip": "127.0.0.1",
                     "service": {"id": service["id"] if service else None, "host": n.host,
                                 "disabled_reason": service["disabled_reason"]
                                 if service else None}})
        if version < V2_88:
            cpu_info = n.cpu_info or {}
            view.update({
                "vcpus": n.vcpus, "memory_mb": n.memory_mb, "local_gb": n.local_gb,
                "vcpus_used": n.vcpus_used, "memory_mb_used": n.memory_mb_used,
                "local_gb_used": n.local_gb_used, "running_vms": n.running_vms,
                "free_ram_mb": n.memory_mb - n.memory_mb_used,
                "free_disk_gb": n.local_gb - n.local_gb_used, "current_workload": 0,
                "disk_available_least": n.local_gb - n.local_gb_used,
                "cpu_info": cpu_info if version >= V2_28 else json.dumps(cpu_info)})
        else:
            view["uptime"] = None
        return view

    async def statistics(self, ctx: RequestContext, version: Version) -> tuple[int, Any]:
        """``GET /os-hypervisors/statistics`` (gone from 2.88, as in Nova)."""
        ctx.require_admin("os_compute_api:os-hypervisors:statistics")
        if version >= V2_88:
            raise NotFound("The resource could not be found.")
        nodes = await self.db.run(compute_nodes.list_compute_nodes)
        total = {"count": len(nodes), "vcpus": 0, "memory_mb": 0, "local_gb": 0,
                 "vcpus_used": 0, "memory_mb_used": 0, "local_gb_used": 0, "running_vms": 0}
        for n in nodes:
            for key in ("vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used",
                        "local_gb_used", "running_vms"):
                total[key] += getattr(n, key)
        total.update(free_ram_mb=total["memory_mb"] - total["memory_mb_used"],
                     free_disk_gb=total["local_gb"] - total["local_gb_used"],
                     current_workload=0,
                     disk_available_least=total["local_gb"] - total["local_gb_used"])
        return 200, {"hypervisor_statistics": total}
