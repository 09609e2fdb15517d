"""``nova-ws ca init|issue|revoke|list``, run in-process on a SQLite state directory."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from nova_ws.cli import main


@pytest.fixture
def conf(tmp_path: Path) -> str:
    """A nova.conf with its state in *tmp_path* and the database migrated."""
    path = tmp_path / "nova.conf"
    path.write_text(f"[DEFAULT]\nstate_path = {tmp_path}\n[ca]\ncommon_name = CLI CA\n")
    assert main(["db", "sync", "--config", str(path)]) == 0
    return str(path)


def _serial(out: str) -> str:
    match = re.search(r"serial:\s+([0-9a-f]+)", out)
    assert match, out
    return match.group(1)


def test_init_is_idempotent(conf: str, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    """When `ca init` runs twice, the CA is made once, key 0600, with an empty CRL."""
    assert main(["ca", "init", "--config", conf]) == 0
    assert "CA created: CN=CLI CA" in capsys.readouterr().out
    key = tmp_path / "CA" / "private" / "cakey.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    first = (tmp_path / "CA" / "cacert.pem").read_bytes()
    assert len(x509.load_pem_x509_crl((tmp_path / "CA" / "crl.pem").read_bytes())) == 0
    assert main(["ca", "init", "--config", conf]) == 0
    assert "CA exists" in capsys.readouterr().out
    assert (tmp_path / "CA" / "cacert.pem").read_bytes() == first


def test_issue_revoke_list(conf: str, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    """When certificates are issued, files land in --out (QEMU's names for a server); a
    revoked one is in the CRL and `list` tells them apart."""
    main(["ca", "init", "--config", conf])
    out = tmp_path / "vnc"
    assert main(["ca", "issue", "server", "compute-1", "--san", "127.0.0.1",
                 "--out", str(out), "--config", conf]) == 0
    server_serial = _serial(capsys.readouterr().out)
    assert sorted(p.name for p in out.iterdir()) == [
        "ca-cert.pem", "server-cert.pem", "server-key.pem"]
    assert stat.S_IMODE((out / "server-key.pem").stat().st_mode) == 0o600
    assert main(["ca", "issue", "service", "compute-1", "--role", "compute",
                 "--config", conf]) == 0
    service_serial = _serial(capsys.readouterr().out)
    cert_file = tmp_path / "CA" / "keys" / "compute-1" / "compute-1-cert.pem"
    subject = x509.load_pem_x509_certificates(cert_file.read_bytes())[0].subject
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == (
        "compute")

    assert main(["ca", "revoke", service_serial, "--config", conf]) == 0
    assert "revoked" in capsys.readouterr().out
    crl = x509.load_pem_x509_crl((tmp_path / "CA" / "crl.pem").read_bytes())
    assert [e.serial_number for e in crl] == [int(service_serial, 16)]

    assert main(["ca", "list", "--revoked", "--config", conf]) == 0
    listed = capsys.readouterr().out
    assert service_serial in listed and server_serial not in listed
    assert main(["ca", "list", "--config", conf]) == 0
    listed = capsys.readouterr().out
    assert service_serial in listed and server_serial in listed
    assert "PRIVATE" not in listed


def test_errors_exit_1(conf: str, capsys: pytest.CaptureFixture[str]) -> None:
    """When the CA is missing, a role is missing or a serial is unknown, exit 1 with why."""
    assert main(["ca", "issue", "server", "h", "--config", conf]) == 1
    assert "cannot read the CA" in capsys.readouterr().err
    main(["ca", "init", "--config", conf])
    capsys.readouterr()
    assert main(["ca", "issue", "service", "h", "--config", conf]) == 1
    assert "--role" in capsys.readouterr().err
    assert main(["ca", "revoke", "abcdef", "--config", conf]) == 1
    assert "abcdef" in capsys.readouterr().err
