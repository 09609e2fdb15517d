"""Fixtures the dashboard's browser tests share with the console pages' tests."""

from tests.console.test_browser import chromium  # noqa: F401  (Debian's Chromium, once per module)
