"""Tests for WAMP-CRA, checked against the signatures Autobahn's own client computes."""

from __future__ import annotations

import base64
import datetime
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from autobahn.wamp import types
from autobahn.wamp.auth import AuthWampCra, compute_wcs, derive_key
from zope.interface.verify import verifyObject

from nova_ws.router.auth.interfaces import (
    Accept,
    Challenge,
    Deny,
    HelloInfo,
    IAuthenticator,
    TransportInfo,
)
from nova_ws.router.auth.wampcra import WampCraAuthenticator

NOW = datetime.datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=datetime.UTC)


@dataclass(frozen=True)
class Principal:
    authid: str
    role: str
    secret: str
    salt: str | None = None
    iterations: int = 1000
    keylen: int = 32


PRINCIPALS = {
    "compute-1": Principal("compute-1", "compute", "plain-secret"),
    "conductor": Principal("conductor", "conductor", "salted-secret", "pepper", 100, 16),
}


def hello(authid: str | None, session_id: int = 7) -> HelloInfo:
    return HelloInfo("nova", authid, None, {}, session_id, TransportInfo("tcp4:127.0.0.1:1"))


def nonces() -> Iterator[str]:
    for n in range(1000):
        yield f"nonce-{n}"


def authenticator(**kwargs: Any) -> WampCraAuthenticator:
    fixed = nonces()
    kwargs.setdefault("now", lambda: NOW)
    kwargs.setdefault("nonce", lambda: next(fixed))
    return WampCraAuthenticator(PRINCIPALS, **kwargs)


def challenge_for(auth: WampCraAuthenticator, authid: str | None) -> Challenge:
    result = auth.hello(hello(authid))
    assert isinstance(result, Challenge), result
    assert result.method == "wampcra"
    return result


def autobahn_signature(secret: str, challenge: Challenge) -> str:
    """What an Autobahn client with *secret* answers to *challenge*."""
    client = AuthWampCra(authid="ignored", secret=secret)
    return client.on_challenge(None, types.Challenge("wampcra", dict(challenge.extra)))


def test_provides_interface() -> None:
    """When built, a WampCraAuthenticator provides IAuthenticator with authmethod 'wampcra'."""
    auth = WampCraAuthenticator({})
    assert verifyObject(IAuthenticator, auth) and auth.authmethod == "wampcra"


def test_unsalted_challenge_content() -> None:
    """When an unsalted principal says HELLO, the challenge names it, the session and a nonce."""
    challenge = challenge_for(authenticator(), "compute-1")
    assert set(challenge.extra) == {"challenge"}
    assert json.loads(challenge.extra["challenge"]) == {
        "authid": "compute-1",
        "authrole": "compute",
        "authmethod": "wampcra",
        "authprovider": "static",
        "session": 7,
        "nonce": "nonce-0",
        "timestamp": "2024-05-01T12:30:15.123Z",
    }


def test_salted_challenge_carries_derivation_parameters() -> None:
    """When a salted principal says HELLO, salt, iterations and keylen come with the challenge."""
    extra = challenge_for(authenticator(), "conductor").extra
    assert (extra["salt"], extra["iterations"], extra["keylen"]) == ("pepper", 100, 16)


def test_timestamp_is_utc() -> None:
    """When the clock gives a non-UTC time, the challenge's timestamp is the same instant in UTC."""
    local = NOW.astimezone(datetime.timezone(datetime.timedelta(hours=-5)))
    challenge = challenge_for(authenticator(now=lambda: local), "compute-1")
    stamp = json.loads(challenge.extra["challenge"])["timestamp"]
    assert stamp == "2024-05-01T12:30:15.123Z"


@pytest.mark.parametrize("authid", ["compute-1", "conductor"])
def test_autobahn_client_signature_accepted(authid: str) -> None:
    """When an Autobahn client signs with the right secret, salted or not, it joins."""
    challenge = challenge_for(authenticator(), authid)
    signature = autobahn_signature(PRINCIPALS[authid].secret, challenge)
    assert challenge.respond(signature, {}) == Accept(
        authid, PRINCIPALS[authid].role, "wampcra", "static"
    )


def test_compute_wcs_with_derive_key_accepted() -> None:
    """When the signature is compute_wcs over derive_key's key, the salted principal joins."""
    challenge = challenge_for(authenticator(), "conductor")
    key = derive_key("salted-secret", "pepper", 100, 16)
    signature = compute_wcs(key, challenge.extra["challenge"])
    assert isinstance(challenge.respond(signature, {}), Accept)
    assert isinstance(challenge.respond(signature.decode("ascii"), {}), Accept)


@pytest.mark.parametrize(
    ("authid", "signature_of"),
    [
        ("compute-1", lambda ch: autobahn_signature("wrong-secret", ch)),
        ("conductor", lambda ch: autobahn_signature("wrong-secret", ch)),
        # The unsalted HMAC with the right secret is wrong for a salted principal.
        ("conductor", lambda ch: compute_wcs(b"salted-secret", ch.extra["challenge"]).decode()),
        ("compute-1", lambda ch: ""),
        ("compute-1", lambda ch: None),
        ("compute-1", lambda ch: "not base64 at all"),
    ],
)
def test_wrong_signature_denied(authid: str, signature_of: Any) -> None:
    """When the signature is not the right one, the session is denied."""
    challenge = challenge_for(authenticator(), authid)
    result = challenge.respond(signature_of(challenge), {})
    assert isinstance(result, Deny) and result.reason == "wamp.error.not_authorized"


def test_signature_of_another_challenge_denied() -> None:
    """When a client replays the signature of an earlier challenge, it is denied."""
    auth = WampCraAuthenticator(PRINCIPALS)
    first, second = challenge_for(auth, "compute-1"), challenge_for(auth, "compute-1")
    assert first.extra["challenge"] != second.extra["challenge"]
    replayed = autobahn_signature("plain-secret", first)
    assert isinstance(first.respond(replayed, {}), Accept)
    assert isinstance(second.respond(replayed, {}), Deny)


def test_default_nonce_has_at_least_128_bits() -> None:
    """When no nonce source is given, each challenge carries a fresh nonce of >= 128 bits."""
    auth = WampCraAuthenticator(PRINCIPALS)
    seen = {
        json.loads(challenge_for(auth, "compute-1").extra["challenge"])["nonce"] for _ in range(20)
    }
    assert len(seen) == 20
    for nonce in seen:
        assert len(base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))) >= 16


def test_unknown_authid_is_challenged_like_a_known_one_then_denied() -> None:
    """When the authid is unknown, a principal-shaped challenge comes, and any answer is denied."""
    auth = authenticator()
    known = challenge_for(auth, "compute-1")
    unknown = challenge_for(auth, "mallory")
    assert set(unknown.extra) == set(known.extra)
    fields = json.loads(unknown.extra["challenge"])
    assert set(fields) == set(json.loads(known.extra["challenge"]))
    assert fields["authid"] == "mallory" and fields["authprovider"] == "static"
    wrong = known.respond(autobahn_signature("nope", known), {})
    assert isinstance(wrong, Deny)
    for secret in ("plain-secret", "salted-secret", ""):
        result = unknown.respond(autobahn_signature(secret, unknown), {})
        assert isinstance(result, Deny)
        assert result.message.replace("mallory", "X") == wrong.message.replace("compute-1", "X")


def test_unknown_authid_salt_is_stable() -> None:
    """When salted principals exist, an unknown authid gets the same salt on every HELLO."""
    auth = WampCraAuthenticator({"conductor": PRINCIPALS["conductor"]})
    first, second = challenge_for(auth, "mallory"), challenge_for(auth, "mallory")
    other = challenge_for(auth, "trudy")
    assert first.extra["salt"] == second.extra["salt"] != other.extra["salt"]
    assert (first.extra["iterations"], first.extra["keylen"]) == (100, 16)


def test_hello_without_authid_denied() -> None:
    """When HELLO names no authid, wampcra is denied at once."""
    result = authenticator().hello(hello(None))
    assert isinstance(result, Deny) and "authid" in result.message
