"""Rectangles and a coalescing dirty region: which parts of a screen changed.

Pure logic: nothing here knows about pixels, sockets or the reactor.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple


class Rect(NamedTuple):
    """An axis-aligned rectangle in framebuffer pixels; empty when w or h is 0."""

    x: int
    y: int
    w: int
    h: int

    @property
    def right(self) -> int:
        """One past the last column."""
        return self.x + self.w

    @property
    def bottom(self) -> int:
        """One past the last row."""
        return self.y + self.h

    @property
    def area(self) -> int:
        """The number of pixels covered."""
        return self.w * self.h

    @property
    def empty(self) -> bool:
        """True when the rectangle covers no pixel."""
        return self.w <= 0 or self.h <= 0

    def intersect(self, other: Rect) -> Rect | None:
        """The overlap of two rectangles, or None when they share no pixel."""
        x, y = max(self.x, other.x), max(self.y, other.y)
        right, bottom = min(self.right, other.right), min(self.bottom, other.bottom)
        if right <= x or bottom <= y:
            return None
        return Rect(x, y, right - x, bottom - y)

    def union(self, other: Rect) -> Rect:
        """The smallest rectangle holding both."""
        x, y = min(self.x, other.x), min(self.y, other.y)
        right, bottom = max(self.right, other.right), max(self.bottom, other.bottom)
        return Rect(x, y, right - x, bottom - y)

    def touches(self, other: Rect) -> bool:
        """True when the two overlap or share an edge (so a union wastes little)."""
        return (
            self.x <= other.right
            and other.x <= self.right
            and self.y <= other.bottom
            and other.y <= self.bottom
        )

    def contains(self, other: Rect) -> bool:
        """True when ``other`` lies wholly inside this rectangle."""
        return (
            self.x <= other.x
            and self.y <= other.y
            and other.right <= self.right
            and other.bottom <= self.bottom
        )


class Region:
    """A set of rectangles that covers every pixel added to it.

    Rectangles that overlap or touch are merged into their union, and past
    ``max_rects`` rectangles the region collapses into its bounding box, so the
    region stays small however many changes pile up between two updates. It
    may cover more pixels than were added, never fewer.
    """

    def __init__(self, max_rects: int = 16) -> None:
        self._rects: list[Rect] = []
        self._max_rects = max_rects

    def __bool__(self) -> bool:
        return bool(self._rects)

    def __iter__(self) -> Iterator[Rect]:
        return iter(list(self._rects))

    def __len__(self) -> int:
        return len(self._rects)

    @property
    def rects(self) -> list[Rect]:
        """The rectangles, disjoint and not touching, in the order they formed."""
        return list(self._rects)

    def bounds(self) -> Rect | None:
        """The bounding box of the whole region, or None when it is empty."""
        if not self._rects:
            return None
        box = self._rects[0]
        for rect in self._rects[1:]:
            box = box.union(rect)
        return box

    def add(self, rect: Rect) -> None:
        """Cover ``rect`` too."""
        if rect.empty:
            return
        merged = True
        while merged:
            merged = False
            for index, existing in enumerate(self._rects):
                if existing.contains(rect):
                    return
                if existing.touches(rect):
                    rect = existing.union(rect)
                    del self._rects[index]
                    merged = True
                    break
        self._rects.append(rect)
        if len(self._rects) > self._max_rects:
            box = self.bounds()
            assert box is not None
            self._rects = [box]

    def clear(self) -> None:
        """Forget every rectangle."""
        self._rects.clear()

    def take_within(self, area: Rect) -> list[Rect]:
        """Remove and return what lies in ``area``, clipped to it.

        A rectangle only partly inside ``area`` is returned clipped and is also
        kept whole, so the part outside is still covered for a later request.
        """
        taken: list[Rect] = []
        kept: list[Rect] = []
        for rect in self._rects:
            overlap = rect.intersect(area)
            if overlap is not None:
                taken.append(overlap)
            if overlap != rect:
                kept.append(rect)
        self._rects = kept
        return taken
