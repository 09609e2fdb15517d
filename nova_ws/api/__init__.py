"""nova-api: the HTTP APIs (Compute v2.1, Identity v3 and Image v2 subsets, EC2)."""
