"""``/os-keypairs``: a user's named public keys (ssh, or x509 from 2.2).

Import validates the key and computes its fingerprint as Nova does (MD5 of
the OpenSSH key blob; SHA-1 of an x509 certificate's DER). Without a public
key the cloud generates the pair and answers the private key once, as Nova
did until 2.92, from which a public key is required. Keypairs belong to
users, not projects: from 2.10 an admin may name another user
(``user_id``); from 2.35 listings page by name (``limit``, ``marker``).
The ``key_pairs`` quota counts a user's keypairs.
"""

from __future__ import annotations

import base64
import hashlib
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from sqlalchemy.orm import Session
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread

from nova_ws.api.compute import params, quotas
from nova_ws.api.compute.context import RequestContext
from nova_ws.api.errors import BadRequest, Conflict, Forbidden, NotFound
from nova_ws.api.microversions import Version
from nova_ws.config import QuotaSection
from nova_ws.db import errors as db_errors
from nova_ws.db.queries import keypairs as q

V2_2, V2_10, V2_35, V2_92 = (Version(2, n) for n in (2, 10, 35, 92))
SSH, X509 = "ssh", "x509"
KEY_BITS = 2048
_SAFE = "_- " + string.digits + string.ascii_letters
_SAFE_V292 = "@._- " + string.digits + string.ascii_letters
#: Microsoft's User Principal Name, which WinRM certificates carry.
_UPN = ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")


def invalid(reason: str) -> BadRequest:
    """Nova's InvalidKeypair."""
    return BadRequest(f"Keypair data is invalid: {reason}")


def _colons(hexdigest: str) -> str:
    return ":".join(hexdigest[i:i + 2] for i in range(0, len(hexdigest), 2))


def ssh_fingerprint(public_key: str) -> str:
    """The MD5 fingerprint of an OpenSSH public key; 400 if it is not one."""
    try:
        serialization.load_ssh_public_key(public_key.encode("utf-8"))
        blob = base64.b64decode(public_key.split(None)[1])
    except (ValueError, IndexError, TypeError, UnicodeError, UnsupportedAlgorithm):
        raise invalid("failed to generate fingerprint") from None
    return _colons(hashlib.md5(blob, usedforsecurity=False).hexdigest())


def x509_fingerprint(pem: str) -> str:
    """The SHA-1 fingerprint of a PEM certificate; 400 if it is not one."""
    try:
        cert = x509.load_pem_x509_certificate(pem.encode("utf-8"))
    except (ValueError, TypeError, UnicodeError) as exc:
        raise invalid(f"failed to generate X509 fingerprint. Error message: {exc}") from None
    return _colons(cert.fingerprint(hashes.SHA1()).hex())


def fingerprint(public_key: str, key_type: str) -> str:
    """The fingerprint of an imported key of *key_type*."""
    return x509_fingerprint(public_key) if key_type == X509 else ssh_fingerprint(public_key)


@dataclass(frozen=True)
class Generated:
    """A generated pair: the private key (PEM), the public key and its fingerprint."""

    private_key: str
    public_key: str
    fingerprint: str


def generate_ssh(bits: int = KEY_BITS) -> Generated:
    """An RSA pair as Nova generates one: PEM private key, OpenSSH public key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    public = f"{public} Generated-by-Nova"
    return Generated(private, public, ssh_fingerprint(public))


def _utf8_string(text: str) -> bytes:
    """A DER UTF8String (short or long form length)."""
    data = text.encode("utf-8")
    if len(data) < 0x80:
        return bytes([0x0C, len(data)]) + data
    size = len(data).to_bytes((len(data).bit_length() + 7) // 8, "big")
    return bytes([0x0C, 0x80 | len(size)]) + size + data


def generate_x509(user_id: str, bits: int = KEY_BITS) -> Generated:
    """A self-signed client certificate for *user_id* (as Nova makes for WinRM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user_id)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
            .add_extension(x509.SubjectAlternativeName([x509.OtherName(
                _UPN, _utf8_string(f"{user_id}@localhost"))]), False)
            .sign(key, hashes.SHA256()))
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    public = cert.public_bytes(serialization.Encoding.PEM).decode()
    return Generated(private, public, x509_fingerprint(public))


@dataclass(frozen=True)
class CreateKeypair:
    """A validated ``POST /os-keypairs``."""

    name: str
    type: str = SSH
    public_key: str | None = None
    user_id: str | None = None


def _field(name: str, value: Any, reason: str) -> BadRequest:
    return BadRequest(f"Invalid input for field/attribute {name}. Value: {value}. {reason}")


def check_name(name: Any, version: Version) -> str:
    """A keypair name as *version* allows it."""
    if not isinstance(name, str):
        raise _field("name", name, f"{name!r} is not of type 'string'")
    if not 1 <= len(name) <= 255 or name != name.strip():
        raise invalid("Keypair name must be string and between 1 and 255 characters long")
    safe = _SAFE_V292 if version >= V2_92 else _SAFE
    if any(c not in safe for c in name):
        raise invalid("Keypair name contains unsafe characters")
    return name


def parse_create(body: Any, version: Version) -> CreateKeypair:
    """Validate a create body with Nova's schema for *version*."""
    keypair = body.get("keypair") if isinstance(body, dict) else None
    if not isinstance(keypair, dict):
        raise BadRequest("Invalid input for field/attribute keypair. "
                         "'keypair' is a required property and must be an object")
    if set(body) != {"keypair"}:
        extra = ", ".join(repr(k) for k in sorted(set(body) - {"keypair"}))
        raise BadRequest(f"Additional properties are not allowed ({extra} were unexpected)")
    allowed = {"name", "public_key"}
    if version >= V2_2:
        allowed.add("type")
    if version >= V2_10:
        allowed.add("user_id")
    unknown = sorted(set(keypair) - allowed)
    if unknown:
        names = ", ".join(repr(k) for k in unknown)
        raise _field("keypair", keypair, f"Additional properties are not allowed ({names} "
                     f"{'was' if len(unknown) == 1 else 'were'} unexpected)")
    for required in ("name", "public_key") if version >= V2_92 else ("name",):
        if required not in keypair:
            raise _field("keypair", keypair, f"'{required}' is a required property")
    key_type = keypair.get("type", SSH)
    if key_type not in (SSH, X509):
        raise _field("type", key_type, f"{key_type!r} is not one of ['ssh', 'x509']")
    public_key = keypair.get("public_key")
    if "public_key" in keypair and not isinstance(public_key, str):
        raise _field("public_key", public_key, f"{public_key!r} is not of type 'string'")
    user_id = keypair.get("user_id")
    if "user_id" in keypair and not isinstance(user_id, str):
        raise _field("user_id", user_id, f"{user_id!r} is not of type 'string'")
    return CreateKeypair(check_name(keypair["name"], version), key_type, public_key, user_id)


def keypair_view(kp: q.Keypair, version: Version, detail: bool = False) -> dict[str, Any]:
    """Nova's keypair document (the show form with *detail*)."""
    view: dict[str, Any] = {"name": kp.name, "public_key": kp.public_key,
                            "fingerprint": kp.fingerprint}
    if version >= V2_2:
        view["type"] = kp.type
    if detail:
        view.update({"user_id": kp.user_id, "created_at": params.nova_time(kp.created_at),
                     "updated_at": None, "deleted": False, "deleted_at": None, "id": kp.id})
    return view


def _not_found(name: str, user_id: str) -> NotFound:
    return NotFound(f"Keypair {name} not found for user {user_id}")


class Keypairs:
    """The keypair handlers; each returns ``(status, body)``."""

    def __init__(self, db: Any, base: str, section: QuotaSection,
                 offload: Callable[..., Deferred[Any]] = deferToThread) -> None:
        self.db = db
        self.base = base
        self.section = section
        #: Runs key generation (CPU-bound) off the reactor thread.
        self.offload = offload

    @staticmethod
    def _owner(ctx: RequestContext, version: Version, user_id: str | None, action: str
               ) -> str:
        """The user whose keypairs are meant: the asker's, or (2.10+) *user_id*."""
        if version < V2_10 or user_id is None or user_id == ctx.user_id:
            return ctx.user_id
        if not ctx.is_admin:
            raise Forbidden(f"Policy doesn't allow os_compute_api:os-keypairs:{action} "
                            "to be performed.")
        return user_id

    def _queried_owner(self, ctx: RequestContext, version: Version, args: params.Args,
                       action: str, extra: tuple[str, ...] = ()) -> str:
        params.check_known(args, ("user_id", *extra), version)
        return self._owner(ctx, version, params.one(args, "user_id"), action)

    async def index(self, ctx: RequestContext, version: Version, args: params.Args
                    ) -> tuple[int, Any]:
        """The user's keypairs, by name (paged from 2.35)."""
        owner = self._queried_owner(ctx, version, args, "index", ("limit", "marker"))
        limit = marker = None
        if version >= V2_35:
            limit = params.non_negative(args, "limit")
            marker = params.one(args, "marker")

        def read(session: Session) -> list[q.Keypair]:
            if marker is not None:
                try:
                    q.get_keypair(session, owner, marker)
                except db_errors.NotFound:
                    raise BadRequest(f"Marker {marker} could not be found.") from None
            return q.list_keypairs(session, owner, marker=marker, limit=(
                params.page_size(limit) if version >= V2_35 else None))

        found = await self.db.run(read)
        answer: dict[str, Any] = {"keypairs": [{"keypair": keypair_view(k, version)}
                                               for k in found]}
        if version >= V2_35:
            links = params.next_links(self.base, "os-keypairs", args, limit, len(found),
                                      found[-1].name if found else None)
            if links:
                answer["keypairs_links"] = links
        return 200, answer

    async def show(self, ctx: RequestContext, version: Version, name: str,
                   args: params.Args) -> tuple[int, Any]:
        """One keypair of the user."""
        owner = self._queried_owner(ctx, version, args, "show")
        try:
            kp = await self.db.run(q.get_keypair, owner, name)
        except db_errors.NotFound:
            raise _not_found(name, owner) from None
        return 200, {"keypair": keypair_view(kp, version, detail=True)}

    async def create(self, ctx: RequestContext, version: Version, body: Any
                     ) -> tuple[int, Any]:
        """Import a public key, or (before 2.92) generate a pair."""
        req = parse_create(body, version)
        owner = self._owner(ctx, version, req.user_id, "create")

        def room(session: Session) -> None:
            limits = quotas.project_limits(session, self.section, ctx.project_id)
            quotas.check_keypairs(limits, q.count_keypairs(session, owner) + 1)

        await self.db.run(room)
        generated: Generated | None = None
        if req.public_key is None:
            if req.type == X509:
                generated = await self.offload(generate_x509, owner)
            else:
                generated = await self.offload(generate_ssh)
            public_key, print_ = generated.public_key, generated.fingerprint
        else:
            public_key, print_ = req.public_key, fingerprint(req.public_key, req.type)

        def store(session: Session) -> q.Keypair:
            return q.create_keypair(session, user_id=owner, name=req.name,
                                    public_key=public_key, fingerprint=print_, type=req.type)

        try:
            kp = await self.db.run(store)
        except db_errors.Conflict:
            raise Conflict(f"Key pair '{req.name}' already exists.") from None
        if self.section.recheck_quota:
            await self._recheck(ctx, owner, req.name)
        view = keypair_view(kp, version)
        view["user_id"] = owner
        if generated is not None:
            view["private_key"] = generated.private_key
        return (201 if version >= V2_2 else 200), {"keypair": view}

    async def _recheck(self, ctx: RequestContext, owner: str, name: str) -> None:
        """Undo a create that a concurrent one pushed over the quota."""
        def check(session: Session) -> bool:
            limits = quotas.project_limits(session, self.section, ctx.project_id)
            try:
                quotas.check_keypairs(limits, q.count_keypairs(session, owner))
            except Forbidden:
                q.delete_keypair(session, owner, name)
                return False
            return True

        if not await self.db.run(check):
            raise Forbidden("Quota exceeded, too many key pairs.")

    async def delete(self, ctx: RequestContext, version: Version, name: str,
                     args: params.Args) -> tuple[int, Any]:
        """Delete a keypair of the user (202 at 2.1, 204 from 2.2)."""
        owner = self._queried_owner(ctx, version, args, "delete")
        try:
            await self.db.run(q.delete_keypair, owner, name)
        except db_errors.NotFound:
            raise _not_found(name, owner) from None
        return (204 if version >= V2_2 else 202), None
