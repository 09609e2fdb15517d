"""Keypairs: import (fingerprints checked against ssh-keygen and openssl),
generation, list, show, delete, per-user scope, paging, quota and key_name."""

from __future__ import annotations

import json
from typing import Any

import pytest_twisted
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.compute import keys
from tests.api.compute.conftest import BASE, Api, call, server_body

BUILD = "nova.conductor.build_instances"


def _body(name: Any, public_key: Any = None, **extra: Any) -> dict[str, Any]:
    keypair: dict[str, Any] = {"name": name, **extra}
    if public_key is not None:
        keypair["public_key"] = public_key
    return {"keypair": keypair}


@pytest_twisted.ensureDeferred
async def test_import_computes_novas_fingerprints(api: Api) -> None:
    """When ssh keys and a certificate are imported, their fingerprints are those
    ssh-keygen and openssl compute, and no private key comes back."""
    for name, key, expected in (("ed", keys.ED25519, keys.ED25519_MD5),
                                ("rsa", keys.RSA, keys.RSA_MD5),
                                ("ec", keys.ECDSA, keys.ECDSA_MD5)):
        answer = await call(api, "POST", "/os-keypairs", _body(name, key))
        assert answer.code == 200, answer.body
        kp = answer.body["keypair"]
        assert (kp["name"], kp["public_key"], kp["fingerprint"]) == (name, key, expected)
        assert kp["user_id"] and "private_key" not in kp and "type" not in kp
    cert = await call(api, "POST", "/os-keypairs", _body("cert", keys.CERT, type="x509"),
                      version="2.2")
    assert cert.code == 201
    assert (cert.body["keypair"]["fingerprint"], cert.body["keypair"]["type"]) == (
        keys.CERT_SHA1, "x509")


@pytest_twisted.ensureDeferred
async def test_generated_pairs_match(api: Api) -> None:
    """When no public key is sent (before 2.92), the cloud generates a pair whose
    private key is the public key's, and answers the private key once."""
    answer = await call(api, "POST", "/os-keypairs", _body("gen"))
    assert answer.code == 200
    kp = answer.body["keypair"]
    private = serialization.load_pem_private_key(kp["private_key"].encode(), None)
    public = private.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                               serialization.PublicFormat.OpenSSH).decode()
    assert kp["public_key"] == f"{public} Generated-by-Nova"
    shown = await call(api, "GET", "/os-keypairs/gen")
    assert shown.body["keypair"]["fingerprint"] == kp["fingerprint"]
    assert "private_key" not in shown.body["keypair"]
    cert = await call(api, "POST", "/os-keypairs", _body("wincert", type="x509"),
                      version="2.2")
    assert cert.code == 201
    made = x509.load_pem_x509_certificate(cert.body["keypair"]["public_key"].encode())
    key = serialization.load_pem_private_key(cert.body["keypair"]["private_key"].encode(),
                                             None)
    assert made.public_key() == key.public_key()
    cn = made.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == cert.body["keypair"]["user_id"]


@pytest_twisted.ensureDeferred
async def test_generation_is_gone_at_2_92(api: Api) -> None:
    """When a client at 2.92 sends no public key, 400; names may then use '@' and '.'."""
    answer = await call(api, "POST", "/os-keypairs", _body("gen"), version="2.92")
    assert answer.code == 400 and "'public_key' is a required property" in (
        answer.body["badRequest"]["message"])
    dotted = _body("me@host.example", keys.ED25519)
    assert (await call(api, "POST", "/os-keypairs", dotted, version="2.91")).code == 400
    made = await call(api, "POST", "/os-keypairs", dotted, version="2.92")
    assert made.code == 201 and "private_key" not in made.body["keypair"]


BAD: list[tuple[Any, str]] = [
    (None, "2.1"), ([], "2.1"), ({"keypair": None}, "2.1"), ({"keypair": {}}, "2.1"),
    (_body(""), "2.1"), (_body(" k"), "2.1"), (_body("a/b"), "2.1"), (_body("x" * 256), "2.1"),
    (_body(5), "2.1"), (_body("k", 5), "2.1"), (_body("k", "not a key"), "2.1"),
    (_body("k", "ssh-rsa AAAA"), "2.1"), (_body("k", keys.ED25519, type="ssh"), "2.1"),
    (_body("k", keys.ED25519, type="pgp"), "2.2"), (_body("k", keys.ED25519, bogus=1), "2.2"),
    (_body("k", keys.ED25519, user_id="u"), "2.9"), (_body("k", "nonsense", type="x509"), "2.2"),
    (_body("k", keys.CERT, type="ssh"), "2.2"), ({**_body("k", keys.ED25519), "x": 1}, "2.1"),
]


@pytest_twisted.ensureDeferred
async def test_bad_creates_are_400(api: Api) -> None:
    """When a create body or key is wrong in any way, the answer is 400 badRequest."""
    for body, version in BAD:
        answer = await call(api, "POST", "/os-keypairs", body, version=version)
        assert answer.code == 400, (body, answer.body)
        assert answer.body["badRequest"]["message"]
    bad_key = await call(api, "POST", "/os-keypairs", _body("k", "not a key"))
    assert bad_key.body["badRequest"]["message"] == (
        "Keypair data is invalid: failed to generate fingerprint")
    assert (await call(api, "GET", "/os-keypairs")).body == {"keypairs": []}


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.dictionaries(st.sampled_from(["keypair", "x"]), st.dictionaries(
    st.sampled_from(["name", "public_key", "type", "user_id", "x"]),
    st.none() | st.integers() | st.text(max_size=12) | st.sampled_from(
        [keys.ED25519, keys.CERT, "ssh", "x509"]), max_size=4), max_size=2))
def test_random_creates_never_500(api: Api, body: Any) -> None:
    """When random JSON is posted to /os-keypairs, the answer is never a server error."""
    answers: list[Any] = []
    client: Any = api.client
    d = client.request("POST", BASE + "/v2.1/os-keypairs", data=json.dumps(body).encode(),
                       headers={"X-Auth-Token": [api.tokens["member"]],
                                "OpenStack-API-Version": ["compute 2.92"],
                                "Content-Type": ["application/json"]})
    d.addCallback(answers.append)
    api.client.flush()
    assert answers and answers[0].code < 500, body


@pytest_twisted.ensureDeferred
async def test_list_show_delete_by_microversion(api: Api) -> None:
    """When keypairs are listed, shown and deleted, the shapes and codes are Nova's
    for 2.1 and 2.2, and a deleted or unknown keypair is 404."""
    await call(api, "POST", "/os-keypairs", _body("b", keys.RSA))
    await call(api, "POST", "/os-keypairs", _body("a", keys.ED25519))
    old = await call(api, "GET", "/os-keypairs")
    assert [k["keypair"] for k in old.body["keypairs"]] == [
        {"name": "a", "public_key": keys.ED25519, "fingerprint": keys.ED25519_MD5},
        {"name": "b", "public_key": keys.RSA, "fingerprint": keys.RSA_MD5}]
    new = await call(api, "GET", "/os-keypairs", version="2.2")
    assert {k["keypair"]["type"] for k in new.body["keypairs"]} == {"ssh"}
    shown = (await call(api, "GET", "/os-keypairs/a", version="2.2")).body["keypair"]
    assert set(shown) == {"name", "public_key", "fingerprint", "user_id", "type", "id",
                          "created_at", "updated_at", "deleted", "deleted_at"}
    assert shown["deleted"] is False and shown["created_at"][10] == "T"
    assert (await call(api, "DELETE", "/os-keypairs/a")).code == 202
    assert (await call(api, "DELETE", "/os-keypairs/b", version="2.2")).code == 204
    gone = await call(api, "GET", "/os-keypairs/a")
    assert gone.code == 404
    assert gone.body["itemNotFound"]["message"] == (
        f"Keypair a not found for user {shown['user_id']}")
    assert (await call(api, "DELETE", "/os-keypairs/a")).code == 404
    assert (await call(api, "GET", "/os-keypairs")).body == {"keypairs": []}


@pytest_twisted.ensureDeferred
async def test_names_are_per_user_and_duplicates_409(api: Api) -> None:
    """When a user reuses a name, 409; another user may use it; nobody sees another's."""
    assert (await call(api, "POST", "/os-keypairs", _body("k", keys.RSA))).code == 200
    again = await call(api, "POST", "/os-keypairs", _body("k", keys.ED25519))
    assert again.code == 409
    assert again.body["conflictingRequest"]["message"] == "Key pair 'k' already exists."
    assert (await call(api, "POST", "/os-keypairs", _body("k", keys.RSA), who="other")
            ).code == 200
    assert len((await call(api, "GET", "/os-keypairs", who="other")).body["keypairs"]) == 1
    assert (await call(api, "DELETE", "/os-keypairs/k", who="other")).code == 202
    assert (await call(api, "GET", "/os-keypairs/k")).code == 200


@pytest_twisted.ensureDeferred
async def test_admin_names_another_user_from_2_10(api: Api) -> None:
    """When an admin passes user_id (2.10+), the keypairs are that user's; a member
    naming another user is refused; before 2.10 user_id is ignored."""
    mine = await call(api, "POST", "/os-keypairs", _body("m", keys.RSA))
    member = mine.body["keypair"]["user_id"]
    made = await call(api, "POST", "/os-keypairs", _body("given", keys.ED25519,
                                                         user_id=member), who="admin",
                      version="2.10")
    assert made.code == 201 and made.body["keypair"]["user_id"] == member
    names = {k["keypair"]["name"] for k in (await call(
        api, "GET", f"/os-keypairs?user_id={member}", who="admin", version="2.10")
    ).body["keypairs"]}
    assert names == {"m", "given"}
    assert (await call(api, "GET", f"/os-keypairs?user_id={member}", who="admin",
                       version="2.9")).body["keypairs"] == []
    assert (await call(api, "GET", f"/os-keypairs/given?user_id={member}", who="admin",
                       version="2.10")).code == 200
    refused = await call(api, "GET", "/os-keypairs?user_id=someone", version="2.10")
    assert refused.code == 403
    assert refused.body["forbidden"]["message"] == (
        "Policy doesn't allow os_compute_api:os-keypairs:index to be performed.")
    assert (await call(api, "DELETE", "/os-keypairs/given?user_id=x", version="2.10")
            ).code == 403
    assert (await call(api, "DELETE", f"/os-keypairs/given?user_id={member}", who="admin",
                       version="2.10")).code == 204


@pytest_twisted.ensureDeferred
async def test_paging_from_2_35(api: Api) -> None:
    """When a limit is given at 2.35, pages follow names with a next link; an unknown
    marker is 400; from 2.75 unknown parameters are 400."""
    for name in ("k3", "k1", "k2"):
        await call(api, "POST", "/os-keypairs", _body(name, keys.RSA))
    first = await call(api, "GET", "/os-keypairs?limit=2", version="2.35")
    assert [k["keypair"]["name"] for k in first.body["keypairs"]] == ["k1", "k2"]
    [link] = first.body["keypairs_links"]
    assert link == {"rel": "next", "href": f"{BASE}/v2.1/os-keypairs?limit=2&marker=k2"}
    second = await call(api, "GET", "/os-keypairs?limit=2&marker=k2", version="2.35")
    assert [k["keypair"]["name"] for k in second.body["keypairs"]] == ["k3"]
    assert "keypairs_links" not in second.body
    ignored = await call(api, "GET", "/os-keypairs?limit=1", version="2.34")
    assert len(ignored.body["keypairs"]) == 3 and "keypairs_links" not in ignored.body
    for query in ("limit=x", "limit=-1", "marker=nope"):
        assert (await call(api, "GET", f"/os-keypairs?{query}", version="2.35")).code == 400
    assert (await call(api, "GET", "/os-keypairs?bogus=1", version="2.74")).code == 200
    strict = await call(api, "GET", "/os-keypairs?bogus=1", version="2.75")
    assert strict.code == 400


@pytest_twisted.ensureDeferred
async def test_key_pairs_quota(api: Api) -> None:
    """When a user holds as many keypairs as the key_pairs quota, another is 403."""
    demo = api.projects["demo"]
    set_quota = await call(api, "PUT", f"/os-quota-sets/{demo}",
                           {"quota_set": {"key_pairs": 1}}, who="admin")
    assert set_quota.code == 200
    assert (await call(api, "POST", "/os-keypairs", _body("one", keys.RSA))).code == 200
    over = await call(api, "POST", "/os-keypairs", _body("two", keys.RSA))
    assert over.code == 403
    assert over.body["forbidden"]["message"] == "Quota exceeded, too many key pairs."
    assert (await call(api, "POST", "/os-keypairs", _body("two", keys.RSA), who="other")
            ).code == 200


@pytest_twisted.ensureDeferred
async def test_server_key_name_resolves_to_the_users_keypair(api: Api) -> None:
    """When a server names a keypair, it must be the asker's: else 400, no row made."""
    await call(api, "POST", "/os-keypairs", _body("theirs", keys.RSA), who="other")
    missing = await call(api, "POST", "/servers", server_body(key_name="theirs"))
    assert missing.code == 400
    assert missing.body["badRequest"]["message"] == "Invalid key_name provided."
    await call(api, "POST", "/os-keypairs", _body("mine", keys.RSA))
    made = await call(api, "POST", "/servers", server_body(key_name="mine"))
    assert made.code == 202
    shown = await call(api, "GET", f"/servers/{made.body['server']['id']}")
    assert shown.body["server"]["key_name"] == "mine"
    assert len(api.caller.named(BUILD)) == 1
