"""The certificate authority's files and what it signs, checked by a real x509 verifier."""

from __future__ import annotations

import datetime
import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import (
    DNSName,
    ExtensionPolicy,
    IPAddress,
    PolicyBuilder,
    Store,
)

from nova_ws.auth.ca import authority
from nova_ws.auth.ca.authority import CaError, CaPaths
from nova_ws.config import parse_config
from nova_ws.testing.certs import issue_cert, make_ca


def _paths(tmp_path: Path) -> CaPaths:
    config = parse_config(f"[DEFAULT]\nstate_path = {tmp_path}\n")
    return CaPaths.from_config(config.ca, config.default.state_path)


def _verifier(ca: authority.CertificateAuthority) -> PolicyBuilder:
    """A verifier trusting *ca*; leaves need no subjectAltName (client certificates)."""
    return PolicyBuilder().store(Store([ca.chain[-1]])).time(ca.now()).extension_policies(
        ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ExtensionPolicy.permit_all())


def test_first_start_creates_the_ca_with_a_private_key(tmp_path: Path) -> None:
    """When no CA exists, one is made in [ca]'s paths, its key readable by its owner only."""
    paths = _paths(tmp_path)
    assert paths.cert == tmp_path / "CA" / "cacert.pem"
    assert paths.key == tmp_path / "CA" / "private" / "cakey.pem"
    ca, created = authority.load_or_create(paths, "Test Cloud CA")
    assert created
    assert stat.S_IMODE(paths.key.stat().st_mode) == 0o600
    assert stat.S_IMODE(paths.key.parent.stat().st_mode) == 0o700
    assert ca.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "Test Cloud CA")
    assert ca.cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    again, created_again = authority.load_or_create(paths, "ignored")
    assert not created_again and again.cert == ca.cert
    with pytest.raises(CaError, match="exists"):
        authority.create(paths, "x")


def test_half_a_ca_is_an_error(tmp_path: Path) -> None:
    """When only the key or only the certificate exists, nothing is overwritten."""
    paths = _paths(tmp_path)
    authority.create(paths, "CA")
    paths.cert.unlink()
    with pytest.raises(CaError, match="cannot read"):
        authority.load_or_create(paths, "CA")
    assert paths.key.exists()


def test_an_operators_intermediate_ca_is_used_with_its_chain(tmp_path: Path) -> None:
    """When the operator's CA is an intermediate, issued files carry the chain to the root."""
    root = make_ca("Operator Root", tmp_path / "op")
    intermediate = make_ca("Operator Issuing CA", tmp_path / "op", parent=root)
    paths = CaPaths(intermediate.cert_file, intermediate.key_file, tmp_path / "crl.pem",
                    tmp_path / "keys")
    ca = authority.load(paths)
    assert ca.chain == (intermediate.cert, root.cert)
    issued = ca.issue_server("api.example.org")
    cert_file, key_file = authority.write_issued(tmp_path / "out", "server", issued)
    chain = x509.load_pem_x509_certificates(cert_file.read_bytes())
    assert chain == [issued.cert, intermediate.cert, root.cert]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    verifier = PolicyBuilder().store(Store([root.cert])).build_server_verifier(
        DNSName("api.example.org"))
    assert verifier.verify(issued.cert, [intermediate.cert])


def test_wrong_files_are_refused(tmp_path: Path) -> None:
    """When the key is not the certificate's, or the certificate is no CA, loading fails."""
    one, other = make_ca("One", tmp_path / "a"), make_ca("Other", tmp_path / "b")
    with pytest.raises(CaError, match="does not belong"):
        authority.load(CaPaths(one.cert_file, other.key_file, tmp_path / "c", tmp_path))
    leaf = issue_cert(one, "leaf")
    with pytest.raises(CaError, match="not a CA"):
        authority.load(CaPaths(leaf.cert_file, leaf.key_file, tmp_path / "c", tmp_path))


def test_server_certificate_names_its_hosts(tmp_path: Path) -> None:
    """When a server certificate is issued, it verifies for its names and IPs, and no other."""
    ca, _ = authority.load_or_create(_paths(tmp_path), "CA")
    issued = ca.issue_server("router.example.org", ["localhost", "127.0.0.1", "::1"], days=30)
    builder = PolicyBuilder().store(Store([ca.cert])).time(ca.now())
    for name in (DNSName("router.example.org"), DNSName("localhost"),
                 IPAddress(ipaddress.ip_address("127.0.0.1")),
                 IPAddress(ipaddress.ip_address("::1"))):
        assert builder.build_server_verifier(name).verify(issued.cert, [])
    with pytest.raises(Exception, match="match"):
        builder.build_server_verifier(DNSName("evil.example.org")).verify(issued.cert, [])
    usage = issued.cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert issued.not_after - ca.now() > datetime.timedelta(days=29)
    key = serialization.load_pem_private_key(issued.key_pem, None)
    assert key.public_key() == issued.cert.public_key()
    assert "BEGIN" not in repr(issued)  # a key never ends up in a log line


def test_service_and_user_certificates(tmp_path: Path) -> None:
    """When a service certificate is issued its CN is the authid and OU the role; a user's
    has no OU, so it names no router role."""
    ca, _ = authority.load_or_create(_paths(tmp_path), "CA")
    service = ca.issue_service("compute-7", "compute")
    subject = service.cert.subject
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "compute-7"
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == (
        "compute")
    verified = _verifier(ca).build_client_verifier().verify(service.cert, [])
    assert verified.chain[-1] == ca.cert
    user = ca.issue_user("u-1", "p-1")
    assert not user.cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    assert user.cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "p-1"
    for authid in ("compute.7", "a b", "", "x" * 65):
        with pytest.raises(ValueError, match="URI component"):
            ca.issue_service(authid, "compute")
    assert service.serial != user.serial


def test_crl_names_revoked_serials_and_is_signed(tmp_path: Path) -> None:
    """When a CRL is signed, it names each revoked serial and verifies with the CA key."""
    paths = _paths(tmp_path)
    ca, _ = authority.load_or_create(paths, "CA")
    a, b = ca.issue_service("a", "api"), ca.issue_service("b", "api")
    when = ca.now()
    crl = ca.crl([(a.serial, when)], days=3)
    authority.write_crl(paths.crl, crl)
    loaded = x509.load_pem_x509_crl(paths.crl.read_bytes())
    assert loaded.is_signature_valid(ca.cert.public_key())  # type: ignore[arg-type]
    assert loaded.get_revoked_certificate_by_serial_number(a.cert.serial_number) is not None
    assert loaded.get_revoked_certificate_by_serial_number(b.cert.serial_number) is None
    assert loaded.next_update_utc - loaded.last_update_utc == datetime.timedelta(days=3)


def test_a_clock_in_the_past_issues_certificates_that_have_expired(tmp_path: Path) -> None:
    """When the authority's clock is a year back, a 30-day certificate is already expired."""
    ca, _ = authority.load_or_create(_paths(tmp_path), "CA")
    past = ca.with_clock(lambda: ca.now() - datetime.timedelta(days=365))
    issued = past.issue_service("old", "compute", days=30)
    assert issued.not_after < ca.now()
    with pytest.raises(Exception, match="not valid at validation time"):
        _verifier(ca).build_client_verifier().verify(issued.cert, [])
