"""ImagePropertiesFilter: only hosts that can run the image's architecture
and hypervisor type.

The image properties read are Nova's: ``hw_architecture`` (or the legacy
``architecture``) against the host's ``cpu_arch``, and ``img_hv_type`` (or
the legacy ``hypervisor_type``) against the host's ``hypervisor_type``.
When both spellings are set, the current one wins, as in Nova's
``ImageMetaProps``. A property that is absent or empty puts no constraint.

Names are compared the way Nova canonicalizes them: case-insensitively,
with the usual aliases (``amd64`` is ``x86_64``; ``i386``, ``i486``,
``i586`` and ``x86_32`` are ``i686``; ``xapi`` is ``xen``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zope.interface import implementer

from nova_ws.scheduler.filters.interfaces import IHostFilter
from nova_ws.scheduler.request import HostState, RequestSpec

_ARCH_ALIASES = {
    "amd64": "x86_64",
    "i386": "i686",
    "i486": "i686",
    "i586": "i686",
    "x86_32": "i686",
}
_HV_TYPE_ALIASES = {"xapi": "xen"}


def _canonical(value: object, aliases: Mapping[str, str]) -> str:
    name = str(value).strip().lower()
    return aliases.get(name, name)


def _wanted(properties: Mapping[str, Any], current: str, legacy: str) -> object | None:
    """The property's value under its current name, else its legacy one; None if unset."""
    for key in (current, legacy):
        value = properties.get(key)
        if value is not None and str(value).strip():
            return value
    return None


@implementer(IHostFilter)
class ImagePropertiesFilter:
    """Passes hosts whose CPU architecture and hypervisor type match what the
    image asks for; an image that asks for neither passes everywhere.
    """

    name = "ImagePropertiesFilter"

    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        """True when every architecture / hypervisor type property set matches."""
        properties = spec.image_properties
        arch = _wanted(properties, "hw_architecture", "architecture")
        if arch is not None and (
            _canonical(arch, _ARCH_ALIASES) != _canonical(host.cpu_arch, _ARCH_ALIASES)
        ):
            return False
        hv_type = _wanted(properties, "img_hv_type", "hypervisor_type")
        if hv_type is not None and (
            _canonical(hv_type, _HV_TYPE_ALIASES)
            != _canonical(host.hypervisor_type, _HV_TYPE_ALIASES)
        ):
            return False
        return True
