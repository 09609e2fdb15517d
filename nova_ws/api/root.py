"""The API server's root: one Klein app that mounts each API at its path.

``/compute`` (and ``/v2.1`` for clients that use Nova's bare path),
``/identity``, ``/image``, ``/ec2``; the dashboard (``nova_ws.api.dashboard``)
at ``/`` and any path no API claims. Each API is a Klein app of its own.
"""

from __future__ import annotations

import json
from typing import Any

from klein import Klein
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from nova_ws.api.compute.app import ComputeApi
from nova_ws.api.errors import NotFound, render_fault, routing_fault


class ApiRoot:
    """Mounts the APIs."""

    app = Klein()

    def __init__(self, compute: ComputeApi, identity: Any = None, image: Any = None,
                 ec2: Any = None, dashboard: Any = None) -> None:
        self.compute = compute
        self.identity = identity
        self.image = image
        self.ec2 = ec2
        self.dashboard = dashboard

    def resource(self) -> Any:
        """The Twisted resource of the whole server."""
        return self.app.resource()

    @app.handle_errors(HTTPException)
    def _routing(self, request: Any, failure: Any) -> bytes:
        """A path no mount takes (one with a line break, say): a fault, not an HTML page.

        Klein's own redirects (``/identity`` -> ``/identity/``) stay redirects.
        """
        error = failure.value
        if isinstance(error, RequestRedirect):
            request.setResponseCode(error.code)
            request.setHeader(b"Location", error.new_url.encode("utf-8"))
            return b""
        return render_fault(request, routing_fault(error))

    @app.route("/compute/", branch=True)
    def compute_api(self, request: Any) -> Any:
        return self.compute.resource()

    @app.route("/v2.1/", branch=True)
    def compute_bare(self, request: Any) -> Any:
        request.prepath.pop()  # let the compute app see "/v2.1/..."
        request.postpath.insert(0, b"v2.1")
        return self.compute.resource()

    @app.route("/identity/", branch=True)
    def identity_api(self, request: Any) -> Any:
        if self.identity is None:
            return _not_found(request, "The Identity API is not available on this server.")
        return self.identity.resource()

    @app.route("/image/", branch=True)
    def image_api(self, request: Any) -> Any:
        if self.image is None:
            return _not_found(request, "The Image API is not available on this server.")
        return self.image.resource()

    @app.route("/ec2", branch=True)
    @app.route("/ec2/")
    def ec2_api(self, request: Any) -> Any:
        if self.ec2 is None:
            return _not_found(request, "The EC2 API is not available on this server.")
        return self.ec2.resource()

    @app.route("/", methods=["GET", "HEAD"], branch=True)
    def index(self, request: Any) -> Any:
        """The dashboard; without one, what this server offers."""
        if self.dashboard is not None:
            return self.dashboard.resource()
        if request.postpath != [b""]:
            return _not_found(request, "No such resource.")
        request.setHeader(b"Content-Type", b"application/json")
        return json.dumps({"services": {"compute": "/compute/", "identity": "/identity/",
                                        "image": "/image/"}}).encode()


def _not_found(request: Any, message: str) -> bytes:
    return render_fault(request, NotFound(message))
