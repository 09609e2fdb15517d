"""
EC2 secrets at rest: encrypted with Fernet keys from a key repository.

An EC2 signature (SigV4) is an HMAC keyed with the secret, so the verifier
needs the secret itself and a one-way hash cannot be stored. Keystone keeps
such credentials encrypted with the Fernet keys of its credential key
repository; nova_ws does the same: the database holds
C{fernet:<token>} (AES-128-CBC with HMAC-SHA256), and the keys live in
files outside the database, so a copy of the database alone (a backup, a
dump, a read through a hole in a query) does not give away the secrets.

The repository is a directory of key files named by integers
(C{<state_path>/credential-keys/0}, ...), mode 0600 in a 0700 directory,
made on first use. The highest-numbered key encrypts; every key decrypts,
so a new key can be added (a higher number) while the secrets encrypted
with older ones stay readable. Every process that creates or verifies EC2
credentials (C{nova-api}, C{nova-ws ec2-credentials}) must read the same
repository.

A stored value without the C{fernet:} prefix is a secret kept in the clear
(written before encryption, or by a process given no keys); it is still
read as it is.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from nova_ws.config import NovaConfig

PREFIX = "fernet:"
DIRECTORY = "credential-keys"


def repository(config: NovaConfig) -> Path:
    """The key repository of a nova.conf: C{credential-keys} under C{state_path}."""
    return Path(config.default.state_path) / DIRECTORY


class CredentialKeys:
    """
    Seals and unseals EC2 secrets with the keys given, the first being primary.
    (The L{nova_ws.db.queries.identity.SecretCodec} the identity queries use.)
    """

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("at least one credential key is needed")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    @classmethod
    def load_or_create(cls, directory: Path) -> CredentialKeys:
        """
        The keys in C{directory}, making the directory and a first key when
        there are none (safe when several processes race to do it).
        """
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        keys = _read(directory)
        if not keys:
            _create_first(directory)
            keys = _read(directory)
        return cls(keys)

    def seal(self, secret: str) -> str:
        """The value to store for C{secret}."""
        return PREFIX + self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def unseal(self, stored: str) -> str | None:
        """The secret of a stored value; C{None} if no key here can decrypt it."""
        if not stored.startswith(PREFIX):
            return stored
        try:
            return self._fernet.decrypt(stored[len(PREFIX):].encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            return None


def _read(directory: Path) -> list[bytes]:
    """The keys, highest number (the primary) first."""
    numbered = sorted((int(p.name), p) for p in directory.iterdir()
                      if p.name.isdigit() and p.is_file())
    return [path.read_bytes().strip() for _, path in reversed(numbered)]


def _create_first(directory: Path) -> None:
    """Write key C{0} atomically: a private temporary file, hard-linked into place."""
    temporary = directory / f".key-{secrets.token_hex(8)}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(Fernet.generate_key())
        with contextlib.suppress(FileExistsError):  # another process made it first
            os.link(temporary, directory / "0")
    finally:
        temporary.unlink()
