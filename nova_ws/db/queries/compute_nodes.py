"""
Compute nodes: totals reported by compute hosts, and atomic claims.

A claim is one conditional UPDATE: it adds the request to the node's usage
only if every resource still fits under total x allocation ratio, and the
database's row lock makes concurrent claims take turns, so no interleaving
of claims overcommits a node on SQLite, MariaDB/MySQL or PostgreSQL.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from nova_ws.db.errors import Ambiguous, NotFound, flush_or_conflict
from nova_ws.db.models import ComputeNode as NodeRow
from nova_ws.db.models import utcnow
from nova_ws.db.queries._statements import execute_count


@dataclass(frozen=True)
class ComputeNode:
    """
    A live compute node: totals, usage, allocation ratios, hypervisor.
    """

    id: int
    uuid: str
    host: str
    hypervisor_hostname: str
    vcpus: int
    memory_mb: int
    local_gb: int
    vcpus_used: int
    memory_mb_used: int
    local_gb_used: int
    running_vms: int
    cpu_allocation_ratio: float
    ram_allocation_ratio: float
    disk_allocation_ratio: float
    hypervisor_type: str
    hypervisor_version: int
    cpu_info: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime | None

    def fits(self, vcpus: int, memory_mb: int, disk_gb: int) -> bool:
        """
        Whether a claim of this size would succeed against this snapshot
        (the same arithmetic as L{claim}, for filters; only L{claim} decides).
        """
        return (
            self.vcpus_used + vcpus <= self.vcpus * self.cpu_allocation_ratio
            and self.memory_mb_used + memory_mb <= self.memory_mb * self.ram_allocation_ratio
            and self.local_gb_used + disk_gb <= self.local_gb * self.disk_allocation_ratio
        )


_FIELDS = tuple(ComputeNode.__dataclass_fields__)


def _node(row: NodeRow) -> ComputeNode:
    return ComputeNode(**{name: getattr(row, name) for name in _FIELDS})


def upsert_compute_node(
    session: Session,
    *,
    host: str,
    hypervisor_hostname: str,
    vcpus: int,
    memory_mb: int,
    local_gb: int,
    hypervisor_type: str = "fake",
    hypervisor_version: int = 0,
    cpu_info: dict[str, Any] | None = None,
    cpu_allocation_ratio: float | None = None,
    ram_allocation_ratio: float | None = None,
    disk_allocation_ratio: float | None = None,
    uuid: str | None = None,
    now: datetime | None = None,
) -> ComputeNode:
    """
    Create the node (host, hypervisor_hostname) or update its totals and
    hypervisor details. Usage is left alone (only claims change it). A ratio
    of C{None} keeps the current one (Nova's defaults on create: 16.0 CPU,
    1.5 RAM, 1.0 disk); C{uuid} is used on create only (default: random).

    @raise Conflict: another transaction created the same node meanwhile.
    """
    now = now or utcnow()
    row = session.scalars(
        select(NodeRow).where(
            NodeRow.host == host,
            NodeRow.hypervisor_hostname == hypervisor_hostname,
            NodeRow.deleted == 0,
        )
    ).one_or_none()
    if row is None:
        row = NodeRow(
            uuid=uuid or str(uuidlib.uuid4()),
            host=host,
            hypervisor_hostname=hypervisor_hostname,
            vcpus_used=0,
            memory_mb_used=0,
            local_gb_used=0,
            running_vms=0,
            created_at=now,
        )
        session.add(row)
    else:
        row.updated_at = now
    row.vcpus, row.memory_mb, row.local_gb = vcpus, memory_mb, local_gb
    row.hypervisor_type, row.hypervisor_version = hypervisor_type, hypervisor_version
    row.cpu_info = cpu_info
    for name, ratio in (
        ("cpu_allocation_ratio", cpu_allocation_ratio),
        ("ram_allocation_ratio", ram_allocation_ratio),
        ("disk_allocation_ratio", disk_allocation_ratio),
    ):
        if ratio is not None:
            setattr(row, name, ratio)
    flush_or_conflict(session, f"compute node {hypervisor_hostname} on {host}")
    return _node(row)


def get_compute_node(session: Session, node: str) -> ComputeNode:
    """
    The live node whose uuid is C{node}, or the only live node on host C{node}.

    @raise NotFound: no such node.
    @raise Ambiguous: C{node} is a host with several nodes.
    """
    uuid = _node_uuid(session, node)
    row = session.scalars(select(NodeRow).where(NodeRow.uuid == uuid)).one()
    return _node(row)


def list_compute_nodes(session: Session, *, host: str | None = None) -> list[ComputeNode]:
    """
    Live nodes ordered by id, optionally only those of C{host}.
    """
    query = select(NodeRow).where(NodeRow.deleted == 0).order_by(NodeRow.id)
    if host is not None:
        query = query.where(NodeRow.host == host)
    return [_node(row) for row in session.scalars(query)]


def delete_compute_node(session: Session, node: str, *, now: datetime | None = None) -> None:
    """
    Soft-delete the node (see L{get_compute_node} for what C{node} may be).

    @raise NotFound: no such node.
    """
    now = now or utcnow()
    uuid = _node_uuid(session, node)
    execute_count(
        session,
        update(NodeRow)
        .where(NodeRow.uuid == uuid, NodeRow.deleted == 0)
        .values(deleted=NodeRow.id, deleted_at=now, updated_at=now),
    )


def _node_uuid(session: Session, node: str) -> str:
    uuids = session.scalars(
        select(NodeRow.uuid)
        .where(NodeRow.deleted == 0, or_(NodeRow.uuid == node, NodeRow.host == node))
        .limit(2)
    ).all()
    if not uuids:
        raise NotFound(f"compute node {node}")
    if len(uuids) > 1:
        raise Ambiguous(f"host {node} has several compute nodes: name one by uuid")
    return uuids[0]


def _check_amounts(**amounts: int) -> None:
    for name, amount in amounts.items():
        if amount < 0:
            raise ValueError(f"{name} must not be negative, not {amount}")


def claim(session: Session, node: str, *, vcpus: int, memory_mb: int, disk_gb: int) -> bool:
    """
    Atomically add one instance of this size to the node's usage if it fits
    under every total x allocation ratio, in a single conditional UPDATE.

    Claiming by uuid starts the transaction with that UPDATE, so on SQLite
    it takes the write lock first and concurrent claims simply wait their turn.

    @param node: the node's uuid, or a host with exactly one node.
    @return: C{True} if claimed; C{False} (nothing changed) if it does not fit.
    @raise NotFound: no such node.
    @raise Ambiguous: C{node} is a host with several nodes.
    """
    _check_amounts(vcpus=vcpus, memory_mb=memory_mb, disk_gb=disk_gb)
    return _by_uuid(session, node, _claim, vcpus, memory_mb, disk_gb)


def _by_uuid(
    session: Session,
    node: str,
    change: Callable[[Session, str, int, int, int], bool],
    *amounts: int,
) -> bool:
    """
    Try C{change} with C{node} as a uuid; if no row matched, find out why:
    an unknown node (raise), a host (try again with its node's uuid), or a
    claim that does not fit (C{False}).
    """
    if change(session, node, *amounts):
        return True
    uuid = _node_uuid(session, node)
    return uuid != node and change(session, uuid, *amounts)


def _claim(session: Session, uuid: str, vcpus: int, memory_mb: int, disk_gb: int) -> bool:
    n = NodeRow
    statement = (
        update(n)
        .where(
            n.uuid == uuid,
            n.deleted == 0,
            n.vcpus_used + vcpus <= n.vcpus * n.cpu_allocation_ratio,
            n.memory_mb_used + memory_mb <= n.memory_mb * n.ram_allocation_ratio,
            n.local_gb_used + disk_gb <= n.local_gb * n.disk_allocation_ratio,
        )
        .values(
            vcpus_used=n.vcpus_used + vcpus,
            memory_mb_used=n.memory_mb_used + memory_mb,
            local_gb_used=n.local_gb_used + disk_gb,
            running_vms=n.running_vms + 1,
        )
    )
    return execute_count(session, statement) == 1


def _minus(column: InstrumentedAttribute[int], amount: int) -> ColumnElement[int]:
    return case((column < amount, 0), else_=column - amount)


def release(session: Session, node: str, *, vcpus: int, memory_mb: int, disk_gb: int) -> bool:
    """
    Atomically take one instance of this size off the node's usage (the
    reverse of L{claim}, in one UPDATE); no usage goes below 0.

    @return: C{True} once the node's usage is updated.
    @raise NotFound: no such node.
    @raise Ambiguous: C{node} is a host with several nodes.
    """
    _check_amounts(vcpus=vcpus, memory_mb=memory_mb, disk_gb=disk_gb)
    return _by_uuid(session, node, _release, vcpus, memory_mb, disk_gb)


def _release(session: Session, uuid: str, vcpus: int, memory_mb: int, disk_gb: int) -> bool:
    n = NodeRow
    statement = (
        update(n)
        .where(n.uuid == uuid, n.deleted == 0)
        .values(
            vcpus_used=_minus(n.vcpus_used, vcpus),
            memory_mb_used=_minus(n.memory_mb_used, memory_mb),
            local_gb_used=_minus(n.local_gb_used, disk_gb),
            running_vms=_minus(n.running_vms, 1),
        )
    )
    return execute_count(session, statement) == 1


def set_usage(
    session: Session,
    node: str,
    *,
    vcpus_used: int,
    memory_mb_used: int,
    local_gb_used: int,
    running_vms: int,
    now: datetime | None = None,
) -> ComputeNode:
    """
    Overwrite the node's usage with what an audit of its instances found.

    @raise NotFound: no such node.
    """
    _check_amounts(vcpus_used=vcpus_used, memory_mb_used=memory_mb_used,
                   local_gb_used=local_gb_used, running_vms=running_vms)
    uuid = _node_uuid(session, node)
    execute_count(
        session,
        update(NodeRow)
        .where(NodeRow.uuid == uuid, NodeRow.deleted == 0)
        .values(vcpus_used=vcpus_used, memory_mb_used=memory_mb_used,
                local_gb_used=local_gb_used, running_vms=running_vms,
                updated_at=now or utcnow()),
    )
    return get_compute_node(session, uuid)
