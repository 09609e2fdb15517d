"""
The EC2 actions, on the Compute API's own handlers.

RunInstances is C{POST /servers} (L{Servers.create}: the same validation,
quotas, rows and conductor call); TerminateInstances is C{DELETE
/servers/{id}} (L{Servers.delete}); Start, Stop and RebootInstances and
GetConsoleOutput are the server actions (L{Actions.run}), so every change
goes through the conductor's state machine over WAMP, as from the Compute
API; DescribeAvailabilityZones is C{os-availability-zone}
(L{Services.zones}). Only the lookups EC2 needs of its own (ids, filters,
reservations) read the database here, through L{Database.run}.

Each action takes the request context and the parameters and returns the
body of its XML answer; a refusal is an L{Ec2Error}.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from autobahn.wamp.exception import ApplicationError
from twisted.internet.defer import DeferredList, ensureDeferred
from twisted.python.failure import Failure

from nova_ws.api.compute.actions import Actions
from nova_ws.api.compute.bodies import MAX_COUNT
from nova_ws.api.compute.context import RequestContext
from nova_ws.api.compute.servers import Servers
from nova_ws.api.compute.services import Services
from nova_ws.api.ec2 import ids, views
from nova_ws.api.ec2.errors import (
    Ec2Error,
    dry_run,
    from_fault,
    instance_not_found,
    invalid_value,
    missing,
    unauthorized,
)
from nova_ws.api.ec2.params import Params, check, passes
from nova_ws.api.errors import Conflict, Fault
from nova_ws.api.microversions import Version
from nova_ws.compute import states
from nova_ws.db import errors as db_errors
from nova_ws.db.queries import ec2 as ec2_queries
from nova_ws.db.queries import flavors, images, instances
from nova_ws.db.queries.instances import Instance

#: The microversion the EC2 actions call the Compute handlers at (networks: none).
COMPUTE_VERSION = Version(2, 37)
#: How long terminated instances stay visible, as in EC2.
TERMINATED_VISIBLE = timedelta(hours=1)
DEFAULT_INSTANCE_TYPE = "m1.small"
DEFAULT_NAME = "ec2-instance"
MAX_USER_DATA = 16384


@dataclass(frozen=True)
class Change:
    """How a state-changing action runs: its conductor action and the Compute body."""

    action: str  # the conductor's action, for the state machine's pre-check
    body: dict[str, Any] | None  # the server action body; None: delete
    settled: tuple[str, str | None] | None  # (vm_state, task_state) that needs nothing


CHANGES = {
    "TerminateInstances": Change("delete", None, ("deleted", None)),
    "StartInstances": Change("start", {"os-start": None}, ("active", None)),
    "StopInstances": Change("stop", {"os-stop": None}, ("stopped", None)),
    "RebootInstances": Change("reboot", {"reboot": {"type": "SOFT"}}, None),
}


async def _compute(call: Awaitable[Any], instance_id: str | None = None) -> Any:
    """Await a Compute handler; its faults become EC2 errors."""
    try:
        return await call
    except Fault as fault:
        raise from_fault(fault, instance_id) from fault


class Ec2Actions:
    """The actions; C{clock} (C{IReactorTime}) says what "recently terminated" is."""

    def __init__(self, db: Any, servers: Servers, actions: Actions, services: Services,
                 clock: Any, region: str) -> None:
        self.db = db
        self.servers = servers
        self.actions = actions
        self.services = services
        self.clock = clock
        self.region = region
        self.handlers: dict[str, Callable[[RequestContext, Params],
                                          Awaitable[dict[str, Any]]]] = {
            "DescribeInstances": self.describe_instances,
            "RunInstances": self.run_instances,
            "TerminateInstances": self.change("TerminateInstances"),
            "StartInstances": self.change("StartInstances"),
            "StopInstances": self.change("StopInstances"),
            "RebootInstances": self.reboot_instances,
            "GetConsoleOutput": self.get_console_output,
            "DescribeImages": self.describe_images,
            "DescribeAvailabilityZones": self.describe_availability_zones,
        }

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.seconds(), UTC)

    # -- lookups -------------------------------------------------------------------

    async def _instances(self, ctx: RequestContext, wanted: list[str]) -> list[Instance]:
        """
        The instances of the EC2 ids (live or recently terminated, that the
        context may see), in the order asked, each once.

        @raise Ec2Error: an id is malformed, or names no such instance.
        """
        unique = list(dict.fromkeys(i.strip().lower() for i in wanted))
        prefixes = [ids.uuid_prefix(i) for i in unique]
        since = self._now() - TERMINATED_VISIBLE
        found = await self.db.run(lambda s: ec2_queries.find_instances(
            s, uuid_prefixes=prefixes, terminated_since=since))
        by_id: dict[str, list[Instance]] = {}
        for inst in found:
            if ctx.may_see(inst.project_id):
                by_id.setdefault(ids.instance_id(inst.uuid), []).append(inst)
        absent = [i for i in unique if i not in by_id]
        if absent:
            raise instance_not_found(absent)
        return [inst for i in unique for inst in by_id[i]]

    async def _visible_images(self, ctx: RequestContext) -> list[images.Image]:
        visible_to = None if ctx.is_admin else ctx.project_id
        result: list[images.Image] = await self.db.run(
            lambda s: images.list_images(s, visible_to=visible_to))
        return result

    # -- instances -----------------------------------------------------------------

    async def describe_instances(self, ctx: RequestContext, p: Params) -> dict[str, Any]:
        """The instances asked for (default: the project's), by reservation."""
        wanted = p.strings("InstanceId")
        filters = p.filters()
        check(filters, views.INSTANCE_FILTERS, ("tag:",))
        limit = p.integer("MaxResults", 5, 1000)
        token = p.get("NextToken")
        if wanted and limit is not None:
            raise Ec2Error("InvalidParameterCombination",
                           "The parameter instancesSet cannot be used with the parameter "
                           "maxResults")
        if wanted:
            found = await self._instances(ctx, wanted)
        else:
            since = self._now() - TERMINATED_VISIBLE
            found = await self.db.run(lambda s: ec2_queries.find_instances(
                s, project_id=ctx.project_id, terminated_since=since))
        found = [inst for inst in found if passes(filters, views.instance_fields(inst))]
        if token:
            position = next((n for n, inst in enumerate(found)
                             if ids.instance_id(inst.uuid) == token), None)
            if position is None:
                raise invalid_value("NextToken", token)
            found = found[position + 1:]
        next_token = None
        if limit is not None and len(found) > limit:
            found = found[:limit]
            next_token = ids.instance_id(found[-1].uuid)
        if p.boolean("DryRun"):
            raise dry_run()
        return {"reservationSet": views.reservations(found), "nextToken": next_token}

    async def run_instances(self, ctx: RequestContext, p: Params) -> dict[str, Any]:
        """Boot instances as C{POST /servers} does, in one reservation."""
        if not ctx.can_write:
            raise unauthorized()
        ami = p.require("ImageId")
        ids.uuid_prefix(ami, ids.IMAGE)
        image = next((i for i in await self._visible_images(ctx)
                      if ids.image_id(i.uuid) == ami.strip().lower()), None)
        if image is None:
            raise Ec2Error("InvalidAMIID.NotFound", f"The image id '[{ami}]' does not exist")
        flavor = await self._flavor(p.get("InstanceType") or DEFAULT_INSTANCE_TYPE)
        for name in ("MinCount", "MaxCount"):
            if name not in p:
                raise missing(name)
        min_count = p.integer("MinCount", 1, MAX_COUNT)
        max_count = p.integer("MaxCount", 1, MAX_COUNT)
        assert min_count is not None and max_count is not None
        if min_count > max_count:
            raise invalid_value("MinCount", min_count, "MinCount must be <= MaxCount.")
        metadata = self._tags(p)
        server: dict[str, Any] = {
            "name": metadata.get("Name") or DEFAULT_NAME, "imageRef": image.uuid,
            "flavorRef": flavor.flavorid, "min_count": min_count, "max_count": max_count,
            "metadata": metadata, "networks": "none", "return_reservation_id": True}
        for name, key in (("KeyName", "key_name"),
                          ("Placement.AvailabilityZone", "availability_zone")):
            if p.get(name):
                server[key] = p.get(name)
        user_data = p.get("UserData")
        if user_data:
            server["user_data"] = _user_data(user_data)
        token = _client_token(p)
        if p.boolean("DryRun"):
            raise dry_run()
        project = ctx.project_id
        if token is None:
            reservation = await self._boot(ctx, server)
        else:
            reservation = await self._boot_once(ctx, server, token, _request_digest(p))
        made = await self.db.run(lambda s: ec2_queries.find_instances(
            s, project_id=project, reservation_id=reservation,
            terminated_since=self._now() - TERMINATED_VISIBLE))
        return {"reservationId": reservation, "ownerId": project, "groupSet": [],
                "instancesSet": [views.instance(inst) for inst in made]}

    async def _boot(self, ctx: RequestContext, server: dict[str, Any]) -> str:
        _, answer = await _compute(self.servers.create(ctx, COMPUTE_VERSION, {"server": server}))
        return str(answer["reservation_id"])

    async def _boot_once(self, ctx: RequestContext, server: dict[str, Any], token: str,
                         digest: str) -> str:
        """Boot for the first request with ``token``; a retry gets the same reservation."""
        project = ctx.project_id
        try:
            await self.db.run(ec2_queries.claim_client_token, project, token, digest)
        except db_errors.Conflict:
            claimed = await self.db.run(ec2_queries.get_client_token, project, token)
            if claimed is None:  # released meanwhile (that boot failed): try again
                return await self._boot_once(ctx, server, token, digest)
            if claimed.request_digest != digest:
                raise Ec2Error("IdempotentParameterMismatch",
                               f"The client token '{token}' was used by a request with "
                               "other parameters.") from None
            if claimed.reservation_id is None:
                raise Ec2Error("IncorrectState", f"The request with client token '{token}' "
                               "is still in progress; retry it.") from None
            return claimed.reservation_id
        reservation: str | None = None
        try:
            reservation = await self._boot(ctx, server)
        finally:  # a failed boot releases the token, so that a retry may boot
            await self.db.run(ec2_queries.settle_client_token, project, token, reservation)
        return reservation

    async def _flavor(self, name: str) -> flavors.Flavor:
        try:
            found: flavors.Flavor = await self.db.run(flavors.get_flavor_by_name, name)
        except db_errors.NotFound:
            raise invalid_value("InstanceType", name) from None
        return found

    def _tags(self, p: Params) -> dict[str, str]:
        """The instance tags of C{TagSpecification.N} (an instance's metadata)."""
        tags: dict[str, str] = {}
        for index in sorted({i for i, _ in p.indexed("TagSpecification")}):
            base = f"TagSpecification.{index}"
            kind = p.get(f"{base}.ResourceType")
            if kind != "instance":
                raise invalid_value(f"{base}.ResourceType", kind,
                                    "Only instances can be tagged here.")
            tags.update(p.tags(f"{base}.Tag"))
        return tags

    def change(self, name: str) -> Callable[[RequestContext, Params],
                                            Awaitable[dict[str, Any]]]:
        """The handler of Terminate, Start or StopInstances."""
        async def handler(ctx: RequestContext, p: Params) -> dict[str, Any]:
            return {"instancesSet": await self._change(ctx, p, CHANGES[name])}
        return handler

    async def reboot_instances(self, ctx: RequestContext, p: Params) -> dict[str, Any]:
        """Soft reboots (EC2 answers only C{true})."""
        await self._change(ctx, p, CHANGES["RebootInstances"])
        return {"return": True}

    async def _change(self, ctx: RequestContext, p: Params, change: Change
                      ) -> list[dict[str, Any]]:
        """
        Check every instance's state first (EC2 changes all or none when it
        can tell), then change them all at once; the answer has each one's
        state before and after.
        """
        wanted = p.strings("InstanceId")
        if not wanted:
            raise missing("InstanceId")
        found = await self._instances(ctx, wanted)
        if not ctx.can_write:
            raise unauthorized()
        todo = []
        for inst in found:
            if inst.deleted or (inst.vm_state, inst.task_state) == change.settled:
                if inst.deleted and change.action != "delete":
                    raise _incorrect_state(inst, "it is terminated")
                continue
            try:
                states.check(change.action, inst.vm_state, inst.task_state)
            except states.InvalidState as exc:
                raise _incorrect_state(inst, str(exc)) from None
            todo.append(inst)
        if p.boolean("DryRun"):
            raise dry_run()
        after = dict(zip([i.uuid for i in todo],
                         await _all([self._run(ctx, inst, change) for inst in todo]),
                         strict=True))
        return [views.state_change(ids.instance_id(inst.uuid), views.state(inst),
                                   views.state(after.get(inst.uuid, inst)))
                for inst in found]

    async def _run(self, ctx: RequestContext, inst: Instance, change: Change) -> Instance:
        ec2_id = ids.instance_id(inst.uuid)
        if change.body is None:
            await _compute(self.servers.delete(ctx, inst.uuid), ec2_id)
        else:
            await _compute(self.actions.run(ctx, inst.uuid, change.body), ec2_id)
        current: Instance = await self.db.run(
            lambda s: instances.get_instance(s, inst.uuid, include_deleted=True))
        return current

    async def get_console_output(self, ctx: RequestContext, p: Params) -> dict[str, Any]:
        """The console log from the instance's host, base64 as EC2 sends it."""
        ec2_id = p.require("InstanceId")
        p.boolean("Latest")
        inst = (await self._instances(ctx, [ec2_id]))[0]
        if not ctx.can_write:  # as os-getConsoleOutput's policy
            raise unauthorized()
        if p.boolean("DryRun"):
            raise dry_run()
        answer: dict[str, Any] = {"instanceId": ids.instance_id(inst.uuid),
                                  "timestamp": self._now()}
        if inst.deleted:
            return answer
        try:
            _, body = await self.actions.run(ctx, inst.uuid, {"os-getConsoleOutput": {}})
        except Conflict:  # not running yet: EC2 answers no output
            return answer
        except Fault as fault:
            raise from_fault(fault, ec2_id) from fault
        answer["output"] = base64.b64encode(str(body["output"]).encode("utf-8")).decode()
        return answer

    # -- images and zones ----------------------------------------------------------

    async def describe_images(self, ctx: RequestContext, p: Params) -> dict[str, Any]:
        """The images the project may see, by id, owner and filters."""
        wanted = [i.strip().lower() for i in p.strings("ImageId")]
        for ami in wanted:
            ids.uuid_prefix(ami, ids.IMAGE)
        owners = p.strings("Owner")
        p.strings("ExecutableBy")
        filters = p.filters()
        check(filters, views.IMAGE_FILTERS)
        if p.boolean("DryRun"):
            raise dry_run()
        result = []
        seen = set()
        for img in await self._visible_images(ctx):
            view = views.image(img)
            seen.add(view["imageId"])
            if wanted and view["imageId"] not in wanted:
                continue
            if owners and not any(img.owner == (ctx.project_id if o == "self" else o)
                                  for o in owners):
                continue
            if passes(filters, views.image_fields(img, view)):
                result.append(view)
        absent = [ami for ami in wanted if ami not in seen]
        if absent:
            raise Ec2Error("InvalidAMIID.NotFound",
                           f"The image id '[{', '.join(absent)}]' does not exist")
        return {"imagesSet": result}

    async def describe_availability_zones(self, ctx: RequestContext, p: Params
                                          ) -> dict[str, Any]:
        """The compute hosts' zones, as C{os-availability-zone} lists them."""
        wanted = p.strings("ZoneName")
        filters = p.filters()
        check(filters, views.ZONE_FILTERS)
        p.boolean("AllAvailabilityZones")
        if p.boolean("DryRun"):
            raise dry_run()
        try:
            _, body = await _compute(self.services.zones(ctx, COMPUTE_VERSION, False))
        except ApplicationError as exc:
            raise from_fault(Fault("The compute service is unavailable.", 503)) from exc
        zones = []
        for zone in body["availabilityZoneInfo"]:
            state = "available" if zone["zoneState"]["available"] else "unavailable"
            item = {"zoneName": zone["zoneName"], "zoneState": state,
                    "regionName": self.region, "zoneType": "availability-zone",
                    "optInStatus": "opt-in-not-required", "messageSet": []}
            fields = {"zone-name": zone["zoneName"], "state": state,
                      "region-name": self.region, "zone-type": "availability-zone",
                      "zone-id": zone["zoneName"]}
            if (not wanted or zone["zoneName"] in wanted) and passes(filters, fields):
                zones.append(item)
        absent = [z for z in wanted if z not in {zone["zoneName"] for zone in
                                                   body["availabilityZoneInfo"]}]
        if absent:
            raise invalid_value("ZoneName", absent[0], "The zone does not exist.")
        return {"availabilityZoneInfo": zones}


def _incorrect_state(inst: Instance, why: str) -> Ec2Error:
    return Ec2Error("IncorrectInstanceState",
                    f"The instance '{ids.instance_id(inst.uuid)}' is not in a state from "
                    f"which the requested operation can be performed ({why}).")


#: parameters of the request itself, not of what it asks for (not part of its digest)
_NOT_THE_REQUEST = frozenset({"Action", "Version", "ClientToken", "DryRun", "Signature",
                              "SignatureMethod", "SignatureVersion", "AWSAccessKeyId",
                              "Timestamp", "Expires", "SecurityToken"})


def _client_token(p: Params) -> str | None:
    """``ClientToken``: at most 64 printable ASCII characters (None when not given)."""
    token = p.get("ClientToken")
    if not token:
        return None
    if len(token) > 64 or not all(" " <= c <= "~" for c in token):
        raise invalid_value("ClientToken", token,
                            "A client token is at most 64 printable ASCII characters.")
    return token


def _request_digest(p: Params) -> str:
    """What a RunInstances asks for, as a digest: a retry with the same token must match."""
    asked = sorted((name, p.get(name) or "") for name in p.names()
                   if name not in _NOT_THE_REQUEST and not name.lower().startswith("x-amz-"))
    return hashlib.sha256(json.dumps(asked).encode()).hexdigest()


def _user_data(text: str) -> str:
    """C{UserData}: base64 of at most 16 KiB."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise invalid_value("UserData", "...", "User data must be base64.") from None
    if len(raw) > MAX_USER_DATA:
        raise invalid_value("UserData", "...", f"User data is limited to {MAX_USER_DATA} "
                            "bytes.")
    return text


async def _all(calls: list[Coroutine[Any, Any, Instance]]) -> list[Instance]:
    """Run the calls at once; every one ends; the first error is raised."""
    results = await DeferredList([ensureDeferred(c) for c in calls], consumeErrors=True)
    for ok, value in results:
        if not ok:
            cast(Failure, value).raiseException()
    return [value for _, value in results]
