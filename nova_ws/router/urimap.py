"""URI matching shared by subscriptions, registrations and permissions.

WAMP knows three match policies:

* ``exact``: the URI must equal the pattern;
* ``prefix``: the URI must start with the pattern (plain string prefix, as
  the WAMP advanced profile defines it);
* ``wildcard``: the pattern is a dotted URI whose empty components match any
  one component (``com..create`` matches ``com.user.create``), and the URI
  must have as many components as the pattern.

:class:`UriMap` stores one value per ``(pattern, match)`` and answers two
questions: every value whose pattern matches a URI (the broker's question),
and the single best one (the dealer's and the authorizer's question): an
exact match wins, then the longest prefix, then the wildcard with the most
fixed components (then the longest, then the first added).

This module is pure: it imports nothing from Twisted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

EXACT = "exact"
PREFIX = "prefix"
WILDCARD = "wildcard"
MATCH_POLICIES = (EXACT, PREFIX, WILDCARD)

V = TypeVar("V")


class UriMapError(ValueError):
    """A pattern that is not valid for its match policy."""


def check_pattern(pattern: str, match: str) -> None:
    """Raise :class:`UriMapError` when *pattern* is not valid for *match*."""
    if match not in MATCH_POLICIES:
        raise UriMapError(f"unknown match policy {match!r}")
    if not isinstance(pattern, str):
        raise UriMapError("a URI must be a string")
    if match == EXACT:
        if not pattern or "" in pattern.split("."):
            raise UriMapError(f"invalid URI {pattern!r} for exact match")
    elif match == WILDCARD:
        if not pattern or pattern.split(".") == [""]:
            raise UriMapError(f"invalid URI {pattern!r} for wildcard match")


def wildcard_matches(parts: tuple[str, ...], uri_parts: list[str]) -> bool:
    """True when the wildcard pattern *parts* matches the URI components."""
    if len(parts) != len(uri_parts):
        return False
    for want, have in zip(parts, uri_parts, strict=False):
        if want and want != have:
            return False
    return True


class UriMap(Generic[V]):
    """A map from ``(pattern, match)`` to a value, searchable by URI."""

    __slots__ = ("_exact", "_prefix", "_prefix_lengths", "_wildcard")

    def __init__(self) -> None:
        self._exact: dict[str, V] = {}
        self._prefix: dict[str, V] = {}
        self._prefix_lengths: list[int] = []
        # number of components -> {pattern: (parts, value)}
        self._wildcard: dict[int, dict[str, tuple[tuple[str, ...], V]]] = {}

    def __len__(self) -> int:
        wild = sum(len(bucket) for bucket in self._wildcard.values())
        return len(self._exact) + len(self._prefix) + wild

    def get(self, pattern: str, match: str = EXACT) -> V | None:
        """The value stored for exactly this pattern and policy, or None."""
        if match == EXACT:
            return self._exact.get(pattern)
        if match == PREFIX:
            return self._prefix.get(pattern)
        entry = self._wildcard.get(pattern.count(".") + 1, {}).get(pattern)
        return entry[1] if entry else None

    def set(self, pattern: str, match: str, value: V) -> None:
        """Store *value* for the pattern, replacing what was there."""
        check_pattern(pattern, match)
        if match == EXACT:
            self._exact[pattern] = value
        elif match == PREFIX:
            if pattern not in self._prefix:
                self._add_prefix_length(len(pattern))
            self._prefix[pattern] = value
        else:
            parts = tuple(pattern.split("."))
            self._wildcard.setdefault(len(parts), {})[pattern] = (parts, value)

    def pop(self, pattern: str, match: str = EXACT) -> V | None:
        """Remove and return the value for the pattern (None when absent)."""
        if match == EXACT:
            return self._exact.pop(pattern, None)
        if match == PREFIX:
            value = self._prefix.pop(pattern, None)
            if value is not None and not any(len(p) == len(pattern) for p in self._prefix):
                self._prefix_lengths.remove(len(pattern))
            return value
        size = pattern.count(".") + 1
        bucket = self._wildcard.get(size)
        if not bucket or pattern not in bucket:
            return None
        _, value = bucket.pop(pattern)
        if not bucket:
            del self._wildcard[size]
        return value

    def _add_prefix_length(self, length: int) -> None:
        if length not in self._prefix_lengths:
            self._prefix_lengths.append(length)
            self._prefix_lengths.sort(reverse=True)

    def match_all(self, uri: str) -> list[V]:
        """Every value whose pattern matches *uri* (exact, prefix, wildcard)."""
        found: list[V] = []
        exact = self._exact.get(uri)
        if exact is not None:
            found.append(exact)
        if self._prefix:
            prefixes = self._prefix
            for length in self._prefix_lengths:
                if length <= len(uri):
                    hit = prefixes.get(uri[:length])
                    if hit is not None:
                        found.append(hit)
        if self._wildcard:
            uri_parts = uri.split(".")
            bucket = self._wildcard.get(len(uri_parts))
            if bucket:
                for parts, value in bucket.values():
                    if wildcard_matches(parts, uri_parts):
                        found.append(value)
        return found

    def best_match(self, uri: str) -> V | None:
        """The single best match for *uri*: exact, longest prefix, best wildcard."""
        exact = self._exact.get(uri)
        if exact is not None:
            return exact
        if self._prefix:
            for length in self._prefix_lengths:
                if length <= len(uri):
                    hit = self._prefix.get(uri[:length])
                    if hit is not None:
                        return hit
        if self._wildcard:
            uri_parts = uri.split(".")
            bucket = self._wildcard.get(len(uri_parts))
            if bucket:
                best: tuple[int, int] | None = None
                chosen: V | None = None
                for pattern, (parts, value) in bucket.items():
                    if wildcard_matches(parts, uri_parts):
                        rank = (sum(1 for p in parts if p), len(pattern))
                        if best is None or rank > best:
                            best, chosen = rank, value
                return chosen
        return None

    def items(self) -> Iterator[tuple[str, str, V]]:
        """Every ``(pattern, match, value)``."""
        for pattern, value in self._exact.items():
            yield pattern, EXACT, value
        for pattern, value in self._prefix.items():
            yield pattern, PREFIX, value
        for bucket in self._wildcard.values():
            for pattern, (_, value) in bucket.items():
                yield pattern, WILDCARD, value
