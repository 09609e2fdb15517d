"""Validation of server request bodies, with Nova's 400 messages.

Pure logic: each parser takes the decoded JSON and returns a frozen request
or raises :class:`BadRequest` (or :class:`Forbidden` for over-limit
metadata). Nothing a client sends may escape as another exception.
"""

from __future__ import annotations

import re
import uuid as uuidlib
from dataclasses import dataclass, field
from typing import Any

from nova_ws.api.errors import BadRequest, Forbidden
from nova_ws.api.microversions import Version

V2_19, V2_37, V2_90, V2_94 = Version(2, 19), Version(2, 37), Version(2, 90), Version(2, 94)
MAX_COUNT = 100
MAX_METADATA_ITEMS = 128
_CREATE_KEYS = frozenset({
    "name", "imageRef", "flavorRef", "adminPass", "metadata", "networks",
    "availability_zone", "key_name", "min_count", "max_count", "return_reservation_id",
    "user_data", "config_drive", "security_groups", "block_device_mapping",
    "block_device_mapping_v2", "accessIPv4", "accessIPv6", "OS-DCF:diskConfig",
    "description", "tags", "hostname", "host", "hypervisor_hostname",
    "trusted_image_certificates"})


def invalid(name: str, value: Any, reason: str) -> BadRequest:
    """Nova's schema error."""
    return BadRequest(f"Invalid input for field/attribute {name}. Value: {value}. {reason}")


def _name(value: Any, field_name: str = "name") -> str:
    if not isinstance(value, str):
        raise invalid(field_name, value, f"{value!r} is not of type 'string'")
    if not value.strip() or value != value.strip() or len(value) > 255:
        raise invalid(field_name, value, f"{value!r} does not match the server name rules")
    return value


def _ref(value: Any, field_name: str) -> str:
    """An id or a link to one: the last path component."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise invalid(field_name, value, f"{value!r} is not a valid reference")
    return value.rstrip("/").rsplit("/", 1)[-1]


def _count(value: Any, field_name: str) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise invalid(field_name, value, f"{value!r} is not a positive integer")
    return value


def metadata(value: Any) -> dict[str, str]:
    """Server metadata: string keys of 1-255 and values of 0-255 characters."""
    if not isinstance(value, dict):
        raise invalid("metadata", value, f"{value!r} is not of type 'object'")
    for key, item in value.items():
        if not 1 <= len(key) <= 255 or not isinstance(item, str) or len(item) > 255:
            raise invalid("metadata", value, "Metadata keys and values must be strings of "
                          "at most 255 characters")
    if len(value) > MAX_METADATA_ITEMS:
        raise Forbidden(f"Quota exceeded for metadata_items: maximum {MAX_METADATA_ITEMS}")
    return dict(value)


@dataclass(frozen=True)
class CreateServer:
    """A validated ``POST /servers``."""

    name: str
    flavor_ref: str
    image_ref: str
    min_count: int = 1
    max_count: int = 1
    metadata: dict[str, str] = field(default_factory=dict)
    availability_zone: str | None = None
    key_name: str | None = None
    group: str | None = None
    return_reservation_id: bool = False
    admin_pass: str | None = None
    description: str | None = None
    hostname: str | None = None


def _server(body: Any, key: str = "server") -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise BadRequest(f"Invalid input for field/attribute {key}. "
                         f"'{key}' is a required property and must be an object")
    server: dict[str, Any] = body[key]
    return server


def _optional_str(server: dict[str, Any], key: str, max_len: int = 255) -> str | None:
    value = server.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > max_len or (key != "adminPass"
                                                               and not value.strip()):
        raise invalid(key, value, f"{value!r} is not a valid string")
    return value


def _description(value: Any) -> str | None:
    """A server description (2.19+): None, or text of at most 255 characters."""
    if value is not None and (not isinstance(value, str) or len(value) > 255):
        raise invalid("description", value, "is not a valid description")
    return value


def _networks(value: Any, version: Version) -> None:
    if value is None:
        if version >= V2_37:
            raise BadRequest("Invalid input for field/attribute networks. "
                             "'networks' is a required property")
        return
    if isinstance(value, str):
        if value not in ("none", "auto"):
            raise invalid("networks", value, "must be 'none', 'auto' or a list")
        return
    if not isinstance(value, list) or not all(isinstance(n, dict) for n in value):
        raise invalid("networks", value, "must be 'none', 'auto' or a list of objects")


def _hints(body: dict[str, Any]) -> str | None:
    hints = body.get("os:scheduler_hints", body.get("OS-SCH-HNT:scheduler_hints"))
    if hints is None:
        return None
    if not isinstance(hints, dict):
        raise invalid("os:scheduler_hints", hints, "is not of type 'object'")
    group = hints.get("group")
    if group is None:
        return None
    if not isinstance(group, str) or not _is_uuid(group):
        raise invalid("os:scheduler_hints.group", group, "is not a 'uuid'")
    return group


def _is_uuid(text: str) -> bool:
    try:
        uuidlib.UUID(text)
    except ValueError:
        return False
    return True


def create_server(body: Any, version: Version) -> CreateServer:
    """Validate a create body; 400 with Nova's message for anything wrong."""
    server = _server(body)
    unknown = sorted(set(server) - _CREATE_KEYS)
    if unknown:
        raise BadRequest(f"Invalid input for field/attribute server. Additional properties "
                         f"are not allowed ({', '.join(map(repr, unknown))} were unexpected)")
    if "name" not in server:
        raise BadRequest("Invalid input for field/attribute server. "
                         "'name' is a required property")
    name = _name(server["name"])
    if "flavorRef" not in server:
        raise BadRequest("Invalid input for field/attribute server. "
                         "'flavorRef' is a required property")
    flavor_ref = _ref(server["flavorRef"], "flavorRef")
    image = server.get("imageRef", "")
    if image == "" or image is None:
        raise BadRequest("Booting from a volume is not supported: imageRef is required.")
    image_ref = _ref(image, "imageRef")
    if not _is_uuid(image_ref):
        raise invalid("imageRef", image, f"{image!r} is not a 'uuid'")
    image_ref = str(uuidlib.UUID(image_ref))  # the stored form: lower case, with dashes
    min_count = _count(server.get("min_count", 1), "min_count")
    max_count = _count(server.get("max_count", min_count), "max_count")
    if min_count > max_count:
        raise BadRequest("min_count must be <= max_count")
    if min_count > MAX_COUNT:
        raise Forbidden(f"Quota exceeded for instances: Requested {min_count}, but the "
                        f"limit is {MAX_COUNT}")
    _networks(server.get("networks"), version)
    description = None
    if "description" in server:
        if version < V2_19:
            raise BadRequest("Invalid input for field/attribute server. Additional "
                             "properties are not allowed ('description' was unexpected)")
        description = _description(server["description"])
    hostname = _guest_hostname(server, version)
    if hostname is not None and max_count > 1:
        raise BadRequest("Unable to specify a hostname when creating multiple instances "
                         "(max_count > 1)")
    reservation = server.get("return_reservation_id", False)
    if not isinstance(reservation, bool):
        reservation = str(reservation).lower() in ("1", "true", "yes", "on")
    return CreateServer(
        name=name, flavor_ref=flavor_ref, image_ref=image_ref, min_count=min_count,
        max_count=min(max_count, MAX_COUNT), metadata=metadata(server.get("metadata", {})),
        availability_zone=_optional_str(server, "availability_zone"),
        key_name=_optional_str(server, "key_name"), group=_hints(body),
        return_reservation_id=reservation, admin_pass=_optional_str(server, "adminPass"),
        description=description, hostname=hostname)


_GUEST_HOSTNAME = re.compile(r"[a-zA-Z0-9._-]*")


def _guest_hostname(server: dict[str, Any], version: Version) -> str | None:
    """``hostname`` (2.90+; a fully qualified name from 2.94), or None when not given."""
    if "hostname" not in server:
        return None
    value = server["hostname"]
    if version < V2_90:
        raise BadRequest("Invalid input for field/attribute server. Additional properties "
                         "are not allowed ('hostname' was unexpected)")
    low, high = (1, 255) if version >= V2_94 else (2, 63)
    if not isinstance(value, str) or not low <= len(value) <= high or \
            not _GUEST_HOSTNAME.fullmatch(value):
        raise invalid("hostname", value, f"{value!r} is not a valid hostname")
    return value


V2_54 = Version(2, 54)


@dataclass(frozen=True)
class RebuildServer:
    """A validated ``rebuild`` action: the new image, the admin password asked for
    (None: make one up) and the instance fields to change, by column name
    (``display_name``, ``metadata``, ``description``, ``key_name``, ``hostname``;
    a ``key_name`` of None removes the key).
    """

    image_ref: str
    admin_pass: str | None = None
    changes: dict[str, Any] = field(default_factory=dict)


def rebuild_server(body: Any, version: Version) -> RebuildServer:
    """Validate a ``{"rebuild": {...}}`` body; 400 with Nova's message for anything wrong.

    What nova_ws does not model (``preserve_ephemeral``: guests have no
    ephemeral disk; ``user_data``, ``personality``, access IPs, disk config,
    trusted certificates) is accepted as the schema allows and has no effect.
    """
    rebuild = _server(body, "rebuild")
    if "imageRef" not in rebuild:
        raise BadRequest("Invalid input for field/attribute rebuild. "
                         "'imageRef' is a required property")
    image = rebuild["imageRef"]
    if not isinstance(image, str) or not _is_uuid(image):
        raise invalid("imageRef", image, f"{image!r} is not a 'uuid'")
    changes: dict[str, Any] = {}
    if "name" in rebuild:
        changes["display_name"] = _name(rebuild["name"])
    if "metadata" in rebuild:
        changes["metadata"] = metadata(rebuild["metadata"])
    if "description" in rebuild and version >= V2_19:
        changes["description"] = _description(rebuild["description"])
    if "key_name" in rebuild and version >= V2_54:
        key_name = rebuild["key_name"]
        changes["key_name"] = None if key_name is None else _name(key_name, "key_name")
    if "hostname" in rebuild and version >= V2_90:
        changes["hostname"] = _guest_hostname(rebuild, version)
    admin_pass = rebuild.get("adminPass")
    if admin_pass is not None and not isinstance(admin_pass, str):
        raise invalid("adminPass", admin_pass, f"{admin_pass!r} is not of type 'string'")
    return RebuildServer(str(uuidlib.UUID(image)), admin_pass, changes)


def update_server(body: Any, version: Version) -> dict[str, Any]:
    """Validate a ``PUT /servers/{id}`` body: the fields to change."""
    server = _server(body)
    allowed = {"name", "accessIPv4", "accessIPv6", "OS-DCF:diskConfig"}
    if version >= V2_19:
        allowed.add("description")
    if version >= V2_90:
        allowed.add("hostname")
    unknown = sorted(set(server) - allowed)
    if unknown:
        raise BadRequest(f"Invalid input for field/attribute server. Additional properties "
                         f"are not allowed ({', '.join(map(repr, unknown))} were unexpected)")
    changes: dict[str, Any] = {}
    if "name" in server:
        changes["name"] = _name(server["name"])
    if "description" in server:
        changes["description"] = _description(server["description"])
    if "hostname" in server:
        changes["hostname"] = _guest_hostname(server, version)
    return changes
