"""libvirt domain states as the contract's power states (Nova's mapping)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import libvirt

from nova_ws.compute import power_state

#: ``virDomainState`` -> power state. BLOCKED (a Xen guest whose vCPUs are
#: idle) is running; SHUTDOWN (being shut down) is already SHUTDOWN, as in
#: Nova, because that is what the user asked for.
LIBVIRT_POWER_STATE: Mapping[int, int] = MappingProxyType(
    {
        libvirt.VIR_DOMAIN_NOSTATE: power_state.NOSTATE,
        libvirt.VIR_DOMAIN_RUNNING: power_state.RUNNING,
        libvirt.VIR_DOMAIN_BLOCKED: power_state.RUNNING,
        libvirt.VIR_DOMAIN_PAUSED: power_state.PAUSED,
        libvirt.VIR_DOMAIN_SHUTDOWN: power_state.SHUTDOWN,
        libvirt.VIR_DOMAIN_SHUTOFF: power_state.SHUTDOWN,
        libvirt.VIR_DOMAIN_CRASHED: power_state.CRASHED,
        libvirt.VIR_DOMAIN_PMSUSPENDED: power_state.SUSPENDED,
    }
)


def to_power_state(state: int, managed_save: bool = False) -> int:
    """The power state of a domain in libvirt *state*.

    A shut-off domain with a managed-save image (what :meth:`suspend`
    leaves) is SUSPENDED: starting it restores the saved memory. Unknown
    states are NOSTATE.
    """
    if state == libvirt.VIR_DOMAIN_SHUTOFF and managed_save:
        return power_state.SUSPENDED
    return LIBVIRT_POWER_STATE.get(state, power_state.NOSTATE)
