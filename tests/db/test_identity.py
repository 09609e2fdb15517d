"""
Tests for L{nova_ws.db.queries.identity} on every backend.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from nova_ws.db.errors import Conflict, NotFound
from nova_ws.db.queries import identity
from tests.db.conftest import NOW

PASSWORD = "correct horse battery staple"


def _boot(session: Session) -> identity.Bootstrapped:
    return identity.bootstrap(session, admin_password=PASSWORD, demo_password="demo-pw",
                              now=NOW)


def test_bootstrap_creates_and_is_idempotent(session: Session) -> None:
    """
    When bootstrap runs twice, the domain, roles, projects, users and
    assignments exist once, with the right roles.
    """
    first = _boot(session)
    second = _boot(session)
    assert first == second
    assert [r.name for r in identity.list_roles(session)] == ["admin", "member", "reader"]
    assert [p.name for p in identity.list_projects(session)] == ["admin", "demo"]
    assert [u.name for u in identity.list_users(session)] == ["admin", "demo"]
    assert first.admin_user.domain_name == "Default"
    assert [r.name for r in identity.roles_on_project(
        session, first.admin_user.id, first.admin_project.id)] == ["admin"]
    assert first.demo_user is not None and first.demo_project is not None
    assert [r.name for r in identity.roles_on_project(
        session, first.demo_user.id, first.demo_project.id)] == ["member"]


def test_bootstrap_resets_the_admin_password(session: Session) -> None:
    """
    When bootstrap runs again with another password, the new one works and the old not.
    """
    _boot(session)
    identity.bootstrap(session, admin_password="new-pw", now=NOW)
    assert identity.authenticate_password(session, "admin", PASSWORD) is None
    assert identity.authenticate_password(session, "admin", "new-pw") is not None


def test_authenticate_password(session: Session) -> None:
    """
    When a user logs in by name and domain (id or name), the right password
    succeeds and a wrong one, an unknown user or domain, or a disabled user fail.
    """
    boot = _boot(session)
    user = identity.authenticate_password(session, "admin", PASSWORD, domain_name="Default")
    assert user == boot.admin_user
    assert identity.authenticate_password(session, "admin", PASSWORD, domain_id="default")
    assert identity.authenticate_password(session, "admin", "wrong") is None
    assert identity.authenticate_password(session, "nobody", PASSWORD) is None
    assert identity.authenticate_password(session, "admin", PASSWORD, domain_name="x") is None
    identity.create_user(session, name="off", password="pw", enabled=False, now=NOW)
    assert identity.authenticate_password(session, "off", "pw") is None


def test_no_plaintext_password_or_token_stored(session: Session) -> None:
    """
    When users and tokens exist, the raw tables hold neither a password nor a
    token, only an scrypt hash and a SHA-256 digest.
    """
    boot = _boot(session)
    token, record = identity.issue_token(session, boot.admin_user.id, boot.admin_project.id,
                                         now=NOW)
    hashes = session.execute(text("SELECT password_hash FROM identity_users")).scalars().all()
    assert all(h.startswith("scrypt$") and PASSWORD not in h for h in hashes)
    stored = session.execute(text("SELECT * FROM identity_tokens")).all()
    assert len(stored) == 1
    assert not any(token in str(value) for value in stored[0])
    assert stored[0].token_hash == identity.hash_token(token) == record.token_hash
    assert len(token) >= 43  # 32 random bytes, base64url


def test_duplicates_conflict(session: Session) -> None:
    """
    When a user, project or role name is taken in its domain, creating it again is a Conflict.
    """
    _boot(session)
    with pytest.raises(Conflict):
        identity.create_user(session, name="admin", password="x", now=NOW)


def test_duplicate_project_conflicts(session: Session) -> None:
    """
    When a project name is taken in the domain, creating it again is a Conflict.
    """
    _boot(session)
    with pytest.raises(Conflict):
        identity.create_project(session, name="admin", now=NOW)


def test_lookups(session: Session) -> None:
    """
    When users, projects and roles are looked up by id or name, they are
    found, and unknown ones raise NotFound.
    """
    boot = _boot(session)
    assert identity.get_user(session, boot.admin_user.id) == boot.admin_user
    assert identity.get_project(session, boot.admin_project.id) == boot.admin_project
    assert identity.find_project(session, "admin", domain_name="Default") == boot.admin_project
    assert identity.find_role(session, "reader").name == "reader"
    assert identity.list_users(session, name="demo")[0].name == "demo"
    assert boot.demo_user is not None
    assert [p.name for p in identity.list_projects(session, user_id=boot.demo_user.id)] == [
        "demo"]
    for lookup in (lambda: identity.get_user(session, "nope"),
                   lambda: identity.get_project(session, "nope"),
                   lambda: identity.get_role(session, "nope"),
                   lambda: identity.find_user(session, "nope")):
        with pytest.raises(NotFound):
            lookup()


def test_assign_role_is_idempotent(session: Session) -> None:
    """
    When a role is assigned twice, the second time reports it was already there.
    """
    boot = _boot(session)
    reader = identity.find_role(session, "reader")
    assert identity.assign_role(session, boot.admin_user.id, boot.admin_project.id, reader.id)
    assert not identity.assign_role(session, boot.admin_user.id, boot.admin_project.id,
                                    reader.id)
    assert [r.name for r in identity.roles_on_project(
        session, boot.admin_user.id, boot.admin_project.id)] == ["admin", "reader"]


def test_scoped_and_unscoped_tokens(session: Session) -> None:
    """
    When tokens are issued, a scoped one carries the project and a snapshot
    of the roles, an unscoped one neither, and one for a project without a
    role is refused.
    """
    boot = _boot(session)
    token, record = identity.issue_token(session, boot.admin_user.id, boot.admin_project.id,
                                         now=NOW)
    assert record.project == boot.admin_project
    assert record.role_names == {"admin"}
    assert record.expires_at == NOW + timedelta(hours=1)
    assert identity.validate_token(session, token, now=NOW) == record
    token2, unscoped = identity.issue_token(session, boot.admin_user.id, now=NOW)
    assert unscoped.project is None and unscoped.roles == ()
    assert boot.demo_project is not None
    with pytest.raises(identity.NoRoleOnProject):
        identity.issue_token(session, boot.admin_user.id, boot.demo_project.id, now=NOW)


def test_token_expiry_and_revocation(session: Session) -> None:
    """
    When a token expires or is revoked (by token or by user), it no longer validates.
    """
    boot = _boot(session)
    uid, pid = boot.admin_user.id, boot.admin_project.id
    token, _ = identity.issue_token(session, uid, pid, ttl=timedelta(seconds=10), now=NOW)
    assert identity.validate_token(session, token, now=NOW + timedelta(seconds=9))
    assert identity.validate_token(session, token, now=NOW + timedelta(seconds=10)) is None
    token, _ = identity.issue_token(session, uid, pid, now=NOW)
    assert identity.revoke_token(session, token, now=NOW)
    assert not identity.revoke_token(session, token, now=NOW)
    assert identity.validate_token(session, token, now=NOW) is None
    tokens = [identity.issue_token(session, uid, now=NOW)[0] for _ in range(2)]
    assert identity.revoke_user_tokens(session, uid, now=NOW) == 3  # with the expired one
    assert all(identity.validate_token(session, t, now=NOW) is None for t in tokens)
    assert identity.validate_token(session, "not-a-token", now=NOW) is None


def test_ec2_credentials(session: Session) -> None:
    """
    When EC2 credentials are created, they are listed, found by access key
    (with the secret) and deleted; deleting another user's key is NotFound.
    """
    boot = _boot(session)
    uid, pid = boot.admin_user.id, boot.admin_project.id
    cred = identity.create_ec2_credential(session, uid, pid, now=NOW)
    assert len(cred.secret) == 64 and cred.access != cred.secret
    assert identity.list_ec2_credentials(session, uid) == [cred]
    assert identity.get_ec2_credential(session, cred.access) == cred
    assert boot.demo_user is not None
    with pytest.raises(NotFound):
        identity.delete_ec2_credential(session, boot.demo_user.id, cred.access)
    identity.delete_ec2_credential(session, uid, cred.access)
    assert identity.list_ec2_credentials(session, uid) == []
    with pytest.raises(Conflict):
        identity.create_ec2_credential(session, uid, "no-such-project", now=NOW)


def test_password_hashing() -> None:
    """
    When a password is hashed twice, the salts differ, both verify, and a
    wrong password or a garbled hash does not.
    """
    a, b = identity.hash_password("pw"), identity.hash_password("pw")
    assert a != b
    assert identity.verify_password("pw", a) and identity.verify_password("pw", b)
    assert not identity.verify_password("px", a)
    assert not identity.verify_password("pw", "scrypt$garbage")
    assert not identity.verify_password("pw", None)
