"""Every file a served page loads, followed from the page itself.

``missing(pages, start)`` reads a page as its site serves it, follows its
``src``/``href`` attributes, CSS ``url()``s and JavaScript module imports
(relative or absolute paths on the same site), and returns the URL paths
the site would answer with 404. ``report()`` does so for the dashboard and
the three console pages of whichever nova_ws is imported: the packaging
test runs it against an installed wheel.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: src/href attributes of HTML; url() of CSS; module specifiers of JavaScript.
_REFERENCES = (
    re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']+)["']"""),
    re.compile(r"""url\(\s*["']?([^"')]+)["']?\s*\)"""),
    re.compile(r"""(?:\bfrom|\bimport)\s*\(?\s*["']([^"']+)["']"""),
)
_TEXT = (".html", ".js", ".mjs", ".css")

Resolve = Callable[[str], "Path | None"]


def _local(reference: str) -> bool:
    """A path on the same site (not a scheme, a fragment, data: or a bare module name)."""
    return reference.startswith(("/", "./", "../")) or (
        re.fullmatch(r"[\w.-]+(/[\w.@-]+)*\.\w+", reference) is not None)


def missing(resolve: Resolve, start: str) -> list[str]:
    """The URL paths, loaded from page ``start`` on, that ``resolve`` cannot find."""
    seen: set[str] = set()
    lost: list[str] = []
    queue = [start]
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        found = resolve(path)
        if found is None:
            lost.append(path)
            continue
        if found.suffix not in _TEXT:
            continue
        text = found.read_text(encoding="utf-8", errors="replace")
        base = path if path.endswith("/") else posixpath.dirname(path) + "/"
        for pattern in _REFERENCES:
            for reference in pattern.findall(text):
                reference = reference.split("#")[0].split("?")[0]
                if not reference or not _local(reference):
                    continue
                target = reference if reference.startswith("/") else \
                    posixpath.normpath(posixpath.join(base, reference))
                queue.append(target)
    return sorted(lost)


def _segments(path: str) -> list[str]:
    return path.lstrip("/").split("/") if path != "/" else [""]


def report() -> dict[str, Any]:
    """What is missing from the dashboard and each console page, and where they were read."""
    from nova_ws.api.dashboard import PAGES, WEB
    from nova_ws.console.site import ASSETS, _pages

    def dashboard(path: str) -> Path | None:
        if path == "/":
            return WEB / "index.html"
        return PAGES.resolve(_segments(path))

    result: dict[str, Any] = {"web": str(WEB), "assets": str(ASSETS),
                              "dashboard": missing(dashboard, "/")}
    for kind in ("novnc", "spice-html5", "serial"):
        pages = _pages(kind)
        result[kind] = missing(lambda p, pages=pages: pages.resolve(_segments(p)), "/")
    return result


if __name__ == "__main__":
    print(json.dumps(report()))
