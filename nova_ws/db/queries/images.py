"""
The image catalog: create, get (by uuid or name), list, update, delete.

Visibility follows Image v2: C{public} and C{community} images are seen by
everyone, C{private} and C{shared} ones by their owner (this catalog keeps
no member lists, so C{shared} is seen by its owner only).
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session, selectinload

from nova_ws.db.errors import Ambiguous, Conflict, NotFound, flush_or_conflict
from nova_ws.db.models import Image as ImageRow
from nova_ws.db.models import ImageProperty, utcnow
from nova_ws.db.queries._statements import execute_count

VISIBILITIES = frozenset({"public", "community", "shared", "private"})
#: Fields L{update_image} may change.
UPDATABLE = frozenset({"name", "status", "disk_format", "container_format", "min_ram",
                       "min_disk", "size", "checksum", "visibility", "owner", "protected"})


@dataclass(frozen=True)
class Image:
    """
    A catalog image with its properties.
    """

    id: int
    uuid: str
    name: str | None
    status: str
    disk_format: str | None
    container_format: str | None
    min_ram: int
    min_disk: int
    size: int | None
    checksum: str | None
    visibility: str
    owner: str | None
    protected: bool
    created_at: datetime
    updated_at: datetime | None
    properties: dict[str, str] = field(default_factory=dict)


_COLUMNS = tuple(name for name in Image.__dataclass_fields__ if name != "properties")
_SELECT = select(ImageRow).options(selectinload(ImageRow.properties))


def _image(row: ImageRow) -> Image:
    properties = {p.name: p.value for p in row.properties}
    return Image(properties=properties, **{name: getattr(row, name) for name in _COLUMNS})


def _check_visibility(visibility: str) -> None:
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility {visibility!r} is not one of {sorted(VISIBILITIES)}")


def create_image(
    session: Session,
    *,
    name: str | None,
    uuid: str | None = None,
    status: str = "active",
    disk_format: str | None = "qcow2",
    container_format: str | None = "bare",
    min_ram: int = 0,
    min_disk: int = 0,
    size: int | None = None,
    checksum: str | None = None,
    visibility: str = "public",
    owner: str | None = None,
    protected: bool = False,
    properties: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> Image:
    """
    Add an image to the catalog (C{uuid} default: random).

    @raise Conflict: the uuid is taken.
    @raise ValueError: unknown visibility.
    """
    _check_visibility(visibility)
    now = now or utcnow()
    row = ImageRow(
        uuid=uuid or str(uuidlib.uuid4()), name=name, status=status, disk_format=disk_format,
        container_format=container_format, min_ram=min_ram, min_disk=min_disk, size=size,
        checksum=checksum, visibility=visibility, owner=owner, protected=protected,
        created_at=now,
        properties=[ImageProperty(name=k, value=v) for k, v in (properties or {}).items()],
    )
    session.add(row)
    flush_or_conflict(session, f"image {row.uuid}")
    return _image(row)


def get_image(session: Session, ref: str) -> Image:
    """
    The image whose uuid is C{ref}, else the one image named C{ref}.

    @raise NotFound: neither matches.
    @raise Ambiguous: no uuid matches and several images have that name.
    """
    row = session.scalars(_SELECT.where(ImageRow.uuid == ref)).one_or_none()
    if row is not None:
        return _image(row)
    rows = session.scalars(_SELECT.where(ImageRow.name == ref).limit(2)).all()
    if not rows:
        raise NotFound(f"image {ref}")
    if len(rows) > 1:
        raise Ambiguous(f"several images are named {ref!r}: use the id")
    return _image(rows[0])


def list_images(
    session: Session,
    *,
    visible_to: str | None = None,
    visibility: str | None = None,
    owner: str | None = None,
    status: str | None = None,
    name: str | None = None,
) -> list[Image]:
    """
    Images ordered by name (unnamed last) then uuid, filtered by whichever arguments are
    given; C{visible_to} (a project id) keeps what that project may see.
    """
    query = _SELECT.order_by(ImageRow.name.is_(None), ImageRow.name, ImageRow.uuid)
    if visible_to is not None:
        query = query.where(or_(ImageRow.visibility.in_(("public", "community")),
                                ImageRow.owner == visible_to))
    for column, value in ((ImageRow.visibility, visibility), (ImageRow.owner, owner),
                          (ImageRow.status, status), (ImageRow.name, name)):
        if value is not None:
            query = query.where(column == value)
    return [_image(row) for row in session.scalars(query)]


def update_image(
    session: Session,
    uuid: str,
    /,
    *,
    properties: Mapping[str, str | None] | None = None,
    now: datetime | None = None,
    **values: Any,
) -> Image:
    """
    Change fields named in L{UPDATABLE}, and properties (a C{None} value
    removes that property).

    @raise NotFound: no such image.
    @raise ValueError: a field that may not change, or unknown visibility.
    """
    unknown = set(values) - UPDATABLE
    if unknown:
        raise ValueError(f"cannot update image fields {sorted(unknown)}")
    if "visibility" in values:
        _check_visibility(values["visibility"])
    row = session.scalars(_SELECT.where(ImageRow.uuid == uuid)).one_or_none()
    if row is None:
        raise NotFound(f"image {uuid}")
    for name, value in values.items():
        setattr(row, name, value)
    current = {p.name: p for p in row.properties}
    for key, text in (properties or {}).items():
        if text is None:
            if key in current:
                row.properties.remove(current[key])
        elif key in current:
            current[key].value = text
        else:
            row.properties.append(ImageProperty(name=key, value=text))
    row.updated_at = now or utcnow()
    flush_or_conflict(session, f"image {uuid}")
    return _image(row)


def delete_image(session: Session, uuid: str) -> None:
    """
    Remove an image and its properties from the catalog.

    @raise NotFound: no such image.
    @raise Conflict: the image is protected.
    """
    protected = session.scalar(select(ImageRow.protected).where(ImageRow.uuid == uuid))
    if protected is None:
        raise NotFound(f"image {uuid}")
    if protected:
        raise Conflict(f"image {uuid} is protected")
    execute_count(session, delete(ImageRow).where(ImageRow.uuid == uuid))
