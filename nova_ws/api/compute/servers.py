"""``/servers``: create, list (with Nova's filters and pagination), show,
update and delete.

The API writes the instance rows (building, scheduling) and hands them to
the conductor (``nova.conductor.build_instances``); deletes go through the
conductor's state machine (``nova.conductor.instance_action``), so a state
that does not allow it answers 409.
"""

from __future__ import annotations

import re
import secrets
import uuid as uuidlib
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from nova_ws.api.compute import bodies, listing, quotas, views
from nova_ws.api.compute.context import RequestContext
from nova_ws.api.compute.rpc import call_conductor
from nova_ws.api.errors import BadRequest, Fault, Forbidden, NotFound
from nova_ws.api.microversions import Version
from nova_ws.conductor import rpcapi
from nova_ws.config import QuotaSection
from nova_ws.db import errors as db_errors
from nova_ws.db.queries import flavors, images, instances, keypairs, server_groups
from nova_ws.db.queries.instances import Instance


def _not_found(uuid: str) -> NotFound:
    return NotFound(f"Instance {uuid} could not be found.")


def check_image(image: images.Image, memory_mb: int, root_gb: int, ctx: RequestContext,
                hidden: str = "Can not find requested image") -> None:
    """That *ctx* may boot *image* on a flavor of this size (400 with Nova's messages;
    *hidden* is the message for an image the project may not see)."""
    if image.visibility in ("private", "shared") and image.owner != ctx.project_id \
            and not ctx.is_admin:
        raise BadRequest(hidden)
    if image.status != "active":
        raise BadRequest(f"Image {image.uuid} is not active.")
    if memory_mb < image.min_ram:
        raise BadRequest("Flavor's memory is too small for requested image.")
    if root_gb and root_gb < image.min_disk:
        raise BadRequest("Flavor's disk is too small for requested image.")


def _make_rows(session: Session, ctx: RequestContext, req: bodies.CreateServer,
               reservation_id: str, quota: QuotaSection) -> list[str]:
    """Check flavor, image, keypair, group and quotas, and create the rows, in one
    transaction (as many as the quotas allow of min_count..max_count).
    """
    try:
        flavor = flavors.get_flavor(session, req.flavor_ref)
    except db_errors.NotFound:
        raise BadRequest("Invalid flavorRef provided.") from None
    if flavor.disabled or (not flavor.is_public and not ctx.is_admin):
        raise BadRequest("Invalid flavorRef provided.")
    try:
        image = images.get_image(session, req.image_ref)
    except db_errors.NotFound:
        raise BadRequest("Can not find requested image") from None
    check_image(image, flavor.memory_mb, flavor.root_gb, ctx)
    if req.key_name is not None:
        try:
            keypairs.get_keypair(session, ctx.user_id, req.key_name)
        except db_errors.NotFound:
            raise BadRequest("Invalid key_name provided.") from None
    members: tuple[str, ...] | None = None
    if req.group is not None:
        try:
            group = server_groups.get_server_group(session, req.group)
        except db_errors.NotFound:
            raise BadRequest(f"Invalid server group {req.group}") from None
        if group.project_id != ctx.project_id and not ctx.is_admin:
            raise BadRequest(f"Invalid server group {req.group}")
        members = group.members
    count = quotas.allow_create(
        session, quota, ctx.project_id, vcpus=flavor.vcpus, memory_mb=flavor.memory_mb,
        min_count=req.min_count, max_count=req.max_count, metadata_items=len(req.metadata),
        group_members=members)
    uuids = []
    for index in range(count):
        name = req.name if count == 1 else f"{req.name}-{index + 1}"
        uuids.append(instances.create_instance(
            session, project_id=ctx.project_id, user_id=ctx.user_id, flavor=flavor,
            image_ref=image.uuid, display_name=name, hostname=req.hostname or _hostname(name),
            description=req.description,
            availability_zone=req.availability_zone, key_name=req.key_name,
            metadata=req.metadata, reservation_id=reservation_id, launch_index=index).uuid)
    if req.group is not None:
        server_groups.add_members(session, req.group, uuids)
    return uuids


def _hostname(name: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63] or "server"


def _fail_rows(session: Session, uuids: list[str]) -> None:
    for uuid in uuids:
        instances.update_instance(session, uuid, vm_state="error", task_state=None)


def _discard_rows(session: Session, uuids: list[str], group: str | None) -> None:
    """Undo rows that the quota recheck refused (never handed to the conductor)."""
    for uuid in uuids:
        instances.update_instance(session, uuid, vm_state="deleted", task_state=None)
        instances.soft_delete_instance(session, uuid)
    if group is not None:
        server_groups.remove_members(session, group, uuids)


class Servers:
    """The server handlers; each returns ``(status, body)``."""

    def __init__(self, db: Any, client: Any, base: str,
                 quota: QuotaSection | None = None) -> None:
        self.db = db
        self.client = client
        self.base = base
        self.quota = quota or QuotaSection()

    async def get(self, ctx: RequestContext, uuid: str) -> Instance:
        """The instance, if this context may see it; 404 otherwise."""
        try:
            inst: Instance = await self.db.run(instances.get_instance, uuid)
        except db_errors.NotFound:
            raise _not_found(uuid) from None
        if not ctx.may_see(inst.project_id):
            raise _not_found(uuid)
        return inst

    async def create(self, ctx: RequestContext, version: Version, body: Any
                     ) -> tuple[int, Any]:
        """Validate, write the rows, ask the conductor to build them."""
        ctx.require_write()
        req = bodies.create_server(body, version)
        reservation_id = f"r-{secrets.token_hex(4)}"
        uuids = await self.db.run(_make_rows, ctx, req, reservation_id, self.quota)
        if self.quota.recheck_quota:
            try:
                await self.db.run(quotas.check_instances_after, self.quota, ctx.project_id)
            except Forbidden:
                await self.db.run(_discard_rows, uuids, req.group)
                raise
        request_id = f"req-{uuidlib.uuid4()}"
        try:
            await call_conductor(self.client, rpcapi.BUILD_INSTANCES, uuids,
                                 request_id=request_id)
        except Fault:
            await self.db.run(_fail_rows, uuids)
            raise
        if req.return_reservation_id:
            return 202, {"reservation_id": reservation_id}
        return 202, {"server": {
            "id": uuids[0], "links": views.server_links(self.base, uuids[0]),
            "OS-DCF:diskConfig": "MANUAL", "security_groups": [{"name": "default"}],
            "adminPass": req.admin_pass or secrets.token_urlsafe(9)}}

    async def index(self, ctx: RequestContext, version: Version, args: dict[str, list[str]],
                    detail: bool) -> tuple[int, Any]:
        """List servers with Nova's filters, ``limit`` and ``marker``."""
        query = listing.parse(ctx, args)

        def read(session: Session) -> tuple[list[instances.Instance], bool]:
            return listing.page(lambda limit, marker: instances.list_instances(
                session, project_id=query.project_id, host=query.host,
                changes_since=query.changes_since, include_deleted=query.include_deleted,
                limit=limit, marker=marker), query)

        page, more = await self.db.run(read)
        if detail:
            servers = [views.detail(i, self.base, version, ctx.is_admin) for i in page]
        else:
            servers = [views.brief(i, self.base) for i in page]
        answer: dict[str, Any] = {"servers": servers}
        if more and page:
            params = [(k, v) for k, values in args.items() for v in values if k != "marker"]
            params.append(("marker", page[-1].uuid))
            path = "servers/detail" if detail else "servers"
            answer["servers_links"] = [{"rel": "next", "href":
                                        f"{self.base}/v2.1/{path}?{urlencode(params)}"}]
        return 200, answer

    async def show(self, ctx: RequestContext, version: Version, uuid: str
                   ) -> tuple[int, Any]:
        """One server."""
        inst = await self.get(ctx, uuid)
        return 200, {"server": views.detail(inst, self.base, version, ctx.is_admin)}

    async def update(self, ctx: RequestContext, version: Version, uuid: str, body: Any
                     ) -> tuple[int, Any]:
        """Rename a server, or (2.19+) change its description."""
        ctx.require_write()
        changes = bodies.update_server(body, version)
        await self.get(ctx, uuid)
        columns = {column: changes[key] for key, column in (("name", "display_name"),
                                                            ("description", "description"),
                                                            ("hostname", "hostname"))
                   if key in changes}
        if columns:
            try:
                await self.db.run(lambda s: instances.update_instance(s, uuid, **columns))
            except db_errors.NotFound:
                raise _not_found(uuid) from None
        return await self.show(ctx, version, uuid)

    async def delete(self, ctx: RequestContext, uuid: str) -> tuple[int, Any]:
        """Delete through the conductor; 409 when the state does not allow it."""
        ctx.require_write()
        await self.get(ctx, uuid)
        await call_conductor(self.client, rpcapi.INSTANCE_ACTION, uuid, "delete",
                             request_id=f"req-{uuidlib.uuid4()}")
        return 204, None
