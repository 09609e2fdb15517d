"""
The EC2 query protocol's parameters: flat C{Name=value} pairs from the query
string and the form body, with lists and structures spelled out in the
names (C{InstanceId.1}, C{Filter.1.Name}, C{Filter.1.Value.2},
C{Placement.AvailabilityZone}).

Pure logic; every malformed value is an L{Ec2Error} (C{InvalidParameterValue},
C{MissingParameter}).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from nova_ws.api.ec2.errors import Ec2Error, invalid_value, missing

_INDEX = re.compile(r"^[1-9][0-9]{0,5}$")
MAX_LIST = 1000


class Params:
    """A request's parameters (the first value of a repeated name wins)."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._values: dict[str, str] = {}
        for name, value in pairs:
            self._values.setdefault(name, value)

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def get(self, name: str) -> str | None:
        """The value of C{name}, or C{None}."""
        return self._values.get(name)

    def require(self, name: str) -> str:
        """The value of C{name}; C{MissingParameter} when it is absent or empty."""
        value = self._values.get(name)
        if not value:
            raise missing(name)
        return value

    def names(self) -> list[str]:
        """Every parameter name."""
        return list(self._values)

    def indexed(self, prefix: str) -> list[tuple[int, str]]:
        """
        The C{(N, rest)} of every name C{prefix.N} or C{prefix.N.rest}, sorted
        by N (C{rest} is C{""} for C{prefix.N}).
        """
        found = set()
        start = prefix + "."
        for name in self._values:
            if not name.startswith(start):
                continue
            index, _, rest = name[len(start):].partition(".")
            if not _INDEX.match(index):
                raise invalid_value(name, self._values[name], "List indexes start at 1.")
            found.add((int(index), rest))
        if len({i for i, _ in found}) > MAX_LIST:
            raise Ec2Error("InvalidParameterValue", f"Too many {prefix} items (at most "
                           f"{MAX_LIST}).")
        return sorted(found)

    def strings(self, prefix: str) -> list[str]:
        """The list C{prefix.1}, C{prefix.2}, ... (in index order)."""
        return [self._values[f"{prefix}.{i}"] for i, rest in self.indexed(prefix) if not rest]

    def boolean(self, name: str, default: bool = False) -> bool:
        """A C{true}/C{false} parameter."""
        value = self._values.get(name)
        if value is None:
            return default
        if value.lower() not in ("true", "false"):
            raise invalid_value(name, value, "It must be true or false.")
        return value.lower() == "true"

    def integer(self, name: str, low: int, high: int) -> int | None:
        """An integer parameter from C{low} to C{high}, or C{None}."""
        value = self._values.get(name)
        if value is None:
            return None
        if not re.match(r"^-?[0-9]{1,9}$", value.strip()) or not low <= int(value) <= high:
            raise invalid_value(name, value, f"It must be an integer from {low} to {high}.")
        return int(value)

    def filters(self) -> list[Filter]:
        """The C{Filter.N.Name} / C{Filter.N.Value.M} filters."""
        result = []
        for index in sorted({i for i, _ in self.indexed("Filter")}):
            base = f"Filter.{index}"
            name = self._values.get(f"{base}.Name")
            if not name:
                raise missing(f"{base}.Name")
            values = self.strings(f"{base}.Value")
            if not values:
                raise missing(f"{base}.Value.1")
            result.append(Filter(name, tuple(values)))
        return result

    def tags(self, prefix: str) -> dict[str, str]:
        """The C{prefix.N.Key} / C{prefix.N.Value} pairs as a mapping."""
        tags = {}
        for index in sorted({i for i, _ in self.indexed(prefix)}):
            key = self._values.get(f"{prefix}.{index}.Key")
            if not key:
                raise missing(f"{prefix}.{index}.Key")
            tags[key] = self._values.get(f"{prefix}.{index}.Value", "")
        return tags


@dataclass(frozen=True)
class Filter:
    """One filter: a name and the values any of which may match (C{*} and C{?} wildcards)."""

    name: str
    values: tuple[str, ...]

    def matches(self, value: object) -> bool:
        """Whether C{value} (a string, or a list of strings: any) matches a value."""
        candidates = value if isinstance(value, list | tuple | set) else [value]
        return any(_wildcard(pattern).match(str(c)) is not None
                   for c in candidates if c is not None for pattern in self.values)


def _wildcard(pattern: str) -> re.Pattern[str]:
    """EC2's filter wildcards: C{*} any run, C{?} one character, C{\\} escapes."""
    out, escaped = [], False
    for char in pattern:
        if escaped:
            out.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        else:
            out.append(re.escape(char))
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def check(filters: list[Filter], allowed: Iterable[str], prefixes: Iterable[str] = ()) -> None:
    """
    Every filter is named in C{allowed} or under one of C{prefixes}
    (C{tag:}); else C{InvalidParameterValue}.
    """
    allowed = set(allowed)
    prefixes = tuple(prefixes)
    for f in filters:
        if f.name not in allowed and not f.name.startswith(prefixes):
            raise Ec2Error("InvalidParameterValue", f"The filter '{f.name}' is invalid")


def passes(filters: list[Filter], fields: Mapping[str, object]) -> bool:
    """Whether a resource with C{fields} (filter name -> its value) passes every filter."""
    return all(f.matches(fields.get(f.name)) for f in filters)
