"""
The Identity v3 subset the OpenStack clients need, mounted at C{/identity}:
version discovery, password and token authentication with project scope,
token validation and revocation, users, projects, roles, role grants and
EC2 credentials; and L{wamp.authenticate_ticket}, which checks Identity
tokens presented as WAMP tickets.
"""

from nova_ws.api.identity.app import IdentityApi

__all__ = ["IdentityApi"]
