"""nova-consoleauth: issues console tokens, checks them, revokes them."""
