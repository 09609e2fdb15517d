"""Fixtures the end-to-end tests share with the console pages' browser tests."""

from tests.console.test_browser import chromium, tab  # noqa: F401  (Chromium and a page)
