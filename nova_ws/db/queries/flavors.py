"""
Flavors: create, read, update, delete, extra specs, and Nova's defaults.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from nova_ws.db.errors import NotFound, flush_or_conflict
from nova_ws.db.models import Flavor as FlavorRow
from nova_ws.db.models import FlavorExtraSpec, utcnow
from nova_ws.db.queries._statements import execute_count

#: Nova's default flavors: name -> (flavorid, vcpus, memory_mb, root_gb).
DEFAULT_FLAVORS: Mapping[str, tuple[str, int, int, int]] = {
    "m1.tiny": ("1", 1, 512, 1),
    "m1.small": ("2", 1, 2048, 20),
    "m1.medium": ("3", 2, 4096, 40),
    "m1.large": ("4", 4, 8192, 80),
    "m1.xlarge": ("5", 8, 16384, 160),
}


@dataclass(frozen=True)
class Flavor:
    """
    A flavor with its extra specs (a copy: changing it changes nothing).
    """

    id: int
    flavorid: str
    name: str
    vcpus: int
    memory_mb: int
    root_gb: int
    ephemeral_gb: int
    swap: int
    rxtx_factor: float
    is_public: bool
    disabled: bool
    description: str | None
    extra_specs: dict[str, str] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def snapshot(self) -> dict[str, Any]:
        """
        What an instance keeps of its flavor at boot (JSON-ready).
        """
        return {
            "id": self.id,
            "flavorid": self.flavorid,
            "name": self.name,
            "vcpus": self.vcpus,
            "memory_mb": self.memory_mb,
            "root_gb": self.root_gb,
            "ephemeral_gb": self.ephemeral_gb,
            "swap": self.swap,
            "rxtx_factor": self.rxtx_factor,
            "extra_specs": dict(self.extra_specs),
        }


_COLUMNS = ("id", "flavorid", "name", "vcpus", "memory_mb", "root_gb", "ephemeral_gb", "swap",
            "rxtx_factor", "is_public", "disabled", "description", "created_at", "updated_at")


def _flavor(row: FlavorRow) -> Flavor:
    specs = {spec.key: spec.value for spec in row.extra_specs}
    return Flavor(extra_specs=specs, **{name: getattr(row, name) for name in _COLUMNS})


_SELECT = select(FlavorRow).options(selectinload(FlavorRow.extra_specs))


def _row(session: Session, flavorid: str) -> FlavorRow:
    row = session.scalars(_SELECT.where(FlavorRow.flavorid == flavorid)).one_or_none()
    if row is None:
        raise NotFound(f"flavor {flavorid}")
    return row


def create_flavor(
    session: Session,
    *,
    name: str,
    vcpus: int,
    memory_mb: int,
    root_gb: int = 0,
    ephemeral_gb: int = 0,
    swap: int = 0,
    rxtx_factor: float = 1.0,
    is_public: bool = True,
    disabled: bool = False,
    description: str | None = None,
    flavorid: str | None = None,
    extra_specs: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> Flavor:
    """
    Create a flavor (C{flavorid} default: a random uuid).

    @raise Conflict: the name or flavorid is taken.
    """
    now = now or utcnow()
    row = FlavorRow(
        flavorid=flavorid or str(uuidlib.uuid4()), name=name, vcpus=vcpus,
        memory_mb=memory_mb, root_gb=root_gb, ephemeral_gb=ephemeral_gb, swap=swap,
        rxtx_factor=rxtx_factor, is_public=is_public, disabled=disabled,
        description=description, created_at=now,
        extra_specs=[FlavorExtraSpec(key=k, value=v, created_at=now)
                     for k, v in (extra_specs or {}).items()],
    )
    session.add(row)
    flush_or_conflict(session, f"flavor {name!r}")
    return _flavor(row)


def get_flavor(session: Session, flavorid: str) -> Flavor:
    """
    The flavor whose API id is C{flavorid}.

    @raise NotFound: no such flavor.
    """
    return _flavor(_row(session, flavorid))


def get_flavor_by_name(session: Session, name: str) -> Flavor:
    """
    The flavor named C{name}.

    @raise NotFound: no such flavor.
    """
    row = session.scalars(_SELECT.where(FlavorRow.name == name)).one_or_none()
    if row is None:
        raise NotFound(f"flavor named {name!r}")
    return _flavor(row)


def list_flavors(
    session: Session,
    *,
    is_public: bool | None = None,
    include_disabled: bool = False,
    min_memory_mb: int | None = None,
    min_root_gb: int | None = None,
) -> list[Flavor]:
    """
    Flavors ordered by memory then flavorid (as Nova lists them), filtered as
    the API's C{is_public}, C{minRam} and C{minDisk} ask.
    """
    query = _SELECT.order_by(FlavorRow.memory_mb, FlavorRow.flavorid)
    if is_public is not None:
        query = query.where(FlavorRow.is_public == is_public)
    if not include_disabled:
        query = query.where(FlavorRow.disabled == False)  # noqa: E712
    if min_memory_mb is not None:
        query = query.where(FlavorRow.memory_mb >= min_memory_mb)
    if min_root_gb is not None:
        query = query.where(FlavorRow.root_gb >= min_root_gb)
    return [_flavor(row) for row in session.scalars(query)]


_UNSET: Any = object()


def update_flavor(
    session: Session,
    flavorid: str,
    *,
    description: str | None = _UNSET,
    is_public: bool = _UNSET,
    disabled: bool = _UNSET,
    now: datetime | None = None,
) -> Flavor:
    """
    Change what Nova lets change on a flavor (its sizes never change).

    @raise NotFound: no such flavor.
    """
    row = _row(session, flavorid)
    for name, value in (("description", description), ("is_public", is_public),
                        ("disabled", disabled)):
        if value is not _UNSET:
            setattr(row, name, value)
    row.updated_at = now or utcnow()
    session.flush()
    return _flavor(row)


def delete_flavor(session: Session, flavorid: str) -> None:
    """
    Delete the flavor and its extra specs. Instances keep their snapshot.

    @raise NotFound: no such flavor.
    """
    if not execute_count(session, delete(FlavorRow).where(FlavorRow.flavorid == flavorid)):
        raise NotFound(f"flavor {flavorid}")


def set_extra_specs(
    session: Session, flavorid: str, specs: Mapping[str, str], *, now: datetime | None = None
) -> dict[str, str]:
    """
    Add or overwrite the given extra specs; return all of the flavor's specs.

    @raise NotFound: no such flavor.
    """
    now = now or utcnow()
    row = _row(session, flavorid)
    existing = {spec.key: spec for spec in row.extra_specs}
    for key, value in specs.items():
        if key in existing:
            existing[key].value = value
            existing[key].updated_at = now
        else:
            row.extra_specs.append(FlavorExtraSpec(key=key, value=value, created_at=now))
    flush_or_conflict(session, f"extra specs of flavor {flavorid}")
    return {spec.key: spec.value for spec in row.extra_specs}


def delete_extra_spec(session: Session, flavorid: str, key: str) -> None:
    """
    Remove one extra spec.

    @raise NotFound: no such flavor, or it has no such key.
    """
    row = _row(session, flavorid)
    deleted = execute_count(
        session,
        delete(FlavorExtraSpec).where(FlavorExtraSpec.flavor_id == row.id,
                                      FlavorExtraSpec.key == key),
    )
    if not deleted:
        raise NotFound(f"extra spec {key!r} of flavor {flavorid}")


def seed_default_flavors(session: Session, *, now: datetime | None = None) -> list[Flavor]:
    """
    Create Nova's default flavors (m1.tiny ... m1.xlarge, flavorids 1-5)
    that do not exist yet; return the ones created. Running it again
    creates nothing.
    """
    taken = set(session.scalars(select(FlavorRow.name)))
    created = []
    for name, (flavorid, vcpus, memory_mb, root_gb) in DEFAULT_FLAVORS.items():
        if name not in taken:
            created.append(create_flavor(session, name=name, flavorid=flavorid, vcpus=vcpus,
                                         memory_mb=memory_mb, root_gb=root_gb, now=now))
    return created
