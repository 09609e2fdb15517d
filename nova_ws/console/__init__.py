"""The console interface: WebSocket-to-TCP proxies for noVNC, spice-html5 and serial.

``proxy.ConsoleProxyFactory`` is the one component that ``nova-novncproxy``,
``nova-spicehtml5proxy`` and ``nova-serialproxy`` each run: it checks the
Origin (``origin``) and the console token (an ``interfaces.ITokenValidator``),
then pipes bytes between the browser's WebSocket and the guest's console port,
with backpressure both ways.
"""
