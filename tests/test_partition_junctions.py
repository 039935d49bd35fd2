"""The points where the parts' boundaries meet moved (gis.partition.junctions)."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import HealthCheck, given, settings
from shapely.geometry import Point, Polygon, box

from gis.partition import engines
from gis.partition.engines import splitter
from gis.partition.junctions import moved_junctions
from gis.partition.quality import metric_scale, polsby_popper
from gis.partition.taut import pulled_taut
from tests.test_partition_growth import check_division
from tests.test_partition_taut import METRES, covered, divisions, loose_split

JUNCTION = (5.0, 5.0)


def three_parts() -> tuple[list[Polygon], Polygon]:
    """A 30 x 30 parent in three parts meeting at (5, 5), far from where their three straight
    boundaries (to (15, 0), (0, 15) and the corner (30, 30)) would be shortest."""
    bottom, left, corner = (15.0, 0.0), (0.0, 15.0), (30.0, 30.0)
    a = Polygon([(0, 0), bottom, JUNCTION, left])
    b = Polygon([bottom, (30, 0), corner, JUNCTION])
    c = Polygon([left, JUNCTION, corner, (0, 30)])
    return [a, b, c], box(0, 0, 30, 30)


def shared_length(parts) -> float:
    """The length of the boundaries between parts (the parent's outline left out)."""
    return 0.5 * (float(shapely.length(np.asarray(parts, dtype=object)).sum()) - 120.0)


def meeting_point(parts) -> np.ndarray:
    """The one vertex all three parts have."""
    common = set(map(tuple, shapely.get_coordinates(parts[0])))
    for part in parts[1:]:
        common &= set(map(tuple, shapely.get_coordinates(part)))
    (point,) = common
    return np.array(point)


def assert_tiles(parts, parent) -> None:
    assert all(p.is_valid and p.geom_type == "Polygon" for p in parts)
    assert abs(sum(p.area for p in parts) - parent.area) <= 1e-9 * parent.area
    assert abs(shapely.union_all(parts).area - parent.area) <= 1e-9 * parent.area


def test_a_point_where_three_parts_meet_moves_where_their_boundaries_are_shorter():
    parts, parent = three_parts()
    taut, _ = pulled_taut(parent, parts, np.zeros(0, np.int64), [], METRES)
    assert shared_length(taut) == shared_length(parts)  # straight already: taut cannot help
    new, moved = moved_junctions(parent, parts, np.zeros(0, np.int64), [], METRES)
    assert moved > 0
    assert_tiles(new, parent)
    assert shared_length(new) < shared_length(parts) - 1.0
    before, after = polsby_popper(parts), polsby_popper(new)
    assert after.min() >= before.min() and after.sum() > before.sum()
    assert np.hypot(*(meeting_point(new) - JUNCTION)) > 2.0


def test_a_footprint_in_the_way_stops_the_point_short_of_it():
    parts, parent = three_parts()
    free, _ = moved_junctions(parent, parts, np.zeros(0, np.int64), [], METRES)
    target = meeting_point(free)
    blocker = box(8.0, 6.6, 8.6, 7.2)  # in part b, in the land it gives a on the way
    assert parts[1].covers(blocker)
    feet = [box(1, 1, 2, 2), box(20, 2, 21, 3), box(2, 25, 3, 26), blocker]
    assignment = np.array([0, 1, 2, 1])
    new, _ = moved_junctions(parent, parts, assignment, feet, METRES)
    assert_tiles(new, parent)
    assert all(covered(new[k], f) for f, k in zip(feet, assignment, strict=True))
    assert np.hypot(*(meeting_point(new) - target)) > 0.5  # not where it went without it


def test_a_building_mapped_as_a_point_keeps_land_round_it_in_its_part():
    parts, parent = three_parts()
    free, _ = moved_junctions(parent, parts, np.zeros(0, np.int64), [], METRES)
    point = Point(*(0.5 * (np.asarray(JUNCTION) + meeting_point(free))))  # on the way
    owner = int(np.flatnonzero([p.intersects(point) for p in parts])[0])
    new, _ = moved_junctions(parent, parts, np.array([owner]), [point], METRES)
    assert_tiles(new, parent)
    assert new[owner].intersects(point)


def test_a_boundary_meeting_the_outline_slides_along_it_where_both_parts_gain():
    parent = box(0, 0, 30, 20)
    left = Polygon([(0, 0), (10, 0), (20, 20), (0, 20)])  # a slanted boundary: each 0.72
    right = Polygon([(10, 0), (30, 0), (30, 20), (20, 20)])
    new, moved = moved_junctions(parent, [left, right], np.zeros(0, np.int64), [], METRES)
    assert moved > 0
    assert_tiles(new, parent)
    before, after = polsby_popper([left, right]), polsby_popper(new)
    assert after.min() > before.min() + 0.02
    assert new[0].boundary.intersection(new[1].boundary).length < left.boundary.intersection(
        right.boundary).length - 1.0  # nearer upright: shorter


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(divisions())
def test_moved_junctions_keep_the_tiling_and_the_buildings_and_never_lose_to_taut(case):
    parent, feet, households = case
    result = loose_split(parent, feet, households)
    scale = metric_scale(parent)
    assignment = np.asarray(result.assignment)
    taut, _ = pulled_taut(parent, list(result.parts), assignment, feet, scale)
    new, _ = moved_junctions(parent, list(result.parts), assignment, feet, scale)
    assert_tiles(new, parent)
    for k, part in enumerate(new):
        for f in np.asarray(feet, dtype=object)[assignment == k]:
            before = shapely.difference(f, result.parts[k]).area
            assert shapely.difference(f, part).area <= before + 1e-12 * f.area
    assert polsby_popper(new, scale).min() >= polsby_popper(taut, scale).min() - 1e-12
    assert polsby_popper(new, scale).sum() >= polsby_popper(taut, scale).sum() - 1e-12


def test_a_real_community_divided_into_grids_has_them_more_compact(monaco_community_0):
    parent, buildings, households = monaco_community_0
    engines.JUNCTIONS = False
    try:
        fixed = splitter(level="grid")(parent, buildings, households, min_households=300,
                                       max_households=500)
    finally:
        engines.JUNCTIONS = True
    moved = splitter(level="grid")(parent, buildings, households, min_households=300,
                                   max_households=500)
    check_division(parent, buildings, households, moved)
    assert list(moved.assignment) == list(fixed.assignment)
    assert np.mean(moved.polsby_popper) > np.mean(fixed.polsby_popper) + 0.002
    assert min(moved.polsby_popper) >= min(fixed.polsby_popper) - 1e-9


def test_micro_grids_keep_their_meeting_points(monaco_grid_202):
    parent, buildings, households = monaco_grid_202
    engines.JUNCTIONS = False
    try:
        fixed = splitter()(parent, buildings, households)
    finally:
        engines.JUNCTIONS = True
    same = splitter()(parent, buildings, households)
    assert all(a.equals_exact(b, 0.0) for a, b in zip(same.parts, fixed.parts, strict=True))
