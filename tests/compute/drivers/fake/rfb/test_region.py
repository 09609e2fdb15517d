"""Rectangles and the coalescing dirty region."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from nova_ws.compute.drivers.fake.rfb.region import Rect, Region

rects = st.builds(
    Rect,
    st.integers(0, 200),
    st.integers(0, 200),
    st.integers(0, 60),
    st.integers(0, 60),
)


def test_intersect_and_union() -> None:
    """When two rectangles overlap, the intersection and union are the expected boxes."""
    a, b = Rect(0, 0, 10, 10), Rect(5, 5, 10, 10)
    assert a.intersect(b) == Rect(5, 5, 5, 5)
    assert a.union(b) == Rect(0, 0, 15, 15)
    assert a.intersect(Rect(10, 0, 5, 5)) is None  # sharing an edge is not overlapping
    assert a.touches(Rect(10, 0, 5, 5))
    assert not a.touches(Rect(11, 0, 5, 5))


def test_touching_rects_merge() -> None:
    """When cells next to each other are added, the region holds one rectangle."""
    region = Region()
    for column in range(5):
        region.add(Rect(column * 8, 80, 8, 16))
    assert region.rects == [Rect(0, 80, 40, 16)]


def test_apart_rects_stay_apart() -> None:
    """When far-apart rectangles are added, they stay separate."""
    region = Region()
    region.add(Rect(0, 0, 8, 16))
    region.add(Rect(0, 80, 8, 16))
    assert len(region) == 2
    assert region.bounds() == Rect(0, 0, 8, 96)


def test_too_many_collapse_to_bounds() -> None:
    """When more than max_rects separate rectangles pile up, the region becomes their box."""
    region = Region(max_rects=4)
    for index in range(5):
        region.add(Rect(index * 20, index * 20, 5, 5))
    assert region.rects == [Rect(0, 0, 85, 85)]
    region.add(Rect(100, 100, 5, 5))
    assert region.rects == [Rect(0, 0, 85, 85), Rect(100, 100, 5, 5)]


def test_take_within_keeps_the_outside() -> None:
    """When an area is taken, what lies outside it stays in the region."""
    region = Region()
    region.add(Rect(0, 0, 10, 10))
    region.add(Rect(50, 50, 10, 10))
    taken = region.take_within(Rect(0, 0, 5, 100))
    assert taken == [Rect(0, 0, 5, 10)]
    assert region.rects == [Rect(0, 0, 10, 10), Rect(50, 50, 10, 10)]
    assert region.take_within(Rect(0, 0, 100, 100)) == [Rect(0, 0, 10, 10), Rect(50, 50, 10, 10)]
    assert not region


@given(st.lists(rects, max_size=40))
def test_region_covers_everything_added(added: list[Rect]) -> None:
    """When any rectangles are added, every added pixel is covered and the count is bounded."""
    region = Region(max_rects=8)
    for rect in added:
        region.add(rect)
    assert len(region) <= 8
    for rect in added:
        if rect.empty:
            continue
        covered = sum((part.intersect(rect) or Rect(0, 0, 0, 0)).area for part in region.rects)
        assert covered == rect.area
    parts = region.rects
    for i, one in enumerate(parts):
        for other in parts[i + 1 :]:
            assert one.intersect(other) is None
