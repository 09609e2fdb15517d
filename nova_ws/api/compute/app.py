"""The Compute API v2.1 as a Klein app, mounted at ``/compute`` (and ``/v2.1``).

Version discovery is answered with and without a token, as clients probe it
first; every versioned request negotiates its microversion and gets Nova's
version headers back, and every other request needs ``X-Auth-Token``
(:mod:`context`). The routes here are thin: each resource's handlers live in
a module of their own (:mod:`flavors`, :mod:`servers`, :mod:`actions`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from klein import Klein
from werkzeug.exceptions import HTTPException

from nova_ws.api import microversions
from nova_ws.api.compute import openapi, validation
from nova_ws.api.compute.actions import Actions
from nova_ws.api.compute.aggregates import Aggregates
from nova_ws.api.compute.certificates import Certificates
from nova_ws.api.compute.consoles import LEGACY_ACTIONS, ConsoleUrls, RemoteConsoles
from nova_ws.api.compute.context import RequestContext, authenticate
from nova_ws.api.compute.flavors import Flavors
from nova_ws.api.compute.instance_actions import InstanceActions
from nova_ws.api.compute.keypairs import Keypairs
from nova_ws.api.compute.limits import Limits
from nova_ws.api.compute.project_urls import ProjectUrls
from nova_ws.api.compute.quotas import QuotaSets
from nova_ws.api.compute.server_groups import ServerGroups
from nova_ws.api.compute.servers import Servers
from nova_ws.api.compute.services import Services
from nova_ws.api.errors import (
    BadRequest,
    Fault,
    NotAcceptable,
    NotFound,
    render_fault,
    render_unexpected,
    routing_fault,
)
from nova_ws.api.microversions import MAX_VERSION, MIN_VERSION, Version
from nova_ws.config import QuotaSection

UPDATED = "2013-07-23T11:33:21Z"


def version_v21(base: str) -> dict[str, Any]:
    """The v2.1 version document, with links under *base* (``.../compute``)."""
    return {
        "id": "v2.1", "status": "CURRENT", "version": str(Version(*MAX_VERSION)),
        "min_version": str(Version(*MIN_VERSION)), "updated": UPDATED,
        "links": [{"rel": "self", "href": f"{base}/v2.1/"},
                  {"rel": "describedby", "type": "text/html",
                   "href": "http://docs.openstack.org/"}],
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.compute+json;version=2.1"}],
    }


def version_v20(base: str) -> dict[str, Any]:
    """The legacy v2.0 entry of the version list (served by the same API)."""
    return {"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
            "updated": "2011-01-21T11:33:21Z",
            "links": [{"rel": "self", "href": f"{base}/v2/"}]}


def _json(request: Any, body: Any, status: int = 200) -> bytes:
    request.setResponseCode(status)
    request.setHeader(b"Content-Type", b"application/json")
    return json.dumps(body).encode()


class ComputeApi:
    """``/compute``: version discovery and the v2.1 resources."""

    app = Klein()

    def __init__(self, public_url: str, db: Any = None, client: Any = None,
                 console_urls: ConsoleUrls | None = None,
                 quota: QuotaSection | None = None) -> None:
        self.public_url = public_url.rstrip("/")
        self.db = db
        self.client = client
        base = f"{self.public_url}/compute"
        self.flavors = Flavors(db, base)
        quota = quota or QuotaSection()
        self.servers = Servers(db, client, base, quota)
        self.actions = Actions(self.servers)
        self.consoles = RemoteConsoles(self.servers, client, console_urls or ConsoleUrls())
        self.services = Services(db, client)
        self.aggregates = Aggregates(db)
        self.keypairs = Keypairs(db, base, quota)
        self.limits = Limits(db, quota)
        self.quota_sets = QuotaSets(db, quota)
        self.server_groups = ServerGroups(db, quota)
        self.instance_actions = InstanceActions(db, base)
        self.certificates = Certificates(client)

    def resource(self) -> Any:
        """The Twisted resource to mount (which also serves ``/v2.1/{project_id}/...``)."""
        return ProjectUrls(self.app.resource())

    def _base(self, request: Any) -> str:
        return f"{self.public_url}/compute"

    @app.handle_errors(Fault)
    def _fault(self, request: Any, failure: Any) -> bytes:
        return render_fault(request, failure.value)

    @app.handle_errors(HTTPException)
    def _routing(self, request: Any, failure: Any) -> bytes:
        return render_fault(request, routing_fault(failure.value))

    @app.handle_errors(Exception)
    def _unexpected(self, request: Any, failure: Any) -> bytes:
        return render_unexpected(request, failure)

    @app.route("/", methods=["GET"])
    def versions(self, request: Any) -> bytes:
        """The version list."""
        base = self._base(request)
        return _json(request, {"versions": [version_v20(base), version_v21(base)]})

    @app.route("/v2.1", methods=["GET"])
    @app.route("/v2.1/", methods=["GET"])
    def version(self, request: Any) -> bytes:
        """The v2.1 version document."""
        self._negotiate(request)
        return _json(request, {"version": version_v21(self._base(request))})

    @app.route("/v2.1/openapi.json", methods=["GET"])
    def openapi_document(self, request: Any) -> bytes:
        """The OpenAPI document of the negotiated microversion (no token needed)."""
        version = self._negotiate(request)
        routes = openapi.klein_routes(self.app)
        return _json(request, openapi.document(routes, self._base(request), version))

    @app.route("/v2.1/<path:rest>", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    async def unknown(self, request: Any, rest: str) -> bytes:
        """Anything not (yet) served is a 404 in Nova's format (after the token)."""
        self._negotiate(request)
        if self.db is not None:
            await authenticate(self.db, request)
        raise NotFound(f"The resource could not be found: /v2.1/{rest}")

    # -- services and hypervisors ------------------------------------------------

    @app.route("/v2.1/os-services", methods=["GET"])
    def service_index(self, request: Any) -> Any:
        """``GET /os-services``."""
        return self._run(request, lambda c, v: self.services.index(c, v, _args(request)))

    @app.route("/v2.1/os-services/<service_id>", methods=["PUT"])
    def service_update(self, request: Any, service_id: str) -> Any:
        """``PUT /os-services/{id}`` and the legacy ``/os-services/disable`` forms."""
        return self._run(request, lambda c, v: self.services.update(c, v, service_id,
                                                                    _body(request)))

    @app.route("/v2.1/os-availability-zone", methods=["GET"])
    def zone_index(self, request: Any) -> Any:
        """``GET /os-availability-zone``."""
        return self._run(request, lambda c, v: self.services.zones(c, v, False))

    @app.route("/v2.1/os-availability-zone/detail", methods=["GET"])
    def zone_detail(self, request: Any) -> Any:
        """``GET /os-availability-zone/detail`` (admin)."""
        return self._run(request, lambda c, v: self.services.zones(c, v, True))

    @app.route("/v2.1/os-hypervisors", methods=["GET"])
    def hypervisor_index(self, request: Any) -> Any:
        """``GET /os-hypervisors``."""
        return self._run(request, lambda c, v: self.services.hypervisors(c, v, False))

    @app.route("/v2.1/os-hypervisors/detail", methods=["GET"])
    def hypervisor_detail(self, request: Any) -> Any:
        """``GET /os-hypervisors/detail``."""
        return self._run(request, lambda c, v: self.services.hypervisors(c, v, True))

    @app.route("/v2.1/os-hypervisors/statistics", methods=["GET"])
    def hypervisor_statistics(self, request: Any) -> Any:
        """``GET /os-hypervisors/statistics``."""
        return self._run(request, lambda c, v: self.services.statistics(c, v))

    @app.route("/v2.1/os-hypervisors/<node>", methods=["GET"])
    def hypervisor_show(self, request: Any, node: str) -> Any:
        """``GET /os-hypervisors/{id}``."""
        return self._run(request, lambda c, v: self.services.hypervisors(c, v, True, node))

    # -- host aggregates -----------------------------------------------------------

    @app.route("/v2.1/os-aggregates", methods=["GET"])
    def aggregate_index(self, request: Any) -> Any:
        """``GET /os-aggregates``."""
        return self._run(request, lambda c, v: self.aggregates.index(c, v))

    @app.route("/v2.1/os-aggregates", methods=["POST"])
    def aggregate_create(self, request: Any) -> Any:
        """``POST /os-aggregates``."""
        return self._run(request, lambda c, v: self.aggregates.create(c, v, _body(request)))

    @app.route("/v2.1/os-aggregates/<aggregate_id>", methods=["GET"])
    def aggregate_show(self, request: Any, aggregate_id: str) -> Any:
        """``GET /os-aggregates/{id}``."""
        return self._run(request, lambda c, v: self.aggregates.show(c, v, aggregate_id))

    @app.route("/v2.1/os-aggregates/<aggregate_id>", methods=["PUT"])
    def aggregate_update(self, request: Any, aggregate_id: str) -> Any:
        """``PUT /os-aggregates/{id}``."""
        return self._run(request, lambda c, v: self.aggregates.update(c, v, aggregate_id,
                                                                      _body(request)))

    @app.route("/v2.1/os-aggregates/<aggregate_id>", methods=["DELETE"])
    def aggregate_delete(self, request: Any, aggregate_id: str) -> Any:
        """``DELETE /os-aggregates/{id}``."""
        return self._run(request, lambda c, v: self.aggregates.delete(c, aggregate_id))

    @app.route("/v2.1/os-aggregates/<aggregate_id>/action", methods=["POST"])
    def aggregate_action(self, request: Any, aggregate_id: str) -> Any:
        """``POST /os-aggregates/{id}/action``: add_host, remove_host, set_metadata."""
        return self._run(request, lambda c, v: self.aggregates.action(c, v, aggregate_id,
                                                                      _body(request)))

    # -- keypairs, limits and quotas ------------------------------------------------

    @app.route("/v2.1/os-keypairs", methods=["GET"])
    def keypair_index(self, request: Any) -> Any:
        """``GET /os-keypairs``."""
        return self._run(request, lambda c, v: self.keypairs.index(c, v, _args(request)))

    @app.route("/v2.1/os-keypairs", methods=["POST"])
    def keypair_create(self, request: Any) -> Any:
        """``POST /os-keypairs``."""
        return self._run(request, lambda c, v: self.keypairs.create(c, v, _body(request)))

    @app.route("/v2.1/os-keypairs/<name>", methods=["GET"])
    def keypair_show(self, request: Any, name: str) -> Any:
        """``GET /os-keypairs/{name}``."""
        return self._run(request, lambda c, v: self.keypairs.show(c, v, name, _args(request)))

    @app.route("/v2.1/os-keypairs/<name>", methods=["DELETE"])
    def keypair_delete(self, request: Any, name: str) -> Any:
        """``DELETE /os-keypairs/{name}``."""
        return self._run(request, lambda c, v: self.keypairs.delete(c, v, name,
                                                                     _args(request)))

    @app.route("/v2.1/limits", methods=["GET"])
    def limit_index(self, request: Any) -> Any:
        """``GET /limits``."""
        return self._run(request, lambda c, v: self.limits.index(c, v, _args(request)))

    @app.route("/v2.1/os-quota-sets/<project_id>", methods=["GET"])
    def quota_show(self, request: Any, project_id: str) -> Any:
        """``GET /os-quota-sets/{project_id}``."""
        return self._run(request, lambda c, v: self.quota_sets.show(c, v, project_id,
                                                                     _args(request)))

    @app.route("/v2.1/os-quota-sets/<project_id>/detail", methods=["GET"])
    def quota_detail(self, request: Any, project_id: str) -> Any:
        """``GET /os-quota-sets/{project_id}/detail``."""
        return self._run(request, lambda c, v: self.quota_sets.show(
            c, v, project_id, _args(request), detail=True))

    @app.route("/v2.1/os-quota-sets/<project_id>/defaults", methods=["GET"])
    def quota_defaults(self, request: Any, project_id: str) -> Any:
        """``GET /os-quota-sets/{project_id}/defaults``."""
        return self._run(request, lambda c, v: self.quota_sets.defaults(c, v, project_id))

    @app.route("/v2.1/os-quota-sets/<project_id>", methods=["PUT"])
    def quota_update(self, request: Any, project_id: str) -> Any:
        """``PUT /os-quota-sets/{project_id}`` (admin)."""
        return self._run(request, lambda c, v: self.quota_sets.update(
            c, v, project_id, _args(request), _body(request)))

    @app.route("/v2.1/os-quota-sets/<project_id>", methods=["DELETE"])
    def quota_delete(self, request: Any, project_id: str) -> Any:
        """``DELETE /os-quota-sets/{project_id}`` (admin)."""
        return self._run(request, lambda c, v: self.quota_sets.delete(c, v, project_id,
                                                                       _args(request)))

    # -- server groups and instance actions ------------------------------------------

    @app.route("/v2.1/os-server-groups", methods=["GET"])
    def server_group_index(self, request: Any) -> Any:
        """``GET /os-server-groups``."""
        return self._run(request, lambda c, v: self.server_groups.index(c, v, _args(request)))

    @app.route("/v2.1/os-server-groups", methods=["POST"])
    def server_group_create(self, request: Any) -> Any:
        """``POST /os-server-groups``."""
        return self._run(request, lambda c, v: self.server_groups.create(c, v, _body(request)))

    @app.route("/v2.1/os-server-groups/<group_id>", methods=["GET"])
    def server_group_show(self, request: Any, group_id: str) -> Any:
        """``GET /os-server-groups/{id}``."""
        return self._run(request, lambda c, v: self.server_groups.show(c, v, group_id))

    @app.route("/v2.1/os-server-groups/<group_id>", methods=["DELETE"])
    def server_group_delete(self, request: Any, group_id: str) -> Any:
        """``DELETE /os-server-groups/{id}``."""
        return self._run(request, lambda c, v: self.server_groups.delete(c, group_id))

    @app.route("/v2.1/servers/<server_id>/os-instance-actions", methods=["GET"])
    def instance_action_index(self, request: Any, server_id: str) -> Any:
        """``GET /servers/{id}/os-instance-actions``."""
        return self._run(request, lambda c, v: self.instance_actions.index(
            c, v, server_id, _args(request)))

    @app.route("/v2.1/servers/<server_id>/os-instance-actions/<request_id>",
               methods=["GET"])
    def instance_action_show(self, request: Any, server_id: str, request_id: str) -> Any:
        """``GET /servers/{id}/os-instance-actions/{request_id}``."""
        return self._run(request, lambda c, v: self.instance_actions.show(
            c, v, server_id, request_id))

    # -- certificates -------------------------------------------------------------

    @app.route("/v2.1/os-certificates/<cert_id>", methods=["GET"])
    def certificate_show(self, request: Any, cert_id: str) -> Any:
        """``GET /os-certificates/root``."""
        return self._run(request, lambda c, v: self.certificates.show(c, v, cert_id))

    @app.route("/v2.1/os-certificates", methods=["POST"])
    def certificate_create(self, request: Any) -> Any:
        """``POST /os-certificates``."""
        return self._run(request, lambda c, v: self.certificates.create(c, v))

    # -- flavors ----------------------------------------------------------------

    @app.route("/v2.1/flavors", methods=["GET"])
    def flavor_index(self, request: Any) -> Any:
        """``GET /flavors``."""
        return self._run(request, lambda c, v: self.flavors.index(c, v, _args(request), False))

    @app.route("/v2.1/flavors/detail", methods=["GET"])
    def flavor_detail(self, request: Any) -> Any:
        """``GET /flavors/detail``."""
        return self._run(request, lambda c, v: self.flavors.index(c, v, _args(request), True))

    @app.route("/v2.1/flavors", methods=["POST"])
    def flavor_create(self, request: Any) -> Any:
        """``POST /flavors`` (admin)."""
        return self._run(request, lambda c, v: self.flavors.create(c, v, _body(request)))

    @app.route("/v2.1/flavors/<flavor_id>", methods=["GET"])
    def flavor_show(self, request: Any, flavor_id: str) -> Any:
        """``GET /flavors/{id}``."""
        return self._run(request, lambda c, v: self.flavors.show(c, v, flavor_id))

    @app.route("/v2.1/flavors/<flavor_id>", methods=["DELETE"])
    def flavor_delete(self, request: Any, flavor_id: str) -> Any:
        """``DELETE /flavors/{id}`` (admin)."""
        return self._run(request, lambda c, v: self.flavors.delete(c, flavor_id))

    @app.route("/v2.1/flavors/<flavor_id>/os-extra_specs", methods=["GET"])
    def extra_specs(self, request: Any, flavor_id: str) -> Any:
        """``GET /flavors/{id}/os-extra_specs``."""
        return self._run(request, lambda c, v: self.flavors.extra_specs(c, flavor_id))

    @app.route("/v2.1/flavors/<flavor_id>/os-extra_specs", methods=["POST"])
    def extra_specs_set(self, request: Any, flavor_id: str) -> Any:
        """``POST /flavors/{id}/os-extra_specs`` (admin)."""
        return self._run(request, lambda c, v: self.flavors.set_extra_specs(
            c, flavor_id, _body(request)))

    @app.route("/v2.1/flavors/<flavor_id>/os-extra_specs/<key>", methods=["DELETE"])
    def extra_spec_delete(self, request: Any, flavor_id: str, key: str) -> Any:
        """``DELETE /flavors/{id}/os-extra_specs/{key}`` (admin)."""
        return self._run(request, lambda c, v: self.flavors.delete_extra_spec(c, flavor_id,
                                                                               key))

    # -- servers ----------------------------------------------------------------

    @app.route("/v2.1/servers", methods=["GET"])
    def server_index(self, request: Any) -> Any:
        """``GET /servers``."""
        return self._run(request, lambda c, v: self.servers.index(c, v, _args(request), False))

    @app.route("/v2.1/servers/detail", methods=["GET"])
    def server_detail(self, request: Any) -> Any:
        """``GET /servers/detail``."""
        return self._run(request, lambda c, v: self.servers.index(c, v, _args(request), True))

    @app.route("/v2.1/servers", methods=["POST"])
    def server_create(self, request: Any) -> Any:
        """``POST /servers``."""
        return self._run(request, lambda c, v: self.servers.create(c, v, _body(request)))

    @app.route("/v2.1/servers/<server_id>", methods=["GET"])
    def server_show(self, request: Any, server_id: str) -> Any:
        """``GET /servers/{id}``."""
        return self._run(request, lambda c, v: self.servers.show(c, v, server_id))

    @app.route("/v2.1/servers/<server_id>", methods=["PUT"])
    def server_update(self, request: Any, server_id: str) -> Any:
        """``PUT /servers/{id}``."""
        return self._run(request, lambda c, v: self.servers.update(c, v, server_id,
                                                                    _body(request)))

    @app.route("/v2.1/servers/<server_id>", methods=["DELETE"])
    def server_delete(self, request: Any, server_id: str) -> Any:
        """``DELETE /servers/{id}``."""
        return self._run(request, lambda c, v: self.servers.delete(c, server_id))

    @app.route("/v2.1/servers/<server_id>/action", methods=["POST"])
    def server_action(self, request: Any, server_id: str) -> Any:
        """``POST /servers/{id}/action``."""
        body = _body(request)
        legacy = next((name for name in LEGACY_ACTIONS if name in body), None) if isinstance(
            body, dict) else None
        if legacy is not None:
            return self._run(request, lambda c, v: self.consoles.legacy(
                c, v, server_id, legacy, body[legacy]))
        return self._run(request, lambda c, v: self.actions.run(c, server_id, body, v))

    @app.route("/v2.1/servers/<server_id>/remote-consoles", methods=["POST"])
    def remote_console_create(self, request: Any, server_id: str) -> Any:
        """``POST /servers/{id}/remote-consoles`` (2.6+)."""
        return self._run(request, lambda c, v: self.consoles.create(
            c, v, server_id, _body(request)))

    async def _run(self, request: Any,
                   handler: Callable[[RequestContext, Version], Awaitable[tuple[int, Any]]]
                   ) -> bytes:
        """Negotiate, authenticate, run *handler* and answer its ``(status, body)``."""
        version = self._negotiate(request)
        if self.db is None:
            raise Fault("The compute API has no database on this server.", 503)
        ctx = await authenticate(self.db, request)
        validation.check_request(request, version, ctx.project_id)
        status, body = await handler(ctx, version)
        if body is None:
            request.setResponseCode(status)
            return b""
        return _json(request, body, status)

    def _negotiate(self, request: Any) -> Version:
        try:
            version = microversions.requested(
                _header(request, b"OpenStack-API-Version"),
                _header(request, b"X-OpenStack-Nova-API-Version"))
        except microversions.MalformedVersion as exc:
            raise BadRequest(str(exc)) from exc
        except microversions.UnsupportedVersion as exc:
            raise NotAcceptable(str(exc)) from exc
        for name, value in microversions.response_headers(version).items():
            request.setHeader(name, value)
        return version


def _args(request: Any) -> dict[str, list[str]]:
    return {k.decode("utf-8", "replace"): [v.decode("utf-8", "replace") for v in vs]
            for k, vs in (request.args or {}).items()}


def _body(request: Any) -> Any:
    return validation.read_body(request)


def _header(request: Any, name: bytes) -> str | None:
    value = request.getHeader(name)
    if value is None:
        return None
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)
