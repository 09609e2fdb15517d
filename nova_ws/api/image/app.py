"""``/image``: version discovery, and ``/v2/images`` list and show from the catalog.

The catalog is the ``images`` table (``nova-ws`` and the all-in-one fill it;
the fake driver needs no image bits). Errors use Glance's plain shape
(``{"code", "title", "message"}``) as the clients expect; every request but
discovery needs a token, checked as the Compute API checks it.
"""

from __future__ import annotations

import json
from typing import Any

from klein import Klein

from nova_ws.api.compute.context import RequestContext, authenticate
from nova_ws.api.errors import BadRequest, Fault, NotFound
from nova_ws.db.queries import images


def _json(request: Any, body: Any, status: int = 200) -> bytes:
    request.setResponseCode(status)
    request.setHeader(b"Content-Type", b"application/json")
    return json.dumps(body).encode()


def _iso(value: Any) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def image_view(image: images.Image) -> dict[str, Any]:
    """An image as Glance v2 shows it (properties flattened into the top level)."""
    view: dict[str, Any] = dict(image.properties)
    view.update({
        "id": image.uuid, "name": image.name, "status": image.status,
        "disk_format": image.disk_format, "container_format": image.container_format,
        "min_ram": image.min_ram, "min_disk": image.min_disk, "size": image.size,
        "checksum": image.checksum, "visibility": image.visibility, "owner": image.owner,
        "protected": image.protected, "tags": [], "os_hidden": False,
        "created_at": _iso(image.created_at), "updated_at": _iso(image.updated_at),
        "self": f"/v2/images/{image.uuid}", "file": f"/v2/images/{image.uuid}/file",
        "schema": "/v2/schemas/image"})
    return view


class ImageApi:
    """``/image``: what the compute clients need of Glance."""

    app = Klein()

    def __init__(self, db: Any, public_url: str) -> None:
        self.db = db
        self.public_url = public_url.rstrip("/")

    def resource(self) -> Any:
        """The Twisted resource to mount."""
        return self.app.resource()

    @app.handle_errors(Fault)
    def _fault(self, request: Any, failure: Any) -> bytes:
        fault = failure.value
        return _json(request, {"code": fault.status, "title": type(fault).__name__,
                               "message": fault.message}, fault.status)

    def _versions(self) -> dict[str, Any]:
        href = f"{self.public_url}/image/v2/"
        return {"versions": [{"id": f"v2.{n}", "status": "CURRENT" if n == 9 else "SUPPORTED",
                              "links": [{"rel": "self", "href": href}]}
                             for n in range(9, -1, -1)]}

    @app.route("/", methods=["GET"])
    def versions(self, request: Any) -> bytes:
        """The version list (Glance answers 300)."""
        return _json(request, self._versions(), 300)

    @app.route("/versions", methods=["GET"])
    def versions_ok(self, request: Any) -> bytes:
        """The version list at /versions (200)."""
        return _json(request, self._versions())

    async def _context(self, request: Any) -> RequestContext:
        return await authenticate(self.db, request)

    @app.route("/v2/images", methods=["GET"])
    async def list_images(self, request: Any) -> bytes:
        """Images the token's project may see, filtered by name/status/visibility."""
        ctx = await self._context(request)
        args = {k.decode(): v[0].decode() for k, v in request.args.items() if v}
        visibility = args.get("visibility")
        if visibility not in (None, "public", "private", "shared", "community", "all"):
            raise BadRequest(f"Invalid visibility value: {visibility}")
        found = await self.db.run(
            images.list_images, visible_to=None if ctx.is_admin else ctx.project_id,
            visibility=None if visibility in (None, "all") else visibility,
            status=args.get("status"), name=args.get("name"))
        limit = _int(args.get("limit"), "limit")
        marker = args.get("marker")
        if marker:
            ids = [i.uuid for i in found]
            if marker not in ids:
                raise BadRequest(f"marker {marker} could not be found")
            found = found[ids.index(marker) + 1:]
        body: dict[str, Any] = {"schema": "/v2/schemas/images", "first": "/v2/images"}
        if limit is not None and len(found) > limit:
            found = found[:limit]
            body["next"] = f"/v2/images?marker={found[-1].uuid}&limit={limit}"
        body["images"] = [image_view(i) for i in found]
        return _json(request, body)

    @app.route("/v2/images/<image_id>", methods=["GET"])
    async def show_image(self, request: Any, image_id: str) -> bytes:
        """One image by id (clients probe names here first and expect 404)."""
        ctx = await self._context(request)
        try:
            image = await self.db.run(images.get_image, image_id)
        except LookupError as exc:
            raise NotFound(f"No image found with ID {image_id}") from exc
        if image.uuid != image_id or not (
                ctx.is_admin or image.visibility == "public" or image.owner == ctx.project_id):
            raise NotFound(f"No image found with ID {image_id}")
        return _json(request, image_view(image))


def _int(text: str | None, name: str) -> int | None:
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError as exc:
        raise BadRequest(f"{name} param must be an integer") from exc
    if value < 0:
        raise BadRequest(f"{name} param must be positive")
    return value
