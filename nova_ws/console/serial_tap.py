"""``twistd -n nova-serialproxy --config etc/nova.conf``: the serial console proxy."""

from nova_ws.console.taps import Options, service_makers

__all__ = ["Options", "makeService", "makeServiceFromConfig"]

makeServiceFromConfig, makeService = service_makers("serial")
