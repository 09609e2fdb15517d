"""Quotas: the [quota] defaults, os-quota-sets, GET /limits, and their
enforcement on server create (instances, cores, ram, metadata, group members)."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_twisted

from nova_ws.api.compute import quotas, servers
from nova_ws.api.errors import Forbidden
from nova_ws.config import ConfigError, QuotaSection, parse_config
from nova_ws.db.queries import instances
from tests.api.compute.conftest import Api, boot, call, server_body

BUILD = "nova.conductor.build_instances"
LIMITS = {"instances": 10, "cores": 20, "ram": 51200}


def test_quota_section_defaults_and_bounds() -> None:
    """When [quota] is absent it has Nova's defaults; -1 is allowed, -2 is not."""
    assert parse_config("").quota == QuotaSection()
    section = parse_config("[quota]\ncores = -1\nkey_pairs = 3\nrecheck_quota = no\n").quota
    assert (section.cores, section.key_pairs, section.recheck_quota) == (-1, 3, False)
    assert quotas.defaults(QuotaSection())["injected_file_path_bytes"] == 255
    with pytest.raises(ConfigError, match=r"\[quota\] ram"):
        parse_config("[quota]\nram = -2\n")
    with pytest.raises(ConfigError, match="unknown option"):
        parse_config("[quota]\nfloating_ips = 1\n")


@pytest.mark.parametrize(("usage", "vcpus", "ram", "lo", "hi", "expected"), [
    ({"instances": 0, "cores": 0, "ram": 0}, 1, 512, 1, 1, 1),
    ({"instances": 9, "cores": 0, "ram": 0}, 1, 512, 1, 5, 1),
    ({"instances": 0, "cores": 18, "ram": 0}, 1, 512, 1, 5, 2),
    ({"instances": 0, "cores": 0, "ram": 50000}, 1, 512, 1, 5, 2),
])
def test_instances_allowed_shrinks_to_what_fits(usage: dict[str, int], vcpus: int, ram: int,
                                                lo: int, hi: int, expected: int) -> None:
    """When max_count does not fit but min_count does, as many as fit are made."""
    assert quotas.instances_allowed(LIMITS, usage, vcpus, ram, lo, hi) == expected


def test_instances_over_quota_message() -> None:
    """When not even min_count fits, the 403 names every resource over, as Nova does."""
    with pytest.raises(Forbidden) as info:
        quotas.instances_allowed(LIMITS, {"instances": 9, "cores": 19, "ram": 0}, 2, 512, 2, 2)
    assert info.value.message == ("Quota exceeded for instances, cores: Requested 2, 2, but "
                                  "already used 9, 19 of 10, 20 instances, cores")
    unlimited = {"instances": -1, "cores": -1, "ram": -1}
    assert quotas.instances_allowed(unlimited, {"instances": 10 ** 6, "cores": 0, "ram": 0},
                                    64, 10 ** 6, 100, 100) == 100


@pytest_twisted.ensureDeferred
async def test_show_defaults_detail_by_microversion(api: Api) -> None:
    """When quotas are read, they are the defaults with Nova's resources per microversion,
    and detail shows use."""
    demo = api.projects["demo"]
    await boot(api)
    shown = (await call(api, "GET", f"/os-quota-sets/{demo}")).body["quota_set"]
    assert shown["id"] == demo and shown["instances"] == 10 and shown["ram"] == 51200
    assert shown["floating_ips"] == -1 and shown["injected_files"] == 5
    newer = (await call(api, "GET", f"/os-quota-sets/{demo}", version="2.57")).body
    assert set(newer["quota_set"]) == {"id", "instances", "cores", "ram", "metadata_items",
                                       "key_pairs", "server_groups", "server_group_members"}
    mid = (await call(api, "GET", f"/os-quota-sets/{demo}", version="2.36")).body["quota_set"]
    assert "floating_ips" not in mid and "injected_files" in mid
    detail = (await call(api, "GET", f"/os-quota-sets/{demo}/detail")).body["quota_set"]
    assert detail["instances"] == {"in_use": 1, "limit": 10, "reserved": 0}
    assert detail["cores"]["in_use"] == 1 and detail["ram"]["in_use"] == 512
    defaults = await call(api, "GET", f"/os-quota-sets/{demo}/defaults", who="reader")
    assert defaults.code == 200 and defaults.body["quota_set"]["cores"] == 20
    assert (await call(api, "GET", f"/os-quota-sets/{demo}", who="reader")).code == 200


@pytest_twisted.ensureDeferred
async def test_quota_policy_and_unknown_projects(api: Api) -> None:
    """When a member reads another project's quotas or changes any, 403; an unknown
    project is 400."""
    demo, alt = api.projects["demo"], api.projects["alt"]
    other = await call(api, "GET", f"/os-quota-sets/{alt}")
    assert other.code == 403
    assert other.body["forbidden"]["message"] == (
        "Policy doesn't allow os_compute_api:os-quota-sets:show to be performed.")
    assert (await call(api, "GET", f"/os-quota-sets/{alt}/detail")).code == 403
    assert (await call(api, "PUT", f"/os-quota-sets/{demo}",
                       {"quota_set": {"cores": 1}})).code == 403
    assert (await call(api, "DELETE", f"/os-quota-sets/{demo}")).code == 403
    unknown = await call(api, "GET", "/os-quota-sets/nope", who="admin")
    assert unknown.code == 400
    assert unknown.body["badRequest"]["message"] == "Project ID nope is not a valid project."
    assert (await call(api, "GET", f"/os-quota-sets/{alt}", who="admin")).code == 200


BAD_UPDATES: list[tuple[Any, str]] = [
    (None, "2.1"), ({}, "2.1"), ({"quota_set": []}, "2.1"), ({"quota_set": {"bogus": 1}}, "2.1"),
    ({"quota_set": {"cores": "x"}}, "2.1"), ({"quota_set": {"cores": -2}}, "2.1"),
    ({"quota_set": {"cores": 2 ** 31}}, "2.1"), ({"quota_set": {"cores": True}}, "2.1"),
    ({"quota_set": {"cores": 1.5}}, "2.1"), ({"quota_set": {"force": "maybe"}}, "2.1"),
    ({"quota_set": {"floating_ips": 1}}, "2.36"), ({"quota_set": {"injected_files": 1}}, "2.57"),
    ({"quota_set": {"cores": 1}, "extra": 1}, "2.1"),
]


@pytest_twisted.ensureDeferred
async def test_update_and_delete(api: Api) -> None:
    """When an admin sets limits they hold (not below use unless forced), bad bodies are
    400, and delete returns the project to the defaults."""
    demo = api.projects["demo"]
    for body, version in BAD_UPDATES:
        answer = await call(api, "PUT", f"/os-quota-sets/{demo}", body, who="admin",
                            version=version)
        assert answer.code == 400, (body, answer.body)
    await boot(api)
    await boot(api)
    below = await call(api, "PUT", f"/os-quota-sets/{demo}", {"quota_set": {"instances": 1}},
                       who="admin")
    assert below.code == 400
    assert below.body["badRequest"]["message"] == (
        "Quota limit 1 for instances must be greater than or equal to already used and "
        "reserved 2.")
    forced = await call(api, "PUT", f"/os-quota-sets/{demo}",
                        {"quota_set": {"instances": "1", "force": "True", "cores": -1}},
                        who="admin")
    assert forced.code == 200 and "id" not in forced.body["quota_set"]
    assert (forced.body["quota_set"]["instances"], forced.body["quota_set"]["cores"]) == (1, -1)
    again = await call(api, "PUT", f"/os-quota-sets/{demo}", {"quota_set": {"instances": 5}},
                       who="admin")
    assert again.body["quota_set"]["instances"] == 5 and again.body["quota_set"]["cores"] == -1
    shown = (await call(api, "GET", f"/os-quota-sets/{demo}")).body["quota_set"]
    assert (shown["instances"], shown["cores"]) == (5, -1)
    other = (await call(api, "GET", f"/os-quota-sets/{api.projects['alt']}", who="admin")
             ).body["quota_set"]
    assert other["instances"] == 10
    assert (await call(api, "DELETE", f"/os-quota-sets/{demo}", who="admin")).code == 202
    assert (await call(api, "GET", f"/os-quota-sets/{demo}")).body["quota_set"]["cores"] == 20


@pytest_twisted.ensureDeferred
async def test_limits_by_microversion(api: Api) -> None:
    """When limits are read, absolute limits and use are the project's, with Nova's names
    for each microversion; tenant_id is an admin's."""
    demo = api.projects["demo"]
    await boot(api)
    await call(api, "POST", "/os-server-groups",
               {"server_group": {"name": "g", "policies": ["affinity"]}})
    old = await call(api, "GET", "/limits")
    assert old.body["limits"]["rate"] == []
    absolute = old.body["limits"]["absolute"]
    assert absolute == {
        "maxTotalRAMSize": 51200, "maxTotalInstances": 10, "maxTotalCores": 20,
        "maxTotalKeypairs": 100, "maxTotalFloatingIps": -1, "maxServerMeta": 128,
        "maxImageMeta": 128, "maxPersonality": 5, "maxPersonalitySize": 10240,
        "maxSecurityGroups": -1, "maxSecurityGroupRules": -1, "maxServerGroups": 10,
        "maxServerGroupMembers": 10, "totalRAMUsed": 512, "totalCoresUsed": 1,
        "totalInstancesUsed": 1, "totalFloatingIpsUsed": 0, "totalSecurityGroupsUsed": 0,
        "totalServerGroupsUsed": 1}
    newest = (await call(api, "GET", "/limits", version="2.57")).body["limits"]["absolute"]
    assert set(newest) == {
        "maxTotalRAMSize", "maxTotalInstances", "maxTotalCores", "maxTotalKeypairs",
        "maxServerMeta", "maxServerGroups", "maxServerGroupMembers", "totalRAMUsed",
        "totalCoresUsed", "totalInstancesUsed", "totalServerGroupsUsed"}
    assert "maxImageMeta" in (await call(api, "GET", "/limits", version="2.38")
                              ).body["limits"]["absolute"]
    await call(api, "PUT", f"/os-quota-sets/{demo}", {"quota_set": {"cores": 7}}, who="admin")
    mine = await call(api, "GET", "/limits")
    assert mine.body["limits"]["absolute"]["maxTotalCores"] == 7
    theirs = await call(api, "GET", f"/limits?tenant_id={demo}", who="admin")
    assert theirs.body["limits"]["absolute"]["maxTotalCores"] == 7
    assert theirs.body["limits"]["absolute"]["totalInstancesUsed"] == 1
    admin_own = await call(api, "GET", "/limits", who="admin")
    assert admin_own.body["limits"]["absolute"]["totalInstancesUsed"] == 0
    refused = await call(api, "GET", f"/limits?tenant_id={demo}")
    assert refused.code == 403
    assert (await call(api, "GET", "/limits?reserved=1")).code == 200
    assert (await call(api, "GET", "/limits?bogus=1", version="2.75")).code == 400


@pytest_twisted.ensureDeferred
async def test_server_create_enforces_quotas(api: Api) -> None:
    """When a create would pass the instances, cores or ram quota it is 403 with
    Nova's message and no row; a range shrinks to what fits."""
    demo = api.projects["demo"]
    await call(api, "PUT", f"/os-quota-sets/{demo}",
               {"quota_set": {"instances": 3, "cores": 4, "ram": 4096}}, who="admin")
    await boot(api)
    over = await call(api, "POST", "/servers", server_body(min_count=3))
    assert over.code == 403
    assert over.body["forbidden"]["message"] == (
        "Quota exceeded for instances: Requested 3, but already used 1 of 3 instances")
    assert len(api.caller.named(BUILD)) == 1
    shrunk = await call(api, "POST", "/servers", server_body(
        name="many", min_count=1, max_count=5, return_reservation_id=True))
    assert shrunk.code == 202
    assert len(api.caller.named(BUILD)[-1][0][0]) == 2
    full = await call(api, "POST", "/servers", server_body(flavorRef="2"))
    assert full.code == 403
    assert full.body["forbidden"]["message"] == (
        "Quota exceeded for instances: Requested 1, but already used 3 of 3 instances")
    await call(api, "PUT", f"/os-quota-sets/{demo}", {"quota_set": {"instances": 10}},
               who="admin")
    ram = await call(api, "POST", "/servers", server_body(flavorRef="3"))
    assert ram.code == 403
    assert ram.body["forbidden"]["message"] == (
        "Quota exceeded for cores, ram: Requested 2, 4096, but already used 3, 1536 of 4, "
        "4096 cores, ram")
    listed = (await call(api, "GET", "/servers")).body["servers"]
    assert sorted(s["name"] for s in listed) == ["many-1", "many-2", "vm"]


@pytest_twisted.ensureDeferred
async def test_metadata_and_group_member_quotas(api: Api) -> None:
    """When metadata has more items than metadata_items, or a group would hold more than
    server_group_members, the create is 403; deleted members do not count."""
    demo = api.projects["demo"]
    await call(api, "PUT", f"/os-quota-sets/{demo}",
               {"quota_set": {"metadata_items": 2, "server_group_members": 2}}, who="admin")
    meta = await call(api, "POST", "/servers", server_body(metadata={"a": "", "b": "", "c": ""}))
    assert meta.code == 403
    assert meta.body["forbidden"]["message"] == "Maximum number of metadata items exceeds 2"
    group = (await call(api, "POST", "/os-server-groups", {"server_group": {
        "name": "g", "policies": ["anti-affinity"]}})).body["server_group"]["id"]
    hints = {"os:scheduler_hints": {"group": group}}
    first = await call(api, "POST", "/servers", {**server_body(max_count=2), **hints})
    assert first.code == 202
    full = await call(api, "POST", "/servers", {**server_body(), **hints})
    assert full.code == 403
    assert full.body["forbidden"]["message"] == "Quota exceeded, too many servers in group"
    members = (await call(api, "GET", f"/os-server-groups/{group}")).body["server_group"]
    await api.db.run(instances.soft_delete_instance, members["members"][0])
    assert (await call(api, "POST", "/servers", {**server_body(), **hints})).code == 202


@pytest_twisted.ensureDeferred
async def test_recheck_finds_and_undoes_a_create_that_went_over(api: Api) -> None:
    """When a project holds more than its quota once rows are written (a concurrent
    create took the room), the recheck is 403 and the undo leaves the rows deleted
    and out of their group."""
    demo = api.projects["demo"]
    section = QuotaSection(instances=2)
    group = (await call(api, "POST", "/os-server-groups", {"server_group": {
        "name": "g", "policies": ["affinity"]}})).body["server_group"]["id"]
    hinted = {**server_body(), "os:scheduler_hints": {"group": group}}
    uuids = [(await call(api, "POST", "/servers", hinted)).body["server"]["id"]
             for _ in range(3)]
    with pytest.raises(Forbidden) as info:
        await api.db.run(quotas.check_instances_after, section, demo)
    assert info.value.message == (
        "Quota exceeded for instances: Requested 0, but already used 3 of 2 instances")
    await api.db.run(servers._discard_rows, uuids[2:], group)
    await api.db.run(quotas.check_instances_after, section, demo)
    gone = await api.db.run(lambda s: instances.get_instance(s, uuids[2], include_deleted=True))
    assert gone.deleted and gone.vm_state == "deleted"
    shown = (await call(api, "GET", f"/os-server-groups/{group}")).body["server_group"]
    assert shown["members"] == uuids[:2]


@pytest_twisted.ensureDeferred
async def test_key_pairs_in_use_per_user(api: Api) -> None:
    """When detail names a user, key_pairs in use are theirs (a project shows none, as in
    Nova); per-user limits cannot be set here (400)."""
    demo = api.projects["demo"]
    made = await call(api, "POST", "/os-keypairs", {"keypair": {"name": "k"}})
    user = made.body["keypair"]["user_id"]
    project = (await call(api, "GET", f"/os-quota-sets/{demo}/detail")).body["quota_set"]
    assert project["key_pairs"]["in_use"] == 0
    theirs = (await call(api, "GET", f"/os-quota-sets/{demo}/detail?user_id={user}")
              ).body["quota_set"]
    assert theirs["key_pairs"] == {"in_use": 1, "limit": 100, "reserved": 0}
    per_user = await call(api, "PUT", f"/os-quota-sets/{demo}?user_id={user}",
                          {"quota_set": {"key_pairs": 5}}, who="admin")
    assert per_user.code == 400
    assert (await call(api, "GET", f"/os-quota-sets/{demo}?bogus=1", version="2.75")
            ).code == 400


def test_unlimited_resources_never_limit() -> None:
    """When some of instances, cores and ram are unlimited, only the others limit."""
    limits = {"instances": -1, "cores": -1, "ram": 2048}
    assert quotas.instances_allowed(limits, {"instances": 7, "cores": 9, "ram": 0}, 4, 512,
                                    1, 10) == 4
    limits = {"instances": 3, "cores": -1, "ram": -1}
    assert quotas.instances_allowed(limits, {"instances": 1, "cores": 9, "ram": 0}, 4, 512,
                                    1, 10) == 2
