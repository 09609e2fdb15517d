"""
Certificate metadata: what C{nova-cert} issued, to whom, until when, and
what it revoked. Private keys are never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from nova_ws.db.errors import NotFound, flush_or_conflict
from nova_ws.db.models import Certificate as CertificateRow
from nova_ws.db.models import utcnow
from nova_ws.db.queries._statements import execute_count


@dataclass(frozen=True)
class Certificate:
    """
    An issued certificate: serial (hex), subject, holder and validity.
    """

    id: int
    serial: str
    subject: str
    user_id: str | None
    project_id: str | None
    file_name: str | None
    not_after: datetime
    revoked_at: datetime | None
    created_at: datetime


_FIELDS = tuple(Certificate.__dataclass_fields__)


def _certificate(row: CertificateRow) -> Certificate:
    return Certificate(**{name: getattr(row, name) for name in _FIELDS})


def record_certificate(
    session: Session,
    *,
    serial: str,
    subject: str,
    not_after: datetime,
    user_id: str | None = None,
    project_id: str | None = None,
    file_name: str | None = None,
    now: datetime | None = None,
) -> Certificate:
    """
    Record that a certificate was issued.

    @raise Conflict: the serial is already recorded.
    """
    row = CertificateRow(serial=serial, subject=subject, not_after=not_after, user_id=user_id,
                         project_id=project_id, file_name=file_name, created_at=now or utcnow())
    session.add(row)
    flush_or_conflict(session, f"certificate {serial}")
    return _certificate(row)


def get_certificate(session: Session, serial: str) -> Certificate:
    """
    The certificate with this serial.

    @raise NotFound: none was recorded.
    """
    row = session.scalars(
        select(CertificateRow).where(CertificateRow.serial == serial)
    ).one_or_none()
    if row is None:
        raise NotFound(f"certificate {serial}")
    return _certificate(row)


def list_certificates(
    session: Session,
    *,
    user_id: str | None = None,
    project_id: str | None = None,
    revoked: bool | None = None,
) -> list[Certificate]:
    """
    Certificates in the order issued, filtered by holder and by whether
    they are revoked (C{revoked=True} lists what a CRL must name).
    """
    query = select(CertificateRow).order_by(CertificateRow.id)
    if user_id is not None:
        query = query.where(CertificateRow.user_id == user_id)
    if project_id is not None:
        query = query.where(CertificateRow.project_id == project_id)
    if revoked is True:
        query = query.where(CertificateRow.revoked_at.is_not(None))
    elif revoked is False:
        query = query.where(CertificateRow.revoked_at.is_(None))
    return [_certificate(row) for row in session.scalars(query)]


def revoke_certificate(session: Session, serial: str, *, now: datetime | None = None) -> bool:
    """
    Mark the certificate revoked at C{now}.

    @return: C{False} if it was already revoked (its time is kept).
    @raise NotFound: no certificate has this serial.
    """
    now = now or utcnow()
    statement = (
        update(CertificateRow)
        .where(CertificateRow.serial == serial, CertificateRow.revoked_at.is_(None))
        .values(revoked_at=now, updated_at=now)
    )
    if execute_count(session, statement):
        return True
    get_certificate(session, serial)
    return False


def revoke_certificates(
    session: Session,
    *,
    user_id: str | None = None,
    project_id: str | None = None,
    file_name_prefix: str | None = None,
    now: datetime | None = None,
) -> list[str]:
    """
    Revoke every certificate not yet revoked of a holder (Nova's
    C{revoke_certs_by_user}, C{..._by_project}, C{..._by_user_and_project}),
    or whose C{file_name} starts with C{file_name_prefix}.

    @return: the serials revoked now, in the order issued.
    @raise ValueError: no filter was given (that would revoke everything).
    """
    if user_id is None and project_id is None and file_name_prefix is None:
        raise ValueError("revoke_certificates needs a user, a project or a file name prefix")
    query = select(CertificateRow).where(CertificateRow.revoked_at.is_(None))
    if user_id is not None:
        query = query.where(CertificateRow.user_id == user_id)
    if project_id is not None:
        query = query.where(CertificateRow.project_id == project_id)
    if file_name_prefix is not None:
        query = query.where(CertificateRow.file_name.startswith(file_name_prefix,
                                                                autoescape=True))
    now = now or utcnow()
    rows = list(session.scalars(query.order_by(CertificateRow.id)))
    for row in rows:
        row.revoked_at = now
        row.updated_at = now
    session.flush()
    return [row.serial for row in rows]
