"""
Who signs an EC2 request: the access key's credential, its user and project,
and the roles the user holds there now; as Keystone's C{ec2tokens} turns a
verified EC2 signature into a token scoped to the credential's project.

The request's signature is checked with the credential's secret (unsealed
by the codec the credentials were stored with); the answer is the Compute
API's L{RequestContext}, so the EC2 actions apply the same policy: admin
sees all, member its own project, reader only reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from nova_ws.api.compute.context import RequestContext
from nova_ws.api.ec2 import signature
from nova_ws.api.ec2.errors import Ec2Error
from nova_ws.db import errors as db_errors
from nova_ws.db.queries import identity

AUTH_FAILURE = "AWS was not able to validate the provided access credentials"


@dataclass(frozen=True)
class Principal:
    """An enabled user with roles on the enabled project of a credential, and its secret."""

    user_id: str
    project_id: str
    roles: frozenset[str]
    secret: str


def lookup(session: Session, access: str, codec: identity.SecretCodec) -> Principal | None:
    """
    The principal of an access key; C{None} if the key is unknown, its
    secret unreadable, its user or project gone or disabled, or the user
    holds no role on the project any more.
    """
    try:
        cred = identity.get_ec2_credential(session, access, codec=codec)
        user = identity.get_user(session, cred.user_id)
        project = identity.get_project(session, cred.project_id)
    except db_errors.NotFound:
        return None
    if cred.secret is None or not user.enabled or not project.enabled:
        return None
    roles = frozenset(r.name for r in identity.roles_on_project(session, user.id, project.id))
    if not roles:
        return None
    return Principal(user.id, project.id, roles, cred.secret)


async def authenticate(db: Any, codec: identity.SecretCodec,
                       request: signature.HttpRequest, now: datetime) -> RequestContext:
    """
    The context of a correctly signed, fresh request.

    @raise Ec2Error: C{MissingAuthenticationToken}, C{IncompleteSignature},
        C{RequestExpired}, C{AuthFailure} (unknown or unusable access key) or
        C{SignatureDoesNotMatch}.
    """
    credential = signature.parse(request)
    signature.check_time(credential, dict(signature.query_pairs(request.query)), now)
    principal: Principal | None = await db.run(lookup, credential.access, codec)
    if principal is None:
        raise Ec2Error("AuthFailure", AUTH_FAILURE, 401)
    signature.verify(request, credential, principal.secret)
    return RequestContext(principal.user_id, principal.project_id, principal.roles,
                          "admin" in principal.roles)
