"""Token extraction and the in-memory validator."""

from __future__ import annotations

import pytest
from twisted.internet.task import Clock
from zope.interface.verify import verifyObject

from nova_ws.console.interfaces import InvalidToken, ITokenValidator
from nova_ws.console.memory import MemoryTokenValidator
from nova_ws.console.tokens import token_from_request


@pytest.mark.parametrize(
    ("params", "cookie", "token"),
    [
        ({"token": ["abc"]}, None, "abc"),
        ({"path": ["?token=abc"]}, None, "abc"),
        ({"path": ["websockify?token=abc"]}, None, "abc"),
        ({}, "lang=en; token=abc", "abc"),
        ({"token": ["abc"]}, "token=other", "abc"),
        ({}, None, None),
        ({}, "garbage;;=", None),
    ],
)
def test_token_sources(params: dict[str, list[str]], cookie: str | None,
                       token: str | None) -> None:
    """When a token is in the query, noVNC's path form or a cookie, it is found in that order."""
    assert token_from_request(params, cookie) == token


def test_memory_validator() -> None:
    """When a memory token is validated, it succeeds until it expires, for its type only."""
    clock = Clock()
    validator = MemoryTokenValidator(clock)
    verifyObject(ITokenValidator, validator)
    token, target = validator.issue_for(ttl=10)
    results: list[object] = []
    validator.validate(token, "novnc").addBoth(results.append)
    validator.validate(token, "serial").addErrback(lambda f: results.append(f.value))
    clock.advance(10)
    validator.validate(token, "novnc").addErrback(lambda f: results.append(f.value))
    assert results[0] == target
    assert isinstance(results[1], InvalidToken) and results[1].status == 403
    assert isinstance(results[2], InvalidToken) and results[2].reason == "token expired"
    assert "password" not in repr(target)
