"""Certificate revocation for our TLS endpoints: a CRL file, watched, and a verify hook.

:class:`RevocationList` reads a PEM file of one or more CRLs, accepts only
CRLs signed by the authorities it is given, and re-reads the file when it
changes (its size, inode or modification time), so ``nova-ws ca revoke`` or
nova-cert rewriting it takes effect on the next handshake without a
restart. A file that turns unreadable or holds a CRL that does not verify
keeps the last good list (and says so in the log); at start it is an error.

:func:`refuse_revoked` installs the list into an OpenSSL context: a peer
whose certificate, or any certificate of whose chain, is revoked fails the
handshake. Used by the router's listeners (the TLS client certificates of
services) and the fake guests' VNC servers.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from OpenSSL import SSL
from twisted.logger import Logger

log = Logger()

_PEM_CRL = re.compile(rb"-----BEGIN X509 CRL-----.+?-----END X509 CRL-----", re.S)


class RevocationList:
    """The serials revoked by each authority, from *path*, checked against *authorities*."""

    def __init__(self, path: str | os.PathLike[str],
                 authorities: Sequence[x509.Certificate]) -> None:
        self.path = Path(path)
        self._authorities = tuple(authorities)
        self._stamp: tuple[int, int, int] | None = None
        self._revoked: Mapping[bytes, frozenset[int]] = {}
        self._stamp, self._revoked = self._read()

    def is_revoked(self, cert: x509.Certificate) -> bool:
        """True when the CRL of *cert*'s issuer names its serial (re-reading a changed file)."""
        self.refresh()
        return cert.serial_number in self._revoked.get(cert.issuer.public_bytes(), ())

    def refresh(self) -> None:
        """Re-read the file if it changed; keep the last good list if it cannot be read."""
        try:
            if _stamp(self.path) == self._stamp:
                return
            self._stamp, self._revoked = self._read()
        except (OSError, ValueError) as e:
            log.error("{path}: keeping the previous certificate revocation list: {error}",
                      path=str(self.path), error=str(e))

    def verify(self, connection: Any, cert: Any, errno: int, depth: int, ok: int) -> bool:
        """An OpenSSL verify callback: OpenSSL's verdict, and no revoked certificate."""
        if not ok:
            return False
        try:
            certificate = cert.to_cryptography()
        except Exception:  # a certificate cryptography cannot parse is refused
            return False
        if self.is_revoked(certificate):
            log.warn("refused a revoked certificate: {subject} (serial {serial:x})",
                     subject=certificate.subject.rfc4514_string(),
                     serial=certificate.serial_number)
            return False
        return True

    def _read(self) -> tuple[tuple[int, int, int], Mapping[bytes, frozenset[int]]]:
        stamp = _stamp(self.path)
        data = self.path.read_bytes()
        blocks = _PEM_CRL.findall(data)
        if not blocks:
            raise ValueError(f"{self.path} holds no PEM CRL")
        revoked: dict[bytes, frozenset[int]] = {}
        for block in blocks:
            crl = x509.load_pem_x509_crl(block)
            issuer = self._issuer_of(crl)
            serials = frozenset(entry.serial_number for entry in crl)
            key = issuer.subject.public_bytes()
            revoked[key] = revoked.get(key, frozenset()) | serials
        return stamp, revoked

    def _issuer_of(self, crl: x509.CertificateRevocationList) -> x509.Certificate:
        for authority in self._authorities:
            if authority.subject == crl.issuer and crl.is_signature_valid(
                    authority.public_key()):  # type: ignore[arg-type]
                return authority
        raise ValueError(f"{self.path}: a CRL of {crl.issuer.rfc4514_string()} is not signed "
                         "by a trusted authority")


def refuse_revoked(context: SSL.Context, revocations: RevocationList) -> None:
    """Make *context* fail handshakes with revoked peer certificates (its mode kept)."""
    context.set_verify(context.get_verify_mode(), revocations.verify)


def _stamp(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns
