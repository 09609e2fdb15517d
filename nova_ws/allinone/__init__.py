"""
The all-in-one: every nova_ws service in one process.

Importing this package is cheap: the Twisted plugin file imports
L{nova_ws.allinone.services} at every twistd start.
"""
