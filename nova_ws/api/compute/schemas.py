"""The JSON schemas of every Compute API request: bodies and query strings.

Each route of :class:`~nova_ws.api.compute.app.ComputeApi` has an
:class:`Operation` here, under the route's endpoint name, that says which
microversions serve it, what its query string and its body may hold at each
microversion, and which statuses it answers with. :mod:`validation` checks
requests against them before any handler runs, and :mod:`openapi` publishes
the same schemas as the API's OpenAPI document, so what is documented is
what is enforced.

The schemas follow Nova's (``nova/api/openstack/compute/schemas``): same
field names, types, patterns and limits, and the same microversion steps.
Two of Nova's conventions carry over. Query strings are validated as lists
of strings (a parameter may repeat), so each query schema below names the
schema of one value. Numbers may also come as numeric strings, and
``minimum``/``maximum`` then apply to their value (see :mod:`validation`).
Integers that reach a database column are bounded by its range, so no
request can overflow one.

Schemas are JSON Schema 2020-12 (the dialect of OpenAPI 3.1) and are plain
dicts and lists: never change them in place.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nova_ws.api.microversions import MAX_VERSION, MIN_VERSION, Version

Schema = dict[str, Any]

V = Version
V2_1 = Version(*MIN_VERSION)
LATEST = Version(*MAX_VERSION)

#: The largest value of a 32-bit signed database integer column.
MAX_INT = 0x7FFFFFFF
#: The largest single-precision float a database float column keeps.
MAX_FLOAT = 3.40282e38


@dataclass(frozen=True)
class Versioned:
    """A schema that changes with the microversion: ``(first version, schema)``
    steps in ascending order; ``None`` as a schema means "nothing accepted".
    """

    steps: tuple[tuple[Version, Any], ...]

    def at(self, version: Version) -> Any:
        """The schema in force at *version* (``None`` before the first step)."""
        found = None
        for since, schema in self.steps:
            if version >= since:
                found = schema
        return found


def since(*steps: tuple[Version, Any]) -> Versioned:
    """A :class:`Versioned` from its steps."""
    return Versioned(tuple(sorted(steps, key=lambda step: step[0])))


def always(schema: Any) -> Versioned:
    """A schema that holds at every microversion."""
    return Versioned(((V2_1, schema),))


@dataclass(frozen=True)
class Query:
    """A query string's parameters: each name with the schema of one value.

    ``strict`` refuses parameters not named (Nova does so from 2.75 for most
    resources); otherwise unknown ones are ignored.
    """

    params: Mapping[str, Schema] = field(default_factory=dict)
    strict: bool = False

    def with_params(self, **params: Schema) -> Query:
        """This query with *params* added (a ``-`` in a name is spelled ``__``)."""
        merged = {**self.params, **{k.replace("__", "-"): v for k, v in params.items()}}
        return Query(merged, self.strict)

    def closed(self) -> Query:
        """This query refusing parameters it does not name."""
        return Query(self.params, strict=True)

    def without(self, *names: str) -> Query:
        """This query without the parameters *names*."""
        return Query({k: v for k, v in self.params.items() if k not in names}, self.strict)

    def json_schema(self) -> Schema:
        """The schema of the whole query, as ``{name: [values]}``."""
        return {"type": "object",
                "properties": {name: {"type": "array", "items": schema}
                               for name, schema in self.params.items()},
                "additionalProperties": not self.strict}


@dataclass(frozen=True)
class Operation:
    """One route's contract.

    ``ok`` are the success statuses it may answer (with a JSON body unless
    listed in ``empty``); ``errors`` the statuses other than 4xx it answers
    by design (Nova's 501 for a certificate other than the root); ``dispatch``
    is for ``POST /servers/{id}/action``, whose body is chosen by its one key.
    """

    summary: str
    tag: str
    ok: tuple[int, ...] = (200,)
    empty: tuple[int, ...] = ()
    errors: tuple[int, ...] = ()
    query: Versioned | None = None
    body: Versioned | None = None
    dispatch: Mapping[str, Versioned] | None = None
    min_version: Version = V2_1
    max_version: Version = LATEST

    def serves(self, version: Version) -> bool:
        """Whether the route exists at *version*."""
        return self.min_version <= version <= self.max_version

    def body_at(self, version: Version) -> Schema | None:
        """The body schema at *version* (for an action: any of the actions)."""
        if self.dispatch is None:
            return self.body.at(version) if self.body is not None else None
        choices = [s for s in (v.at(version) for v in self.dispatch.values()) if s]
        return {"oneOf": choices}

    def query_at(self, version: Version) -> Query | None:
        """The query schema at *version*."""
        return self.query.at(version) if self.query is not None else None


# -- value types --------------------------------------------------------------------

_CONTROL = "\\x00-\\x1f\\x7f-\\x9f"
#: Printable text with no leading or trailing white space.
NAME_PATTERN = f"^([^\\s{_CONTROL}]([^{_CONTROL}]*[^\\s{_CONTROL}])?)?$"
#: Printable text where tabs and line breaks are allowed.
TEXT_PATTERN = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*$"

NAME: Schema = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": NAME_PATTERN}
DESCRIPTION: Schema = {"type": ["string", "null"], "maxLength": 255, "pattern": TEXT_PATTERN}
UUID: Schema = {"type": "string", "format": "uuid"}
STRING: Schema = {"type": "string"}
BOOLEAN: Schema = {"type": ["boolean", "string"], "enum": [
    True, "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes",
    False, "False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no"]}
POSITIVE_INT: Schema = {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1}
POSITIVE_DB_INT: Schema = {**POSITIVE_INT, "maximum": MAX_INT}
NON_NEGATIVE_DB_INT: Schema = {"type": ["integer", "string"], "pattern": "^[0-9]+$",
                               "minimum": 0, "maximum": MAX_INT}
HOSTNAME: Schema = {"type": "string", "minLength": 1, "maxLength": 255,
                    "pattern": "^[a-zA-Z0-9._-]*$"}
IPV4: Schema = {"type": "string", "format": "ipv4"}
IPV6: Schema = {"type": "string", "format": "ipv6"}
IP_ADDRESS: Schema = {"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]}
DISK_CONFIG: Schema = {"type": "string", "enum": ["AUTO", "MANUAL"]}
TAG: Schema = {"type": "string", "minLength": 1, "maxLength": 60, "pattern": "^[^,/]*$"}
METADATA: Schema = {
    "type": "object",
    "patternProperties": {"^[a-zA-Z0-9_:. -]{1,255}$": {"type": "string", "maxLength": 255}},
    "additionalProperties": False}
NULL_OR_EMPTY: Schema = {"type": ["null", "object"], "maxProperties": 0}

# one value of a query parameter
Q_STRING: Schema = {"type": "string"}
Q_REGEX: Schema = {"type": "string", "format": "regex"}
Q_COUNT: Schema = {"type": "string", "pattern": "^[0-9]+$"}
Q_TIME: Schema = {"type": "string", "format": "date-time"}
Q_BOOLEAN: Schema = {"type": "string", "enum": [v for v in BOOLEAN["enum"]
                                                if isinstance(v, str)]}
PAGES = Query({"limit": Q_COUNT, "marker": Q_STRING})


def obj(properties: Mapping[str, Schema], required: tuple[str, ...] = (),
        closed: bool = True) -> Schema:
    """An object schema (closed: no properties other than *properties*)."""
    schema: Schema = {"type": "object", "properties": dict(properties)}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema


def wrap(key: str, inner: Schema) -> Schema:
    """A body that is one object under *key*: ``{"server": {...}}``."""
    return obj({key: inner}, (key,))


def evolve(schema: Schema, key: str, add: Mapping[str, Schema] | None = None,
           drop: tuple[str, ...] = (), require: tuple[str, ...] = ()) -> Schema:
    """A copy of a wrapped body with properties of its inner object changed."""
    new = copy.deepcopy(schema)
    inner = new["properties"][key]
    inner["properties"].update(copy.deepcopy(dict(add or {})))
    for name in drop:
        inner["properties"].pop(name, None)
    if require:
        inner["required"] = [*inner.get("required", []), *require]
    return new


# -- servers ------------------------------------------------------------------------

def _network(uuid: Schema, tag: bool) -> Schema:
    properties = {"fixed_ip": IP_ADDRESS, "port": {"type": ["string", "null"],
                                                   "format": "uuid"},
                  "uuid": uuid}
    if tag:
        properties["tag"] = TAG
    return obj(properties)


_BDM: Schema = obj({
    "virtual_name": {"type": "string", "maxLength": 255},
    "volume_id": UUID, "snapshot_id": UUID, "image_id": UUID,
    "volume_size": {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1,
                    "maximum": MAX_INT},
    "device_name": {"type": "string", "minLength": 1, "maxLength": 255,
                    "pattern": "^[a-zA-Z0-9._/-]*$"},
    "delete_on_termination": BOOLEAN, "no_device": {},
    "source_type": {"type": "string", "enum": ["volume", "image", "snapshot", "blank"]},
    "destination_type": {"type": "string", "enum": ["local", "volume"]},
    "uuid": {"type": "string", "minLength": 1, "maxLength": 255,
             "pattern": "^[a-zA-Z0-9._-]*$"},
    "guest_format": {"type": "string", "maxLength": 255},
    "device_type": {"type": "string", "maxLength": 255},
    "disk_bus": {"type": "string", "maxLength": 255},
    "boot_index": {"type": ["integer", "string", "null"], "pattern": "^-?[0-9]+$"},
})
_HINTS: Schema = obj({"group": UUID}, closed=False)
_USER_DATA: Schema = {"type": "string", "format": "base64", "maxLength": 65535}

SERVER_CREATE = obj({
    "server": obj({
        "name": NAME,
        "imageRef": {"type": "string", "anyOf": [{"format": "uuid"}, {"maxLength": 0}]},
        "flavorRef": {"type": ["string", "integer"], "minLength": 1},
        "adminPass": STRING, "metadata": METADATA,
        "networks": {"type": "array", "items": _network(STRING, tag=False)},
        "OS-DCF:diskConfig": DISK_CONFIG, "accessIPv4": IPV4, "accessIPv6": IPV6,
        "personality": {"type": "array", "items": obj({
            "path": {"type": "string", "maxLength": 255},
            "contents": {"type": "string", "format": "base64"}})},
        "availability_zone": NAME,
        "block_device_mapping": {"type": "array", "items": _BDM},
        "block_device_mapping_v2": {"type": "array", "items": _BDM},
        "config_drive": BOOLEAN, "key_name": NAME,
        "min_count": POSITIVE_INT, "max_count": POSITIVE_INT,
        "return_reservation_id": BOOLEAN,
        "security_groups": {"type": "array", "items": obj({"name": NAME})},
        "user_data": _USER_DATA,
    }, ("name", "flavorRef")),
    "os:scheduler_hints": _HINTS, "OS-SCH-HNT:scheduler_hints": _HINTS,
}, ("server",))
_NETWORKS_V237: Schema = {"anyOf": [
    {"type": "array", "items": _network(UUID, tag=True)},
    {"type": "string", "enum": ["none", "auto"]}]}
SERVER_CREATE_V219 = evolve(SERVER_CREATE, "server", {"description": DESCRIPTION})
SERVER_CREATE_V237 = evolve(SERVER_CREATE_V219, "server", {"networks": _NETWORKS_V237},
                            require=("networks",))
SERVER_CREATE_V252 = evolve(SERVER_CREATE_V237, "server", {"tags": {
    "type": "array", "items": TAG, "maxItems": 50}})
SERVER_CREATE_V257 = evolve(SERVER_CREATE_V252, "server", drop=("personality",))
SERVER_CREATE_V263 = evolve(SERVER_CREATE_V257, "server", {"trusted_image_certificates": {
    "type": ["array", "null"], "minItems": 1, "maxItems": 50, "uniqueItems": True,
    "items": {"type": "string", "minLength": 1, "maxLength": 255}}})
SERVER_CREATE_V274 = evolve(SERVER_CREATE_V263, "server", {
    "host": HOSTNAME, "hypervisor_hostname": HOSTNAME})

#: a guest's host name (2.90: one label), and from 2.94 a fully qualified one, as Nova
GUEST_HOSTNAME: Schema = {"type": "string", "minLength": 2, "maxLength": 63,
                          "pattern": "^[a-zA-Z0-9-._]*$"}
GUEST_FQDN: Schema = {"type": "string", "minLength": 1, "maxLength": 255,
                      "pattern": "^[a-zA-Z0-9-._]*$"}
SERVER_CREATE_V290 = evolve(SERVER_CREATE_V274, "server", {"hostname": GUEST_HOSTNAME})
SERVER_CREATE_V294 = evolve(SERVER_CREATE_V274, "server", {"hostname": GUEST_FQDN})

SERVER_UPDATE = wrap("server", obj({"name": NAME, "OS-DCF:diskConfig": DISK_CONFIG,
                                    "accessIPv4": IPV4, "accessIPv6": IPV6}))
SERVER_UPDATE_V219 = evolve(SERVER_UPDATE, "server", {"description": DESCRIPTION})
SERVER_UPDATE_V290 = evolve(SERVER_UPDATE_V219, "server", {"hostname": GUEST_HOSTNAME})
SERVER_UPDATE_V294 = evolve(SERVER_UPDATE_V219, "server", {"hostname": GUEST_FQDN})

_SERVER_FILTERS = ("user_id", "project_id", "tenant_id", "launch_index", "image_ref", "image",
                   "vm_state", "task_state", "host", "uuid", "sort_dir", "all_tenants",
                   "soft_deleted", "deleted", "status")
_SERVER_REGEX_FILTERS = ("kernel_id", "ramdisk_id", "hostname", "key_name", "power_state",
                         "node", "flavor", "reservation_id", "launched_at", "terminated_at",
                         "availability_zone", "name", "display_name", "description",
                         "display_description", "locked_by", "root_device_name",
                         "config_drive", "access_ip_v4", "access_ip_v6", "auto_disk_config",
                         "progress", "ip", "ip6", "created_at")
SORT_KEYS = ("access_ip_v4", "access_ip_v6", "auto_disk_config", "availability_zone",
             "config_drive", "created_at", "display_description", "display_name", "host",
             "hostname", "image_ref", "instance_type_id", "kernel_id", "key_name",
             "launch_index", "launched_at", "locked_by", "node", "power_state", "progress",
             "project_id", "ramdisk_id", "root_device_name", "task_state", "terminated_at",
             "updated_at", "user_id", "uuid", "vm_state")
SERVERS_QUERY = PAGES.with_params(
    **dict.fromkeys(_SERVER_FILTERS, Q_STRING), **dict.fromkeys(_SERVER_REGEX_FILTERS, Q_REGEX),
    sort_key={"type": "string", "enum": list(SORT_KEYS)}, changes__since=Q_TIME)
SERVERS_QUERY_V226 = SERVERS_QUERY.with_params(
    tags=Q_REGEX, tags__any=Q_REGEX, not__tags=Q_REGEX, not__tags__any=Q_REGEX)
SERVERS_QUERY_V266 = SERVERS_QUERY_V226.with_params(changes__before=Q_TIME)
SERVERS_QUERY_V273 = SERVERS_QUERY_V266.with_params(
    locked=Q_STRING, sort_key={"type": "string", "enum": [*SORT_KEYS, "locked"]})
SERVERS_QUERY_V275 = SERVERS_QUERY_V273.closed()

# -- server actions ------------------------------------------------------------------


def _action(name: str, argument: Schema) -> Schema:
    return obj({name: argument}, (name,))


REBOOT = _action("reboot", obj({"type": {"type": "string", "enum": [
    "HARD", "Hard", "hard", "SOFT", "Soft", "soft"]}}, ("type",)))
CONSOLE_OUTPUT = _action("os-getConsoleOutput", obj({"length": {
    "type": ["integer", "string", "null"], "pattern": "^-?[0-9]+$", "minimum": -1}}))
_CREATE_FIELDS = SERVER_CREATE_V263["properties"]["server"]["properties"]
REBUILD = _action("rebuild", obj({
    "name": NAME, "imageRef": UUID, "adminPass": STRING, "metadata": METADATA,
    "preserve_ephemeral": BOOLEAN, "OS-DCF:diskConfig": DISK_CONFIG,
    "accessIPv4": IPV4, "accessIPv6": IPV6,
    "personality": SERVER_CREATE["properties"]["server"]["properties"]["personality"],
}, ("imageRef",)))
REBUILD_V219 = evolve(REBUILD, "rebuild", {"description": DESCRIPTION})
REBUILD_V254 = evolve(REBUILD_V219, "rebuild", {"key_name": {**NAME, "type": ["string",
                                                                               "null"]}})
REBUILD_V257 = evolve(REBUILD_V254, "rebuild", {"user_data": {**_USER_DATA, "type": [
    "string", "null"]}}, drop=("personality",))
REBUILD_V263 = evolve(REBUILD_V257, "rebuild", {
    "trusted_image_certificates": _CREATE_FIELDS["trusted_image_certificates"]})
REBUILD_V290 = evolve(REBUILD_V263, "rebuild", {"hostname": GUEST_HOSTNAME})
REBUILD_V294 = evolve(REBUILD_V263, "rebuild", {"hostname": GUEST_FQDN})

ACTIONS: dict[str, Versioned] = {
    **{name: always(_action(name, NULL_OR_EMPTY))
       for name in ("os-start", "os-stop", "pause", "unpause", "suspend", "resume")},
    "reboot": always(REBOOT),
    "rebuild": since((V(2, 1), REBUILD), (V(2, 19), REBUILD_V219), (V(2, 54), REBUILD_V254),
                     (V(2, 57), REBUILD_V257), (V(2, 63), REBUILD_V263),
                     (V(2, 90), REBUILD_V290), (V(2, 94), REBUILD_V294)),
    "os-getConsoleOutput": always(CONSOLE_OUTPUT),
    "os-getVNCConsole": always(_action("os-getVNCConsole", obj(
        {"type": {"type": "string", "enum": ["novnc", "xvpvnc"]}}, ("type",)))),
    "os-getSPICEConsole": always(_action("os-getSPICEConsole", obj(
        {"type": {"type": "string", "enum": ["spice-html5"]}}, ("type",)))),
    "os-getSerialConsole": always(_action("os-getSerialConsole", obj(
        {"type": {"type": "string", "enum": ["serial"]}}, ("type",)))),
}

_PROTOCOLS = ["vnc", "spice", "serial", "rdp"]
_CONSOLE_TYPES = ["novnc", "xvpvnc", "spice-html5", "serial", "rdp-html5"]
REMOTE_CONSOLE = wrap("remote_console", obj({
    "protocol": {"type": "string", "enum": _PROTOCOLS},
    "type": {"type": "string", "enum": _CONSOLE_TYPES},
    "view_only": {"type": "boolean"}}, ("protocol", "type")))
REMOTE_CONSOLE_V28 = evolve(REMOTE_CONSOLE, "remote_console", {
    "protocol": {"type": "string", "enum": [*_PROTOCOLS, "mks"]},
    "type": {"type": "string", "enum": [*_CONSOLE_TYPES, "webmks"]}})

# -- flavors --------------------------------------------------------------------------

FLAVORS_QUERY = PAGES.with_params(is_public=Q_STRING, minRam=Q_STRING, minDisk=Q_STRING,
                                  sort_key=Q_STRING, sort_dir=Q_STRING)
_FLAVOR_DESCRIPTION: Schema = {"type": ["string", "null"], "maxLength": 65535,
                               "pattern": TEXT_PATTERN}
FLAVOR_CREATE = wrap("flavor", obj({
    "name": NAME,
    "id": {"type": ["string", "null"], "minLength": 1, "maxLength": 255,
           "pattern": "^[a-zA-Z0-9._-]([a-zA-Z0-9. _-]*[a-zA-Z0-9._-])?$"},
    "ram": POSITIVE_DB_INT, "vcpus": POSITIVE_DB_INT, "disk": NON_NEGATIVE_DB_INT,
    "OS-FLV-EXT-DATA:ephemeral": NON_NEGATIVE_DB_INT,
    "swap": {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 0,
             "maximum": MAX_INT},
    "rxtx_factor": {"type": ["number", "string"], "pattern": "^[0-9]+(\\.[0-9]+)?$",
                    "exclusiveMinimum": 0, "maximum": MAX_FLOAT},
    "os-flavor-access:is_public": BOOLEAN,
}, ("name", "ram", "vcpus", "disk")))
FLAVOR_CREATE_V255 = evolve(FLAVOR_CREATE, "flavor", {"description": _FLAVOR_DESCRIPTION})
EXTRA_SPECS = wrap("extra_specs", {
    "type": "object", "minProperties": 1,
    "patternProperties": {"^[a-zA-Z0-9_:. -]{1,255}$": {
        "type": ["string", "number", "boolean"], "minLength": 1, "maxLength": 255,
        "pattern": TEXT_PATTERN}},
    "additionalProperties": False})

# -- keypairs ----------------------------------------------------------------------------

_KEYPAIR_NAME: Schema = {"type": "string", "minLength": 1, "maxLength": 255,
                         "pattern": "^[a-zA-Z0-9 _-]+$"}
KEYPAIR_CREATE = wrap("keypair", obj({"name": _KEYPAIR_NAME, "public_key": STRING},
                                     ("name",)))
KEYPAIR_CREATE_V22 = evolve(KEYPAIR_CREATE, "keypair", {
    "type": {"type": "string", "enum": ["ssh", "x509"]}})
KEYPAIR_CREATE_V210 = evolve(KEYPAIR_CREATE_V22, "keypair", {"user_id": STRING})
KEYPAIR_CREATE_V292 = evolve(KEYPAIR_CREATE_V210, "keypair", {
    "name": {**_KEYPAIR_NAME, "pattern": "^[a-zA-Z0-9 @._-]+$"}}, require=("public_key",))
KEYPAIRS_QUERY_V210 = Query({"user_id": Q_STRING})
KEYPAIRS_QUERY_V235 = KEYPAIRS_QUERY_V210.with_params(**PAGES.params)

# -- quotas, limits --------------------------------------------------------------------------

_QUOTA_VALUE: Schema = {"type": ["integer", "string"], "pattern": "^-?[0-9]+$",
                        "minimum": -1, "maximum": MAX_INT}
_NETWORK_QUOTAS = ("fixed_ips", "floating_ips", "security_groups", "security_group_rules")
_INJECTED_QUOTAS = ("injected_files", "injected_file_content_bytes",
                    "injected_file_path_bytes")
_QUOTAS = ("instances", "cores", "ram", "metadata_items", *_INJECTED_QUOTAS, "key_pairs",
           "server_groups", "server_group_members", *_NETWORK_QUOTAS)
QUOTA_UPDATE = wrap("quota_set", obj({**dict.fromkeys(_QUOTAS, _QUOTA_VALUE),
                                      "force": BOOLEAN}))
QUOTA_UPDATE_V236 = evolve(QUOTA_UPDATE, "quota_set", drop=_NETWORK_QUOTAS)
QUOTA_UPDATE_V257 = evolve(QUOTA_UPDATE_V236, "quota_set", drop=_INJECTED_QUOTAS)
USER_QUERY = Query({"user_id": Q_STRING})

# -- server groups ------------------------------------------------------------------------------

_HARD = ["anti-affinity", "affinity"]
_SOFT = ["soft-anti-affinity", "soft-affinity"]


def _group(policies: list[str]) -> Schema:
    return wrap("server_group", obj({"name": NAME, "policies": {
        "type": "array", "items": {"type": "string", "enum": policies},
        "minItems": 1, "maxItems": 1}}, ("name", "policies")))


SERVER_GROUP_CREATE = _group(_HARD)
SERVER_GROUP_CREATE_V215 = _group(_HARD + _SOFT)
SERVER_GROUP_CREATE_V264 = wrap("server_group", obj({
    "name": NAME, "policy": {"type": "string", "enum": _HARD + _SOFT},
    "rules": obj({"max_server_per_host": POSITIVE_DB_INT})}, ("name", "policy")))
SERVER_GROUPS_QUERY = Query({"all_projects": Q_STRING, "limit": Q_COUNT, "offset": Q_COUNT})

# -- services, hypervisors -------------------------------------------------------------------

SERVICES_QUERY = Query({"host": Q_STRING, "binary": Q_STRING})
_REASON: Schema = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": TEXT_PATTERN}
SERVICE_UPDATE = obj({"host": HOSTNAME, "binary": {"type": "string", "minLength": 1,
                                                   "maxLength": 255},
                      "disabled_reason": _REASON}, ("host", "binary"))
SERVICE_UPDATE_V211 = {**SERVICE_UPDATE, "properties": {**SERVICE_UPDATE["properties"],
                                                        "forced_down": BOOLEAN}}
SERVICE_UPDATE_V253 = obj({"status": {"type": "string", "enum": ["enabled", "disabled"]},
                           "disabled_reason": _REASON, "forced_down": BOOLEAN})
HYPERVISORS_QUERY_V233 = Query(PAGES.params, strict=True)
HYPERVISORS_QUERY_V253 = HYPERVISORS_QUERY_V233.with_params(
    hypervisor_hostname_pattern={"type": "string", "minLength": 1, "maxLength": 255},
    with_servers=Q_BOOLEAN)
HYPERVISOR_QUERY_V253 = Query({"with_servers": Q_BOOLEAN}, strict=True)

# -- aggregates --------------------------------------------------------------------------------

#: a zone's name (Nova's ``az_name``): printable, not padded with white space, no ``:``
AZ_NAME: Schema = {"type": "string", "minLength": 1, "maxLength": 255,
                   "pattern": f"^[^\\s:{_CONTROL}]([^:{_CONTROL}]*[^\\s:{_CONTROL}])?$"}
#: a name that may be padded with white space (stripped before use), as Nova's
NAME_PADDED: Schema = {"type": "string", "minLength": 1, "maxLength": 255,
                       "pattern": f"^\\s*[^\\s{_CONTROL}]([^{_CONTROL}]*[^\\s{_CONTROL}])?\\s*$"}
_AGGREGATE_ZONE: Schema = {**AZ_NAME, "type": ["string", "null"]}
#: metadata where a null value removes its key
METADATA_WITH_NULL: Schema = {**METADATA, "patternProperties": {
    pattern: {**value, "type": ["string", "null"]}
    for pattern, value in METADATA["patternProperties"].items()}}
AGGREGATE_CREATE = wrap("aggregate", obj({"name": NAME, "availability_zone": _AGGREGATE_ZONE},
                                         ("name",)))
AGGREGATE_UPDATE = wrap("aggregate", {
    **obj({"name": NAME_PADDED, "availability_zone": _AGGREGATE_ZONE}),
    "anyOf": [{"required": ["name"]}, {"required": ["availability_zone"]}]})
AGGREGATE_ACTIONS: dict[str, Versioned] = {
    "add_host": always(_action("add_host", obj({"host": HOSTNAME}, ("host",)))),
    "remove_host": always(_action("remove_host", obj({"host": HOSTNAME}, ("host",)))),
    "set_metadata": always(_action("set_metadata", obj({"metadata": METADATA_WITH_NULL},
                                                       ("metadata",)))),
}

# -- instance actions ---------------------------------------------------------------------------

INSTANCE_ACTIONS_QUERY_V258 = PAGES.with_params(changes__since=Q_TIME).closed()
INSTANCE_ACTIONS_QUERY_V266 = INSTANCE_ACTIONS_QUERY_V258.with_params(changes__before=Q_TIME)


# -- the operations ------------------------------------------------------------------------------

V2_2, V2_6, V2_8, V2_10, V2_11, V2_15, V2_19, V2_26, V2_33, V2_35, V2_36, V2_37 = (
    V(2, n) for n in (2, 6, 8, 10, 11, 15, 19, 26, 33, 35, 36, 37))
V2_52, V2_53, V2_55, V2_57, V2_58, V2_63, V2_64, V2_66, V2_73, V2_74, V2_75, V2_87 = (
    V(2, n) for n in (52, 53, 55, 57, 58, 63, 64, 66, 73, 74, 75, 87))
V2_90, V2_94 = V(2, 90), V(2, 94)


def _strict_from_275(query: Query) -> Versioned:
    """*query* as Nova has it: unknown parameters ignored until 2.75, refused after."""
    return since((V2_1, query), (V2_75, query.closed()))


_SERVER_QUERY = since((V2_1, SERVERS_QUERY), (V2_26, SERVERS_QUERY_V226),
                      (V2_66, SERVERS_QUERY_V266), (V2_73, SERVERS_QUERY_V273),
                      (V2_75, SERVERS_QUERY_V275))
_KEYPAIR_QUERY = since((V2_1, Query()), (V2_10, KEYPAIRS_QUERY_V210),
                       (V2_75, KEYPAIRS_QUERY_V210.closed()))
_HYPERVISORS_QUERY = since((V2_1, Query()), (V2_33, HYPERVISORS_QUERY_V233),
                           (V2_53, HYPERVISORS_QUERY_V253))
_USER_QUERY = _strict_from_275(USER_QUERY)

OPERATIONS: dict[str, Operation] = {
    # servers
    "server_index": Operation("List servers", "servers", query=_SERVER_QUERY),
    "server_detail": Operation("List servers with details", "servers", query=_SERVER_QUERY),
    "server_create": Operation("Create a server (or several)", "servers", ok=(202,), body=since(
        (V2_1, SERVER_CREATE), (V2_19, SERVER_CREATE_V219), (V2_37, SERVER_CREATE_V237),
        (V2_52, SERVER_CREATE_V252), (V2_57, SERVER_CREATE_V257),
        (V2_63, SERVER_CREATE_V263), (V2_74, SERVER_CREATE_V274), (V2_90, SERVER_CREATE_V290),
        (V2_94, SERVER_CREATE_V294))),
    "server_show": Operation("Show a server", "servers"),
    "server_update": Operation("Update a server", "servers", body=since(
        (V2_1, SERVER_UPDATE), (V2_19, SERVER_UPDATE_V219), (V2_90, SERVER_UPDATE_V290),
        (V2_94, SERVER_UPDATE_V294))),
    "server_delete": Operation("Delete a server", "servers", ok=(204,), empty=(204,)),
    "server_action": Operation("Run an action on a server", "server actions", ok=(200, 202),
                               empty=(202,), dispatch=ACTIONS),
    "remote_console_create": Operation(
        "Create a remote console URL", "server actions", min_version=V2_6,
        body=since((V2_6, REMOTE_CONSOLE), (V2_8, REMOTE_CONSOLE_V28))),
    "instance_action_index": Operation(
        "List a server's actions", "server actions", query=since(
            (V2_1, Query()), (V2_58, INSTANCE_ACTIONS_QUERY_V258),
            (V2_66, INSTANCE_ACTIONS_QUERY_V266))),
    "instance_action_show": Operation("Show a server's action", "server actions"),
    # flavors
    "flavor_index": Operation("List flavors", "flavors", query=_strict_from_275(FLAVORS_QUERY)),
    "flavor_detail": Operation("List flavors with details", "flavors",
                               query=_strict_from_275(FLAVORS_QUERY)),
    "flavor_create": Operation("Create a flavor", "flavors", body=since(
        (V2_1, FLAVOR_CREATE), (V2_55, FLAVOR_CREATE_V255))),
    "flavor_show": Operation("Show a flavor", "flavors"),
    "flavor_delete": Operation("Delete a flavor", "flavors", ok=(202,), empty=(202,)),
    "extra_specs": Operation("List a flavor's extra specs", "flavors"),
    "extra_specs_set": Operation("Set extra specs of a flavor", "flavors",
                                 body=always(EXTRA_SPECS)),
    "extra_spec_delete": Operation("Delete an extra spec of a flavor", "flavors",
                                   empty=(200,)),
    # keypairs
    "keypair_index": Operation("List keypairs", "keypairs", query=since(
        (V2_1, Query()), (V2_10, KEYPAIRS_QUERY_V210), (V2_35, KEYPAIRS_QUERY_V235),
        (V2_75, KEYPAIRS_QUERY_V235.closed()))),
    "keypair_create": Operation("Create or import a keypair", "keypairs", ok=(200, 201),
                                body=since((V2_1, KEYPAIR_CREATE), (V2_2, KEYPAIR_CREATE_V22),
                                           (V2_10, KEYPAIR_CREATE_V210),
                                           (V(2, 92), KEYPAIR_CREATE_V292))),
    "keypair_show": Operation("Show a keypair", "keypairs", query=_KEYPAIR_QUERY),
    "keypair_delete": Operation("Delete a keypair", "keypairs", ok=(202, 204),
                                empty=(202, 204), query=_KEYPAIR_QUERY),
    # limits and quotas
    "limit_index": Operation("Show rate and absolute limits", "limits", query=_strict_from_275(
        Query({"tenant_id": Q_STRING, "reserved": Q_STRING}))),
    "quota_show": Operation("Show a project's quotas", "quotas", query=_USER_QUERY),
    "quota_detail": Operation("Show a project's quotas and usage", "quotas",
                              query=_USER_QUERY),
    "quota_defaults": Operation("Show the default quotas", "quotas"),
    "quota_update": Operation("Update a project's quotas", "quotas", query=_USER_QUERY,
                              body=since((V2_1, QUOTA_UPDATE), (V2_36, QUOTA_UPDATE_V236),
                                         (V2_57, QUOTA_UPDATE_V257))),
    "quota_delete": Operation("Revert a project's quotas to the defaults", "quotas",
                              ok=(202,), empty=(202,), query=_USER_QUERY),
    # server groups
    "server_group_index": Operation("List server groups", "server groups",
                                    query=_strict_from_275(SERVER_GROUPS_QUERY)),
    "server_group_create": Operation("Create a server group", "server groups", body=since(
        (V2_1, SERVER_GROUP_CREATE), (V2_15, SERVER_GROUP_CREATE_V215),
        (V2_64, SERVER_GROUP_CREATE_V264))),
    "server_group_show": Operation("Show a server group", "server groups"),
    "server_group_delete": Operation("Delete a server group", "server groups", ok=(204,),
                                     empty=(204,)),
    # services, zones, hypervisors
    "service_index": Operation("List compute services", "services",
                               query=_strict_from_275(SERVICES_QUERY)),
    "service_update": Operation("Enable, disable or force down a service", "services",
                                body=since((V2_1, SERVICE_UPDATE), (V2_11, SERVICE_UPDATE_V211),
                                           (V2_53, SERVICE_UPDATE_V253))),
    "zone_index": Operation("List availability zones", "availability zones"),
    "zone_detail": Operation("List availability zones with their hosts",
                             "availability zones"),
    "hypervisor_index": Operation("List hypervisors", "hypervisors", query=_HYPERVISORS_QUERY),
    "hypervisor_detail": Operation("List hypervisors with details", "hypervisors",
                                   query=_HYPERVISORS_QUERY),
    "hypervisor_statistics": Operation("Show hypervisor statistics", "hypervisors",
                                       max_version=V2_87),
    "hypervisor_show": Operation("Show a hypervisor", "hypervisors", query=since(
        (V2_1, Query()), (V2_53, HYPERVISOR_QUERY_V253))),
    # aggregates
    "aggregate_index": Operation("List host aggregates", "aggregates"),
    "aggregate_create": Operation("Create a host aggregate", "aggregates",
                                  body=always(AGGREGATE_CREATE)),
    "aggregate_show": Operation("Show a host aggregate", "aggregates"),
    "aggregate_update": Operation("Rename a host aggregate or set its zone", "aggregates",
                                  body=always(AGGREGATE_UPDATE)),
    "aggregate_delete": Operation("Delete an empty host aggregate", "aggregates",
                                  empty=(200,)),
    "aggregate_action": Operation("Add or remove a host of an aggregate, or set its metadata",
                                  "aggregates", dispatch=AGGREGATE_ACTIONS),
    # certificates
    "certificate_show": Operation("Show the root certificate (the only one: any other id "
                                  "is 501, as in Nova)", "certificates", errors=(501,)),
    "certificate_create": Operation("Create a certificate and key for the caller",
                                    "certificates", body=always({"type": ["object", "null"]})),
}
"""Every route's contract, by the route's endpoint name."""
