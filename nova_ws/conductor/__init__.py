"""nova-conductor: builds instances and writes the database for compute hosts."""
