"""Where a console WebSocket carries its token, as Nova and websockify read it.

In order: the ``token`` query parameter of the WebSocket URL
(``/websockify?token=...``, ``/?token=...``); a ``path`` query parameter
holding noVNC's ``path=?token=...`` form; a ``token`` cookie.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs, urlsplit


def _first(values: Sequence[str] | None) -> str | None:
    for value in values or ():
        if value:
            return value
    return None


def token_from_request(
    params: Mapping[str, Sequence[str]], cookie_header: str | None
) -> str | None:
    """The console token of a request, or None when it carries none.

    ``params`` is the parsed query of the WebSocket URL (name -> values);
    ``cookie_header`` is the raw ``Cookie`` header.
    """
    token = _first(params.get("token"))
    if token:
        return token
    path = _first(params.get("path"))
    if path:
        token = _first(parse_qs(urlsplit(path).query).get("token"))
        if token:
            return token
    if cookie_header:
        cookies: SimpleCookie = SimpleCookie()
        try:
            cookies.load(cookie_header)
        except CookieError:
            return None
        morsel = cookies.get("token")
        if morsel is not None and morsel.value:
            return morsel.value
    return None
