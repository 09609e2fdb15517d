"""nova-cert: the x509 certificate authority that the platform's TLS trusts."""
