"""How nova_ws services reach the WAMP router."""
