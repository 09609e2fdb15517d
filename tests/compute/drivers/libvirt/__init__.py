"""Tests of the libvirt driver."""
