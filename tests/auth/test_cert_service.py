"""nova-cert over a real router and SQLite: issue, fetch, revoke, list, publish over HTTP.

nova-cert joins with its own ``cert`` role; the calls come from an admin
session and from nova-api's own identity (role ``api``), as in a deployment.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
import treq
from autobahn.wamp.exception import ApplicationError
from cryptography import x509
from cryptography.x509.oid import NameOID
from sqlalchemy import text

from nova_ws.allinone.identities import with_identities
from nova_ws.auth.ca import rpcapi
from nova_ws.auth.ca.service import CertService
from nova_ws.config import NovaConfig
from nova_ws.db import migrate
from nova_ws.db.engine import create_engine_from_config
from nova_ws.router.service import RouterService
from nova_ws.testing.cloud import cloud_config
from nova_ws.testing.wamp import join


@dataclass
class Rig:
    """A router, nova-cert, an admin session and nova-api's session."""

    router: RouterService
    cert: CertService
    admin: Any
    api: Any


@pytest_twisted.async_yield_fixture
async def rig(tmp_path: Path) -> Any:
    """A router, nova-cert on a fresh CA and database, and the two client sessions."""
    from twisted.internet import reactor

    base = cloud_config(tmp_path, extra="[ca]\nport = 0\ncrl_days = 2\n")
    engine = create_engine_from_config(base.database, state_path=str(tmp_path))
    migrate.upgrade(engine)
    engine.dispose()
    router_config, configs = with_identities(base, ["nova-cert", "nova-api"])
    router = RouterService(router_config, reactor)
    router.startService()
    url = f"ws://127.0.0.1:{router.port('websocket')}/ws"

    def wired(c: NovaConfig) -> NovaConfig:
        return replace(c, wamp=replace(c.wamp, url=url))

    cert = CertService(wired(configs["nova-cert"]), reactor)
    cert.startService()
    await cert.client.when_joined()
    admin = await join(reactor, router, authmethods=["anonymous"])
    api_wamp = configs["nova-api"].wamp
    api = await join(reactor, router, authmethods=["wampcra"], authid=api_wamp.authid,
                     secret=api_wamp.secret)
    yield Rig(router, cert, admin, api)
    admin.leave()
    api.leave()
    await cert.stopService()
    await router.stopService()


def _crl(rig: Rig) -> x509.CertificateRevocationList:
    return x509.load_pem_x509_crl(rig.cert.paths.crl.read_bytes())


@pytest_twisted.ensureDeferred
async def test_first_start_makes_the_ca_and_an_empty_crl(rig: Rig) -> None:
    """When nova-cert first starts, the CA exists (key 0600) and fetch_ca/fetch_crl give it."""
    paths = rig.cert.paths
    assert stat.S_IMODE(paths.key.stat().st_mode) == 0o600
    ca_pem = await rig.api.call(rpcapi.FETCH_CA, project_id="p1")
    assert x509.load_pem_x509_certificate(ca_pem.encode()) == rig.cert.manager.authority.cert
    crl = x509.load_pem_x509_crl((await rig.api.call(rpcapi.FETCH_CRL)).encode())
    assert len(crl) == 0 and crl.issuer == rig.cert.manager.authority.cert.subject


@pytest_twisted.ensureDeferred
async def test_user_certificate_is_recorded_without_its_key(rig: Rig) -> None:
    """When the API asks for a user's certificate, it gets the key once; the DB never has it."""
    answer = await rig.api.call(rpcapi.GENERATE_X509_CERT, "u-1", "p-1")
    cert = x509.load_pem_x509_certificate(answer["certificate"].encode())
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "u-1"
    assert "PRIVATE KEY" in answer["private_key"]
    assert format(cert.serial_number, "x") == answer["serial"]

    def dump(session: Any) -> str:
        return repr(session.execute(text("SELECT * FROM certificates")).fetchall())

    stored = await rig.cert.db.run(dump)
    assert answer["serial"] in stored and "p-1" in stored
    key_body = answer["private_key"].splitlines()[1]
    assert key_body not in stored and "PRIVATE" not in stored
    listed = await rig.admin.call(rpcapi.LIST, user_id="u-1")
    assert [c["serial"] for c in listed] == [answer["serial"]]


@pytest_twisted.ensureDeferred
async def test_revocation_is_in_the_crl_file_and_published_over_http(rig: Rig) -> None:
    """When a certificate is revoked, the CRL file and /crl.pem name it at once."""
    one = await rig.admin.call(rpcapi.ISSUE, "service", "compute-1", role="compute")
    two = await rig.admin.call(rpcapi.ISSUE, "server", "router.example.org",
                               sans=["127.0.0.1"])
    assert await rig.admin.call(rpcapi.REVOKE, one["serial"].upper()) is True
    assert await rig.admin.call(rpcapi.REVOKE, one["serial"]) is False  # already
    crl = _crl(rig)
    assert [entry.serial_number for entry in crl] == [int(one["serial"], 16)]
    assert crl.is_signature_valid(rig.cert.manager.authority.cert.public_key())  # type: ignore
    assert rig.cert.http is not None
    base = f"http://127.0.0.1:{rig.cert.http.port.getHost().port}"
    published = await (await treq.get(f"{base}/crl.pem")).content()
    assert x509.load_pem_x509_crl(published) == crl
    ca = await (await treq.get(f"{base}/ca.pem")).content()
    assert x509.load_pem_x509_certificate(ca) == rig.cert.manager.authority.cert
    missing = await treq.get(f"{base}/private/cakey.pem")
    assert missing.code == 404
    await missing.content()
    revoked = await rig.admin.call(rpcapi.LIST, revoked=True)
    assert [c["serial"] for c in revoked] == [one["serial"]]
    assert two["serial"] not in {c["serial"] for c in revoked}


@pytest_twisted.ensureDeferred
async def test_revoke_by_user_and_project(rig: Rig) -> None:
    """When a user's certificates are revoked, only theirs are, and the CRL names them all."""
    a1 = await rig.api.call(rpcapi.GENERATE_X509_CERT, "alice", "p-1")
    a2 = await rig.api.call(rpcapi.GENERATE_X509_CERT, "alice", "p-2")
    b1 = await rig.api.call(rpcapi.GENERATE_X509_CERT, "bob", "p-1")
    assert await rig.admin.call(rpcapi.REVOKE_BY_USER_AND_PROJECT, "alice", "p-2") == [
        a2["serial"]]
    assert await rig.admin.call(rpcapi.REVOKE_BY_USER, "alice") == [a1["serial"]]
    assert await rig.admin.call(rpcapi.REVOKE_BY_PROJECT, "p-1") == [b1["serial"]]
    assert {e.serial_number for e in _crl(rig)} == {
        int(c["serial"], 16) for c in (a1, a2, b1)}


@pytest.mark.parametrize("args,kwargs,message", [
    (["service", "compute-1"], {}, "role"),
    (["service", "compute.1"], {"role": "compute"}, "URI component"),
    (["client", "x"], {}, "kind"),
    (["server", ""], {}, "name"),
    (["server", "h"], {"sans": "h2"}, "sans"),
    (["server", "h"], {"days": 0}, "days"),
])
@pytest_twisted.ensureDeferred
async def test_bad_requests_are_refused(rig: Rig, args: list[Any], kwargs: dict[str, Any],
                                        message: str) -> None:
    """When an issue request makes no sense, it fails with INVALID and nothing is recorded."""
    with pytest.raises(ApplicationError) as err:
        await rig.admin.call(rpcapi.ISSUE, *args, **kwargs)
    assert err.value.error == rpcapi.INVALID and message in err.value.args[0]
    assert await rig.admin.call(rpcapi.LIST) == []


@pytest_twisted.ensureDeferred
async def test_unknown_serial(rig: Rig) -> None:
    """When an unknown or malformed serial is revoked, the error says which."""
    with pytest.raises(ApplicationError) as err:
        await rig.admin.call(rpcapi.REVOKE, "abc123")
    assert err.value.error == rpcapi.NOT_FOUND
    with pytest.raises(ApplicationError) as err:
        await rig.admin.call(rpcapi.REVOKE, "not-hex")
    assert err.value.error == rpcapi.INVALID
