"""Query parameters, times and collection links the way Nova's resources share them.

Pure logic. From 2.75 Nova refuses query parameters a resource does not
know (400); before it, they are ignored. Pagination parameters are
non-negative integers, capped at ``MAX_LIMIT``; a page as long as it may be
gets a ``next`` link with the last item as the marker.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from nova_ws.api.errors import BadRequest
from nova_ws.api.microversions import Version

V2_75 = Version(2, 75)
MAX_LIMIT = 1000

Args = dict[str, list[str]]


def one(args: Args, name: str) -> str | None:
    """The last value of *name* (Nova reads the last of repeated parameters)."""
    values = args.get(name)
    return values[-1] if values else None


def check_known(args: Args, known: Iterable[str], version: Version,
                since: Version = V2_75) -> None:
    """From *since* (2.75 for most resources), 400 for any parameter not in *known*."""
    if version < since:
        return
    unknown = sorted(set(args) - set(known))
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        verb = "was" if len(unknown) == 1 else "were"
        raise BadRequest(f"Additional properties are not allowed ({names} {verb} unexpected)")


def non_negative(args: Args, name: str) -> int | None:
    """A non-negative integer parameter, or None when absent; 400 otherwise."""
    text = one(args, name)
    if text is None:
        return None
    if not text.strip().isdigit():
        raise BadRequest(f"Invalid input for query parameters {name}. Value: {text}. "
                         f"'{text}' does not match '^[0-9]*$'")
    return int(text)


def timestamp(args: Args, name: str) -> datetime | None:
    """An ISO 8601 time parameter (UTC when it names no zone), or None."""
    text = one(args, name)
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid input for query parameters {name}. Value: {text}. "
                         f"'{text}' is not a 'date-time'") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def nova_time(when: datetime | None) -> str | None:
    """A stored time as Nova's objects serialize it: ``2024-01-02T03:04:05.000000``."""
    if when is None:
        return None
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f")


def page_size(limit: int | None) -> int:
    """How many items a page may hold."""
    return MAX_LIMIT if limit is None else min(limit, MAX_LIMIT)


def next_links(base: str, path: str, args: Args, limit: int | None, count: int,
               last: str | None) -> list[dict[str, Any]]:
    """Nova's ``next`` link when the page is full (it may have a successor)."""
    size = page_size(limit)
    if not size or size != count or last is None:
        return []
    params = [(k, v) for k, values in args.items() for v in values if k != "marker"]
    params.append(("marker", last))
    return [{"rel": "next", "href": f"{base}/v2.1/{path}?{urlencode(params)}"}]
