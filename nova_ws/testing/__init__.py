"""Fakes and helpers that nova_ws ships for its own tests and for its users' tests."""
