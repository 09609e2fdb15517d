"""
Tests for L{nova_ws.db.queries.keypairs} on every backend.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from nova_ws.db.errors import Conflict, NotFound
from nova_ws.db.queries import keypairs
from tests.db.conftest import NOW

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample user@host"


def _create(session: Session, user_id: str, name: str) -> keypairs.Keypair:
    return keypairs.create_keypair(session, user_id=user_id, name=name, public_key=KEY,
                                   fingerprint=f"fp-{name}", now=NOW)


def test_create_get_delete(session: Session) -> None:
    """
    When a keypair is created, it reads back; once deleted, it is gone.
    """
    created = _create(session, "u1", "laptop")
    assert (created.name, created.user_id, created.type) == ("laptop", "u1", "ssh")
    assert (created.public_key, created.fingerprint, created.created_at) == (KEY, "fp-laptop", NOW)
    assert keypairs.get_keypair(session, "u1", "laptop") == created
    keypairs.delete_keypair(session, "u1", "laptop")
    with pytest.raises(NotFound):
        keypairs.get_keypair(session, "u1", "laptop")
    with pytest.raises(NotFound):
        keypairs.delete_keypair(session, "u1", "laptop")


def test_names_are_per_user(engine: Engine) -> None:
    """
    When two users use one name, both are kept; when one user reuses it, Conflict.
    """
    with Session(engine) as session:
        _create(session, "u1", "k")
        _create(session, "u2", "k")
        with pytest.raises(Conflict):
            _create(session, "u1", "k")


def test_list_pages(session: Session) -> None:
    """
    When a user's keypairs are listed in pages, they come by name, only theirs.
    """
    for name in ["c", "a", "b", "d"]:
        _create(session, "u1", name)
    _create(session, "u2", "z")
    assert [k.name for k in keypairs.list_keypairs(session, "u1")] == ["a", "b", "c", "d"]
    assert [k.name for k in keypairs.list_keypairs(session, "u1", limit=2)] == ["a", "b"]
    assert [k.name for k in keypairs.list_keypairs(session, "u1", marker="b")] == ["c", "d"]


def test_types(session: Session) -> None:
    """
    When a keypair is x509 it is kept as such; an unknown type is a ValueError.
    """
    x509 = keypairs.create_keypair(session, user_id="u", name="cert", public_key="PEM",
                                   fingerprint="f", type="x509")
    assert x509.type == "x509"
    with pytest.raises(ValueError):
        keypairs.create_keypair(session, user_id="u", name="x", public_key="k",
                                fingerprint="f", type="rsa")


def test_count(session: Session) -> None:
    """
    When keypairs are counted, only the user's count, deleted ones not.
    """
    assert keypairs.count_keypairs(session, "u1") == 0
    for name in ("a", "b"):
        _create(session, "u1", name)
    _create(session, "u2", "a")
    keypairs.delete_keypair(session, "u1", "a")
    assert keypairs.count_keypairs(session, "u1") == 1
    assert keypairs.count_keypairs(session, "u2") == 1
