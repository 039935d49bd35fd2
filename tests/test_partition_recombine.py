"""The passes after the split engine's first division: recombination of neighbouring parts
(bounds and thin parts) and the sliver clean-up (thin empty arms change hands)."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import box

from gis.partition.engine import _Engine
from gis.partition.quality import polsby_popper
from gis.partition.recombine import recombine
from gis.partition.result import assign
from gis.partition.slivers import clean_slivers

SCALE = (1.0, 1.0)  # planar metres


def engine_for(parent, buildings, households, lo=30, hi=50):
    return _Engine(parent, buildings, households, (), lo, hi, 0, False)


def test_recombine_brings_an_under_part_and_its_over_neighbour_into_bounds():
    parent = box(0, 0, 200, 100)
    buildings = [box(x, 40, x + 8, 48) for x in (20, 60, 110, 135, 160, 185)]
    households = np.array([10, 10, 15, 15, 15, 15])
    parts = [box(0, 0, 100, 100), box(100, 0, 200, 100)]  # 20 | 60 households
    eng = engine_for(parent, buildings, households)
    before = assign(parts, eng.rep)
    new, assignment = recombine(parts, before, households, 30, 50, SCALE, eng.resplit)
    counts = np.bincount(assignment, weights=households, minlength=len(new))
    assert all(30 <= c <= 50 for c in counts), counts
    assert all(p.geom_type == "Polygon" for p in new)
    assert abs(sum(p.area for p in new) - parent.area) < 1e-6
    assert abs(shapely.union_all(new).area - parent.area) < 1e-6
    for b, i in zip(buildings, assignment, strict=True):
        assert new[i].buffer(1e-9).covers(b)


def test_recombine_leaves_parts_in_bounds_and_compact_alone():
    parent = box(0, 0, 200, 100)
    buildings = [box(x, 40, x + 8, 48) for x in (20, 60, 120, 160)]
    households = np.array([20, 20, 20, 20])
    parts = [box(0, 0, 100, 100), box(100, 0, 200, 100)]
    eng = engine_for(parent, buildings, households)
    new, assignment = recombine(parts, assign(parts, eng.rep), households, 30, 50, SCALE,
                                eng.resplit)
    assert [p.wkb for p in new] == [p.wkb for p in parts]
    assert assignment.tolist() == [0, 0, 1, 1]


def test_a_thin_empty_arm_goes_to_the_neighbour_beside_it():
    # part 0: a square with a 2 m arm running along the top of part 1
    square, arm = box(0, 0, 50, 50), box(50, 48, 200, 50)
    parts = [shapely.union(square, arm), box(50, 0, 200, 48)]
    buildings = np.array([box(10, 10, 20, 20), box(100, 10, 110, 20)], dtype=object)
    assignment = np.array([0, 1])
    before = polsby_popper(parts, SCALE)
    after_parts = clean_slivers(parts, assignment, buildings, SCALE)
    after = polsby_popper(after_parts, SCALE)
    assert after.min() > before.min() + 0.2
    assert after_parts[0].equals(square)
    assert abs(sum(p.area for p in after_parts) - sum(p.area for p in parts)) < 1e-6
    assert all(p.geom_type == "Polygon" for p in after_parts)


def test_an_arm_holding_a_footprint_stays():
    square, arm = box(0, 0, 50, 50), box(50, 48, 200, 50)
    parts = [shapely.union(square, arm), box(50, 0, 200, 48)]
    buildings = np.array([box(150, 48.5, 152, 49.5), box(100, 10, 110, 20)], dtype=object)
    after = clean_slivers(parts, np.array([0, 1]), buildings, SCALE)
    assert after[0].equals(parts[0]) and after[1].equals(parts[1])
