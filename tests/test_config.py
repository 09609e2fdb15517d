"""
Tests for L{nova_ws.config}: nova.conf parsing into typed, frozen sections.
"""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nova_ws.config import (
    ACTIONS,
    ConfigError,
    CraPrincipal,
    NovaConfig,
    RolePermission,
    TicketPrincipal,
    load_config,
    parse_config,
)

REPO = Path(__file__).resolve().parent.parent


def _error(text: str, source: str = "etc/nova.conf") -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text, source)
    return str(info.value)


def test_defaults() -> None:
    """
    When no file is given, every section has its documented defaults.
    """
    config = load_config(None)
    assert config.default.host == socket.gethostname()
    assert config.default.my_ip == "127.0.0.1"
    assert config.default.compute_driver == "fake"
    assert config.default.debug is False
    assert config.wamp.url == "ws://127.0.0.1:8080/ws"
    assert config.wamp.realm == "nova"
    assert config.wamp.authmethod == ""
    assert config.router.websocket_port == 8080
    assert config.router.rawsocket_port == 8081
    assert config.router.websocket_path == "ws"
    assert config.router.realms == ("nova",)
    assert config.router.serializers == ("cbor", "msgpack", "json")
    assert config.router.auth_methods == ("ticket", "wampcra", "tls")
    assert config.router.max_message_size == 16777216
    assert config.router.call_timeout == 0.0
    assert dict(config.router_ticket) == {}
    assert dict(config.router_wampcra) == {}
    assert dict(config.router_roles) == {}


def test_empty_text_is_defaults() -> None:
    """
    When the text is empty, the result equals the defaults except for source.
    """
    assert parse_config("", "x.conf") == dataclasses.replace(load_config(None), source="x.conf")


def test_shipped_file_is_valid() -> None:
    """
    When etc/nova.conf is loaded, it parses and sets the all-in-one host.
    """
    config = load_config(REPO / "etc" / "nova.conf")
    assert config.source == str(REPO / "etc" / "nova.conf")
    assert config.default.host == "allinone"
    assert config.router.unix_socket == ""
    assert config.router.tls_cert_file == ""


def test_conversions() -> None:
    """
    When options are set, each is converted to its field's type.
    """
    config = parse_config(
        "[DEFAULT]\nhost = h1\ndebug = yes\n"
        "[wamp]\nauthmethod = wampcra\nsecret = s:e=c\n"
        "[router]\nwebsocket_port = 0\nrawsocket_port = -1\ncall_timeout = 2.5\n"
        "realms = nova , other,,\nserializers = json\nauth_methods =\n"
    )
    assert config.default.host == "h1"
    assert config.default.debug is True
    assert config.wamp.authmethod == "wampcra"
    assert config.wamp.secret == "s:e=c"
    assert config.router.websocket_port == 0
    assert config.router.rawsocket_port == -1
    assert config.router.call_timeout == 2.5
    assert config.router.realms == ("nova", "other")
    assert config.router.serializers == ("json",)
    assert config.router.auth_methods == ()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("true", True),
        ("false", False),
        ("Yes", True),
        ("no", False),
        ("1", True),
        ("0", False),
        ("on", True),
        ("OFF", False),
    ],
)
def test_booleans(text: str, expected: bool) -> None:
    """
    When a boolean is written in any accepted spelling, it converts.
    """
    assert parse_config(f"[DEFAULT]\ndebug = {text}\n").default.debug is expected


def test_no_interpolation_and_case_sensitive_names() -> None:
    """
    When a value holds %, it is kept; option names keep their case.
    """
    assert parse_config("[wamp]\nsecret = 100%(x)s\n").wamp.secret == "100%(x)s"
    assert "[wamp] Realm: unknown option" in _error("[wamp]\nRealm = nova\n")


@pytest.mark.parametrize(
    "section, option, value, problem",
    [
        ("router", "websocket_port", "abc", "'abc' is not an integer"),
        ("router", "websocket_port", "1.5", "'1.5' is not an integer"),
        ("router", "websocket_port", "65536", "out of range"),
        ("router", "rawsocket_port", "-2", "out of range"),
        ("router", "call_timeout", "soon", "'soon' is not a number"),
        ("router", "call_timeout", "nan", "not a finite number"),
        ("router", "call_timeout", "-1", "out of range"),
        ("router", "serializers", "json, xml", "'xml' is not one of"),
        ("router", "auth_methods", "ticket, cookie", "'cookie' is not one of"),
        ("router", "max_message_size", "0", "out of range"),
        ("DEFAULT", "debug", "maybe", "'maybe' is not a boolean"),
        ("wamp", "authmethod", "cookie", "'cookie' is not one of"),
    ],
)
def test_bad_value(section: str, option: str, value: str, problem: str) -> None:
    """
    When a value is bad, the error names the file, section, option and value.
    """
    message = _error(f"[{section}]\n{option} = {value}\n")
    assert message.startswith(f"etc/nova.conf: [{section}] {option}: ")
    assert problem in message


def test_bad_int_message() -> None:
    """
    When a port is not a number, the message is the documented one.
    """
    assert _error("[router]\nwebsocket_port = abc\n") == (
        "etc/nova.conf: [router] websocket_port: 'abc' is not an integer"
    )


def test_unknown_section() -> None:
    """
    When a section is unknown, the error names the file and the section.
    """
    assert _error("[routre]\nx = 1\n") == "etc/nova.conf: [routre]: unknown section"


def test_unknown_option() -> None:
    """
    When an option is unknown, the error names the file, section and option.
    """
    assert _error("[router]\nwebsocket_prot = 1\n") == (
        "etc/nova.conf: [router] websocket_prot: unknown option"
    )


def test_syntax_error_names_file() -> None:
    """
    When the file is not INI, the error names the file.
    """
    assert _error("no section header\n").startswith("etc/nova.conf: ")
    assert _error("[router]\n[router]\n").startswith("etc/nova.conf: ")


def test_default_does_not_leak() -> None:
    """
    When [DEFAULT] sets options, other sections neither see nor reject them.
    """
    config = parse_config("[DEFAULT]\nhost = h\ndebug = true\n[router]\nlisten_host = ::1\n")
    assert config.default.host == "h"
    assert config.router.listen_host == "::1"
    assert "[router] host: unknown option" in _error("[router]\nhost = h\n")
    assert "[DEFAULT] realm: unknown option" in _error("[DEFAULT]\nrealm = nova\n")


def test_tickets() -> None:
    """
    When [router_ticket] lists authid = role:ticket, each becomes a principal.
    """
    config = parse_config("[router_ticket]\nAlice = member:t:o:k\nbob = admin:x\n")
    assert dict(config.router_ticket) == {
        "Alice": TicketPrincipal("Alice", "member", "t:o:k"),
        "bob": TicketPrincipal("bob", "admin", "x"),
    }


@pytest.mark.parametrize("value", ["noseparator", ":ticket", "member:"])
def test_bad_ticket(value: str) -> None:
    """
    When a ticket line lacks a role or a ticket, the error names its place.
    """
    message = _error(f"[router_ticket]\nalice = {value}\n")
    assert message.startswith("etc/nova.conf: [router_ticket] alice: ")


def test_cra() -> None:
    """
    When [router_wampcra] lists plain and salted secrets, both parse.
    """
    config = parse_config(
        "[router_wampcra]\n"
        "compute1 = compute:s3cret\n"
        "conductor = conductor:sec:salt123:500:16\n"
        "scheduler = scheduler:sec:pepper\n"
    )
    assert config.router_wampcra["compute1"] == CraPrincipal("compute1", "compute", "s3cret")
    assert config.router_wampcra["compute1"].salt is None
    assert config.router_wampcra["conductor"] == CraPrincipal(
        "conductor", "conductor", "sec", "salt123", 500, 16
    )
    salted = config.router_wampcra["scheduler"]
    assert (salted.salt, salted.iterations, salted.keylen) == ("pepper", 1000, 32)


@pytest.mark.parametrize(
    "value",
    [
        "nosecret",
        ":secret",
        "role:",
        "role:s::10:32",
        "role:s:salt:many:32",
        "role:s:salt:0:32",
        "role:s:salt:1:2:3",
    ],
)
def test_bad_cra(value: str) -> None:
    """
    When a WAMP-CRA line is malformed, the error names its place.
    """
    message = _error(f"[router_wampcra]\nsvc = {value}\n")
    assert message.startswith("etc/nova.conf: [router_wampcra] svc: ")


def test_roles() -> None:
    """
    When role sections list URI patterns, they parse in order, keyed by realm and role.
    """
    config = parse_config(
        "[router_role:nova:compute]\n"
        "nova.compute.{authid}.* = register\n"
        "nova.conductor..update = call, subscribe\n"
        "[router_role:nova:admin]\n"
        "* = all\n"
    )
    assert config.router_roles[("nova", "compute")] == (
        RolePermission("nova.compute.{authid}.*", frozenset({"register"})),
        RolePermission("nova.conductor..update", frozenset({"call", "subscribe"})),
    )
    assert config.router_roles[("nova", "admin")] == (RolePermission("*", ACTIONS),)


def test_role_disclose() -> None:
    """
    When a role line adds disclose to its actions, it is kept; all expands.
    """
    config = parse_config("[router_role:nova:api]\na = call, disclose\nb = all, disclose\n")
    assert config.router_roles[("nova", "api")] == (
        RolePermission("a", frozenset({"call", "disclose"})),
        RolePermission("b", ACTIONS | {"disclose"}),
    )


@pytest.mark.parametrize("value", ["", "call, delete", "disclose", "everything"])
def test_bad_role_action(value: str) -> None:
    """
    When a role line has no or unknown actions, the error names its place.
    """
    message = _error(f"[router_role:nova:member]\nnova.project.{{project}}. = {value}\n")
    assert message.startswith("etc/nova.conf: [router_role:nova:member] nova.project.{project}.: ")


@pytest.mark.parametrize("name", ["router_role:nova", "router_role::admin", "router_role:a:b:c"])
def test_bad_role_section_name(name: str) -> None:
    """
    When a role section is not named router_role:<realm>:<role>, the error names it.
    """
    assert _error(f"[{name}]\n* = all\n").startswith(f"etc/nova.conf: [{name}]: ")


def test_immutable() -> None:
    """
    When code tries to change the parsed config, it cannot.
    """
    config = parse_config("[router_ticket]\na = r:t\n[router_role:nova:r]\nx = call\n")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.router.websocket_port = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.router = config.router  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.router_ticket["b"] = TicketPrincipal("b", "r", "t")  # type: ignore[index]
    with pytest.raises(TypeError):
        config.router_roles[("nova", "x")] = ()  # type: ignore[index]
    assert isinstance(config.router_roles[("nova", "r")], tuple)


def test_load_missing_file(tmp_path: Path) -> None:
    """
    When the file does not exist, the error names it.
    """
    missing = tmp_path / "nope.conf"
    with pytest.raises(ConfigError, match="nope.conf: cannot read"):
        load_config(missing)


def test_load_file(tmp_path: Path) -> None:
    """
    When a file is loaded, its path becomes the source used in errors.
    """
    path = tmp_path / "nova.conf"
    path.write_text("[router]\nwebsocket_port = 9000\n")
    assert load_config(path).router.websocket_port == 9000
    path.write_text("[router]\nwebsocket_port = x\n")
    with pytest.raises(ConfigError, match=f"^{path}: \\[router\\] websocket_port: "):
        load_config(str(path))


@given(st.integers(min_value=-1, max_value=65535))
def test_int_round_trip(port: int) -> None:
    """
    When any valid port is written out, it parses back to itself.
    """
    assert parse_config(f"[router]\nwebsocket_port = {port}\n").router.websocket_port == port


@given(st.integers(min_value=1))
def test_large_int_round_trip(size: int) -> None:
    """
    When any positive size, however large, is written out, it parses back to itself.
    """
    assert parse_config(f"[router]\nmax_message_size = {size}\n").router.max_message_size == size


def test_config_type() -> None:
    """
    When parsed, the result is a NovaConfig carrying its source.
    """
    config = parse_config("", "here.conf")
    assert isinstance(config, NovaConfig)
    assert config.source == "here.conf"


def test_database_defaults() -> None:
    """
    When [database] is absent, it defaults to SQLite in state_path and Nova's pool sizes.
    """
    database = load_config(None).database
    assert database.connection == "sqlite:///nova.sqlite"
    assert database.max_pool_size == 5
    assert database.max_overflow == 50
    assert database.pool_timeout == 30.0
    assert database.connection_recycle_time == 3600
    assert database.db_max_retries == 5


def test_database_options() -> None:
    """
    When [database] sets every option, each is converted to its type.
    """
    database = parse_config(
        "[database]\n"
        "connection = postgresql+psycopg://nova:p%40ss@db/nova\n"
        "max_pool_size = 10\nmax_overflow = 0\npool_timeout = 2.5\n"
        "connection_recycle_time = -1\ndb_max_retries = 0\n"
    ).database
    assert database.connection == "postgresql+psycopg://nova:p%40ss@db/nova"
    assert (database.max_pool_size, database.max_overflow) == (10, 0)
    assert database.pool_timeout == 2.5
    assert database.connection_recycle_time == -1
    assert database.db_max_retries == 0


@pytest.mark.parametrize(
    "option, value, problem",
    [
        ("max_pool_size", "0", "out of range"),
        ("max_overflow", "-1", "out of range"),
        ("pool_timeout", "-1", "out of range"),
        ("connection_recycle_time", "-2", "out of range"),
        ("db_max_retries", "many", "'many' is not an integer"),
        ("sql_connection", "sqlite://", "unknown option"),
    ],
)
def test_bad_database_value(option: str, value: str, problem: str) -> None:
    """
    When a [database] value is bad, the error names the file, section and option.
    """
    message = _error(f"[database]\n{option} = {value}\n")
    assert message.startswith(f"etc/nova.conf: [database] {option}: ")
    assert problem in message


def test_shipped_file_database() -> None:
    """
    When etc/nova.conf is loaded, the all-in-one uses SQLite.
    """
    config = load_config(REPO / "etc" / "nova.conf")
    assert config.database.connection == "sqlite:///nova.sqlite"


def test_filter_scheduler_defaults() -> None:
    """
    When [filter_scheduler] is absent, it has Nova's defaults, with the ignore-hosts
    filter first so that rescheduled builds avoid the hosts that failed.
    """
    section = load_config(None).filter_scheduler
    assert section.enabled_filters == (
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
    assert section.ram_weight_multiplier == 1.0
    assert section.cpu_weight_multiplier == 1.0
    assert section.disk_weight_multiplier == 1.0
    assert section.soft_affinity_weight_multiplier == 1.0
    assert section.soft_anti_affinity_weight_multiplier == 1.0
    assert section.host_subset_size == 1
    assert section.max_attempts == 3


def test_filter_scheduler_options() -> None:
    """
    When [filter_scheduler] sets every option, each is converted to its type.
    """
    section = parse_config(
        "[filter_scheduler]\n"
        "enabled_filters = ComputeFilter, RamFilter\n"
        "ram_weight_multiplier = -1.0\ncpu_weight_multiplier = 0\n"
        "disk_weight_multiplier = 2.5\nsoft_affinity_weight_multiplier = 0\n"
        "soft_anti_affinity_weight_multiplier = 3\nhost_subset_size = 4\nmax_attempts = 1\n"
    ).filter_scheduler
    assert section.enabled_filters == ("ComputeFilter", "RamFilter")
    assert (section.ram_weight_multiplier, section.cpu_weight_multiplier) == (-1.0, 0.0)
    assert section.disk_weight_multiplier == 2.5
    assert section.soft_affinity_weight_multiplier == 0.0
    assert section.soft_anti_affinity_weight_multiplier == 3.0
    assert (section.host_subset_size, section.max_attempts) == (4, 1)
    assert parse_config("[filter_scheduler]\nenabled_filters =\n").filter_scheduler == (
        dataclasses.replace(load_config(None).filter_scheduler, enabled_filters=())
    )


@pytest.mark.parametrize(
    "option, value, problem",
    [
        ("host_subset_size", "0", "out of range"),
        ("max_attempts", "0", "out of range"),
        ("soft_affinity_weight_multiplier", "-1", "out of range"),
        ("soft_anti_affinity_weight_multiplier", "-0.5", "out of range"),
        ("ram_weight_multiplier", "lots", "'lots' is not a number"),
        ("weight_classes", "all", "unknown option"),
    ],
)
def test_bad_filter_scheduler_value(option: str, value: str, problem: str) -> None:
    """
    When a [filter_scheduler] value is bad, the error names the file, section and option.
    """
    message = _error(f"[filter_scheduler]\n{option} = {value}\n")
    assert message.startswith(f"etc/nova.conf: [filter_scheduler] {option}: ")
    assert problem in message


def test_allocation_ratios() -> None:
    """
    When [DEFAULT] sets no allocation ratios they are Nova's (16, 1.5, 1); set ones
    are converted, and negative ones refused.
    """
    default = load_config(None).default
    assert default.cpu_allocation_ratio == 16.0
    assert default.ram_allocation_ratio == 1.5
    assert default.disk_allocation_ratio == 1.0
    default = parse_config(
        "[DEFAULT]\ncpu_allocation_ratio = 4\nram_allocation_ratio = 1.0\n"
        "disk_allocation_ratio = 2.5\n"
    ).default
    assert (default.cpu_allocation_ratio, default.ram_allocation_ratio) == (4.0, 1.0)
    assert default.disk_allocation_ratio == 2.5
    assert "out of range" in _error("[DEFAULT]\nram_allocation_ratio = -1\n")


def test_libvirt_options() -> None:
    """
    When [libvirt] and [DEFAULT] instances_path are unset, they are empty (the
    driver's qemu:///system, <state_path>/instances); set ones are read, and the
    shipped file leaves them empty and keeps [spice] enabled.
    """
    config = load_config(None)
    assert config.libvirt.connection_uri == ""
    assert config.default.instances_path == ""
    assert config.spice.enabled is True
    config = parse_config(
        "[DEFAULT]\ncompute_driver = libvirt\ninstances_path = /srv/instances\n"
        "[libvirt]\nconnection_uri = qemu:///session?socket=/tmp/x/libvirt-sock\n"
        "[spice]\nenabled = false\n"
    )
    assert config.default.compute_driver == "libvirt"
    assert config.default.instances_path == "/srv/instances"
    assert config.libvirt.connection_uri == "qemu:///session?socket=/tmp/x/libvirt-sock"
    assert config.spice.enabled is False
    shipped = load_config(REPO / "etc" / "nova.conf")
    assert (shipped.libvirt.connection_uri, shipped.default.instances_path) == ("", "")
    assert shipped.spice.enabled is True
