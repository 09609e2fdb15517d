"""``/os-server-groups``: create, list, show and delete placement groups.

A group has one policy: ``affinity`` or ``anti-affinity``, and from 2.15
``soft-affinity`` and ``soft-anti-affinity``. Until 2.63 it is sent and
shown as a one-item ``policies`` list (with an empty ``metadata``); from
2.64 as ``policy`` with ``rules`` (only anti-affinity takes one,
``max_server_per_host``). Servers join a group at create with the
scheduler hint ``group``; the conductor places the members one at a time so
the policy holds. Members shown are the group's servers not deleted. From
2.13 a group shows its project and user. Another project's group does not
exist for a member (404); admins list every project's with ``all_projects``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from nova_ws.api.compute import params, quotas
from nova_ws.api.compute.context import RequestContext
from nova_ws.api.errors import BadRequest, Forbidden, NotFound
from nova_ws.api.microversions import Version
from nova_ws.config import QuotaSection
from nova_ws.db import errors as db_errors
from nova_ws.db.queries import server_groups as q

V2_13, V2_15, V2_64 = Version(2, 13), Version(2, 15), Version(2, 64)
HARD = ("anti-affinity", "affinity")
SOFT = ("soft-anti-affinity", "soft-affinity")


def _field(name: str, value: Any, reason: str) -> BadRequest:
    return BadRequest(f"Invalid input for field/attribute {name}. Value: {value}. {reason}")


def _name(value: Any) -> str:
    if not isinstance(value, str):
        raise _field("name", value, f"{value!r} is not of type 'string'")
    if not 1 <= len(value) <= 255 or value != value.strip() or not value.isprintable():
        raise _field("name", value, f"{value!r} does not match the name rules")
    return value


def _positive(name: str, value: Any) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _field(name, value, f"{value!r} is not a positive integer")
    return value


def parse_create(body: Any, version: Version) -> tuple[str, str, dict[str, int]]:
    """The name, policy and rules of a create body, as *version* sends them."""
    group = body.get("server_group") if isinstance(body, dict) else None
    if not isinstance(group, dict) or set(body) != {"server_group"}:
        raise BadRequest("Invalid input for field/attribute server_group. "
                         "'server_group' is a required property and must be an object")
    allowed = ("name", "policy", "rules") if version >= V2_64 else ("name", "policies")
    unknown = sorted(set(group) - set(allowed))
    if unknown:
        names = ", ".join(repr(k) for k in unknown)
        raise _field("server_group", group, f"Additional properties are not allowed "
                     f"({names} {'was' if len(unknown) == 1 else 'were'} unexpected)")
    for required in allowed[:2]:
        if required not in group:
            raise _field("server_group", group, f"'{required}' is a required property")
    name = _name(group["name"])
    choices = HARD + SOFT if version >= V2_15 else HARD
    if version < V2_64:
        policies = group["policies"]
        if not isinstance(policies, list) or len(policies) != 1 \
                or policies[0] not in choices:
            raise _field("policies", policies,
                         f"{policies!r} is not a list of one of {list(choices)}")
        return name, policies[0], {}
    policy = group["policy"]
    if policy not in choices:
        raise _field("policy", policy, f"{policy!r} is not one of {list(choices)}")
    rules = group.get("rules", {})
    if not isinstance(rules, dict):
        raise _field("rules", rules, f"{rules!r} is not of type 'object'")
    extra = sorted(set(rules) - {"max_server_per_host"})
    if extra:
        raise _field("rules", rules, f"Additional properties are not allowed "
                     f"({', '.join(repr(k) for k in extra)} were unexpected)")
    clean = {k: _positive(f"rules.{k}", v) for k, v in rules.items()}
    if clean and policy != "anti-affinity":
        raise BadRequest("Only anti-affinity policy supports rules.")
    return name, policy, clean


def group_view(group: q.ServerGroup, live: frozenset[str], version: Version
               ) -> dict[str, Any]:
    """Nova's server group document; members are the *live* ones."""
    view: dict[str, Any] = {"id": group.uuid, "name": group.name}
    if version >= V2_64:
        view.update(policy=group.policy, rules=dict(group.rules))
    else:
        view.update(policies=[group.policy], metadata={})
    view["members"] = [m for m in group.members if m in live]
    if version >= V2_13:
        view.update(project_id=group.project_id, user_id=group.user_id)
    return view


def _not_found(uuid: str) -> NotFound:
    return NotFound(f"Instance group {uuid} could not be found.")


class ServerGroups:
    """The server group handlers; each returns ``(status, body)``."""

    def __init__(self, db: Any, section: QuotaSection) -> None:
        self.db = db
        self.section = section

    async def _get(self, ctx: RequestContext, uuid: str
                   ) -> tuple[q.ServerGroup, frozenset[str]]:
        def read(session: Session) -> tuple[q.ServerGroup, frozenset[str]]:
            group = q.get_server_group(session, uuid)
            return group, q.live_members(session, group.members)

        try:
            group, live = await self.db.run(read)
        except db_errors.NotFound:
            raise _not_found(uuid) from None
        if not ctx.may_see(group.project_id):
            raise _not_found(uuid)
        return group, live

    async def create(self, ctx: RequestContext, version: Version, body: Any
                     ) -> tuple[int, Any]:
        """Create a group in the asker's project (the ``server_groups`` quota)."""
        ctx.require_write()
        name, policy, rules = parse_create(body, version)

        def create(session: Session) -> q.ServerGroup:
            limits = quotas.project_limits(session, self.section, ctx.project_id)
            quotas.check_server_groups(
                limits, q.count_server_groups(session, ctx.project_id) + 1)
            return q.create_server_group(session, name=name, policy=policy, rules=rules,
                                         project_id=ctx.project_id, user_id=ctx.user_id)

        group = await self.db.run(create)
        if self.section.recheck_quota:
            await self._recheck(ctx, group.uuid)
        return 200, {"server_group": group_view(group, frozenset(), version)}

    async def _recheck(self, ctx: RequestContext, uuid: str) -> None:
        """Undo a create that a concurrent one pushed over the quota."""
        def check(session: Session) -> bool:
            limits = quotas.project_limits(session, self.section, ctx.project_id)
            try:
                quotas.check_server_groups(limits,
                                           q.count_server_groups(session, ctx.project_id))
            except Forbidden:
                q.delete_server_group(session, uuid)
                return False
            return True

        if not await self.db.run(check):
            raise Forbidden("Quota exceeded, too many server groups.")

    async def index(self, ctx: RequestContext, version: Version, args: params.Args
                    ) -> tuple[int, Any]:
        """The project's groups (an admin's: every project's with ``all_projects``)."""
        params.check_known(args, ("all_projects", "limit", "offset"), version)
        limit = params.page_size(params.non_negative(args, "limit"))
        offset = params.non_negative(args, "offset") or 0
        every = ctx.is_admin and "all_projects" in args  # its presence, as in Nova

        def read(session: Session) -> tuple[list[q.ServerGroup], frozenset[str]]:
            found = q.list_server_groups(
                session, project_id=None if every else ctx.project_id)[offset:offset + limit]
            members = [m for g in found for m in g.members]
            return found, q.live_members(session, members)

        found, live = await self.db.run(read)
        return 200, {"server_groups": [group_view(g, live, version) for g in found]}

    async def show(self, ctx: RequestContext, version: Version, uuid: str
                   ) -> tuple[int, Any]:
        """One group."""
        group, live = await self._get(ctx, uuid)
        return 200, {"server_group": group_view(group, live, version)}

    async def delete(self, ctx: RequestContext, uuid: str) -> tuple[int, Any]:
        """Delete a group (its servers stay, ungrouped)."""
        ctx.require_write()
        await self._get(ctx, uuid)
        try:
            await self.db.run(q.delete_server_group, uuid)
        except db_errors.NotFound:
            raise _not_found(uuid) from None
        return 204, None
