"""Nova's server documents: status from vm_state and task_state, and the views.

Pure logic: a view is built from the instance record, the microversion and
whether the asker is an admin (who also sees where the server runs).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from nova_ws.api.microversions import Version
from nova_ws.db.queries.instances import Instance

V2_3, V2_9, V2_19, V2_26, V2_47, V2_73, V2_90 = (
    Version(2, n) for n in (3, 9, 19, 26, 47, 73, 90))

#: Nova's status map: vm_state -> {task_state or "default": status}.
STATE_MAP: dict[str, dict[str | None, str]] = {
    "active": {"default": "ACTIVE", "rebooting": "REBOOT", "reboot_pending": "REBOOT",
               "reboot_started": "REBOOT", "rebooting_hard": "HARD_REBOOT",
               "reboot_pending_hard": "HARD_REBOOT", "reboot_started_hard": "HARD_REBOOT",
               "updating_password": "PASSWORD", "rebuilding": "REBUILD",
               "rebuild_block_device_mapping": "REBUILD", "rebuild_spawning": "REBUILD",
               "migrating": "MIGRATING", "resize_prep": "RESIZE",
               "resize_migrating": "RESIZE", "resize_migrated": "RESIZE",
               "resize_finish": "RESIZE"},
    "building": {"default": "BUILD"},
    "stopped": {"default": "SHUTOFF", "resize_prep": "RESIZE", "resize_migrating": "RESIZE",
                "resize_migrated": "RESIZE", "resize_finish": "RESIZE",
                "rebuilding": "REBUILD"},
    "resized": {"default": "VERIFY_RESIZE", "resize_reverting": "REVERT_RESIZE"},
    "paused": {"default": "PAUSED", "migrating": "MIGRATING"},
    "suspended": {"default": "SUSPENDED"},
    "rescued": {"default": "RESCUE"},
    "error": {"default": "ERROR", "rebuilding": "REBUILD"},
    "deleted": {"default": "DELETED"},
    "soft-delete": {"default": "SOFT_DELETED"},
    "shelved": {"default": "SHELVED"},
    "shelved_offloaded": {"default": "SHELVED_OFFLOADED"},
}


def status(vm_state: str, task_state: str | None) -> str:
    """The API status of an instance (``UNKNOWN`` for states Nova does not name)."""
    by_task = STATE_MAP.get(vm_state, {})
    return by_task.get(task_state, by_task.get("default", "UNKNOWN"))


def isotime(when: datetime | None) -> str | None:
    """``2024-01-02T03:04:05Z``."""
    if when is None:
        return None
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _usage_time(when: datetime | None) -> str | None:
    if when is None:
        return None
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when.isoformat(timespec="microseconds")


def host_id(project_id: str, host: str | None) -> str:
    """Nova's opaque hostId: sha224 of project and host ("" with no host)."""
    if not host:
        return ""
    return hashlib.sha224((project_id + host).encode()).hexdigest()


def server_links(base: str, uuid: str) -> list[dict[str, str]]:
    """The self and bookmark links of a server."""
    return [{"rel": "self", "href": f"{base}/v2.1/servers/{uuid}"},
            {"rel": "bookmark", "href": f"{base}/servers/{uuid}"}]


def brief(inst: Instance, base: str) -> dict[str, Any]:
    """The index entry: id, name, links."""
    return {"id": inst.uuid, "name": inst.display_name, "links": server_links(base, inst.uuid)}


def _flavor(inst: Instance, base: str, version: Version) -> dict[str, Any]:
    f = inst.flavor
    if version < V2_47:
        flavorid = str(f.get("flavorid", inst.instance_type_id))
        return {"id": flavorid, "links": [{"rel": "bookmark",
                                           "href": f"{base}/flavors/{flavorid}"}]}
    return {"vcpus": inst.vcpus, "ram": inst.memory_mb, "disk": inst.root_gb,
            "ephemeral": inst.ephemeral_gb, "swap": int(f.get("swap", 0)),
            "original_name": f.get("name"), "extra_specs": dict(f.get("extra_specs", {}))}


def _image(inst: Instance, base: str) -> Any:
    if not inst.image_ref:
        return ""
    return {"id": inst.image_ref,
            "links": [{"rel": "bookmark", "href": f"{base}/images/{inst.image_ref}"}]}


def detail(inst: Instance, base: str, version: Version, is_admin: bool) -> dict[str, Any]:
    """The full server document, as *version* and the asker's role show it."""
    view: dict[str, Any] = {
        **brief(inst, base),
        "status": status(inst.vm_state, inst.task_state),
        "tenant_id": inst.project_id, "user_id": inst.user_id,
        "metadata": dict(inst.metadata), "hostId": host_id(inst.project_id, inst.host),
        "image": _image(inst, base), "flavor": _flavor(inst, base, version),
        "created": isotime(inst.created_at), "updated": isotime(inst.updated_at or
                                                                 inst.created_at),
        "addresses": {}, "accessIPv4": "", "accessIPv6": "", "key_name": inst.key_name,
        "config_drive": "", "progress": 0,
        "OS-EXT-STS:vm_state": inst.vm_state, "OS-EXT-STS:task_state": inst.task_state,
        "OS-EXT-STS:power_state": inst.power_state,
        "OS-EXT-AZ:availability_zone": inst.availability_zone or "nova",
        "OS-SRV-USG:launched_at": _usage_time(inst.launched_at),
        "OS-SRV-USG:terminated_at": _usage_time(inst.terminated_at),
        "OS-DCF:diskConfig": "MANUAL", "security_groups": [{"name": "default"}],
        "os-extended-volumes:volumes_attached": [],
    }
    if version >= V2_9:
        view["locked"] = inst.locked
    if version >= V2_73:
        view["locked_reason"] = None
    if version >= V2_19:
        view["description"] = inst.description
    if version >= V2_26:
        view["tags"] = []
    if version >= V2_90:  # the guest's host name is everyone's to see (and set) from 2.90
        view["OS-EXT-SRV-ATTR:hostname"] = inst.hostname
    if is_admin:
        view.update({"OS-EXT-SRV-ATTR:host": inst.host,
                     "OS-EXT-SRV-ATTR:hypervisor_hostname": inst.node,
                     "OS-EXT-SRV-ATTR:instance_name": f"instance-{inst.id:08x}"})
        if version >= V2_3:
            view.update({"OS-EXT-SRV-ATTR:reservation_id": inst.reservation_id,
                         "OS-EXT-SRV-ATTR:launch_index": inst.launch_index,
                         "OS-EXT-SRV-ATTR:hostname": inst.hostname,
                         "OS-EXT-SRV-ATTR:kernel_id": "", "OS-EXT-SRV-ATTR:ramdisk_id": "",
                         "OS-EXT-SRV-ATTR:root_device_name": None,
                         "OS-EXT-SRV-ATTR:user_data": None})
    return view
