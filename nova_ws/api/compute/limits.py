"""``GET /limits``: the project's absolute limits and what it uses of them.

No rate limits exist (``rate`` is empty, as in Nova). An admin may ask for
another project's with ``tenant_id``. Which limits show depends on the
microversion: the nova-network ones go at 2.36, ``maxImageMeta`` at 2.39,
the personality ones at 2.57.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from nova_ws.api.compute import params, quotas
from nova_ws.api.compute.context import RequestContext
from nova_ws.api.errors import Forbidden
from nova_ws.api.microversions import Version
from nova_ws.config import QuotaSection

V2_39 = Version(2, 39)
#: Quota resource -> the absolute limits that show it.
LIMIT_NAMES: Mapping[str, tuple[str, ...]] = {
    "ram": ("maxTotalRAMSize",), "instances": ("maxTotalInstances",),
    "cores": ("maxTotalCores",), "key_pairs": ("maxTotalKeypairs",),
    "floating_ips": ("maxTotalFloatingIps",),
    "metadata_items": ("maxServerMeta", "maxImageMeta"),
    "injected_files": ("maxPersonality",),
    "injected_file_content_bytes": ("maxPersonalitySize",),
    "security_groups": ("maxSecurityGroups",),
    "security_group_rules": ("maxSecurityGroupRules",),
    "server_groups": ("maxServerGroups",),
    "server_group_members": ("maxServerGroupMembers",)}
#: Absolute name of each use -> the quota resource it counts.
USED_NAMES: Mapping[str, str] = {
    "totalRAMUsed": "ram", "totalCoresUsed": "cores", "totalInstancesUsed": "instances",
    "totalFloatingIpsUsed": "floating_ips", "totalSecurityGroupsUsed": "security_groups",
    "totalServerGroupsUsed": "server_groups"}


def absolute(limits: Mapping[str, int], usage: Mapping[str, int], version: Version
             ) -> dict[str, int]:
    """The ``absolute`` document for *version*."""
    shown = set(quotas.visible(version))
    view: dict[str, int] = {}
    for resource, names in LIMIT_NAMES.items():
        if resource not in shown:
            continue
        for name in names:
            if name == "maxImageMeta" and version >= V2_39:
                continue
            view[name] = limits[resource]
    for name, resource in USED_NAMES.items():
        if resource in shown:
            view[name] = usage[resource]
    return view


class Limits:
    """The limits handler."""

    def __init__(self, db: Any, section: QuotaSection) -> None:
        self.db = db
        self.section = section

    async def index(self, ctx: RequestContext, version: Version, args: params.Args
                    ) -> tuple[int, Any]:
        """The absolute limits of the asker's project (an admin's choice with ``tenant_id``)."""
        params.check_known(args, ("tenant_id", "reserved"), version)
        project_id = ctx.project_id
        if "tenant_id" in args:
            project_id = params.one(args, "tenant_id") or ""
            if not ctx.is_admin:
                raise Forbidden("Policy doesn't allow os_compute_api:limits:other_project "
                                "to be performed.")

        def read(session: Session) -> tuple[dict[str, int], dict[str, int]]:
            return (quotas.project_limits(session, self.section, project_id),
                    quotas.project_usage(session, project_id))

        limits, usage = await self.db.run(read)
        return 200, {"limits": {"rate": [], "absolute": absolute(limits, usage, version)}}
