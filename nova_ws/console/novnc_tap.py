"""``twistd -n nova-novncproxy --config etc/nova.conf``: the novnc console proxy."""

from nova_ws.console.taps import Options, service_makers

__all__ = ["Options", "makeService", "makeServiceFromConfig"]

makeServiceFromConfig, makeService = service_makers("novnc")
