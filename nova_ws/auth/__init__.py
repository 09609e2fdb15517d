"""Authentication and authority services: console tokens (``consoleauth``)."""
