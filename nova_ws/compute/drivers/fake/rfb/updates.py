"""When a client gets a FramebufferUpdate, and which rectangles it covers.

RFB updates are client-paced: the server answers each FramebufferUpdateRequest
with at most one update. ``UpdateScheduler`` keeps one client's dirty region
and its outstanding request. An update goes out when a request is
outstanding, the region has something inside the requested area (or the
request was non-incremental, which is always answered) and the transport is
not paused for a full write buffer. Everything else waits in the region,
coalesced. Pure logic: the caller supplies ``send``.
"""

from __future__ import annotations

from collections.abc import Callable

from nova_ws.compute.drivers.fake.rfb.region import Rect, Region

_NOTHING = Rect(0, 0, 0, 0)


class UpdateScheduler:
    """One client's pending changes and update request."""

    def __init__(self, bounds: Rect, send: Callable[[list[Rect]], None]) -> None:
        self._bounds = bounds
        self._send = send
        self._dirty = Region()
        self._requested: Rect | None = None
        self._must_answer = False
        self._paused = False
        self.active = False

    @property
    def pending_request(self) -> bool:
        """True while a request waits for its update."""
        return self._requested is not None

    @property
    def dirty(self) -> list[Rect]:
        """The changed rectangles not yet sent."""
        return self._dirty.rects

    def activate(self) -> None:
        """Start sending (after ServerInit)."""
        self.active = True
        self._flush()

    def damaged(self, rect: Rect) -> None:
        """The framebuffer changed in ``rect``."""
        self._dirty.add(rect)
        self._flush()

    def request(self, incremental: bool, area: Rect) -> None:
        """A FramebufferUpdateRequest for ``area``; several before one update are merged."""
        area = area.intersect(self._bounds) or _NOTHING
        if not incremental:
            self._dirty.add(area)
            self._must_answer = True
        previous = self._requested
        if previous is not None and not previous.empty:
            area = previous if area.empty else previous.union(area)
        self._requested = area
        self._flush()

    def pause(self) -> None:
        """The transport's write buffer is full: send nothing."""
        self._paused = True

    def resume(self) -> None:
        """The write buffer drained: send what is due."""
        self._paused = False
        self._flush()

    def _flush(self) -> None:
        if not self.active or self._paused or self._requested is None:
            return
        rects = self._dirty.take_within(self._requested)
        if not rects and not self._must_answer:
            return
        self._requested = None
        self._must_answer = False
        self._send(rects)
