"""The real `openstack` client for keypairs, limits, quotas, server groups and
server events, against a running all-in-one (see test_openstack_client)."""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from cryptography.hazmat.primitives import serialization
from twisted.internet.defer import Deferred, ensureDeferred, gatherResults
from twisted.internet.utils import getProcessOutputAndValue

from nova_ws.testing.allinone import client_env, start_allinone
from tests.api.compute import keys

pytestmark = [pytest.mark.integration, pytest.mark.slow]
OPENSTACK = str(Path(sys.executable).with_name("openstack"))


def _openstack(env: dict[str, str], *args: str, json_out: bool = True) -> Deferred[Any]:
    """Run one command (concurrently with others: each is a process of its own)."""
    return ensureDeferred(_run(env, *args, json_out=json_out))


async def _run(env: dict[str, str], *args: str, json_out: bool = True) -> Any:
    """The command's output (parsed JSON unless told otherwise); it must succeed."""
    from twisted.internet import reactor

    out, err, code = await getProcessOutputAndValue(
        OPENSTACK, [*args, "-f", "json"] if json_out else list(args), env=env,
        reactor=reactor)
    assert code == 0, (args, err.decode())
    return json.loads(out) if json_out else out.decode()


async def _all(commands: list[Deferred[Any]]) -> list[Any]:
    """The outputs of commands running at once."""
    return await gatherResults(commands, consumeErrors=True)


async def _quota(env: dict[str, str], *args: str) -> dict[str, Any]:
    """`quota show` as a mapping of resource to limit."""
    rows = await _openstack(env, "quota", "show", *args)
    return {row["Resource"]: row["Limit"] for row in rows}


def _md5(public_key: str) -> str:
    """Nova's fingerprint of an OpenSSH public key."""
    digest = hashlib.md5(base64.b64decode(public_key.split()[1]),
                         usedforsecurity=False).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


@pytest_twisted.ensureDeferred
async def test_keypairs_quotas_groups_and_events(tmp_path: Path) -> None:
    """When a user manages keypairs, reads limits and quotas, groups servers and lists a
    server's events with the real client, each command works as against Nova."""
    aio = start_allinone(tmp_path)
    env = client_env(aio, tmp_path)
    admin = client_env(aio, tmp_path, admin=True)
    try:
        for name in ("nova-api", "nova-conductor"):
            await aio.service.getServiceNamed(name).client.when_joined()
        # a keypair the client generates (ed25519), one imported, a server group
        private, public_file = tmp_path / "k1.pem", tmp_path / "k2.pub"
        public_file.write_text(keys.RSA)
        made, _, group = await _all([
            _openstack(env, "keypair", "create", "--private-key", str(private), "k1"),
            _openstack(env, "keypair", "create", "--public-key", str(public_file), "k2"),
            _openstack(env, "server", "group", "create", "--policy", "anti-affinity", "g1")])
        key = serialization.load_ssh_private_key(private.read_bytes(), None)
        public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                               serialization.PublicFormat.OpenSSH).decode()
        assert made["fingerprint"] == _md5(public)
        assert group["policy"] == "anti-affinity"

        # a server in the group, with a keypair
        server = await _openstack(env, "server", "create", "--flavor", "m1.tiny", "--image",
                                  "cirros", "--key-name", "k1", "--hint",
                                  f"group={group['id']}", "vm1")
        assert server["key_name"] == "k1"

        listed, groups, events, limit_rows, quota = await _all([
            _openstack(env, "keypair", "list"),
            _openstack(env, "server", "group", "list", "--long"),
            _openstack(env, "server", "event", "list", "vm1"),
            _openstack(env, "limits", "show", "--absolute"),
            ensureDeferred(_quota(env))])
        assert {(k["Name"], k["Fingerprint"]) for k in listed} == {
            ("k1", _md5(public)), ("k2", keys.RSA_MD5)}
        [shown] = groups
        assert (shown["Name"], shown["Policy"]) == ("g1", "anti-affinity")
        assert server["id"] in str(shown["Members"])
        assert [e["Action"] for e in events] == ["create"]
        assert events[0]["Request ID"].startswith("req-")
        limits = {row["Name"]: row["Value"] for row in limit_rows}
        assert (limits["instances"], limits["instances_used"]) == (10, 1)
        assert limits["total_cores_used"] == 1 and limits["server_groups_used"] == 1
        assert (quota["instances"], quota["cores"], quota["ram"]) == (10, 20, 51200)
        assert (quota["key-pairs"], quota["server-groups"]) == (100, 10)

        # an admin changes the project's quota; the user deletes what they made
        await _openstack(admin, "quota", "set", "--instances", "1", "demo", json_out=False)
        usage, _, _ = await _all([
            _openstack(admin, "quota", "show", "--usage", "demo"),
            _openstack(env, "server", "group", "delete", "g1", json_out=False),
            _openstack(env, "keypair", "delete", "k1", "k2", json_out=False)])
        assert {"Resource": "instances", "Limit": 1, "In Use": 1, "Reserved": 0} in usage
    finally:
        await aio.service.stopService()
