"""The fake hypervisor: in-memory guests, each with a real VNC screen."""
