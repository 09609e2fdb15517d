"""The all-in-one as ``nova-ws up`` builds it, on free ports, for end-to-end tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nova_ws.allinone.bootstrap import Credentials, bootstrap_identity, ensure_openrc
from nova_ws.allinone.tap import makeServiceFromConfig
from nova_ws.config import NovaConfig, parse_config
from nova_ws.testing.ports import free_port


@dataclass
class AllInOne:
    """A started all-in-one, its config, its users and its API's base URL."""

    service: Any
    config: NovaConfig
    credentials: Credentials
    api: str


def start_allinone(state: Path, secure: bool = False,
                   options: Mapping[str, Mapping[str, str]] | None = None) -> AllInOne:
    """Build, bootstrap and start every service, with state (SQLite, openrc) in *state*.

    *secure* turns ``[ca] secure_bus`` on: TLS everywhere, services joining
    the router with certificates (the API's URL is then https). *options*
    adds or overrides nova.conf options by section, e.g.
    ``{"DEFAULT": {"compute_driver": "libvirt"}, "spice": {"enabled": "true"}}``.
    """
    ws, rs, api_port = free_port(), free_port(), free_port()
    novnc, spice, serial, ca_port = free_port(), free_port(), free_port(), free_port()
    sections: dict[str, dict[str, str]] = {
        "DEFAULT": {"host": "aio", "state_path": str(state),
                    "osapi_compute_listen_port": str(api_port)},
        "wamp": {"url": f"ws://127.0.0.1:{ws}/ws"},
        "router": {"websocket_port": str(ws), "rawsocket_port": str(rs)},
        "database": {"connection": f"sqlite:///{state}/nova.sqlite"},
        "vnc": {"novncproxy_port": str(novnc),
                "novncproxy_base_url": f"http://127.0.0.1:{novnc}/vnc_lite.html"},
        "spice": {"html5proxy_port": str(spice),
                  "html5proxy_base_url": f"http://127.0.0.1:{spice}/spice_auto.html"},
        "serial_console": {"serialproxy_port": str(serial),
                           "base_url": f"ws://127.0.0.1:{serial}/"},
        "ca": {"port": str(ca_port), "secure_bus": str(secure)},
    }
    for section, values in (options or {}).items():
        sections.setdefault(section, {}).update(values)
    config = parse_config("".join(
        f"[{section}]\n" + "".join(f"{key} = {value}\n" for key, value in values.items())
        for section, values in sections.items()), "<test>")
    service = makeServiceFromConfig(config)
    credentials = ensure_openrc(config, state / "openrc")
    bootstrap_identity(config, credentials)
    service.startService()
    scheme = "https" if secure else "http"
    return AllInOne(service, config, credentials, f"{scheme}://127.0.0.1:{api_port}")


@asynccontextmanager
async def running_allinone(state: Path, joined: Iterable[str],
                           **options: Any) -> AsyncIterator[AllInOne]:
    """``start_allinone(state, **options)`` once the services named in *joined*
    are on the router; stopped on the way out."""
    aio = start_allinone(state, **options)
    try:
        for name in joined:
            await aio.service.getServiceNamed(name).client.when_joined()
        yield aio
    finally:
        await aio.service.stopService()


def client_env(aio: AllInOne, home: Path, admin: bool = False) -> dict[str, str]:
    """The environment ``source openrc`` gives the ``demo`` user (or the admin)."""
    import os

    c = aio.credentials
    user, password = ("admin", c.admin_password) if admin else ("demo", c.demo_password)
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(home),
            "OS_AUTH_URL": c.auth_url, "OS_USERNAME": user, "OS_PASSWORD": password,
            "OS_PROJECT_NAME": user, "OS_USER_DOMAIN_NAME": "Default",
            "OS_PROJECT_DOMAIN_NAME": "Default", "OS_IDENTITY_API_VERSION": "3",
            "OS_REGION_NAME": "RegionOne"}


async def identity_token(api: str, user: str, password: str, project: str
                         ) -> tuple[str, dict[str, Any]]:
    """Log in with Identity v3 password auth: the token and the token body."""
    import json

    import treq
    from twisted.web.http_headers import Headers

    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}}
    response = await treq.post(f"{api}/identity/v3/auth/tokens", json.dumps(body).encode(),
                               headers=Headers({b"Content-Type": [b"application/json"]}))
    if response.code != 201:
        raise AssertionError(f"login failed ({response.code}): {await response.text()}")
    return (str(response.headers.getRawHeaders("X-Subject-Token")[0]),
            (await response.json())["token"])
