"""The authority without a reactor: for ``nova-ws ca`` and the all-in-one's start-up.

These functions take a SQLAlchemy ``Session`` (the caller owns the
transaction) and do what nova-cert's procedures do, synchronously: record
what is issued, revoke, and re-sign the CRL file from the database. nova-cert
itself uses :mod:`manager` (the database through ``Database.run``); both
write the same rows and the same CRL file, so either sees the other's work.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from nova_ws.auth.ca.authority import CaPaths, CertificateAuthority, Issued, write_crl
from nova_ws.auth.ca.manager import crl_entries
from nova_ws.db.queries import certificates


def record(session: Session, authority: CertificateAuthority, issued: Issued, *,
           user_id: str | None = None, project_id: str | None = None,
           file_name: str | None = None) -> certificates.Certificate:
    """Record *issued* (never its key)."""
    return certificates.record_certificate(
        session, serial=issued.serial, subject=issued.subject, not_after=issued.not_after,
        user_id=user_id, project_id=project_id, file_name=file_name, now=authority.now())


def resign_crl(session: Session, authority: CertificateAuthority, paths: CaPaths,
               days: int) -> int:
    """Write a fresh CRL of every revoked, unexpired certificate; how many it names."""
    rows = certificates.list_certificates(session, revoked=True)
    entries = crl_entries(rows, authority.now())
    write_crl(paths.crl, authority.crl(entries, days))
    return len(entries)
