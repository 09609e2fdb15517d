"""
The documents the Identity API answers with, shaped as Keystone shapes them:
version discovery, tokens with their service catalog, users, projects,
roles and EC2 credentials.
"""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any

from nova_ws.db.queries.identity import Ec2Credential, Project, Role, Token, User

VERSION_ID = "v3.14"
VERSION_UPDATED = "2020-04-07T00:00:00Z"
MEDIA_TYPE = "application/vnd.openstack.identity-v3+json"
REGION = "RegionOne"
INTERFACES = ("public", "internal", "admin")
#: (type, name, path under the public URL). The identity URL is unversioned,
#: as devstack registers it: keystoneauth discovers /v3 from it.
SERVICES = (
    ("identity", "keystone", "/identity"),
    ("compute", "nova", "/compute/v2.1"),
    ("image", "glance", "/image"),
    ("ec2", "ec2", "/ec2"),
)


def timestamp(value: datetime) -> str:
    """Keystone's time format: C{2030-01-02T03:04:05.123456Z} (UTC)."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def version(base: str) -> dict[str, Any]:
    """The v3 version entry."""
    return {
        "id": VERSION_ID,
        "status": "stable",
        "updated": VERSION_UPDATED,
        "links": [{"rel": "self", "href": f"{base}/v3/"}],
        "media-types": [{"base": "application/json", "type": MEDIA_TYPE}],
    }


def versions(base: str) -> dict[str, Any]:
    """C{GET /identity/}: every version (only v3), as Keystone's 300 answer."""
    return {"versions": {"values": [version(base)]}}


def _stable_id(*parts: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, "nova_ws:" + ":".join(parts)).hex


def catalog(public_url: str) -> list[dict[str, Any]]:
    """The service catalog: every service at every interface, in C{RegionOne}."""
    return [
        {
            "id": _stable_id("service", kind),
            "type": kind,
            "name": name,
            "endpoints": [
                {"id": _stable_id("endpoint", kind, interface), "interface": interface,
                 "region": REGION, "region_id": REGION, "url": public_url + path}
                for interface in INTERFACES
            ],
        }
        for kind, name, path in SERVICES
    ]


def _audit_id(token: Token) -> str:
    # Derived from the stored digest: stable, public, and not the token.
    return base64.urlsafe_b64encode(bytes.fromhex(token.token_hash)[:16]).decode().rstrip("=")


def token(record: Token, public_url: str) -> dict[str, Any]:
    """The body of a token (issued or validated)."""
    user = record.user
    body: dict[str, Any] = {
        "methods": list(record.methods),
        "user": {"id": user.id, "name": user.name, "password_expires_at": None,
                 "domain": {"id": user.domain_id, "name": user.domain_name}},
        "audit_ids": [_audit_id(record)],
        "issued_at": timestamp(record.issued_at),
        "expires_at": timestamp(record.expires_at),
    }
    if record.project is not None:
        project = record.project
        body["project"] = {"id": project.id, "name": project.name,
                           "domain": {"id": project.domain_id, "name": project.domain_name}}
        body["is_domain"] = False
        body["roles"] = [{"id": role.id, "name": role.name} for role in record.roles]
        body["catalog"] = catalog(public_url)
    return {"token": body}


def user(value: User, base: str) -> dict[str, Any]:
    """A user entity."""
    body: dict[str, Any] = {
        "id": value.id, "name": value.name, "domain_id": value.domain_id,
        "enabled": value.enabled, "password_expires_at": None, "options": {},
        "links": {"self": f"{base}/v3/users/{value.id}"},
    }
    if value.default_project_id is not None:
        body["default_project_id"] = value.default_project_id
    return body


def project(value: Project, base: str) -> dict[str, Any]:
    """A project entity."""
    return {
        "id": value.id, "name": value.name, "domain_id": value.domain_id,
        "description": value.description or "", "enabled": value.enabled,
        "parent_id": value.domain_id, "is_domain": False, "tags": [], "options": {},
        "links": {"self": f"{base}/v3/projects/{value.id}"},
    }


def role(value: Role, base: str) -> dict[str, Any]:
    """A role entity."""
    return {"id": value.id, "name": value.name, "domain_id": None, "description": None,
            "options": {}, "links": {"self": f"{base}/v3/roles/{value.id}"}}


def collection(key: str, items: list[dict[str, Any]], self_url: str) -> dict[str, Any]:
    """A list answer with Keystone's C{links}."""
    return {key: items, "links": {"self": self_url, "previous": None, "next": None}}


def ec2_credential(value: Ec2Credential, base: str) -> dict[str, Any]:
    """An EC2 credential as C{OS-EC2} shows it (the secret included)."""
    return {
        "user_id": value.user_id, "tenant_id": value.project_id, "access": value.access,
        "secret": value.secret, "trust_id": None,
        "links": {"self": f"{base}/v3/users/{value.user_id}/credentials/OS-EC2/{value.access}"},
    }
