"""The router's authenticators: one module per WAMP authmethod.

:mod:`~nova_ws.router.auth.interfaces` holds the contract,
:mod:`~nova_ws.router.auth.registry` the table from authmethod name to
builder and :func:`~nova_ws.router.auth.registry.build_authenticators`.
"""
