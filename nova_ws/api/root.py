"""The API server's root: one Klein app that mounts each API at its path.

``/compute`` (and ``/v2.1`` for clients that use Nova's bare path),
``/identity``; ``/image``, ``/ec2`` and the dashboard at ``/`` come with
their issues. Each API is a Klein app of its own.
"""

from __future__ import annotations

import json
from typing import Any

from klein import Klein

from nova_ws.api.compute.app import ComputeApi
from nova_ws.api.errors import NotFound, render_fault


class ApiRoot:
    """Mounts the APIs."""

    app = Klein()

    def __init__(self, compute: ComputeApi, identity: Any = None, image: Any = None) -> None:
        self.compute = compute
        self.identity = identity
        self.image = image

    def resource(self) -> Any:
        """The Twisted resource of the whole server."""
        return self.app.resource()

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

    @app.route("/", methods=["GET"])
    def index(self, request: Any) -> bytes:
        """What this server offers."""
        request.setHeader(b"Content-Type", b"application/json")
        return json.dumps({"services": {"compute": "/compute/", "identity": "/identity/",
                                        "image": "/image/"}}).encode()


def _not_found(request: Any, message: str) -> bytes:
    return render_fault(request, NotFound(message))
