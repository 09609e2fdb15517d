"""The ``rebuild`` server action: a new image for a server that keeps its uuid,
host and flavor.

As Nova's ``rebuild``: allowed from ACTIVE, STOPPED and ERROR (409 with
Nova's message otherwise, before the image is looked at); the image must
exist, be visible to the caller and active, and fit the server's flavor
(400 otherwise); a ``key_name`` (2.54+) must be the caller's keypair. The
conductor then writes the new image, name, metadata, description, key and
hostname with the move to ``rebuilding``, revokes the server's console
tokens, and has its compute host destroy the guest and spawn it again; the
answer (202) is the server document with ``adminPass``.
"""

from __future__ import annotations

import secrets
import uuid as uuidlib
from typing import Any

from sqlalchemy.orm import Session

from nova_ws.api.compute import bodies, quotas, views
from nova_ws.api.compute.context import RequestContext
from nova_ws.api.compute.rpc import call_conductor
from nova_ws.api.compute.servers import Servers, check_image
from nova_ws.api.errors import BadRequest, Conflict
from nova_ws.api.microversions import Version
from nova_ws.compute import states
from nova_ws.conductor import rpcapi
from nova_ws.db import errors as db_errors
from nova_ws.db.queries import images, keypairs
from nova_ws.db.queries.instances import Instance

IMAGE_NOT_FOUND = "Cannot find image for rebuild"


def check_state(inst: Instance) -> None:
    """409 with Nova's message unless the server may be rebuilt now (the conductor
    checks again, atomically; this only puts 409 before 400, as Nova does)."""
    try:
        states.check("rebuild", inst.vm_state, inst.task_state)
        if inst.host is None:  # never built: nothing to rebuild
            raise states.InvalidState("rebuild", inst.vm_state, inst.task_state)
    except states.InvalidState as exc:
        raise Conflict(str(exc).replace("instance while", f"instance {inst.uuid} while")
                       ) from None


def _check_request(session: Session, ctx: RequestContext, inst: Instance,
                   req: bodies.RebuildServer, servers: Servers) -> None:
    """The image, the keypair and the metadata quota, as Nova checks them."""
    try:
        image = images.get_image(session, req.image_ref)
    except db_errors.NotFound:
        raise BadRequest(IMAGE_NOT_FOUND) from None
    if image.uuid != req.image_ref:
        raise BadRequest(IMAGE_NOT_FOUND)
    check_image(image, inst.memory_mb, inst.root_gb, ctx, hidden=IMAGE_NOT_FOUND)
    key_name = req.changes.get("key_name")
    if key_name is not None:
        try:
            keypairs.get_keypair(session, ctx.user_id, key_name)
        except db_errors.NotFound:
            raise BadRequest("Invalid key_name provided.") from None
    if "metadata" in req.changes:
        limits = quotas.project_limits(session, servers.quota, inst.project_id)
        quotas.check_metadata(limits, len(req.changes["metadata"]))


async def rebuild(servers: Servers, ctx: RequestContext, version: Version, uuid: str,
                  body: Any) -> tuple[int, Any]:
    """Validate, check, and have the conductor rebuild the server; 202 and its document."""
    req = bodies.rebuild_server(body, version)
    inst = await servers.get(ctx, uuid)
    check_state(inst)
    await servers.db.run(_check_request, ctx, inst, req, servers)
    await call_conductor(servers.client, rpcapi.INSTANCE_ACTION, uuid, "rebuild",
                         request_id=f"req-{uuidlib.uuid4()}",
                         rebuild={"image_ref": req.image_ref, **req.changes})
    after = await servers.get(ctx, uuid)
    server = views.detail(after, servers.base, version, ctx.is_admin)
    server["adminPass"] = req.admin_pass or secrets.token_urlsafe(9)
    return 202, {"server": server}
