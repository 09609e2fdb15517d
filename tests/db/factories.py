"""
Rows that many database tests need: a flavor and instances booted from it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from nova_ws.db.queries import flavors, instances
from tests.db.conftest import NOW


def flavor(session: Session, name: str = "m1.small", **kwargs: Any) -> flavors.Flavor:
    """
    A flavor (1 vCPU, 2048 MB, 20 GB unless told otherwise).
    """
    values: dict[str, Any] = {"vcpus": 1, "memory_mb": 2048, "root_gb": 20, "now": NOW}
    values.update(kwargs)
    return flavors.create_flavor(session, name=name, **values)


def instance(
    session: Session, *, flavor_: flavors.Flavor | None = None, now: datetime = NOW,
    **kwargs: Any,
) -> instances.Instance:
    """
    An instance of project p1 / user u1 (a new m1.small-like flavor unless given).
    """
    if flavor_ is None:
        existing = flavors.list_flavors(session, include_disabled=True)
        flavor_ = existing[0] if existing else flavor(session)
    values: dict[str, Any] = {"project_id": "p1", "user_id": "u1", "image_ref": "img"}
    values.update(kwargs)
    return instances.create_instance(session, flavor=flavor_, now=now, **values)
