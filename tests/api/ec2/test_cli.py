"""``nova-ws ec2-credentials create|list|delete`` on a migrated SQLite file (in process)."""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from nova_ws.api.ec2 import auth
from nova_ws.api.identity.credential_keys import CredentialKeys
from nova_ws.cli import main
from nova_ws.db.models.identity import IdentityEc2Credential
from nova_ws.db.queries import identity


@dataclass(frozen=True)
class Result:
    """What a command did."""

    returncode: int
    stdout: str
    stderr: str


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    """Run ``nova-ws`` as its entry point does, capturing its output."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return Result(code, out, err)


def test_create_list_delete(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """
    When the admin makes a key for the demo user, it prints the boto3
    environment; the database holds the sealed secret, which the key
    repository (mode 0600) unseals; list shows it and delete removes it.
    """
    conf = tmp_path / "nova.conf"
    conf.write_text(f"[DEFAULT]\nstate_path = {tmp_path}\n"
                    f"[database]\nconnection = sqlite:///{tmp_path}/nova.sqlite\n")
    assert _run(capsys, "db", "sync", "--config", str(conf)).returncode == 0
    engine = create_engine(f"sqlite:///{tmp_path}/nova.sqlite")
    with Session(engine) as session, session.begin():
        identity.bootstrap(session, admin_password="a", demo_password="d")
        identity.create_user(session, name="loner", password="l")
    made = _run(capsys, "ec2-credentials", "create", "--user", "demo", "--config", str(conf))
    assert made.returncode == 0, made.stderr
    env = dict(line.split("=", 1) for line in made.stdout.split())
    access, secret = env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    key_file = tmp_path / "credential-keys" / "0"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    keys = CredentialKeys.load_or_create(tmp_path / "credential-keys")
    with Session(engine) as session:
        stored = session.scalar(select(IdentityEc2Credential.secret))
        assert stored is not None and stored.startswith("fernet:") and secret not in stored
        principal = auth.lookup(session, access, keys)
        assert principal is not None and principal.secret == secret
        assert principal.roles == frozenset({"member"})
        assert auth.lookup(session, access, identity.PLAIN) is None  # sealed: no keys, no use
    listed = _run(capsys, "ec2-credentials", "list", "--user", "demo", "--config", str(conf))
    assert listed.returncode == 0 and listed.stdout.startswith(f"{access}  demo  ")
    for args, message in ((("create", "--user", "nobody"), "no user"),
                          (("create", "--user", "loner"), "default project"),
                          (("create", "--user", "demo", "--project", "admin"), "no role"),
                          (("delete", "--user", "admin", access), "no EC2 access key")):
        failed = _run(capsys, "ec2-credentials", *args, "--config", str(conf))
        assert failed.returncode == 1 and message in failed.stderr, failed.stderr
    assert _run(capsys, "ec2-credentials", "delete", "--user", "demo", access, "--config",
                str(conf)).returncode == 0
    assert _run(capsys, "ec2-credentials", "list", "--user", "demo", "--config",
                str(conf)).stdout == ""
    engine.dispose()
