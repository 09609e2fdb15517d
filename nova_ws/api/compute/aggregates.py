"""``/os-aggregates``: host aggregates, admin-only, as Nova serves them.

An aggregate is a named set of compute hosts with key/value metadata; its
``availability_zone`` metadata (set by ``availability_zone`` in a create or
update body, or by ``set_metadata``) puts its hosts in that zone, which the
scheduler, ``os-services`` and ``os-availability-zone`` then show instead of
the zone the host's service reported. Nova's rules hold: a host must run
``nova-compute`` to be added, may not be in two zones, a zone may not be
renamed while its hosts run instances nor set to an empty name, and only an
empty aggregate may be deleted. Ids are integers (anything else is 400, as
in Nova); the uuid is shown from 2.41.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from nova_ws.api.compute.context import RequestContext
from nova_ws.api.compute.params import nova_time
from nova_ws.api.compute.schemas import MAX_INT
from nova_ws.api.errors import BadRequest, Conflict, Fault, NotFound
from nova_ws.api.microversions import Version
from nova_ws.db import errors as db_errors
from nova_ws.db.queries import aggregates as q
from nova_ws.db.queries import services

V2_41 = Version(2, 41)
POLICY = "os_compute_api:os-aggregates:{}"
_INTEGER = re.compile(r"^\s*[-+]?[0-9]+\s*$")


def aggregate_view(agg: q.Aggregate, version: Version, full: bool = True
                   ) -> dict[str, Any]:
    """Nova's aggregate document (a create's answer has no hosts and metadata)."""
    view: dict[str, Any] = {
        "id": agg.id, "name": agg.name, "availability_zone": agg.availability_zone,
        "created_at": nova_time(agg.created_at), "updated_at": nova_time(agg.updated_at),
        "deleted": False, "deleted_at": None}
    if full:
        view.update(hosts=list(agg.hosts), metadata=dict(agg.metadata))
    if version >= V2_41:
        view["uuid"] = agg.uuid
    return view


def _id(text: str) -> int:
    """The aggregate id in the URL: 400 unless an integer (as Nova's ``validate_integer``),
    404 when no database id could be that large.
    """
    if not _INTEGER.match(text):
        raise BadRequest("Invalid input received: id must be an integer")
    if len(text.strip().lstrip("+-").lstrip("0")) > len(str(MAX_INT)):
        raise _not_found(text.strip())
    number = int(text)
    if not -MAX_INT <= number <= MAX_INT:
        raise _not_found(number)
    return number


def _not_found(aggregate_id: int | str) -> NotFound:
    return NotFound(f"Aggregate {aggregate_id} could not be found.")


def _name_exists(name: str) -> Conflict:
    return Conflict(f"Aggregate {name} already exists.")


def _check_zone(session: Session, agg: q.Aggregate, zone: str | None, hosts: tuple[str, ...],
                fault: type[Fault], action: str, instances_matter: bool) -> None:
    """Nova's ``is_safe_to_update_az``: the zone *agg* would give *hosts* is allowed."""
    def refuse(reason: str) -> Fault:
        return fault(f"{action} {agg.id}. Reason: {reason}.")

    if not zone:
        raise refuse(f"Aggregate {agg.name} does not support empty named availability zone")
    conflicting = [other.availability_zone for other in q.zoned_aggregates(session, hosts)
                   if other.availability_zone != zone and other.id != agg.id]
    if conflicting:
        raise refuse(f"One or more hosts already in availability zone(s) {conflicting}")
    if instances_matter and agg.availability_zone != zone \
            and q.count_instances_on_hosts(session, hosts):
        raise refuse("One or more hosts contain instances in this zone")


def _has_compute(session: Session, host: str) -> bool:
    return bool(services.list_services(session, host=host, binary="nova-compute"))


class Aggregates:
    """The os-aggregates handlers; each returns ``(status, body)``."""

    def __init__(self, db: Any) -> None:
        self.db = db

    async def index(self, ctx: RequestContext, version: Version) -> tuple[int, Any]:
        """``GET /os-aggregates``: every aggregate, with its hosts and metadata."""
        ctx.require_admin(POLICY.format("index"))
        found = await self.db.run(q.list_aggregates)
        return 200, {"aggregates": [aggregate_view(a, version) for a in found]}

    async def create(self, ctx: RequestContext, version: Version, body: Any
                     ) -> tuple[int, Any]:
        """``POST /os-aggregates`` with a name and an optional zone (200, as Nova)."""
        ctx.require_admin(POLICY.format("create"))
        wanted = body["aggregate"]
        name = wanted["name"].strip()
        zone = wanted.get("availability_zone")
        metadata = {q.AZ_KEY: zone.strip()} if zone else None
        try:
            agg = await self.db.run(lambda s: q.create_aggregate(s, name=name,
                                                                 metadata=metadata))
        except db_errors.Conflict:
            raise _name_exists(name) from None
        return 200, {"aggregate": aggregate_view(agg, version, full=False)}

    async def show(self, ctx: RequestContext, version: Version, aggregate_id: str
                   ) -> tuple[int, Any]:
        """``GET /os-aggregates/{id}``."""
        ctx.require_admin(POLICY.format("show"))
        number = _id(aggregate_id)
        agg = await self._run(number, lambda s: q.get_aggregate(s, number))
        return 200, {"aggregate": aggregate_view(agg, version)}

    async def update(self, ctx: RequestContext, version: Version, aggregate_id: str,
                     body: Any) -> tuple[int, Any]:
        """``PUT /os-aggregates/{id}``: a new name and/or zone."""
        ctx.require_admin(POLICY.format("update"))
        number = _id(aggregate_id)
        changes = body["aggregate"]
        name = changes["name"].strip() if "name" in changes else None

        def update(session: Session) -> q.Aggregate:
            agg = q.get_aggregate(session, number)
            if name is not None:
                try:
                    agg = q.rename_aggregate(session, number, name)
                except db_errors.Conflict:
                    raise _name_exists(name) from None
            if q.AZ_KEY in changes:
                zone = changes[q.AZ_KEY]
                zone = zone.strip() if zone else zone
                _check_zone(session, agg, zone, agg.hosts, BadRequest,
                            "Cannot update aggregate", instances_matter=True)
                agg = q.update_metadata(session, number, {q.AZ_KEY: zone})
            return agg

        agg = await self._run(number, update)
        return 200, {"aggregate": aggregate_view(agg, version)}

    async def delete(self, ctx: RequestContext, aggregate_id: str) -> tuple[int, Any]:
        """``DELETE /os-aggregates/{id}`` of an empty aggregate (200 and no body, as Nova)."""
        ctx.require_admin(POLICY.format("delete"))
        number = _id(aggregate_id)
        try:
            await self._run(number, lambda s: q.delete_aggregate(s, number))
        except db_errors.Conflict:
            raise BadRequest(f"Cannot remove host from aggregate {number}. "
                             "Reason: Host aggregate is not empty.") from None
        return 200, None

    async def action(self, ctx: RequestContext, version: Version, aggregate_id: str,
                     body: Any) -> tuple[int, Any]:
        """``POST /os-aggregates/{id}/action``: add_host, remove_host or set_metadata."""
        name = next(iter(body))
        ctx.require_admin(POLICY.format(name))
        number = _id(aggregate_id)
        argument = body[name]
        if name == "add_host":
            agg = await self._add_host(number, argument["host"])
        elif name == "remove_host":
            agg = await self._remove_host(number, argument["host"])
        else:
            agg = await self._set_metadata(number, argument["metadata"])
        return 200, {"aggregate": aggregate_view(agg, version)}

    async def _add_host(self, number: int, host: str) -> q.Aggregate:
        def add(session: Session) -> q.Aggregate:
            if not _has_compute(session, host):
                raise NotFound(f"Compute host {host} could not be found.")
            agg = q.get_aggregate(session, number)
            if agg.availability_zone is not None:
                _check_zone(session, agg, agg.availability_zone, (host,), Conflict,
                            "Cannot add host to aggregate", instances_matter=False)
            try:
                return q.add_host(session, number, host)
            except db_errors.Conflict:
                raise Conflict(f"Aggregate {number} already has host {host}.") from None

        return await self._run(number, add)

    async def _remove_host(self, number: int, host: str) -> q.Aggregate:
        def remove(session: Session) -> q.Aggregate:
            if not _has_compute(session, host):
                raise db_errors.NotFound(host)
            return q.remove_host(session, number, host)

        try:
            agg: q.Aggregate = await self.db.run(remove)
        except db_errors.NotFound:
            raise NotFound(f"Cannot remove host {host} in aggregate {number}") from None
        return agg

    async def _set_metadata(self, number: int, metadata: dict[str, str | None]
                            ) -> q.Aggregate:
        def update(session: Session) -> q.Aggregate:
            agg = q.get_aggregate(session, number)
            if q.AZ_KEY in metadata:
                _check_zone(session, agg, metadata[q.AZ_KEY], agg.hosts, BadRequest,
                            "Cannot update metadata of aggregate", instances_matter=True)
            return q.update_metadata(session, number, metadata)

        return await self._run(number, update)

    async def _run(self, number: int, work: Any) -> Any:
        """*work* in one transaction; an aggregate that is not there is 404."""
        try:
            return await self.db.run(work)
        except db_errors.NotFound:
            raise _not_found(number) from None
