"""URI matching: exact, prefix and wildcard, for all three users of UriMap."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nova_ws.router.urimap import EXACT, PREFIX, WILDCARD, UriMap, UriMapError

component = st.text(alphabet="abcxyz_0", min_size=1, max_size=4)
uris = st.lists(component, min_size=1, max_size=5).map(".".join)


def test_exact_prefix_wildcard_all_match() -> None:
    """When patterns of each policy cover a URI, match_all returns each of them."""
    m: UriMap[str] = UriMap()
    m.set("com.a.b", EXACT, "exact")
    m.set("com.a", PREFIX, "prefix")
    m.set("com..b", WILDCARD, "wild")
    m.set("com.z", PREFIX, "other")
    assert sorted(m.match_all("com.a.b")) == ["exact", "prefix", "wild"]
    assert m.match_all("org.a.b") == []


def test_best_match_order() -> None:
    """When several patterns match, exact beats the longest prefix beats wildcards."""
    m: UriMap[str] = UriMap()
    m.set("com.", PREFIX, "short")
    m.set("com.a.", PREFIX, "long")
    m.set("com.a..", WILDCARD, "w1")
    m.set("com...d", WILDCARD, "w2")
    assert m.best_match("com.a.x.d") == "long"
    m.set("com.a.x.d", EXACT, "exact")
    assert m.best_match("com.a.x.d") == "exact"
    m.pop("com.a.x.d", EXACT)
    m.pop("com.a.", PREFIX)
    m.pop("com.", PREFIX)
    # two wildcards: the one with more fixed components wins
    m.set("com.a..d", WILDCARD, "w3")
    assert m.best_match("com.a.x.d") == "w3"


def test_wildcard_needs_same_length() -> None:
    """When a URI has more components than a wildcard pattern, it does not match."""
    m: UriMap[str] = UriMap()
    m.set("a..c", WILDCARD, "w")
    assert m.best_match("a.b.c") == "w"
    assert m.best_match("a.b.c.d") is None
    assert m.best_match("a.b") is None


def test_pop_forgets_prefix_length() -> None:
    """When the last prefix of a length is removed, lookups stop considering it."""
    m: UriMap[int] = UriMap()
    m.set("ab", PREFIX, 1)
    m.set("cd", PREFIX, 2)
    assert m.pop("ab", PREFIX) == 1
    assert m.best_match("abc") is None
    assert m.best_match("cde") == 2
    assert m.pop("cd", PREFIX) == 2
    assert len(m) == 0


@pytest.mark.parametrize("pattern,match", [("", EXACT), ("a..b", EXACT), ("", WILDCARD),
                                           ("x", "regex")])
def test_bad_patterns_refused(pattern: str, match: str) -> None:
    """When a pattern is invalid for its policy, set raises UriMapError."""
    with pytest.raises(UriMapError):
        UriMap().set(pattern, match, 1)


@given(st.lists(st.tuples(uris, st.sampled_from([EXACT, PREFIX, WILDCARD])), max_size=12),
       uris)
def test_matches_agree_with_definition(entries: list[tuple[str, str]], uri: str) -> None:
    """For any set of patterns, match_all equals a brute-force check of each policy."""
    m: UriMap[tuple[str, str]] = UriMap()
    for pattern, match in entries:
        if match == WILDCARD:
            parts = pattern.split(".")
            pattern = ".".join("" if i % 2 else p for i, p in enumerate(parts))
            if not pattern.strip("."):
                continue
        m.set(pattern, match, (pattern, match))

    def matches(pattern: str, match: str) -> bool:
        if match == EXACT:
            return uri == pattern
        if match == PREFIX:
            return uri.startswith(pattern)
        want, have = pattern.split("."), uri.split(".")
        pairs = zip(want, have, strict=False)
        return len(want) == len(have) and all(not w or w == h for w, h in pairs)

    expected = {(p, k) for p, k, _ in m.items() if matches(p, k)}
    assert set(m.match_all(uri)) == expected
    best = m.best_match(uri)
    assert (best is None) == (not expected)
    if best is not None and any(k == EXACT for _, k in expected):
        assert best[1] == EXACT
