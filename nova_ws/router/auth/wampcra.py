"""WAMP-CRA: the client signs a fresh challenge with a shared secret.

The challenge is a JSON string naming the principal, the session, a random
nonce and the time. The client answers ``base64(HMAC-SHA256(key,
challenge))`` where the key is the secret itself or, for a salted principal,
``autobahn.wamp.auth.derive_key(secret, salt, iterations, keylen)``: exactly
what Autobahn's ``compute_wcs`` computes, so any Autobahn client works.

An unknown authid still gets a challenge, shaped like a real principal's and
with a key nobody knows, so a probe cannot tell unknown authids from wrong
secrets.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from autobahn.wamp.auth import derive_key
from zope.interface import implementer

from nova_ws.router.auth.interfaces import Accept, Challenge, Deny, HelloInfo, IAuthenticator

NOT_AUTHORIZED = "wamp.error.not_authorized"


class CraPrincipalLike(Protocol):
    """A static WAMP-CRA principal (``nova_ws.config.CraPrincipal`` fits)."""

    @property
    def authid(self) -> str: ...

    @property
    def role(self) -> str: ...

    @property
    def secret(self) -> str: ...

    @property
    def salt(self) -> str | None: ...

    @property
    def iterations(self) -> int: ...

    @property
    def keylen(self) -> int: ...


@dataclass(frozen=True)
class _Keyed:
    """A principal with its signing key computed once, at startup."""

    role: str
    key: bytes
    salt: str | None
    iterations: int
    keylen: int


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _nonce() -> str:
    return secrets.token_urlsafe(24)


@implementer(IAuthenticator)
class WampCraAuthenticator:
    """Authenticates HELLOs asking for ``wampcra`` against static principals.

    *principals* maps authid to principal; salted keys are derived here,
    once. *now* (aware UTC datetimes) and *nonce* (at least 128 random bits
    as text) are injectable for tests.
    """

    authmethod = "wampcra"

    def __init__(
        self,
        principals: Mapping[str, CraPrincipalLike],
        now: Callable[[], datetime.datetime] = _utc_now,
        nonce: Callable[[], str] = _nonce,
    ) -> None:
        self._principals = {authid: _keyed(p) for authid, p in principals.items()}
        self._now = now
        self._nonce = nonce
        self._decoy_key = secrets.token_bytes(32)
        first = self._principals[min(self._principals)] if self._principals else None
        self._decoy_role = first.role if first else "anonymous"
        self._decoy_salted = first.salt is not None if first else False
        self._decoy_iterations = first.iterations if first else 1000
        self._decoy_keylen = first.keylen if first else 32

    def hello(self, info: HelloInfo) -> Challenge | Deny:
        """Challenge the client; the answer decides. Only a missing authid is denied here."""
        authid = info.authid
        if not authid:
            return Deny(NOT_AUTHORIZED, "wampcra authentication needs an authid")
        principal = self._principals.get(authid) or self._decoy(authid)
        known = authid in self._principals
        challenge = json.dumps(
            {
                "authid": authid,
                "authrole": principal.role,
                "authmethod": self.authmethod,
                "authprovider": "static",
                "session": info.session_id,
                "nonce": self._nonce(),
                "timestamp": _iso(self._now()),
            }
        )
        extra: dict[str, object] = {"challenge": challenge}
        if principal.salt is not None:
            extra.update(
                salt=principal.salt, iterations=principal.iterations, keylen=principal.keylen
            )

        def respond(signature: object, _extra: Mapping[str, object]) -> Accept | Deny:
            verified = _signature_ok(principal.key, challenge, signature)
            if verified and known:
                return Accept(authid, principal.role, self.authmethod, "static")
            return Deny(NOT_AUTHORIZED, f"wampcra signature for {authid!r} did not verify")

        return Challenge(self.authmethod, extra, respond)

    def _decoy(self, authid: str) -> _Keyed:
        """A principal-shaped stand-in for an unknown authid, stable per authid."""
        salt = None
        if self._decoy_salted:
            digest = hmac.new(self._decoy_key, authid.encode("utf-8"), hashlib.sha256)
            salt = digest.hexdigest()[:16]
        return _Keyed(
            self._decoy_role,
            secrets.token_bytes(32),
            salt,
            self._decoy_iterations,
            self._decoy_keylen,
        )


def _keyed(principal: CraPrincipalLike) -> _Keyed:
    if principal.salt:
        key = derive_key(principal.secret, principal.salt, principal.iterations, principal.keylen)
        salt: str | None = principal.salt
    else:
        key, salt = principal.secret.encode("utf-8"), None
    return _Keyed(principal.role, key, salt, principal.iterations, principal.keylen)


def _signature_ok(key: bytes, challenge: str, signature: object) -> bool:
    if isinstance(signature, str):
        signature = signature.encode("ascii", "replace")
    if not isinstance(signature, bytes):
        return False
    expected = base64.b64encode(hmac.new(key, challenge.encode("utf-8"), hashlib.sha256).digest())
    return hmac.compare_digest(expected, signature.strip())


def _iso(moment: datetime.datetime) -> str:
    """``2024-05-01T12:00:00.123Z``, the form Crossbar.io uses."""
    utc = moment.astimezone(datetime.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
