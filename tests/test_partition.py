"""Property tests of the split engine: tiling, containment, contiguity, bounds, determinism."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon, box

from gis.partition import split

LON, LAT = 121.55, 25.05
D = 1e-5  # ~1 m


@st.composite
def parents(draw, convex: bool = True):
    """A convex quadrilateral (or an L-shape) of 150-400 m, in lon/lat."""
    w, h = draw(st.integers(150, 400)) * D, draw(st.integers(150, 400)) * D
    if convex:
        j = [draw(st.integers(-20, 20)) * D for _ in range(4)]
        return Polygon([(LON + j[0], LAT), (LON + w, LAT + j[1]), (LON + w + j[2], LAT + h),
                        (LON, LAT + h + j[3])])
    return shapely.union(box(LON, LAT, LON + w, LAT + h / 2),
                         box(LON, LAT, LON + w / 2, LAT + h))


@st.composite
def layouts(draw, convex: bool = True, footprints: bool = True):
    parent = draw(parents(convex))
    n = draw(st.integers(1, 60))
    cells = draw(st.lists(st.tuples(st.integers(0, 19), st.integers(0, 19)), min_size=n,
                          max_size=n, unique=True))
    minx, miny, maxx, maxy = parent.bounds
    buildings, households = [], []
    for cx, cy in cells:
        x = minx + (maxx - minx) * (cx + 0.3) / 20
        y = miny + (maxy - miny) * (cy + 0.3) / 20
        geom = box(x, y, x + 3 * D, y + 3 * D) if footprints else shapely.Point(x, y)
        if parent.buffer(-D).contains(geom):
            buildings.append(geom)
            households.append(draw(st.integers(1, 5)))
    return parent, buildings, households


def check_invariants(parent, buildings, households, result, lo=30, hi=50):
    parts = result.parts
    union = shapely.union_all(parts)
    assert abs(union.area - parent.area) / parent.area < 1e-9
    assert abs(sum(p.area for p in parts) - parent.area) / parent.area < 1e-9  # no overlap
    for part in parts:
        assert part.geom_type == "Polygon" and part.is_valid
        assert parent.buffer(1e-12).covers(part)
    assert len(result.assignment) == len(buildings)
    for b, i in zip(buildings, result.assignment, strict=True):
        assert parts[i].buffer(1e-12).covers(b)  # the footprint lies whole in its part
    assert sum(result.households) == sum(households)


SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@SETTINGS
@given(layouts(), st.integers(0, 3))
def test_tiles_contains_and_meets_bounds_when_feasible(layout, seed):
    parent, buildings, households = layout
    result = split(parent, buildings, households, seed=seed)
    check_invariants(parent, buildings, households, result)
    total = sum(households)
    feasible = any(k * 35 <= total <= k * 45 for k in range(1, total // 30 + 1))
    if feasible:
        assert not result.violations, result.violations
        assert all(30 <= h <= 50 for h in result.households)
    else:  # never a silent violation
        assert result.violations or all(30 <= h <= 50 for h in result.households)


@SETTINGS
@given(layouts(convex=False, footprints=False), st.integers(0, 3))
def test_non_convex_parents_still_tile_with_contiguous_parts(layout, seed):
    parent, buildings, households = layout
    result = split(parent, buildings, households, seed=seed)
    check_invariants(parent, buildings, households, result)
    out = [h for h in result.households if not 30 <= h <= 50]
    assert not out or result.violations


@SETTINGS
@given(layouts(), st.integers(0, 5))
def test_deterministic(layout, seed):
    parent, buildings, households = layout
    a = split(parent, buildings, households, seed=seed)
    b = split(parent, buildings, households, seed=seed)
    assert [p.wkb for p in a.parts] == [p.wkb for p in b.parts]
    assert np.array_equal(a.assignment, b.assignment)


def test_tower_above_max_is_reported_and_isolated():
    parent = box(LON, LAT, LON + 0.003, LAT + 0.003)
    tower = box(LON + 0.0005, LAT + 0.0005, LON + 0.0008, LAT + 0.0008)
    small = [box(LON + 0.002 + i * 2e-4, LAT + 0.002, LON + 0.00215 + i * 2e-4, LAT + 0.0021)
             for i in range(4)]
    result = split(parent, [tower, *small], [120, 10, 10, 10, 10])
    assert any("120 households exceeds the maximum 50" in v for v in result.violations)
    tower_part = result.assignment[0]
    assert result.households[tower_part] == 120
    assert sorted(result.households) == [40, 120]


def test_parent_below_minimum_and_empty_parent():
    parent = box(LON, LAT, LON + 0.002, LAT + 0.002)
    few = split(parent, [shapely.Point(LON + 0.001, LAT + 0.001)], [20])
    assert few.parts == [parent] or few.parts[0].equals(parent)
    assert "below the minimum 30" in few.violations[0]
    empty = split(parent, [], [])
    assert empty.violations and len(empty.parts) == 1


def test_single_tower_of_500_households():
    parent = box(LON, LAT, LON + 0.002, LAT + 0.002)
    result = split(parent, [box(LON + 0.0008, LAT + 0.0008, LON + 0.0011, LAT + 0.0011)], [500])
    assert len(result.parts) == 1 and result.households == [500]
    assert any("500 households exceeds" in v for v in result.violations)


def test_indivisible_total_is_reported():
    parent = box(LON, LAT, LON + 0.002, LAT + 0.002)
    pts = [shapely.Point(LON + 0.0002 * i + 0.0001, LAT + 0.001) for i in range(11)]
    result = split(parent, pts, [5] * 11)  # 55 households: 1 part > 50, 2 parts < 30
    assert any("cannot be divided" in v for v in result.violations)


def test_cuts_follow_a_barrier_when_buildings_allow():
    parent = box(LON, LAT, LON + 0.003, LAT + 0.003)
    road_y = LAT + 0.0013
    road = shapely.LineString([(LON - 0.001, road_y), (LON + 0.004, road_y)])
    buildings, households = [], []
    for i in range(6):
        for j in range(6):
            x, y = LON + 0.0002 + i * 0.00045, LAT + 0.0002 + j * 0.0005
            buildings.append(box(x, y, x + 0.0002, y + 0.0001))
            households.append(2 if j < 3 else 2)
    result = split(parent, buildings, households, barriers=[road], min_households=30,
                   max_households=50)
    assert not result.violations
    edges = shapely.union_all([p.boundary for p in result.parts])
    along = shapely.intersection(edges, road.buffer(1e-7))
    assert along.length > 0.5 * 0.003  # most of the road inside the parent is a boundary


def test_bad_arguments():
    parent = box(LON, LAT, LON + 0.001, LAT + 0.001)
    import pytest

    with pytest.raises(ValueError, match="bounds"):
        split(parent, [], [], min_households=50, max_households=30)
    with pytest.raises(ValueError, match="one household count"):
        split(parent, [shapely.Point(LON, LAT)], [1, 2])
    with pytest.raises(ValueError, match=">= 0"):
        split(parent, [shapely.Point(LON, LAT)], [-1])
