"""Failed token checks per client address: the limiter alone and in the proxy."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_twisted
from twisted.internet.task import Clock

from nova_ws.console.memory import MemoryTokenValidator
from nova_ws.console.proxy import ConsoleProxyFactory, ProxyConfig
from nova_ws.console.ratelimit import FailureLimiter, peer_host
from tests.console.support import listen_echo, open_browser


def test_limit_and_window() -> None:
    """When an address fails ``limit`` times in the window, it waits until the oldest ages out."""
    clock = Clock()
    limiter = FailureLimiter(3, 60, clock)
    for _ in range(2):
        limiter.failed("10.0.0.1")
        clock.advance(10)
    assert not limiter.blocked("10.0.0.1")
    limiter.failed("10.0.0.1")
    assert limiter.blocked("10.0.0.1") and not limiter.blocked("10.0.0.2")
    assert limiter.retry_after("10.0.0.1") == pytest.approx(40)
    clock.advance(40)
    assert not limiter.blocked("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") == 0


def test_memory_is_bounded() -> None:
    """When many addresses fail once, only the most recent ``max_addresses`` are kept."""
    clock = Clock()
    limiter = FailureLimiter(1, 60, clock, max_addresses=100)
    for i in range(1000):
        limiter.failed(f"10.0.{i // 256}.{i % 256}")
    assert len(limiter._failures) == 100
    assert limiter.blocked("10.0.3.231") and not limiter.blocked("10.0.0.0")
    clock.advance(61)
    assert not limiter.blocked("10.0.3.231") and not limiter._failures


def test_bad_settings() -> None:
    """When the limit or window makes no sense, the limiter refuses to start."""
    with pytest.raises(ValueError):
        FailureLimiter(0, 60, Clock())
    with pytest.raises(ValueError):
        FailureLimiter(1, 0, Clock())


def test_peer_host() -> None:
    """Autobahn's peer strings give their address."""
    assert peer_host("tcp4:127.0.0.1:5678") == "127.0.0.1"
    assert peer_host("tcp6:::1:5678") == "::1"
    assert peer_host("unix:/tmp/x") == "unix:/tmp/x"


@pytest_twisted.ensureDeferred
async def test_proxy_refuses_an_address_that_guesses() -> None:
    """When one address sends bad tokens past the limit, even a good token waits (429)."""
    from twisted.internet import reactor

    clock = Clock()
    validator = MemoryTokenValidator(reactor)
    factory = ConsoleProxyFactory(validator, ProxyConfig("novnc", failed_auth_limit=3,
                                                         failed_auth_window=60),
                                  reactor, clock=clock)
    port: Any = reactor.listenTCP(0, factory, interface="127.0.0.1")
    echo = listen_echo(reactor)
    try:
        number = port.getHost().port
        for _ in range(3):
            with pytest.raises(ConnectionError, match="invalid token"):
                await open_browser(reactor, number, "guess" * 8)
        good, _ = validator.issue_for(port=echo.getHost().port)
        with pytest.raises(ConnectionError, match="too many failed token checks"):
            await open_browser(reactor, number, good)
        assert factory.metrics.refusals["too many failed token checks"] == 1
        clock.advance(61)
        browser = await open_browser(reactor, number, good)
        browser.sendClose()
        await browser.closed
    finally:
        await port.stopListening()
        await echo.stopListening()
