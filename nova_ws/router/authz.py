"""Authorization: which role may call, register, publish or subscribe where.

A role is a list of :class:`Rule` objects. A rule names a URI pattern and the
actions it allows; the pattern's written form chooses its match policy:

* ``*`` matches every URI (prefix ``""``);
* ``nova.compute.{authid}.*`` is a prefix (``nova.compute.<authid>.``);
* ``nova..start`` (an empty component) is a wildcard;
* anything else is an exact URI.

``{authid}`` and ``{project}`` are filled in per session (the project comes
from the session's ``authextra["project_id"]``); a rule whose placeholder has
no value, or a value that is not a single URI component, is dropped, so it
grants nothing.

For one URI the best matching rule decides (exact, then longest prefix, then
the most specific wildcard) and what it does not allow is denied: nothing is
allowed unless a rule says so. The extra action ``disclose`` on a rule makes
the router disclose the caller or publisher to callees and subscribers.

This module is pure: it imports nothing from Twisted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from nova_ws.router.urimap import EXACT, PREFIX, WILDCARD, UriMap

CALL = "call"
REGISTER = "register"
PUBLISH = "publish"
SUBSCRIBE = "subscribe"
DISCLOSE = "disclose"
ACTIONS = frozenset({CALL, REGISTER, PUBLISH, SUBSCRIBE})
ALL_ACTIONS = ACTIONS | {DISCLOSE}

_COMPONENT = re.compile(r"^[^\s.#]+$")
_PLACEHOLDER = re.compile(r"\{(authid|project)\}")
_CACHE_LIMIT = 4096


class PolicyError(ValueError):
    """A rule that cannot be understood."""


@dataclass(frozen=True)
class Rule:
    """One permission: a written URI pattern and the actions it grants."""

    uri: str
    actions: frozenset[str]

    def __post_init__(self) -> None:
        unknown = set(self.actions) - ALL_ACTIONS - {"all"}
        if unknown:
            raise PolicyError(f"unknown action(s) {sorted(unknown)} for {self.uri!r}")
        if "all" in self.actions:
            object.__setattr__(self, "actions", frozenset(ACTIONS | (self.actions & {DISCLOSE})))
        split_pattern(self.uri)  # validate early

    @property
    def disclose(self) -> bool:
        """True when callers/publishers matched by this rule are disclosed."""
        return DISCLOSE in self.actions


def split_pattern(uri: str) -> tuple[str, str]:
    """Turn a written pattern into ``(pattern, match policy)``."""
    if uri == "*":
        return "", PREFIX
    if uri.endswith(".*"):
        return uri[:-1], PREFIX
    if "*" in uri:
        raise PolicyError(f"'*' may only end a pattern: {uri!r}")
    if not uri:
        raise PolicyError("empty URI pattern")
    if "" in uri.split("."):
        return uri, WILDCARD
    return uri, EXACT


def _fill(uri: str, values: Mapping[str, str | None]) -> str | None:
    """Substitute placeholders; None when a value is missing or unsafe."""
    missing = False

    def repl(match: re.Match[str]) -> str:
        nonlocal missing
        value = values.get(match.group(1))
        if not value or not _COMPONENT.match(value):
            missing = True
            return ""
        return value

    filled = _PLACEHOLDER.sub(repl, uri)
    return None if missing else filled


class SessionPermissions:
    """The permissions of one joined session, with placeholders filled in."""

    __slots__ = ("_map", "_cache")

    def __init__(self, rules: Iterable[Rule], values: Mapping[str, str | None]):
        self._map: UriMap[Rule] = UriMap()
        self._cache: dict[str, Rule | None] = {}
        for rule in rules:
            filled = _fill(rule.uri, values)
            if filled is None:
                continue
            pattern, match = split_pattern(filled)
            self._map.set(pattern, match, rule)

    def rule(self, uri: str) -> Rule | None:
        """The rule that decides for *uri* (None: nothing is allowed there)."""
        try:
            return self._cache[uri]
        except KeyError:
            pass
        rule = self._map.best_match(uri)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[uri] = rule
        return rule

    def allows(self, action: str, uri: str) -> bool:
        """True when *action* on *uri* is granted."""
        rule = self.rule(uri)
        return rule is not None and action in rule.actions

    def discloses(self, action: str, uri: str) -> bool:
        """True when this session's *action* on *uri* is disclosed to the peer."""
        rule = self.rule(uri)
        return rule is not None and action in rule.actions and rule.disclose


@dataclass(frozen=True)
class RolePolicy:
    """A named role and its rules."""

    name: str
    rules: tuple[Rule, ...]

    def bind(
        self, authid: str | None, authextra: Mapping[str, object] | None
    ) -> SessionPermissions:
        """The permissions of a session with this role and identity."""
        project = (authextra or {}).get("project_id")
        values = {"authid": authid, "project": project if isinstance(project, str) else None}
        return SessionPermissions(self.rules, values)


class Authorizer:
    """The roles of one realm."""

    def __init__(self, roles: Mapping[str, RolePolicy]):
        self._roles = dict(roles)

    def has_role(self, role: str) -> bool:
        """True when the realm knows *role*."""
        return role in self._roles

    @property
    def roles(self) -> tuple[str, ...]:
        """The names of the realm's roles."""
        return tuple(sorted(self._roles))

    def bind(
        self, role: str, authid: str | None, authextra: Mapping[str, object] | None
    ) -> SessionPermissions:
        """The permissions of a session that joined with *role*."""
        return self._roles[role].bind(authid, authextra)


def rules_from_table(table: Mapping[str, Iterable[str]]) -> tuple[Rule, ...]:
    """Rules from ``{pattern: actions}``, as written in nova.conf."""
    return tuple(Rule(uri, frozenset(actions)) for uri, actions in table.items())
