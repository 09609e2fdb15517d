"""Compute API microversions: what a client asks for, what it gets.

Clients send ``OpenStack-API-Version: compute 2.37`` (or the legacy
``X-OpenStack-Nova-API-Version: 2.37``), ``latest``, or nothing (2.1). A
version outside ``MIN_VERSION..MAX_VERSION`` is refused with 406, as Nova
does; one that is not a version at all with 400. Pure logic: nothing here touches Twisted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MIN_VERSION = (2, 1)
MAX_VERSION = (2, 96)
_VERSION = re.compile(r"^(\d+)\.(\d+)$")


class InvalidVersion(ValueError):
    """A version header that cannot be parsed or is out of range."""


class MalformedVersion(InvalidVersion):
    """A version that is not ``Major.Minor`` or ``latest`` (Nova answers 400)."""


class UnsupportedVersion(InvalidVersion):
    """A well-formed version outside the supported range (Nova answers 406)."""


@dataclass(frozen=True, order=True)
class Version:
    """A microversion, comparable: ``Version(2, 37) >= Version.parse("2.6")``."""

    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> Version:
        """``"2.37"`` -> Version(2, 37); ``"latest"`` -> the maximum."""
        text = text.strip()
        if text.lower() == "latest":
            return cls(*MAX_VERSION)
        m = _VERSION.match(text)
        if not m:
            raise MalformedVersion(f"API Version String {text} is of invalid format. "
                                   "Must be of format MajorNum.MinorNum.")
        return cls(int(m.group(1)), int(m.group(2)))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


def requested(openstack_header: str | None, legacy_header: str | None) -> Version:
    """The version a request asks for, checked against the supported range."""
    text = None
    if openstack_header:
        for item in openstack_header.split(","):
            service, _, value = item.strip().partition(" ")
            if service.lower() == "compute" and value:
                text = value
    if text is None and legacy_header:
        text = legacy_header
    version = Version(*MIN_VERSION) if text is None else Version.parse(text)
    if not Version(*MIN_VERSION) <= version <= Version(*MAX_VERSION):
        raise UnsupportedVersion(f"Version {version} is not supported by the API. Minimum is "
                             f"{Version(*MIN_VERSION)} and maximum is {Version(*MAX_VERSION)}.")
    return version


def response_headers(version: Version) -> dict[bytes, bytes]:
    """The headers Nova sets on every versioned response."""
    return {b"OpenStack-API-Version": f"compute {version}".encode(),
            b"X-OpenStack-Nova-API-Version": str(version).encode(),
            b"Vary": b"OpenStack-API-Version, X-OpenStack-Nova-API-Version"}
