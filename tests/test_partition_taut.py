"""The parts' shared boundaries pulled taut round the footprints (gis.partition.taut)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, Polygon, box

from gis.partition import engines
from gis.partition.engines import splitter
from gis.partition.quality import metric_scale, polsby_popper
from gis.partition.taut import (
    Obstacles,
    _spliced,
    exterior_rings,
    pull_start,
    pulled_taut,
    pulled_taut_many,
    shared_runs,
    swept,
    unsound_parts,
)
from tests.test_partition_growth import check_division

METRES = (1.0, 1.0)


def zigzag_pair(teeth: int = 6, depth: float = 3.0) -> tuple[list[Polygon], Polygon]:
    """A 40 x 20 parent cut in two by a boundary from (20, 0) to (20, 20) that zigzags
    `depth` either side of x = 20."""
    ys = np.linspace(0.0, 20.0, 2 * teeth + 1)
    xs = np.where(np.arange(len(ys)) % 2 == 1, 20.0 + depth, 20.0 - depth)
    xs[0] = xs[-1] = 20.0
    line = list(zip(xs, ys, strict=True))
    left = Polygon([(0, 0), *line, (0, 20)])
    right = Polygon([(40, 0), (40, 20), *line[::-1]])
    return [left, right], box(0, 0, 40, 20)


def loose_split(parent, feet, households):
    """The default split without the taut step (engines.TAUT off for the one call)."""
    engines.TAUT = False
    try:
        return splitter()(parent, feet, households)
    finally:
        engines.TAUT = True


def perimeters(parts) -> float:
    return float(shapely.length(np.asarray(parts, dtype=object)).sum())


def covered(part, footprint) -> bool:
    return shapely.difference(footprint, part).area <= 1e-12 * max(footprint.area, 1e-12)


def test_a_zigzag_through_open_land_becomes_the_straight_line():
    parts, parent = zigzag_pair()
    feet = [box(2, 2, 8, 18), box(32, 2, 38, 18)]
    new, runs = pulled_taut(parent, parts, np.array([0, 1]), feet, METRES)
    assert runs == 1
    shared = new[0].boundary.intersection(new[1].boundary)
    assert shared.length == pytest.approx(20.0)  # x = 20, end to end
    assert perimeters(new) < perimeters(parts)
    assert polsby_popper(new).min() > polsby_popper(parts).min()
    assert sum(p.area for p in new) == pytest.approx(parent.area)
    assert shapely.union_all(new).area == pytest.approx(parent.area)
    assert all(covered(p, f) for p, f in zip(new, feet, strict=True))


def test_a_footprint_in_the_way_bends_the_boundary_round_its_corner():
    parts, parent = zigzag_pair(teeth=4, depth=6.0)
    blocker = box(19.0, 9.5, 24.0, 10.5)  # in the right part (its tip), across x = 20
    assert covered(parts[1], blocker)
    feet = [box(2, 2, 8, 18), blocker]
    new, runs = pulled_taut(parent, parts, np.array([0, 1]), feet, METRES)
    assert runs == 1
    assert covered(new[1], blocker) and covered(new[0], feet[0])
    shared = new[0].boundary.intersection(new[1].boundary)
    corners = shapely.points([(19.0, 9.5), (19.0, 10.5)])
    assert shapely.distance(corners, shared).max() < 1e-9  # round its two corners
    assert 20.0 < shared.length < parts[0].boundary.intersection(parts[1].boundary).length


def test_a_building_mapped_as_a_point_keeps_the_boundary_where_it_is():
    parts, parent = zigzag_pair(teeth=1, depth=4.0)  # one tooth: (20,0) (24,10) (20,20)
    feet = [box(2, 2, 8, 18), Point(22.0, 10.0)]  # right of x=20, in the tooth's triangle
    new, runs = pulled_taut(parent, parts, np.array([0, 1]), feet, METRES)
    assert runs == 0 and new[0].equals(parts[0])


def test_a_line_is_straightened_only_where_the_lower_part_does_not_lose():
    parent = box(0, 0, 22, 20)
    bump = [(20, 0), (6.5, 10), (20, 20)]  # the boundary bulges deep into the square
    square = Polygon([(0, 0), *bump, (0, 20)])
    strip = Polygon([(20, 0), (22, 0), (22, 20), *bump[::-1]])
    # straight, the square would rise from 0.38 to 0.79 and the sum with it, but the strip
    # would fall from 0.66 to 0.26, under the square's 0.38: kept as it is
    new, runs = pulled_taut(parent, [square, strip], np.zeros(0, np.int64), [], METRES)
    assert runs == 0 and new[1].equals(strip)
    # a shallow bulge into the strip: both rise, straightened
    parent = box(0, 0, 24, 20)
    mirror = [(20, 0), (23, 10), (20, 20)]
    square = Polygon([(0, 0), *mirror, (0, 20)])
    strip = Polygon([(20, 0), (24, 0), (24, 20), *mirror[::-1]])
    new, runs = pulled_taut(parent, [square, strip], np.zeros(0, np.int64), [], METRES)
    assert runs == 1 and new[1].equals(box(20, 0, 24, 20))
    assert polsby_popper(new).min() > polsby_popper([square, strip]).min()


@st.composite
def divisions(draw):
    """Footprints in a grid of lots (some left empty) on a 60 x 60 m parent near Monaco,
    2-25 households each."""
    n = draw(st.integers(3, 6))
    lots = [(i, j) for i in range(n) for j in range(n)]
    used = draw(st.lists(st.sampled_from(lots), min_size=4, max_size=len(lots), unique=True))
    size = 60.0 / n
    d = 1e-5
    feet, households = [], []
    for i, j in used:
        w = draw(st.floats(0.3, 0.8)) * size
        h = draw(st.floats(0.3, 0.8)) * size
        x0, y0 = i * size + (size - w) / 2, j * size + (size - h) / 2
        feet.append(box(7.42 + x0 * d, 43.73 + y0 * d, 7.42 + (x0 + w) * d,
                        43.73 + (y0 + h) * d))
        households.append(draw(st.integers(2, 25)))
    parent = box(7.42, 43.73, 7.42 + 60 * d, 43.73 + 60 * d)
    return parent, feet, households


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(divisions())
def test_pulled_taut_keeps_the_tiling_the_buildings_and_shortens_the_boundaries(case):
    parent, feet, households = case
    result = loose_split(parent, feet, households)
    scale = metric_scale(parent)
    new, _ = pulled_taut(parent, list(result.parts), np.asarray(result.assignment), feet,
                         scale)
    metric = lambda geoms: shapely.transform(np.asarray(geoms, dtype=object),  # noqa: E731
                                             lambda xy: xy * np.asarray(scale))
    assert shapely.length(metric(new)).sum() <= shapely.length(metric(result.parts)).sum() + 1e-6
    assert abs(sum(p.area for p in new) - parent.area) <= 1e-9 * parent.area
    assert abs(shapely.union_all(new).area - parent.area) <= 1e-9 * parent.area
    for k, part in enumerate(new):
        assert part.is_valid and part.geom_type == "Polygon"
        for f in np.asarray(feet, dtype=object)[np.asarray(result.assignment) == k]:
            before = shapely.difference(f, result.parts[k]).area
            assert shapely.difference(f, part).area <= before + 1e-12 * f.area


def test_a_real_grid_split_with_taut_boundaries_is_more_compact_and_still_whole(
        monaco_grid_202):
    parent, buildings, households = monaco_grid_202
    loose = loose_split(parent, buildings, households)
    taut = splitter()(parent, buildings, households)
    check_division(parent, buildings, households, taut)
    assert list(taut.assignment) == list(loose.assignment)
    assert taut.households == loose.households
    assert np.mean(taut.polsby_popper) > np.mean(loose.polsby_popper) + 0.005
    assert min(taut.polsby_popper) >= min(loose.polsby_popper) - 1e-9


def test_a_part_with_a_hole_is_pulled_taut_round_its_outside_and_keeps_the_hole():
    (left, right), parent = zigzag_pair()
    enclave = box(10, 8, 13, 11)  # a third part inside the left one
    left = Polygon(left.exterior.coords, [enclave.exterior.coords])
    feet = [box(2, 2, 8, 18), box(32, 2, 38, 18), box(11, 9, 12, 10)]
    new, runs = pulled_taut(parent, [left, right, enclave], np.array([0, 1, 2]), feet, METRES)
    assert runs == 1
    assert len(new[0].interiors) == 1 and new[2].equals(enclave)
    assert new[0].boundary.intersection(new[1].boundary).length == pytest.approx(20.0)
    assert sum(p.area for p in new) == pytest.approx(parent.area)


def test_unsound_parts_names_the_parts_that_lose_a_footprint_or_their_shape():
    """The check after a pull: a part that leaves one of its footprints partly outside, or is
    no longer one valid polygon, is named; one still holding its footprints whole, or one
    whose footprint stuck out by a hairline before and sticks out no more now, is not."""
    old = [box(0, 0, 10, 10), box(10, 0, 20, 10), box(20, 0, 30, 10), box(30, 0, 40, 10)]
    feet = [np.asarray([box(1, 1, 4, 4)], dtype=object),
            np.asarray([box(12, 2, 15, 5)], dtype=object),
            np.asarray([box(21, 1, 24, 4)], dtype=object),
            np.asarray([box(36, 2, 40.0001, 5)], dtype=object)]  # past its part before
    new = {0: box(0, 0, 10, 10),  # as it was
           1: box(13, 0, 20, 10),  # cuts its footprint
           2: shapely.MultiPolygon([box(20, 0, 25, 5), box(26, 6, 30, 10)]),  # in two
           3: box(30, 0, 40, 10)}  # the same hairline out, no more
    assert unsound_parts(new, old, [0, 1, 2, 3], feet) == {1, 2}
    assert unsound_parts(new, old, [], []) == set()


def test_a_run_across_the_rings_start_is_spliced_in_place_of_the_edges_it_covered():
    """A run that begins near the ring's end and wraps past its first vertex replaces
    exactly the edges it covered, with another run elsewhere on the same ring."""
    ring = np.asarray([(0, 0), (4, 0), (8, 0), (8, 4), (8, 8), (4, 8), (0, 8), (0, 4)], float)
    wrap = np.asarray([(0, 4), (1, 1), (4, 0)], float)  # from vertex 7 round to vertex 1
    east = np.asarray([(8, 0), (7, 4), (8, 8)], float)  # vertex 2 to vertex 4
    spliced = _spliced(ring, [(2, 2, east), (7, 2, wrap)], [])
    expected = Polygon([(1, 1), (4, 0), (8, 0), (7, 4), (8, 8), (4, 8), (0, 8), (0, 4)])
    assert spliced.equals(expected) and len(spliced.exterior.coords) == 9
    assert _spliced(ring, [], []).equals(Polygon(ring))


def test_the_runs_of_two_parents_swept_at_once_each_go_round_their_own_footprints_only():
    """Two parents in the same place, one with a footprint in the way of its zigzag and one
    without, swept together (`swept` with each run's and part's parent): each run comes out
    as it does alone - bent round the footprint in the first, straight in the second - and
    a point building of the first holds its vertex there only."""
    parts, parent = zigzag_pair(teeth=4, depth=6.0)
    blocker, point = box(19.0, 9.5, 24.0, 10.5), Point(22.0, 15.0)
    feet = [np.asarray([box(2, 2, 8, 18), blocker, point], dtype=object),
            np.asarray([box(2, 2, 8, 18)], dtype=object)]
    runs = shared_runs(exterior_rings(np.asarray(parts, dtype=object)))
    pairs = np.asarray([(r.a, r.b) for r in runs])
    geoms = np.asarray(parts, dtype=object)

    def alone(own: np.ndarray) -> list[np.ndarray]:
        return swept([r.path for r in runs], pairs, parent, geoms, shapely.STRtree(geoms),
                     Obstacles.of(own))

    both = np.concatenate([geoms, geoms])
    together = swept([r.path for r in runs] * 2, np.vstack([pairs, pairs + 2]),
                     np.asarray([parent, parent], dtype=object), both, shapely.STRtree(both),
                     Obstacles.of(np.concatenate(feet), np.repeat([0, 1], [3, 1])),
                     np.repeat([0, 1], len(runs)), np.repeat([0, 1], 2))
    first, second = alone(feet[0]), alone(feet[1])
    assert len(first[0]) > 2 and len(second[0]) == 2  # bent, and straight
    for got, want in zip(together, first + second, strict=True):
        assert np.array_equal(got, want)


def test_divisions_pulled_taut_together_each_come_out_as_alone():
    """`pulled_taut_many` over two divisions in the same place (a footprint in the way of
    one's zigzag only), one whose boundary is straight already and one of a single part:
    each gets what `pulled_taut` gives it alone (the first bent round its footprint, the
    third straight, the second as it was), and None where there is nothing to pull."""
    parts, parent = zigzag_pair(teeth=4, depth=6.0)
    blocked = ([box(2, 2, 8, 18), box(19.0, 9.5, 24.0, 10.5), box(32, 2, 38, 18)], [0, 1, 1])
    open_land = ([box(2, 2, 8, 18), box(32, 2, 38, 18)], [0, 1])
    straight = [box(0, 0, 20, 20), box(20, 0, 40, 20)]
    cases = [(parts, *blocked), (straight, *open_land), (parts, *open_land), ([parent], [], [])]
    pulls = [pull_start(parent, p, np.asarray(a, dtype=np.int64), np.asarray(f, dtype=object),
                        METRES) for p, f, a in cases]
    assert pulls[3] is None  # one part: no shared edge
    together = pulled_taut_many(pulls)
    assert together[3] is None
    for (p, f, a), got in zip(cases[:3], together[:3], strict=True):
        want = pulled_taut(parent, p, np.asarray(a, dtype=np.int64), f, METRES)
        assert got[1] == want[1]
        assert [g.wkb for g in got[0]] == [w.wkb for w in want[0]]
    assert together[1][1] == 0 and together[0][1] > 0 and together[2][1] > 0
    bent, plain = together[0][0], together[2][0]
    assert len(bent[0].exterior.coords) > len(plain[0].exterior.coords)  # round the blocker
