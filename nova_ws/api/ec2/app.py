"""
The EC2 query API as a Klein app, mounted at C{/ec2}.

Every request is C{Action=...&Version=...&...} (query string or form body,
C{GET} or C{POST}), signed with AWS Signature Version 4 by an EC2
credential (L{auth}); the answer is EC2's XML (L{render}), and every
refusal is EC2's error document with its code and a 4xx status: nothing a
client sends is answered with a 5xx.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from klein import Klein
from twisted.logger import Logger

from nova_ws.api.compute.app import ComputeApi
from nova_ws.api.ec2 import auth, render, signature
from nova_ws.api.ec2.actions import Ec2Actions
from nova_ws.api.ec2.errors import Ec2Error, from_fault
from nova_ws.api.ec2.params import Params
from nova_ws.api.errors import Fault
from nova_ws.db.queries import identity

log = Logger()

MAX_BODY = 256 * 1024
MAX_FIELDS = 2000
REGION = "RegionOne"
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
FORM = "application/x-www-form-urlencoded"


class Ec2Api:
    """
    C{/ec2}: the EC2 actions over the Compute API's handlers (C{compute}),
    the identity database's EC2 credentials (secrets unsealed by C{codec})
    and C{clock} (C{IReactorTime}) for signature times.
    """

    app = Klein()

    def __init__(self, db: Any, compute: ComputeApi, clock: Any, *,
                 codec: identity.SecretCodec = identity.PLAIN, region: str = REGION) -> None:
        self.db = db
        self.clock = clock
        self.codec = codec
        self.actions = Ec2Actions(db, compute.servers, compute.actions, compute.services,
                                  clock, region)

    def resource(self) -> Any:
        """The Twisted resource to mount at C{/ec2}."""
        return self.app.resource()

    @app.route("/", methods=METHODS, branch=True, strict_slashes=False)
    async def query(self, request: Any) -> bytes:
        """One EC2 request: authenticate, run its action, answer XML."""
        request_id = str(uuid.uuid4())
        request.setHeader(b"Content-Type", render.CONTENT_TYPE)
        request.setHeader(b"x-amzn-RequestId", request_id.encode())
        version = None
        try:
            http, params = self._read(request)
            version = params.get("Version")
            now = datetime.fromtimestamp(self.clock.seconds(), UTC)
            ctx = await auth.authenticate(self.db, self.codec, http, now)
            action = params.get("Action")
            if not action:
                raise Ec2Error("MissingAction", "The request must contain the parameter "
                               "Action.")
            handler = self.actions.handlers.get(action)
            if handler is None:
                raise Ec2Error("InvalidAction", f"The action {action} is not valid for this "
                               "web service.")
            try:
                body = await handler(ctx, params)
            except Fault as fault:
                raise from_fault(fault) from fault
            return render.response(action, request_id, body, version)
        except Ec2Error as error:
            request.setResponseCode(error.status)
            return render.error(error.code, error.message, request_id)
        except Exception:
            log.failure("unexpected error answering EC2 request {id}", id=request_id)
            request.setResponseCode(500)
            return render.error("InternalError", "An internal error has occurred.",
                                request_id)

    def _read(self, request: Any) -> tuple[signature.HttpRequest, Params]:
        """What the signature covers, and the parameters (query string, then form body)."""
        method = request.method.decode("ascii", "replace")
        if method not in ("GET", "POST"):
            raise Ec2Error("UnsupportedHttpVerb", f"The HTTP method {method} is not "
                           "supported: use GET or POST.", 405)
        raw = request.content.read(MAX_BODY + 1) if request.content is not None else b""
        if len(raw) > MAX_BODY:
            raise Ec2Error("RequestEntityTooLarge", f"The request body is larger than "
                           f"{MAX_BODY} bytes.", 413)
        target = request.uri.decode("utf-8", "replace")
        if not target.startswith("/"):  # absolute-form
            parts = urlsplit(target)
            target = parts.path + ("?" + parts.query if parts.query else "")
        path, _, query = target.partition("?")
        headers = {name.decode("latin-1").lower(): ",".join(v.decode("latin-1")
                                                            for v in values)
                   for name, values in request.requestHeaders.getAllRawHeaders()}
        http = signature.HttpRequest(method, path, query, headers, raw)
        content_type = headers.get("content-type", FORM if raw else "")
        try:
            pairs = parse_qsl(query, keep_blank_values=True, errors="strict",
                              max_num_fields=MAX_FIELDS)
            if raw and content_type.split(";")[0].strip().lower() == FORM:
                pairs += parse_qsl(raw.decode("utf-8"), keep_blank_values=True,
                                   errors="strict", max_num_fields=MAX_FIELDS)
        except (UnicodeError, ValueError):
            raise Ec2Error("MalformedQueryString", "The query string or form body is "
                           "malformed (it must be URL-encoded UTF-8).") from None
        return http, Params(pairs)
