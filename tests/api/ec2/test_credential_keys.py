"""EC2 secrets at rest: sealed with the key repository's keys, readable after a new key."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cryptography.fernet import Fernet

from nova_ws.api.identity.credential_keys import CredentialKeys
from nova_ws.db.queries.identity import PLAIN


def test_seal_unseal_and_a_new_key(tmp_path: Path) -> None:
    """
    When a secret is sealed it is not in the stored value and unseals; after
    a higher-numbered key is added, new secrets use it and old ones still read.
    """
    repo = tmp_path / "credential-keys"
    keys = CredentialKeys.load_or_create(repo)
    assert stat.S_IMODE(repo.stat().st_mode) == 0o700
    assert stat.S_IMODE((repo / "0").stat().st_mode) == 0o600
    old = keys.seal("secret-1")
    assert old.startswith("fernet:") and "secret-1" not in old
    assert keys.unseal(old) == "secret-1"
    (repo / "1").write_bytes(Fernet.generate_key())
    rotated = CredentialKeys.load_or_create(repo)
    new = rotated.seal("secret-2")
    assert rotated.unseal(old) == "secret-1" and rotated.unseal(new) == "secret-2"
    assert keys.unseal(new) is None  # the old key alone cannot read it
    assert keys.unseal("plain-legacy") == "plain-legacy"
    assert keys.unseal("fernet:garbage") is None
    assert PLAIN.unseal(old) is None and PLAIN.seal("x") == "x"


def test_processes_racing_to_make_the_first_key_agree(tmp_path: Path) -> None:
    """When many make the repository at once, they all end with the same single key."""
    repo = tmp_path / "credential-keys"
    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(lambda _: CredentialKeys.load_or_create(repo), range(16)))
    sealed = made[0].seal("s")
    assert all(k.unseal(sealed) == "s" for k in made)
    assert sorted(p.name for p in repo.iterdir()) == ["0"]
