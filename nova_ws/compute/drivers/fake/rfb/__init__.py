"""A real VNC (RFB 3.8) screen for each guest of the fake hypervisor driver.

``GuestConsole`` is the entry point: a ``Framebuffer`` that draws a text
console (title, boot log, prompt) and an ``RFBServerFactory`` that serves it
over TCP to any VNC client: noVNC through the console proxy, vncdotool,
TigerVNC. A console can ask for a VNC password and/or VeNCrypt x509
(``vencrypt_server_tls``), as QEMU's VNC server can.
"""

from nova_ws.compute.drivers.fake.rfb.console import GuestConsole, RFBServerFactory
from nova_ws.compute.drivers.fake.rfb.framebuffer import Framebuffer
from nova_ws.compute.drivers.fake.rfb.pixelformat import SERVER_PIXEL_FORMAT, PixelFormat
from nova_ws.compute.drivers.fake.rfb.screen import POWER_STATES, PowerState
from nova_ws.compute.drivers.fake.rfb.security import (
    SecurityConfig,
    SecurityType,
    VeNCryptSubtype,
    vencrypt_server_tls,
)
from nova_ws.compute.drivers.fake.rfb.server import RFBServerProtocol

__all__ = [
    "POWER_STATES",
    "SERVER_PIXEL_FORMAT",
    "Framebuffer",
    "GuestConsole",
    "PixelFormat",
    "PowerState",
    "RFBServerFactory",
    "RFBServerProtocol",
    "SecurityConfig",
    "SecurityType",
    "VeNCryptSubtype",
    "vencrypt_server_tls",
]
