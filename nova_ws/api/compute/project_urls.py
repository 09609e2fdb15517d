"""``/v2.1/{project_id}/...``: the URLs older clients use, with the project in the path.

Nova routes every resource both as ``/v2.1/servers`` and as
``/v2.1/{project_id}/servers``, where the project id is hex digits and
dashes (``[0-9a-f-]+``, Nova's default ``project_id_regex``); clients whose
compute endpoint in the catalog ends with the project id (as devstack's did
for years) send the second form. :class:`ProjectUrls` wraps the Compute
API's resource: it takes such a segment out of the path before Klein routes
it, and leaves the id on the request (:data:`~validation.URL_PROJECT`), so
the same resources answer there. Once the token is known,
:func:`~validation.check_request` answers 400 in Nova's words when the id is
not the token's project. No collection of the API is named by hex digits
alone, so no other path is taken for one.
"""

from __future__ import annotations

import re
from typing import Any

from twisted.web.resource import Resource

from nova_ws.api.compute.validation import URL_PROJECT

#: A project id segment, as Nova's default ``[osapi_v21] project_id_regex``.
PROJECT_SEGMENT = re.compile(rb"^[0-9a-f-]+$")
VERSION_SEGMENT = b"v2.1"


def take_project(postpath: list[bytes]) -> tuple[list[bytes], str | None]:
    """*postpath* without a project id after ``v2.1``, and that id (None: there was none)."""
    if len(postpath) >= 2 and postpath[0] == VERSION_SEGMENT \
            and PROJECT_SEGMENT.match(postpath[1]):
        return [postpath[0], *postpath[2:]], postpath[1].decode("ascii")
    return postpath, None


class ProjectUrls(Resource):
    """Serves *inner* (a leaf resource) with a project id in the path taken out."""

    isLeaf = True

    def __init__(self, inner: Any) -> None:
        super().__init__()
        self.inner = inner

    def render(self, request: Any) -> Any:
        """Strip the project id, remember it, and let *inner* answer."""
        request.postpath, project_id = take_project(list(request.postpath))
        if project_id is not None:
            setattr(request, URL_PROJECT, project_id)
        return self.inner.render(request)
