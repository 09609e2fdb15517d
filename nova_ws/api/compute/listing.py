"""The query of ``GET /servers``: Nova's filters, policy, and pagination.

Pure logic. :func:`parse` turns query parameters into a :class:`Query`
(400 for malformed values, 403 for ``all_tenants`` without admin);
:func:`page` reads the page from a fetch function that pages in the
database (newest first, after a marker), applying in Python only the
filters the database query does not (name regex, status, image, flavor),
and reads more batches only when those filters dropped rows. Parameters a
member may not use (``host``, ``deleted``) and unknown ones are ignored, as
Nova ignores them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from nova_ws.api.compute import views
from nova_ws.api.compute.context import RequestContext
from nova_ws.api.compute.flavors import parse_bool
from nova_ws.api.errors import BadRequest, Forbidden
from nova_ws.db.queries.instances import Instance

MAX_LIMIT = 1000


@dataclass(frozen=True)
class Query:
    """What a listing asks for, after policy."""

    project_id: str | None
    host: str | None = None
    changes_since: datetime | None = None
    changes_before: datetime | None = None
    include_deleted: bool | None = None
    deleted_only: bool = False
    name: re.Pattern[str] | None = None
    statuses: frozenset[str] | None = None
    image: str | None = None
    flavor: str | None = None
    limit: int = MAX_LIMIT
    marker: str | None = None


def _one(args: dict[str, list[str]], name: str) -> str | None:
    values = args.get(name)
    return values[-1] if values else None


def _time(text: str, name: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid input for query parameters {name}. Value: {text}. "
                         f"'{text}' is not a 'date-time'") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _last(ref: str) -> str:
    return ref.rstrip("/").rsplit("/", 1)[-1]


def _all_tenants(ctx: RequestContext, args: dict[str, list[str]]) -> bool:
    if "all_tenants" not in args:
        return False
    raw = _one(args, "all_tenants") or ""
    wanted = True if raw == "" else parse_bool(raw, "all_tenants")
    if wanted and not ctx.is_admin:
        raise Forbidden("Policy doesn't allow os_compute_api:servers:index:get_all_tenants "
                        "to be performed.")
    return wanted


def _limit(text: str | None) -> int:
    if text is None:
        return MAX_LIMIT
    try:
        limit = int(text)
    except ValueError:
        raise BadRequest(f"Invalid input for query parameters limit. Value: {text}.") from None
    if limit < 0:
        raise BadRequest("limit param must be positive")
    return min(limit, MAX_LIMIT)


def parse(ctx: RequestContext, args: dict[str, list[str]]) -> Query:
    """The listing's query, with the asker's scope applied."""
    project_id: str | None = ctx.project_id
    if _all_tenants(ctx, args):
        project_id = _one(args, "project_id") or _one(args, "tenant_id")
    elif ctx.is_admin and (_one(args, "project_id") or _one(args, "tenant_id")):
        project_id = _one(args, "project_id") or _one(args, "tenant_id")
    deleted_only = False
    if ctx.is_admin and _one(args, "deleted") is not None:
        deleted_only = parse_bool(_one(args, "deleted") or "", "deleted")
    name = None
    if _one(args, "name"):
        try:
            name = re.compile(_one(args, "name") or "")
        except re.error:
            raise BadRequest(f"Invalid regex for name: {_one(args, 'name')}") from None
    statuses = frozenset(s.upper() for s in args.get("status", []) if s) or None
    changes = _one(args, "changes-since") or _one(args, "changes_since")
    before = _one(args, "changes-before") or _one(args, "changes_before")
    since = _time(changes, "changes-since") if changes else None
    return Query(
        project_id=project_id, host=_one(args, "host") if ctx.is_admin else None,
        changes_since=since, changes_before=_time(before, "changes-before") if before else None,
        include_deleted=True if deleted_only or since is not None else None,
        deleted_only=deleted_only, name=name, statuses=statuses,
        image=_last(_one(args, "image") or "") or None,
        flavor=_last(_one(args, "flavor") or "") or None,
        limit=_limit(_one(args, "limit")), marker=_one(args, "marker"))


def _keep(inst: Instance, query: Query) -> bool:
    if query.deleted_only and not inst.deleted:
        return False
    if query.name is not None and not query.name.search(inst.display_name or ""):
        return False
    status = "DELETED" if inst.deleted else views.status(inst.vm_state, inst.task_state)
    if query.statuses is not None and status not in query.statuses:
        return False
    if query.image is not None and inst.image_ref != query.image:
        return False
    if query.flavor is not None and str(inst.flavor.get("flavorid")) != query.flavor:
        return False
    updated = inst.updated_at or inst.created_at
    return not (query.changes_before is not None and updated > query.changes_before)


#: Rows read per batch when filters applied here may drop some.
BATCH = 200

#: Reads up to ``limit`` instances after ``marker`` (None: from the newest);
#: raises LookupError when the marker is no instance the query may see.
Fetch = Callable[[int, "str | None"], list[Instance]]


def page(fetch: Fetch, query: Query) -> tuple[list[Instance], bool]:
    """The page the query asks for, and whether more follow it."""
    wanted = query.limit + 1  # one more tells whether there is a next page
    size = wanted if _all_in_sql(query) else max(wanted, BATCH)
    kept: list[Instance] = []
    marker = query.marker
    while True:
        try:
            batch = fetch(size, marker)
        except LookupError:
            raise BadRequest(f"marker [{query.marker}] not found") from None
        kept.extend(i for i in batch if _keep(i, query))
        if len(kept) >= wanted or len(batch) < size:
            return kept[:query.limit], len(kept) > query.limit
        marker = batch[-1].uuid


def _all_in_sql(query: Query) -> bool:
    """Whether the database query applies every filter (no row is dropped here)."""
    return (not query.deleted_only and query.name is None and query.statuses is None
            and query.image is None and query.flavor is None and query.changes_before is None)
