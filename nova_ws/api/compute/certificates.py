"""``/os-certificates``: the root certificate, and a certificate for the caller.

As Nova's API did before it was retired: ``GET /os-certificates/root`` gives
the CA certificate (``private_key`` null); any other id is 501, "Only root
certificate can be retrieved."; ``POST /os-certificates`` makes a
certificate and key for the token's user and project through nova-cert
(``nova.cert.generate_x509_cert``) and answers both, 200, once: nova-cert
keeps only the certificate's serial and subject. Any project-scoped token may
read the root; creating needs one that may change things (not a reader's).
"""

from __future__ import annotations

from typing import Any

from autobahn.wamp.exception import ApplicationError

from nova_ws.api.compute.context import RequestContext
from nova_ws.api.errors import Fault
from nova_ws.api.microversions import Version
from nova_ws.auth.ca.rpcapi import CertAPI

ROOT = "root"


def certificate_view(data: str, private_key: str | None = None) -> dict[str, Any]:
    """Nova's certificate document."""
    return {"certificate": {"data": data, "private_key": private_key}}


class Certificates:
    """The os-certificates handlers; each returns ``(status, body)``."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def show(self, ctx: RequestContext, version: Version, cert_id: str
                   ) -> tuple[int, Any]:
        """``GET /os-certificates/{id}``: only ``root``."""
        if cert_id != ROOT:
            raise Fault("Only root certificate can be retrieved.", 501)
        pem = await self._call(lambda cert: cert.fetch_ca(project_id=ctx.project_id))
        return 200, certificate_view(str(pem))

    async def create(self, ctx: RequestContext, version: Version) -> tuple[int, Any]:
        """``POST /os-certificates``: a certificate and key for the caller."""
        ctx.require_write()
        issued = await self._call(
            lambda cert: cert.generate_x509_cert(ctx.user_id, ctx.project_id))
        return 200, certificate_view(str(issued["certificate"]), str(issued["private_key"]))

    async def _call(self, request: Any) -> Any:
        if self.client is None:
            raise Fault("The certificate service is unavailable.", 503)
        try:
            return await request(CertAPI(self.client))
        except ApplicationError as exc:
            # no nova-cert joined, the router gone, or nova-cert failed: never the details
            raise Fault("The certificate service is unavailable.", 503) from exc
