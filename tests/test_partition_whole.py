"""The result check of every split (gis.partition.whole): a footprint not wholly inside its
part is given whole to the part holding most of it, or reported; never left split silently."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from gis.partition.whole import keep_whole, told_whole

UNIT = (1.0, 1.0)  # planar metres


def test_a_footprint_across_a_line_goes_whole_to_the_part_holding_most_of_it():
    parent = box(0, 0, 20, 10)
    parts = [box(0, 0, 10, 10), box(10, 0, 20, 10)]
    foot = [box(6, 4, 12, 6), box(14, 2, 16, 4)]  # 8 of the first one's 12 m² lie left
    fixed, assignment, problems = keep_whole(parent, parts, np.array([1, 1]), foot, [30, 5],
                                             UNIT)
    assert problems == [] and assignment.tolist() == [0, 1]
    assert all(p.geom_type == "Polygon" and p.is_valid for p in fixed)
    assert fixed[0].covers(foot[0]) and fixed[1].covers(foot[1])
    assert abs(sum(p.area for p in fixed) - parent.area) < 1e-9
    assert abs(shapely.union_all(fixed).area - parent.area) < 1e-9


def test_a_footprint_that_would_cut_a_part_in_two_is_reported_not_hidden():
    parent = box(0, 0, 30, 20)
    parts = [box(0, 0, 30, 5), box(0, 5, 30, 20)]  # a thin strip under a wide part
    foot = [box(10, 0, 20, 15)]  # crosses the strip: taking it would leave two pieces
    fixed, assignment, problems = keep_whole(parent, parts, np.array([0]), foot, [40], UNIT)
    assert len(problems) == 1 and "building 1 (40 households)" in problems[0]
    assert "parts 1, 2" in problems[0]
    assert [p.equals(q) for p, q in zip(fixed, parts, strict=True)] == [True, True]


def test_a_thin_building_across_a_part_s_corner_takes_the_corner_with_it():
    parent = box(0, 0, 30, 10)
    parts = [box(0, 0, 20, 10), box(20, 0, 30, 10)]
    # a thin diagonal building, mostly on the right, whose end cuts the left part's corner off
    thin = shapely.Polygon([(18, 10), (19, 10), (25, 4), (24, 4)])
    foot = [box(2, 2, 8, 8), thin, box(26, 1, 29, 3)]
    fixed, assignment, problems = keep_whole(parent, parts, np.array([0, 0, 1]), foot,
                                             [30, 2, 20], UNIT)
    assert problems == [] and assignment.tolist() == [0, 1, 1]
    assert all(p.geom_type == "Polygon" and p.is_valid for p in fixed)
    assert fixed[1].covers(thin) and fixed[0].covers(foot[0])
    assert fixed[1].covers(shapely.Point(19.9, 9.9))  # the corner went with the building
    assert abs(sum(p.area for p in fixed) - parent.area) < 1e-9
    assert abs(shapely.union_all(fixed).area - parent.area) < 1e-9


def test_whole_footprints_and_hairline_gaps():
    parent = box(0, 0, 20, 10)
    hole = shapely.Polygon([(3, 3), (3.001, 3), (3, 3.00001)])  # a gap of 5e-9 m²
    parts = [box(0, 0, 10, 10).difference(hole), box(10, 0, 20, 10)]
    foot = [box(2, 2, 5, 5), box(12, 2, 15, 5)]
    fixed, assignment, problems = keep_whole(parent, parts, np.array([0, 1]), foot, [9, 9], UNIT)
    assert problems == [] and assignment.tolist() == [0, 1]
    assert not fixed[0].interiors and fixed[1].equals(parts[1])


@settings(max_examples=60, deadline=None)
@given(st.floats(1, 19), st.floats(0.5, 6), st.floats(1, 8), st.floats(0.5, 4))
def test_any_footprint_across_two_parts_ends_whole_in_one(x, w, y, h):
    parent = box(0, 0, 20, 10)
    parts = [box(0, 0, 10, 10), box(10, 0, 20, 10)]
    foot = [box(x, y, min(x + w, 19.5), min(y + h, 9.5))]
    for own in (0, 1):
        fixed, assignment, problems = keep_whole(parent, parts, np.array([own]), foot, [10],
                                                 UNIT)
        assert problems == []
        assert fixed[assignment[0]].covers(foot[0])
        assert all(p.geom_type == "Polygon" for p in fixed)
        assert abs(sum(p.area for p in fixed) - parent.area) < 1e-9
        shares = [p.intersection(foot[0]).area for p in parts]
        if abs(shares[0] - shares[1]) > 1e-9 and min(shares) > 0:
            assert assignment[0] == int(np.argmax(shares))


def test_the_buildings_told_across_parts_are_those_across_them_now():
    parent = box(0, 0, 20, 10)
    parts = [box(0, 0, 10, 10), box(10, 0, 20, 10)]
    foot = [box(2, 2, 5, 5), box(8, 2, 12, 4)]  # the second lies across the two parts
    stale = ["building 1 (9 households) lies across parts 2, 3 and cannot be given whole to one",
             "the parent is not one polygon: its parts cannot all be contiguous"]
    told = told_whole(parent, parts, np.array([0, 1]), foot, [9, 7], UNIT, stale)
    assert told == [stale[1], "building 2 (7 households) lies across parts 1, 2 and cannot be "
                              "given whole to one"]
    whole = [box(0, 0, 13, 10), box(13, 0, 20, 10)]
    assert told_whole(parent, whole, np.array([0, 0]), foot, [9, 7], UNIT, told) == [stale[1]]
