"""First start of the all-in-one: Identity users and an ``openrc``, devstack style.

``openrc`` (written once, in the directory ``nova-ws up`` runs in) holds the
admin's and the demo user's passwords, generated at random the first time
and reused after; ``source openrc`` gives the admin, ``source openrc demo
demo`` the demo user. The Identity database is bootstrapped with the same
passwords at every start (idempotent, as ``keystone-manage bootstrap``).
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from nova_ws.config import NovaConfig
from nova_ws.db.engine import create_engine_from_config
from nova_ws.db.queries import flavors, identity, images

_PASSWORD = re.compile(r"^NOVA_WS_(ADMIN|DEMO)_PASSWORD='([A-Za-z0-9_-]+)'$", re.M)

OPENRC = """\
# Written by `nova-ws up` or `nova-ws bootstrap` (devstack style). Source it in a shell:
#   source openrc              # the admin, in project admin
#   source openrc demo demo    # the demo user, in project demo
NOVA_WS_ADMIN_PASSWORD='{admin}'
NOVA_WS_DEMO_PASSWORD='{demo}'
export OS_USERNAME="${{1:-admin}}"
export OS_PROJECT_NAME="${{2:-$OS_USERNAME}}"
if [ "$OS_USERNAME" = demo ]; then
    export OS_PASSWORD="$NOVA_WS_DEMO_PASSWORD"
else
    export OS_PASSWORD="$NOVA_WS_ADMIN_PASSWORD"
fi
export OS_AUTH_URL={auth_url}
export OS_USER_DOMAIN_NAME=Default
export OS_PROJECT_DOMAIN_NAME=Default
export OS_IDENTITY_API_VERSION=3
export OS_REGION_NAME=RegionOne
{cacert}"""


@dataclass(frozen=True)
class Credentials:
    """The all-in-one's two users."""

    auth_url: str
    admin_password: str
    demo_password: str


def ensure_openrc(config: NovaConfig, path: Path) -> Credentials:
    """Read the passwords from *path*, or make new ones and write it (mode 0600).

    With ``[ca] secure_bus`` (or ``[wsgi]`` TLS) the URL is https, and
    ``OS_CACERT`` names our CA (``[ca]``) for clients to trust, when it exists
    (the all-in-one makes it before this runs).
    """
    d = config.default
    https = config.ca.secure_bus or bool(config.wsgi.ssl_cert_file)
    auth_url = (f"{'https' if https else 'http'}://{d.osapi_compute_listen}:"
                f"{d.osapi_compute_listen_port}/identity")
    cacert = ""
    if https:
        from nova_ws.auth.ca.authority import CaPaths

        ca_file = CaPaths.from_config(config.ca, d.state_path).cert.resolve()
        if config.ca.secure_bus or ca_file.exists():
            cacert = f"export OS_CACERT='{ca_file}'\n"
    found = dict(_PASSWORD.findall(path.read_text())) if path.exists() else {}
    admin = found.get("ADMIN") or secrets.token_urlsafe(18)
    demo = found.get("DEMO") or secrets.token_urlsafe(18)
    text = OPENRC.format(admin=admin, demo=demo, auth_url=auth_url, cacert=cacert)
    if not path.exists() or path.read_text() != text:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
    return Credentials(auth_url, admin, demo)


DEFAULT_IMAGE = "cirros"


def bootstrap_identity(config: NovaConfig, credentials: Credentials) -> None:
    """Create (or refresh) the admin and demo users and projects, Nova's default
    flavors and a ``cirros`` image in the catalog (for the fake driver, an image
    is a name). Runs before the reactor."""
    engine = create_engine_from_config(config.database, state_path=config.default.state_path)
    try:
        with Session(engine) as session, session.begin():
            identity.bootstrap(session, admin_password=credentials.admin_password,
                               demo_password=credentials.demo_password)
            flavors.seed_default_flavors(session)
            if not images.list_images(session, name=DEFAULT_IMAGE):
                images.create_image(session, name=DEFAULT_IMAGE, min_disk=1,
                                    properties={"architecture": "x86_64"})
    finally:
        engine.dispose()
