"""nova-scheduler: picks a compute host with filters and weighers."""
