"""``twistd -n nova-spicehtml5proxy --config etc/nova.conf``: the spice-html5 console proxy."""

from nova_ws.console.taps import Options, service_makers

__all__ = ["Options", "makeService", "makeServiceFromConfig"]

makeServiceFromConfig, makeService = service_makers("spice-html5")
