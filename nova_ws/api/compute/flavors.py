"""``/flavors``: list, show, create, delete, and extra specs, in Nova's views.

Members see public, enabled flavors; admins choose with ``is_public``
(``None`` for all). Clients look a flavor up by name first
(``GET /flavors/m1.tiny``) and expect 404 before they list.
"""

from __future__ import annotations

from typing import Any

from nova_ws.api.compute.context import RequestContext
from nova_ws.api.errors import BadRequest, Conflict, NotFound
from nova_ws.api.microversions import Version
from nova_ws.db import errors as db_errors
from nova_ws.db.queries import flavors as q

V2_55, V2_61, V2_75 = Version(2, 55), Version(2, 61), Version(2, 75)
_NONE = {"none", "None"}
_TRUE = {"1", "t", "true", "on", "y", "yes"}
_FALSE = {"0", "f", "false", "off", "n", "no"}


def parse_bool(text: str, what: str) -> bool:
    """``true``/``false`` (and Nova's other spellings), else 400."""
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise BadRequest(f"Invalid {what} filter [{text}]")


def _int_filter(text: str | None, what: str) -> int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise BadRequest(f"Invalid {what} filter [{text}]") from None


def flavor_links(base: str, flavorid: str) -> list[dict[str, str]]:
    """The self and bookmark links of a flavor."""
    return [{"rel": "self", "href": f"{base}/v2.1/flavors/{flavorid}"},
            {"rel": "bookmark", "href": f"{base}/flavors/{flavorid}"}]


def flavor_view(f: q.Flavor, base: str, version: Version, detail: bool = True
                ) -> dict[str, Any]:
    """Nova's flavor document, as *version* shows it."""
    view: dict[str, Any] = {"id": f.flavorid, "name": f.name,
                            "links": flavor_links(base, f.flavorid)}
    if version >= V2_55:
        view["description"] = f.description
    if not detail:
        return view
    view.update({"ram": f.memory_mb, "disk": f.root_gb, "vcpus": f.vcpus,
                 "swap": f.swap if (f.swap or version >= V2_75) else "",
                 "OS-FLV-EXT-DATA:ephemeral": f.ephemeral_gb,
                 "OS-FLV-DISABLED:disabled": f.disabled,
                 "os-flavor-access:is_public": f.is_public, "rxtx_factor": f.rxtx_factor})
    if version >= V2_61:
        view["extra_specs"] = dict(f.extra_specs)
    return view


class Flavors:
    """The flavor handlers; each returns ``(status, body)``."""

    def __init__(self, db: Any, base: str) -> None:
        self.db = db
        self.base = base

    async def index(self, ctx: RequestContext, version: Version,
                    query: dict[str, list[str]], detail: bool) -> tuple[int, Any]:
        """List flavors with Nova's filters, ``limit`` and ``marker``."""
        args = {k: v[-1] for k, v in query.items() if v}
        is_public: bool | None = True
        if ctx.is_admin and "is_public" in args:
            raw = args["is_public"]
            is_public = None if raw in _NONE else parse_bool(raw, "is_public")
        min_ram = _int_filter(args.get("minRam"), "minRam")
        min_disk = _int_filter(args.get("minDisk"), "minDisk")
        found = await self.db.run(lambda s: q.list_flavors(
            s, is_public=is_public, include_disabled=ctx.is_admin, min_memory_mb=min_ram,
            min_root_gb=min_disk))
        marker = args.get("marker")
        if marker is not None:
            ids = [f.flavorid for f in found]
            if marker not in ids:
                raise BadRequest(f"marker [{marker}] not found")
            found = found[ids.index(marker) + 1:]
        limit = _int_filter(args.get("limit"), "limit")
        if limit is not None:
            if limit < 0:
                raise BadRequest("limit param must be positive")
            found = found[:limit]
        return 200, {"flavors": [flavor_view(f, self.base, version, detail) for f in found]}

    async def _get(self, ctx: RequestContext, flavorid: str) -> q.Flavor:
        try:
            flavor: q.Flavor = await self.db.run(q.get_flavor, flavorid)
        except db_errors.NotFound:
            raise NotFound(f"Flavor {flavorid} could not be found.") from None
        if not flavor.is_public and not ctx.is_admin:
            raise NotFound(f"Flavor {flavorid} could not be found.")
        return flavor

    async def show(self, ctx: RequestContext, version: Version, flavorid: str
                   ) -> tuple[int, Any]:
        """One flavor by its id."""
        return 200, {"flavor": flavor_view(await self._get(ctx, flavorid), self.base, version)}

    async def create(self, ctx: RequestContext, version: Version, body: Any
                     ) -> tuple[int, Any]:
        """Create a flavor (admin)."""
        ctx.require_admin("os_compute_api:os-flavor-manage:create")
        spec = body.get("flavor") if isinstance(body, dict) else None
        if not isinstance(spec, dict):
            raise BadRequest("Invalid input for field/attribute flavor.")
        name = spec.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            raise BadRequest("Invalid input for field/attribute name.")
        sizes: dict[str, Any] = {}
        for key, column, minimum, default in (
                ("ram", "memory_mb", 1, None), ("vcpus", "vcpus", 1, None),
                ("disk", "root_gb", 0, None), ("OS-FLV-EXT-DATA:ephemeral", "ephemeral_gb", 0, 0),
                ("swap", "swap", 0, 0)):
            value = spec.get(key, default)
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value)
            if value == "" and key == "swap":
                value = 0
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise BadRequest(f"Invalid input for field/attribute {key}. Value: {value}.")
            sizes[column] = value
        flavorid = spec.get("id")
        if flavorid is not None and (not isinstance(flavorid, str) or not flavorid.strip()):
            raise BadRequest(f"Invalid input for field/attribute id. Value: {flavorid}.")
        if flavorid == "auto":
            flavorid = None
        is_public = spec.get("os-flavor-access:is_public", True)
        rxtx = spec.get("rxtx_factor", 1.0)
        description = spec.get("description")
        if not isinstance(is_public, bool) or isinstance(rxtx, bool) \
                or not isinstance(rxtx, int | float) or rxtx <= 0 \
                or not (description is None or isinstance(description, str)):
            raise BadRequest("Invalid input for field/attribute flavor.")
        try:
            flavor = await self.db.run(lambda s: q.create_flavor(
                s, name=name, flavorid=flavorid, is_public=is_public, rxtx_factor=float(rxtx),
                description=description, **sizes))
        except db_errors.Conflict:
            raise Conflict(f"Flavor with name {name} or ID {flavorid} already exists.") from None
        return 200, {"flavor": flavor_view(flavor, self.base, version)}

    async def delete(self, ctx: RequestContext, flavorid: str) -> tuple[int, Any]:
        """Delete a flavor (admin); instances keep their copy."""
        ctx.require_admin("os_compute_api:os-flavor-manage:delete")
        try:
            await self.db.run(q.delete_flavor, flavorid)
        except db_errors.NotFound:
            raise NotFound(f"Flavor {flavorid} could not be found.") from None
        return 202, None

    async def extra_specs(self, ctx: RequestContext, flavorid: str) -> tuple[int, Any]:
        """The flavor's extra specs."""
        return 200, {"extra_specs": dict((await self._get(ctx, flavorid)).extra_specs)}

    async def set_extra_specs(self, ctx: RequestContext, flavorid: str, body: Any
                              ) -> tuple[int, Any]:
        """Add or overwrite extra specs (admin)."""
        ctx.require_admin("os_compute_api:os-flavor-extra-specs:create")
        specs = body.get("extra_specs") if isinstance(body, dict) else None
        if not isinstance(specs, dict) or not specs:
            raise BadRequest("Invalid input for field/attribute extra_specs.")
        clean: dict[str, str] = {}
        for key, value in specs.items():
            if not key or len(key) > 255 or isinstance(value, dict | list) or value is None \
                    or len(str(value)) > 255:
                raise BadRequest(f"Invalid input for field/attribute extra_specs. Key: {key}.")
            clean[key] = str(value).lower() if isinstance(value, bool) else str(value)
        await self._get(ctx, flavorid)
        await self.db.run(q.set_extra_specs, flavorid, clean)
        return 200, {"extra_specs": clean}

    async def delete_extra_spec(self, ctx: RequestContext, flavorid: str, key: str
                                ) -> tuple[int, Any]:
        """Remove one extra spec (admin)."""
        ctx.require_admin("os_compute_api:os-flavor-extra-specs:delete")
        try:
            await self.db.run(q.delete_extra_spec, flavorid, key)
        except db_errors.NotFound:
            raise NotFound(f"Flavor {flavorid} has no extra specs with key {key}.") from None
        return 200, None
