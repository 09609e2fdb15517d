"""
Read nova.conf into frozen, typed section objects.

This is the only module that reads the INI file. Every service receives a
L{NovaConfig} (usually from its C{tap.py}) and reads typed attributes from it.

Two kinds of sections exist:

  - Option sections (C{[DEFAULT]}, C{[wamp]}, C{[router]}, C{[database]},
    C{[filter_scheduler]}, C{[libvirt]}, ...): a frozen dataclass whose fields are declared
    with L{option}. The field's type annotation chooses the conversion
    (C{str}, C{int}, C{float}, C{bool} or C{tuple[str, ...]}); L{option} can
    add allowed C{choices} and C{bounds}.
  - Mapping sections (C{[router_ticket]}, C{[router_wampcra]}) whose option
    names are free (an authid each), and role sections named
    C{[router_role:<realm>:<role>]} whose option names are URI patterns.

Unknown sections, unknown options and bad values raise L{ConfigError}, whose
message names the file, the section and the option.

To add an option section:

  1. write a frozen dataclass whose fields all use L{option} (type and default);
  2. add a field of that type (with a C{default_factory}) to L{NovaConfig};
  3. add C{"<section name>": "<NovaConfig attribute>"} to L{_OPTION_SECTIONS}.

A mapping section instead adds a value parser to L{_MAPPING_SECTIONS}.
"""

from __future__ import annotations

import configparser
import dataclasses
import math
import os
import re
import socket
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULTS_SOURCE = "<defaults>"
ACTIONS = frozenset({"call", "register", "publish", "subscribe"})
ROLE_SECTION_PREFIX = "router_role:"
_NO_DEFAULT_SECTION = "\0nova-ws: DEFAULT is an ordinary section here"


class ConfigError(ValueError):
    """
    nova.conf is unreadable or invalid; the message names file, section and option.
    """


def option(
    default: Any = dataclasses.MISSING,
    *,
    default_factory: Callable[[], Any] | None = None,
    choices: Iterable[str] | None = None,
    bounds: tuple[float | None, float | None] | None = None,
) -> Any:
    """
    Declare a section field: its INI option has the field's name.

    @param choices: allowed values (for a tuple field, allowed items).
    @param bounds: inclusive (minimum, maximum) for numbers; C{None} is open.
    """
    metadata = {"choices": None if choices is None else frozenset(choices), "bounds": bounds}
    if default_factory is not None:
        return field(default_factory=default_factory, metadata=metadata)
    return field(default=default, metadata=metadata)


_PORT = (-1, 65535)


@dataclass(frozen=True)
class DefaultSection:
    """
    C{[DEFAULT]}: this host's identity and the hypervisor driver.

    C{instances_path} is where guests' disks live, as in Nova (empty:
    C{<state_path>/instances}); the libvirt driver reports its filesystem as
    the host's disk.
    """

    host: str = option(default_factory=socket.gethostname)
    my_ip: str = option("127.0.0.1")
    compute_driver: str = option("fake")
    state_path: str = option(".")
    instances_path: str = option("")
    debug: bool = option(False)
    report_interval: float = option(10.0, bounds=(0.001, None))
    service_down_time: float = option(60.0, bounds=(0.001, None))
    default_availability_zone: str = option("nova")
    osapi_compute_listen: str = option("127.0.0.1")
    osapi_compute_listen_port: int = option(8774, bounds=(0, 65535))
    cpu_allocation_ratio: float = option(16.0, bounds=(0, None))
    ram_allocation_ratio: float = option(1.5, bounds=(0, None))
    disk_allocation_ratio: float = option(1.0, bounds=(0, None))


@dataclass(frozen=True)
class WampSection:
    """
    C{[wamp]}: how a service reaches the WAMP router.
    """

    url: str = option("ws://127.0.0.1:8080/ws")
    realm: str = option("nova")
    authid: str = option("")
    authmethod: str = option("", choices=("ticket", "wampcra", "tls", "anonymous", ""))
    secret: str = option("")
    tls_cert_file: str = option("")
    tls_key_file: str = option("")
    tls_ca_file: str = option("")


@dataclass(frozen=True)
class RouterSection:
    """
    C{[router]}: the WAMP router's listeners, realms and authentication.

    Ports: 0 picks any free port, -1 turns the listener off. With
    C{tls_ca_file}, client certificates must chain to it; with
    C{tls_crl_file} (PEM, re-read when it changes) revoked ones are refused.
    """

    listen_host: str = option("127.0.0.1")
    websocket_port: int = option(8080, bounds=_PORT)
    websocket_path: str = option("ws")
    rawsocket_port: int = option(8081, bounds=_PORT)
    unix_socket: str = option("")
    realms: tuple[str, ...] = option(("nova",))
    serializers: tuple[str, ...] = option(
        ("cbor", "msgpack", "json"), choices=("json", "msgpack", "cbor")
    )
    tls_cert_file: str = option("")
    tls_key_file: str = option("")
    tls_ca_file: str = option("")
    tls_crl_file: str = option("")
    auth_methods: tuple[str, ...] = option(
        ("ticket", "wampcra", "tls"), choices=("ticket", "wampcra", "tls", "anonymous")
    )
    anonymous_role: str = option("")
    ticket_authenticator: str = option("")
    max_message_size: int = option(16777216, bounds=(1, None))
    max_outgoing_buffer: int = option(8388608, bounds=(1, None))
    call_timeout: float = option(0.0, bounds=(0, None))
    handshake_timeout: float = option(30.0, bounds=(0.001, None))


@dataclass(frozen=True)
class DatabaseSection:
    """
    C{[database]}: where the database is and how its connections are pooled
    (Nova's option names).

    C{connection} is any SQLAlchemy URL: C{sqlite:///nova.sqlite} (a relative
    path is relative to C{[DEFAULT] state_path}; C{sqlite:////abs/path} is
    absolute), C{mysql+pymysql://user:pass@host/nova} (MariaDB/MySQL) or
    C{postgresql+psycopg://user:pass@host/nova}. C{connection_recycle_time}
    is in seconds (-1: never); C{pool_timeout} is how long to wait for a free
    connection; C{db_max_retries} is how often a transaction that hit a
    deadlock or serialization failure is run again.
    """

    connection: str = option("sqlite:///nova.sqlite")
    max_pool_size: int = option(5, bounds=(1, None))
    max_overflow: int = option(50, bounds=(0, None))
    pool_timeout: float = option(30.0, bounds=(0, None))
    connection_recycle_time: int = option(3600, bounds=(-1, None))
    db_max_retries: int = option(5, bounds=(0, None))


DEFAULT_FILTERS = (
    "IgnoreHostsFilter",
    "ComputeFilter",
    "AvailabilityZoneFilter",
    "RamFilter",
    "DiskFilter",
    "CoreFilter",
    "ImagePropertiesFilter",
    "ServerGroupAntiAffinityFilter",
    "ServerGroupAffinityFilter",
)


@dataclass(frozen=True)
class FilterSchedulerSection:
    """
    C{[filter_scheduler]}: how the scheduler picks a host (Nova's option names).

    C{enabled_filters} are run in the order given (names from
    L{nova_ws.scheduler.filters.registry}; an unknown one stops the scheduler
    at start-up). Each C{*_weight_multiplier} scales one weigher: positive
    prefers hosts with more of that resource (spreading), negative fewer
    (packing), 0 turns it off; the soft-affinity ones may not be negative.
    C{host_subset_size} is how many of the best hosts the first choice is
    drawn from at random; C{max_attempts} is how often a build is tried on
    another host after it failed on one.
    """

    enabled_filters: tuple[str, ...] = option(DEFAULT_FILTERS)
    ram_weight_multiplier: float = option(1.0)
    cpu_weight_multiplier: float = option(1.0)
    disk_weight_multiplier: float = option(1.0)
    soft_affinity_weight_multiplier: float = option(1.0, bounds=(0, None))
    soft_anti_affinity_weight_multiplier: float = option(1.0, bounds=(0, None))
    host_subset_size: int = option(1, bounds=(1, None))
    max_attempts: int = option(3, bounds=(1, None))


@dataclass(frozen=True)
class VncSection:
    """
    C{[vnc]}: the noVNC proxy and how it authenticates to guests (Nova's names).

    C{novncproxy_base_url} is the page the API hands out (the token is added
    as C{?path=%3Ftoken%3D...}); C{server_listen} is where guests' VNC
    servers listen. C{auth_schemes} are the guest-side schemes the proxy may
    use, best first (C{none}, C{vnc}, C{vencrypt}); the C{vencrypt_*} files
    are the proxy's client certificate and the CA that guests' certificates
    must chain to. C{server_tls} makes the fake driver's guest screens serve
    VeNCrypt x509 only, as QEMU's C{vnc_tls} does, from
    C{server_tls_x509_cert_dir} in QEMU's layout (C{server-cert.pem},
    C{server-key.pem}, C{ca-cert.pem}, optionally C{ca-crl.pem});
    C{server_tls_x509_verify} also demands a client certificate from that CA.
    """

    enabled: bool = option(True)
    novncproxy_base_url: str = option("http://127.0.0.1:6080/vnc_lite.html")
    novncproxy_host: str = option("127.0.0.1")
    novncproxy_port: int = option(6080, bounds=_PORT)
    server_listen: str = option("127.0.0.1")
    auth_schemes: tuple[str, ...] = option(("vnc", "none"),
                                           choices=("none", "vnc", "vencrypt"))
    vencrypt_client_key: str = option("")
    vencrypt_client_cert: str = option("")
    vencrypt_ca_certs: str = option("")
    server_tls: bool = option(False)
    server_tls_x509_cert_dir: str = option("")
    server_tls_x509_verify: bool = option(False)


@dataclass(frozen=True)
class SpiceSection:
    """
    C{[spice]}: the SPICE HTML5 proxy (Nova's names).

    C{enabled} also gives the libvirt driver's guests a SPICE display next
    to their VNC one.
    """

    enabled: bool = option(True)
    html5proxy_base_url: str = option("http://127.0.0.1:6082/spice_auto.html")
    html5proxy_host: str = option("127.0.0.1")
    html5proxy_port: int = option(6082, bounds=_PORT)


@dataclass(frozen=True)
class LibvirtSection:
    """
    C{[libvirt]}: the hypervisor of C{compute_driver = libvirt} (Nova's names).

    C{connection_uri} is the libvirt URI the driver connects to; empty means
    C{qemu:///system}, as in Nova. Guests' VNC and SPICE listen on C{[vnc]
    server_listen}; they get a SPICE console too when C{[spice] enabled}.
    The domain type is the best the host offers (C{kvm}, else C{qemu}).
    """

    connection_uri: str = option("")


@dataclass(frozen=True)
class SerialConsoleSection:
    """
    C{[serial_console]}: the serial console proxy (Nova's names).
    """

    enabled: bool = option(True)
    base_url: str = option("ws://127.0.0.1:6083/")
    serialproxy_host: str = option("127.0.0.1")
    serialproxy_port: int = option(6083, bounds=_PORT)


@dataclass(frozen=True)
class ConsoleSection:
    """
    C{[console]}: what every console proxy shares.

    C{allowed_origins} are host names (besides the proxy's own) a browser
    page may open consoles from. C{idle_timeout} closes a session with no
    traffic (0: never); C{max_per_token}/C{max_per_user} cap live sessions;
    C{failed_auth_limit} failed token checks per client address within
    C{failed_auth_window} seconds make further attempts wait out the window.
    C{ssl_only} with C{cert}/C{key} serves https and wss only.
    """

    allowed_origins: tuple[str, ...] = option(())
    idle_timeout: float = option(600.0, bounds=(0, None))
    max_per_token: int = option(4, bounds=(0, None))
    max_per_user: int = option(32, bounds=(0, None))
    failed_auth_limit: int = option(10, bounds=(1, None))
    failed_auth_window: float = option(60.0, bounds=(0.001, None))
    ssl_only: bool = option(False)
    cert: str = option("")
    key: str = option("")


@dataclass(frozen=True)
class ConsoleAuthSection:
    """
    C{[consoleauth]}: console tokens.

    C{token_ttl} is how long a token is valid, in seconds. A token is used
    once (consumed at the first connect) unless C{multi_use} is set, as Nova
    does by default.
    """

    token_ttl: int = option(600, bounds=(1, None))
    multi_use: bool = option(False)


@dataclass(frozen=True)
class QuotaSection:
    """
    C{[quota]}: the default limits of every project (Nova's option names).

    A project's own limits (C{os-quota-sets}) override these; -1 is
    unlimited. C{ram} is in MB; C{key_pairs} counts per user. With
    C{recheck_quota}, a server create counts again after its rows are
    written and undoes them if a concurrent request took the room.
    """

    instances: int = option(10, bounds=(-1, None))
    cores: int = option(20, bounds=(-1, None))
    ram: int = option(51200, bounds=(-1, None))
    metadata_items: int = option(128, bounds=(-1, None))
    injected_files: int = option(5, bounds=(-1, None))
    injected_file_content_bytes: int = option(10240, bounds=(-1, None))
    injected_file_path_length: int = option(255, bounds=(-1, None))
    key_pairs: int = option(100, bounds=(-1, None))
    server_groups: int = option(10, bounds=(-1, None))
    server_group_members: int = option(10, bounds=(-1, None))
    recheck_quota: bool = option(True)


@dataclass(frozen=True)
class WsgiSection:
    """
    C{[wsgi]}: TLS for nova-api (Nova's option names): https when both are set.
    """

    ssl_cert_file: str = option("")
    ssl_key_file: str = option("")


@dataclass(frozen=True)
class DashboardSection:
    """
    C{[dashboard]}: the browser dashboard that nova-api serves at C{/}.

    C{router_url} is the router's WebSocket URL as browsers reach it (a
    public name, a TLS front end): empty means C{[wamp] url}, which is how
    the services reach it and may be a loopback or RawSocket address.
    """

    router_url: str = option("")


@dataclass(frozen=True)
class CaSection:
    """
    C{[ca]}: nova-cert, the certificate authority (Nova's C{[crypto]} layout).

    C{ca_path} is relative to C{[DEFAULT] state_path}; C{ca_file},
    C{key_file}, C{crl_file} and C{keys_path} (where issued keys are
    written) are relative to C{ca_path}. The authority is created on first
    start unless both its files exist (an operator's CA). C{*_days} are
    validities; the CRL is re-signed well before C{crl_days} pass. The CA
    and CRL are published over HTTP on C{listen}:C{port} (-1: off).
    C{secure_bus} is the all-in-one's one switch: TLS on the router, the
    API, the proxies and the guests' VNC, every service authenticating with
    a client certificate from this CA.
    """

    ca_path: str = option("CA")
    ca_file: str = option("cacert.pem")
    key_file: str = option("private/cakey.pem")
    crl_file: str = option("crl.pem")
    keys_path: str = option("keys")
    common_name: str = option("nova_ws CA")
    ca_days: int = option(3650, bounds=(1, None))
    cert_days: int = option(365, bounds=(1, None))
    crl_days: int = option(7, bounds=(1, None))
    listen: str = option("127.0.0.1")
    port: int = option(8790, bounds=_PORT)
    secure_bus: bool = option(False)


@dataclass(frozen=True)
class TicketPrincipal:
    """
    A static WAMP-Ticket principal from C{[router_ticket]}: C{authid = role:ticket}.
    """

    authid: str
    role: str
    ticket: str


@dataclass(frozen=True)
class CraPrincipal:
    """
    A WAMP-CRA principal from C{[router_wampcra]}:
    C{authid = role:secret} or C{authid = role:secret:salt[:iterations[:keylen]]}.

    C{salt} is C{None} when the secret is used unsalted.
    """

    authid: str
    role: str
    secret: str
    salt: str | None = None
    iterations: int = 1000
    keylen: int = 32


@dataclass(frozen=True)
class RolePermission:
    """
    One line of a C{[router_role:<realm>:<role>]} section: a URI pattern
    (kept as written) and the actions it allows.
    """

    uri: str
    actions: frozenset[str]


def _empty() -> Mapping[Any, Any]:
    return types.MappingProxyType({})


@dataclass(frozen=True)
class NovaConfig:
    """
    The whole nova.conf, parsed. C{source} is the file it came from.
    """

    source: str = DEFAULTS_SOURCE
    default: DefaultSection = field(default_factory=DefaultSection)
    wamp: WampSection = field(default_factory=WampSection)
    router: RouterSection = field(default_factory=RouterSection)
    database: DatabaseSection = field(default_factory=DatabaseSection)
    filter_scheduler: FilterSchedulerSection = field(default_factory=FilterSchedulerSection)
    vnc: VncSection = field(default_factory=VncSection)
    spice: SpiceSection = field(default_factory=SpiceSection)
    libvirt: LibvirtSection = field(default_factory=LibvirtSection)
    serial_console: SerialConsoleSection = field(default_factory=SerialConsoleSection)
    console: ConsoleSection = field(default_factory=ConsoleSection)
    consoleauth: ConsoleAuthSection = field(default_factory=ConsoleAuthSection)
    quota: QuotaSection = field(default_factory=QuotaSection)
    wsgi: WsgiSection = field(default_factory=WsgiSection)
    dashboard: DashboardSection = field(default_factory=DashboardSection)
    ca: CaSection = field(default_factory=CaSection)
    router_ticket: Mapping[str, TicketPrincipal] = field(default_factory=_empty)
    router_wampcra: Mapping[str, CraPrincipal] = field(default_factory=_empty)
    router_roles: Mapping[tuple[str, str], tuple[RolePermission, ...]] = field(
        default_factory=_empty
    )


class _Where:
    """
    Formats error messages that name the file, section and option.
    """

    def __init__(self, source: str, section: str) -> None:
        self.source = source
        self.section = section

    def error(self, option_name: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.source}: [{self.section}] {option_name}: {problem}")


_INT = re.compile(r"[+-]?[0-9]+")


def _to_int(text: str) -> int:
    if not _INT.fullmatch(text):
        raise ValueError(f"{text!r} is not an integer")
    return int(text)


def _to_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def _to_bool(text: str) -> bool:
    try:
        return configparser.ConfigParser.BOOLEAN_STATES[text.lower()]
    except KeyError:
        raise ValueError(f"{text!r} is not a boolean (true/false/yes/no/on/off/1/0)") from None


def _to_list(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


_CONVERTERS: Mapping[Any, Callable[[str], Any]] = {
    str: str,
    int: _to_int,
    float: _to_float,
    bool: _to_bool,
    tuple[str, ...]: _to_list,
}


def _convert(spec: dataclasses.Field[Any], kind: Any, text: str) -> Any:
    """
    Convert one option's text to the field's type, then check choices and bounds.
    """
    value = _CONVERTERS[kind](text)
    choices = spec.metadata.get("choices")
    if choices is not None:
        items = value if isinstance(value, tuple) else (value,)
        for item in items:
            if item not in choices:
                allowed = ", ".join(sorted(repr(c) for c in choices))
                raise ValueError(f"{item!r} is not one of {allowed}")
    bounds = spec.metadata.get("bounds")
    if bounds is not None:
        low, high = bounds
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(f"{text!r} is out of range [{low}, {'' if high is None else high}]")
    return value


def _parse_options(cls: type[Any], items: Mapping[str, str], where: _Where) -> Any:
    hints = typing.get_type_hints(cls)
    specs = {spec.name: spec for spec in dataclasses.fields(cls)}
    values = {}
    for name, text in items.items():
        spec = specs.get(name)
        if spec is None:
            raise where.error(name, "unknown option")
        try:
            values[name] = _convert(spec, hints[name], text)
        except ValueError as e:
            raise where.error(name, str(e)) from None
    return cls(**values)


def _parse_ticket(authid: str, text: str) -> TicketPrincipal:
    role, colon, ticket = text.partition(":")
    if not colon or not role.strip() or not ticket:
        raise ValueError(f"{text!r} is not 'role:ticket'")
    return TicketPrincipal(authid, role.strip(), ticket)


def _parse_cra(authid: str, text: str) -> CraPrincipal:
    parts = text.split(":")
    if not 2 <= len(parts) <= 5 or not parts[0].strip() or not parts[1]:
        raise ValueError(f"{text!r} is not 'role:secret[:salt[:iterations[:keylen]]]'")
    role, secret = parts[0].strip(), parts[1]
    if len(parts) == 2:
        return CraPrincipal(authid, role, secret)
    if not parts[2]:
        raise ValueError("the salt is empty")
    numbers = [_to_int(p) for p in parts[3:]]
    if any(n < 1 for n in numbers):
        raise ValueError("iterations and keylen must be positive")
    return CraPrincipal(authid, role, secret, parts[2], *numbers)


def _parse_actions(text: str) -> frozenset[str]:
    """Actions of a role rule; 'all' grants every action, 'disclose' may be added."""
    actions = set(_to_list(text))
    if "all" in actions:
        actions = (actions - {"all"}) | ACTIONS
    allowed = ACTIONS | {"disclose"}
    unknown = [a for a in actions if a not in allowed]
    if unknown or not actions - {"disclose"}:
        raise ValueError(f"{text!r} is not 'all' or a list of {', '.join(sorted(allowed))}")
    return frozenset(actions)


_OPTION_SECTIONS: Mapping[str, str] = {
    "DEFAULT": "default",
    "wamp": "wamp",
    "router": "router",
    "database": "database",
    "filter_scheduler": "filter_scheduler",
    "vnc": "vnc",
    "spice": "spice",
    "libvirt": "libvirt",
    "serial_console": "serial_console",
    "console": "console",
    "consoleauth": "consoleauth",
    "quota": "quota",
    "wsgi": "wsgi",
    "dashboard": "dashboard",
    "ca": "ca",
}

_MAPPING_SECTIONS: Mapping[str, Callable[[str, str], Any]] = {
    "router_ticket": _parse_ticket,
    "router_wampcra": _parse_cra,
}


def _parse_mapping(
    parse: Callable[[str, str], Any], items: Mapping[str, str], where: _Where
) -> Mapping[str, Any]:
    parsed = {}
    for name, text in items.items():
        try:
            parsed[name] = parse(name, text)
        except ValueError as e:
            raise where.error(name, str(e)) from None
    return types.MappingProxyType(parsed)


def _parse_role(
    section: str, items: Mapping[str, str], where: _Where
) -> tuple[tuple[str, str], tuple[RolePermission, ...]]:
    realm, colon, role = section[len(ROLE_SECTION_PREFIX) :].partition(":")
    if not realm or not colon or not role or ":" in role:
        raise ConfigError(
            f"{where.source}: [{section}]: a role section is named "
            f"[{ROLE_SECTION_PREFIX}<realm>:<role>]"
        )
    permissions = []
    for uri, text in items.items():
        try:
            permissions.append(RolePermission(uri, _parse_actions(text)))
        except ValueError as e:
            raise where.error(uri, str(e)) from None
    return (realm, role), tuple(permissions)


def parse_config(text: str, source: str = "<string>") -> NovaConfig:
    """
    Parse nova.conf text.

    @param source: the file name used in error messages and kept in
        L{NovaConfig.source}.
    @raise ConfigError: on a syntax error, an unknown section or option, or a
        bad value.
    """
    parser = configparser.ConfigParser(interpolation=None, default_section=_NO_DEFAULT_SECTION)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text, source=source)
    except configparser.Error as e:
        raise ConfigError(f"{source}: {e.message}") from None
    values: dict[str, Any] = {}
    roles: dict[tuple[str, str], tuple[RolePermission, ...]] = {}
    for section in parser.sections():
        items = dict(parser.items(section))
        where = _Where(source, section)
        if section in _OPTION_SECTIONS:
            attribute = _OPTION_SECTIONS[section]
            kind = typing.get_type_hints(NovaConfig)[attribute]
            values[attribute] = _parse_options(kind, items, where)
        elif section in _MAPPING_SECTIONS:
            values[section] = _parse_mapping(_MAPPING_SECTIONS[section], items, where)
        elif section.startswith(ROLE_SECTION_PREFIX):
            key, permissions = _parse_role(section, items, where)
            roles[key] = permissions
        else:
            raise ConfigError(f"{source}: [{section}]: unknown section")
    return NovaConfig(source=source, router_roles=types.MappingProxyType(roles), **values)


def load_config(path: str | os.PathLike[str] | None) -> NovaConfig:
    """
    Read nova.conf from C{path}; C{None} gives every default.

    @raise ConfigError: if the file cannot be read or is invalid.
    """
    if path is None:
        return NovaConfig()
    source = os.fspath(path)
    try:
        with open(source, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{source}: cannot read: {e}") from None
    return parse_config(text, source)
