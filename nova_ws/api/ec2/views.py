"""
What EC2 shows of instances, reservations, images and zones, from nova_ws's
records, shaped as EC2's XML (the names are EC2's element names).

Instance states follow Nova's EC2 mapping onto EC2's six: building is
C{pending}, active C{running}, a stop or delete in progress C{stopping} or
C{shutting-down}, stopped C{stopped}, deleted C{terminated}; paused and
suspended guests are C{stopped} (as Nova approximated them) and an instance
in error is C{stopped} with the reason C{Server.InternalError}, as it is
not running and can still be terminated.

Pure logic.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nova_ws.api.ec2 import ids
from nova_ws.db.queries.images import Image
from nova_ws.db.queries.instances import Instance

PENDING, RUNNING, SHUTTING_DOWN, TERMINATED, STOPPING, STOPPED = (
    (0, "pending"), (16, "running"), (32, "shutting-down"), (48, "terminated"),
    (64, "stopping"), (80, "stopped"))

#: vm_state -> EC2 state, when no task changes it.
_BY_VM_STATE = {"building": PENDING, "active": RUNNING, "stopped": STOPPED,
                "paused": STOPPED, "suspended": STOPPED, "error": STOPPED,
                "deleted": TERMINATED}
#: task_state -> EC2 state while the task runs.
_BY_TASK = {"deleting": SHUTTING_DOWN, "powering-off": STOPPING, "powering-on": PENDING,
            "scheduling": PENDING, "networking": PENDING, "spawning": PENDING}
_IMAGE_STATES = {"active": "available", "queued": "pending", "saving": "pending",
                 "importing": "pending", "uploading": "pending", "killed": "failed",
                 "deleted": "deregistered", "pending_delete": "deregistered",
                 "deactivated": "disabled"}


def state(inst: Instance) -> tuple[int, str]:
    """The EC2 state code and name of an instance."""
    if inst.deleted:
        return TERMINATED
    if inst.task_state in _BY_TASK:
        return _BY_TASK[inst.task_state]
    return _BY_VM_STATE.get(inst.vm_state, PENDING)


def state_view(code_name: tuple[int, str]) -> dict[str, Any]:
    """C{<instanceState>}: code and name."""
    return {"code": code_name[0], "name": code_name[1]}


def _state_reason(inst: Instance) -> dict[str, str] | None:
    if inst.deleted:
        return {"code": "Client.UserInitiatedShutdown",
                "message": "Client.UserInitiatedShutdown: User initiated shutdown"}
    if inst.vm_state == "error":
        return {"code": "Server.InternalError",
                "message": "Server.InternalError: the instance is in an error state"}
    if inst.vm_state in ("paused", "suspended") and inst.task_state is None:
        return {"code": "Client.UserInitiatedShutdown",
                "message": f"Client.UserInitiatedShutdown: the instance is {inst.vm_state}"}
    return None


def reservation_id(inst: Instance) -> str:
    """The instance's reservation (one is made up from the uuid when it has none)."""
    return inst.reservation_id or ids.ec2_id(ids.RESERVATION, inst.uuid)


def tags(metadata: dict[str, str]) -> list[dict[str, str]]:
    """C{<tagSet>}: the instance's metadata as EC2 tags, sorted by key."""
    return [{"key": k, "value": v} for k, v in sorted(metadata.items())]


def instance(inst: Instance) -> dict[str, Any]:
    """One C{<instancesSet><item>}."""
    return {
        "instanceId": ids.instance_id(inst.uuid),
        "imageId": ids.image_id(inst.image_ref) if inst.image_ref else None,
        "instanceState": state_view(state(inst)),
        "privateDnsName": inst.hostname or "",
        "dnsName": "",
        "reason": "",
        "keyName": inst.key_name,
        "amiLaunchIndex": inst.launch_index,
        "productCodes": [],
        "instanceType": inst.flavor.get("name"),
        "launchTime": inst.launched_at or inst.created_at,
        "placement": {"availabilityZone": inst.availability_zone or "",
                      "groupName": "", "tenancy": "default"},
        "monitoring": {"state": "disabled"},
        "groupSet": [],
        "stateReason": _state_reason(inst),
        "rootDeviceType": "instance-store",
        "blockDeviceMapping": [],
        "virtualizationType": "hvm",
        "tagSet": tags(inst.metadata),
    }


def reservations(instances: Iterable[Instance]) -> list[dict[str, Any]]:
    """C{<reservationSet>}: instances grouped by reservation, in first-seen order."""
    groups: dict[str, dict[str, Any]] = {}
    for inst in instances:
        rid = reservation_id(inst)
        group = groups.setdefault(rid, {"reservationId": rid, "ownerId": inst.project_id,
                                        "groupSet": [], "instancesSet": []})
        group["instancesSet"].append(instance(inst))
    return list(groups.values())


def state_change(ec2_id: str, before: tuple[int, str], after: tuple[int, str]
                 ) -> dict[str, Any]:
    """One item of a Start/Stop/TerminateInstances answer."""
    return {"instanceId": ec2_id, "currentState": state_view(after),
            "previousState": state_view(before)}


def image(img: Image) -> dict[str, Any]:
    """One C{<imagesSet><item>}."""
    return {
        "imageId": ids.image_id(img.uuid),
        "imageLocation": img.name or img.uuid,
        "imageState": _IMAGE_STATES.get(img.status, img.status),
        "imageOwnerId": img.owner or "",
        "creationDate": img.created_at,
        "isPublic": img.visibility in ("public", "community"),
        "architecture": img.properties.get("architecture"),
        "imageType": "machine",
        "name": img.name,
        "rootDeviceType": "instance-store",
        "blockDeviceMapping": [],
        "virtualizationType": "hvm",
        "hypervisor": img.properties.get("hypervisor_type"),
        "description": img.properties.get("description"),
    }


def image_fields(img: Image, view: dict[str, Any]) -> dict[str, Any]:
    """An image's values for DescribeImages filters."""
    return {"image-id": view["imageId"], "name": img.name, "state": view["imageState"],
            "owner-id": img.owner, "is-public": "true" if view["isPublic"] else "false",
            "architecture": view["architecture"], "image-type": "machine",
            "virtualization-type": "hvm", "root-device-type": "instance-store",
            "hypervisor": view["hypervisor"], "description": view["description"]}


def instance_fields(inst: Instance) -> dict[str, Any]:
    """An instance's values for DescribeInstances filters (C{tag:KEY} included)."""
    code, name = state(inst)
    fields: dict[str, Any] = {
        "instance-id": ids.instance_id(inst.uuid),
        "instance-state-name": name, "instance-state-code": str(code),
        "availability-zone": inst.availability_zone,
        "image-id": ids.image_id(inst.image_ref) if inst.image_ref else None,
        "instance-type": inst.flavor.get("name"), "key-name": inst.key_name,
        "reservation-id": reservation_id(inst), "owner-id": inst.project_id,
        "private-dns-name": inst.hostname, "launch-index": str(inst.launch_index),
        "tag-key": list(inst.metadata), "tag-value": list(inst.metadata.values()),
    }
    for key, value in inst.metadata.items():
        fields[f"tag:{key}"] = value
    return fields


INSTANCE_FILTERS = ("instance-id", "instance-state-name", "instance-state-code",
                    "availability-zone", "image-id", "instance-type", "key-name",
                    "reservation-id", "owner-id", "private-dns-name", "launch-index",
                    "tag-key", "tag-value")
IMAGE_FILTERS = ("image-id", "name", "state", "owner-id", "is-public", "architecture",
                 "image-type", "virtualization-type", "root-device-type", "hypervisor",
                 "description")
ZONE_FILTERS = ("zone-name", "state", "region-name", "zone-type", "zone-id")
