"""Quotas: the limits of a project, what it uses, and ``/os-quota-sets``.

A project's limit of a resource is its own (``os-quota-sets`` update, kept
in the ``quotas`` table) or else the ``[quota]`` default of nova.conf; -1
is unlimited. What counts against them, as in Nova: live instances, their
vCPUs and RAM, the project's server groups; keypairs count per user and
server group members per group, so a project's view shows neither in use.

Checks run inside the transaction that creates what they count (and, with
``[quota] recheck_quota``, once more after it committed, undoing the
creation if a concurrent request took the room), and fail with Nova's 403
messages.

Microversions: the nova-network resources (``fixed_ips``,
``floating_ips``, ``security_groups``, ``security_group_rules``) are shown
until 2.35, the injected-file ones until 2.56.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from nova_ws.api.compute import params
from nova_ws.api.compute.context import RequestContext
from nova_ws.api.errors import BadRequest, Forbidden
from nova_ws.api.microversions import Version
from nova_ws.config import QuotaSection
from nova_ws.db import errors as db_errors
from nova_ws.db.queries import identity, instances, keypairs, server_groups
from nova_ws.db.queries import quotas as q

V2_36, V2_57 = Version(2, 36), Version(2, 57)
MAX_INT = 0x7FFFFFFF

#: Nova's quota resources, in its order, with their ``[quota]`` option.
CONFIGURED: Mapping[str, str] = {
    "instances": "instances", "cores": "cores", "ram": "ram",
    "metadata_items": "metadata_items", "injected_files": "injected_files",
    "injected_file_content_bytes": "injected_file_content_bytes",
    "injected_file_path_bytes": "injected_file_path_length", "key_pairs": "key_pairs",
    "server_groups": "server_groups", "server_group_members": "server_group_members"}
#: Resources of nova-network, gone from Nova: always unlimited, shown until 2.35.
NETWORK = ("fixed_ips", "floating_ips", "security_groups", "security_group_rules")
INJECTED = ("injected_files", "injected_file_content_bytes", "injected_file_path_bytes")
RESOURCES = (*CONFIGURED, *NETWORK)
#: Resources whose use is counted for a project (the rest show 0 in use).
COUNTED = ("instances", "cores", "ram", "server_groups")
_BOOLEANS = {"true": True, "1": True, "on": True, "yes": True,
             "false": False, "0": False, "off": False, "no": False}


def visible(version: Version) -> tuple[str, ...]:
    """The resources *version* shows."""
    hidden: set[str] = set()
    if version >= V2_36:
        hidden.update(NETWORK)
    if version >= V2_57:
        hidden.update(INJECTED)
    return tuple(r for r in RESOURCES if r not in hidden)


def defaults(section: QuotaSection) -> dict[str, int]:
    """Every resource's default limit."""
    values = {name: int(getattr(section, option)) for name, option in CONFIGURED.items()}
    values.update(dict.fromkeys(NETWORK, -1))
    return values


def project_limits(session: Session, section: QuotaSection, project_id: str
                   ) -> dict[str, int]:
    """The project's limits: its own where it has them, else the defaults."""
    values = defaults(section)
    values.update({k: v for k, v in q.get_project_quotas(session, project_id).items()
                   if k in values})
    return values


def project_usage(session: Session, project_id: str, user_id: str | None = None
                  ) -> dict[str, int]:
    """What the project uses of each resource (keypairs: *user_id*'s, if given)."""
    used = dict.fromkeys(RESOURCES, 0)
    live = instances.project_usage(session, project_id)
    used.update(instances=live.instances, cores=live.vcpus, ram=live.memory_mb,
                server_groups=server_groups.count_server_groups(session, project_id))
    if user_id is not None:
        used["key_pairs"] = keypairs.count_keypairs(session, user_id)
    return used


def _bound(limit: int) -> float:
    return math.inf if limit < 0 else limit


def check_metadata(limits: Mapping[str, int], items: int) -> None:
    """403 when a server's metadata has more items than the quota allows."""
    if items > _bound(limits["metadata_items"]):
        raise Forbidden(f"Maximum number of metadata items exceeds {limits['metadata_items']}")


def instances_allowed(limits: Mapping[str, int], usage: Mapping[str, int], vcpus: int,
                      memory_mb: int, min_count: int, max_count: int) -> int:
    """How many of *min_count*..*max_count* instances the quota allows (the most
    it can); 403 with Nova's message when not even *min_count* fit.
    """
    per = {"instances": 1, "cores": vcpus, "ram": memory_mb}
    overs = [r for r in per if usage[r] + per[r] * max_count > _bound(limits[r])]
    if not overs:
        return max_count
    headroom = {r: _bound(limits[r]) - usage[r] for r in per}
    allowed = headroom["instances"]
    for resource in ("cores", "ram"):
        if per[resource] and headroom[resource] != math.inf:
            allowed = min(allowed, headroom[resource] // per[resource])
    if min_count <= allowed < max_count:
        return int(allowed)
    asked = str(min_count) if min_count == max_count else f"{min_count}-{max_count}"
    requested = {"instances": asked, "cores": str(vcpus), "ram": str(memory_mb)}
    names = ", ".join(overs)
    raise Forbidden(
        f"Quota exceeded for {names}: Requested "
        f"{', '.join(requested[r] for r in overs)}, but already used "
        f"{', '.join(str(usage[r]) for r in overs)} of "
        f"{', '.join(str(limits[r]) for r in overs)} {names}")


def check_instances_after(session: Session, section: QuotaSection, project_id: str) -> None:
    """The recheck after a create committed: 403 if the project is now over."""
    limits = project_limits(session, section, project_id)
    usage = project_usage(session, project_id)
    overs = [r for r in ("instances", "cores", "ram") if usage[r] > _bound(limits[r])]
    if overs:
        names = ", ".join(overs)
        raise Forbidden(
            f"Quota exceeded for {names}: Requested 0, but already used "
            f"{', '.join(str(usage[r]) for r in overs)} of "
            f"{', '.join(str(limits[r]) for r in overs)} {names}")


def check_group_members(limits: Mapping[str, int], members: int, adding: int) -> None:
    """403 when a server group would hold more live servers than the quota allows."""
    if members + adding > _bound(limits["server_group_members"]):
        raise Forbidden("Quota exceeded, too many servers in group")


def check_keypairs(limits: Mapping[str, int], count: int) -> None:
    """403 when a user would hold more keypairs than the quota allows."""
    if count > _bound(limits["key_pairs"]):
        raise Forbidden("Quota exceeded, too many key pairs.")


def check_server_groups(limits: Mapping[str, int], count: int) -> None:
    """403 when a project would hold more server groups than the quota allows."""
    if count > _bound(limits["server_groups"]):
        raise Forbidden("Quota exceeded, too many server groups.")


def allow_create(session: Session, section: QuotaSection, project_id: str, *, vcpus: int,
                 memory_mb: int, min_count: int, max_count: int, metadata_items: int,
                 group_members: tuple[str, ...] | None = None) -> int:
    """How many instances a server create may make (403 if too few fit): checks
    the metadata, instances, cores and ram quotas and, when the servers join a
    group, the group's member quota.
    """
    limits = project_limits(session, section, project_id)
    check_metadata(limits, metadata_items)
    count = instances_allowed(limits, project_usage(session, project_id), vcpus, memory_mb,
                              min_count, max_count)
    if group_members is not None:
        live = server_groups.live_members(session, group_members)
        check_group_members(limits, len(live), count)
    return count


def _limit_value(name: str, value: Any) -> int:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"Invalid input for field/attribute {name}. Value: {value}. "
                         f"{value!r} is not of type 'integer', 'string'")
    if value < -1:
        raise BadRequest(f"Invalid input for field/attribute {name}. Value: {value}. "
                         f"{value} is less than the minimum of -1")
    if value > MAX_INT:
        raise BadRequest(f"Invalid input for field/attribute {name}. Value: {value}. "
                         f"{value} is greater than the maximum of {MAX_INT}")
    return value


def parse_update(body: Any, version: Version) -> tuple[dict[str, int], bool]:
    """The limits a ``PUT /os-quota-sets/{id}`` sets, and whether it forces them."""
    quota_set = body.get("quota_set") if isinstance(body, dict) else None
    if not isinstance(quota_set, dict) or set(body) != {"quota_set"}:
        raise BadRequest("Invalid input for field/attribute quota_set. "
                         "'quota_set' is a required property and must be an object")
    allowed = set(visible(version)) | {"force"}
    unknown = sorted(set(quota_set) - allowed)
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        raise BadRequest(f"Invalid input for field/attribute quota_set. Additional "
                         f"properties are not allowed ({names} "
                         f"{'was' if len(unknown) == 1 else 'were'} unexpected)")
    force = quota_set.get("force", False)
    if not isinstance(force, bool):
        if str(force).strip().lower() not in _BOOLEANS:
            raise BadRequest(f"Invalid input for field/attribute force. Value: {force}. "
                             f"{force!r} is not one of the boolean values")
        force = _BOOLEANS[str(force).strip().lower()]
    return ({k: _limit_value(k, v) for k, v in quota_set.items() if k != "force"},
            bool(force))


class QuotaSets:
    """``/os-quota-sets``; each handler returns ``(status, body)``."""

    def __init__(self, db: Any, section: QuotaSection) -> None:
        self.db = db
        self.section = section

    async def _project(self, project_id: str) -> None:
        try:
            await self.db.run(identity.get_project, project_id)
        except db_errors.NotFound:
            raise BadRequest(f"Project ID {project_id} is not a valid project.") from None

    @staticmethod
    def _user(version: Version, args: params.Args) -> str | None:
        """The ``user_id`` parameter (whose keypairs a detail counts)."""
        params.check_known(args, ("user_id",), version)
        return params.one(args, "user_id")

    async def show(self, ctx: RequestContext, version: Version, project_id: str,
                   args: params.Args, detail: bool = False) -> tuple[int, Any]:
        """A project's limits; with *detail*, each with its use (``in_use``, ``reserved``)."""
        rule = f"os_compute_api:os-quota-sets:{'detail' if detail else 'show'}"
        if not ctx.may_see(project_id):
            raise Forbidden(f"Policy doesn't allow {rule} to be performed.")
        user_id = self._user(version, args)
        await self._project(project_id)

        def read(session: Session) -> tuple[dict[str, int], dict[str, int]]:
            return (project_limits(session, self.section, project_id),
                    project_usage(session, project_id, user_id))

        limits, usage = await self.db.run(read)
        view: dict[str, Any] = {"id": project_id}
        for name in visible(version):
            view[name] = ({"in_use": usage[name], "limit": limits[name], "reserved": 0}
                          if detail else limits[name])
        return 200, {"quota_set": view}

    async def defaults(self, ctx: RequestContext, version: Version, project_id: str
                       ) -> tuple[int, Any]:
        """The defaults every project starts with."""
        await self._project(project_id)
        values = defaults(self.section)
        return 200, {"quota_set": {"id": project_id,
                                   **{name: values[name] for name in visible(version)}}}

    async def update(self, ctx: RequestContext, version: Version, project_id: str,
                     args: params.Args, body: Any) -> tuple[int, Any]:
        """Set a project's limits (admin); below what it uses only with ``force``."""
        ctx.require_admin("os_compute_api:os-quota-sets:update")
        if self._user(version, args):
            raise BadRequest("Per-user quotas are not supported by this cloud; "
                             "set the project's quotas instead.")
        changes, force = parse_update(body, version)
        await self._project(project_id)

        def write(session: Session) -> dict[str, int]:
            if not force:
                usage = project_usage(session, project_id)
                for name, limit in changes.items():
                    if name in COUNTED and _bound(limit) < usage[name]:
                        raise BadRequest(
                            f"Quota limit {limit} for {name} must be greater than or equal "
                            f"to already used and reserved {usage[name]}.")
            q.set_project_quotas(session, project_id, changes)
            return project_limits(session, self.section, project_id)

        try:
            limits = await self.db.run(write)
        except db_errors.Conflict:  # a concurrent update created a row: ours wins now
            limits = await self.db.run(write)
        return 200, {"quota_set": {name: limits[name] for name in visible(version)}}

    async def delete(self, ctx: RequestContext, version: Version, project_id: str,
                     args: params.Args) -> tuple[int, Any]:
        """Return a project to the defaults (admin)."""
        ctx.require_admin("os_compute_api:os-quota-sets:delete")
        if self._user(version, args):
            raise BadRequest("Per-user quotas are not supported by this cloud; "
                             "set the project's quotas instead.")
        await self.db.run(q.delete_project_quotas, project_id)
        return 202, None

