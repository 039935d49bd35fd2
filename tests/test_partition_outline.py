"""The parts' final outlines (gis.partition.outline): from coverage unions of Voronoi cells to
parts that tile the parent exactly, hold every footprint whole, stay one polygon each and have
smoothed shared edges; on generated blocks (hypothesis) and on small layouts drawn by hand."""

from __future__ import annotations

import math

import numpy as np
import shapely
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon, box

from gis.partition import outline
from gis.partition.cellgraph import cell_graph
from gis.partition.graph import _clipped
from gis.partition.inputs import local_frame
from gis.partition.outline import outlines
from tests.test_partition_real import irregular_layouts

SPILL_M2 = 1e-6


def pp(geom) -> float:
    return 4 * math.pi * geom.area / geom.length ** 2


def spill(parts, foot, owner) -> np.ndarray:
    """Area (m²) of each footprint outside its part."""
    polys = shapely.area(foot) > 0
    out = np.zeros(len(foot))
    out[polys] = shapely.area(shapely.difference(foot[polys], parts[owner[polys]]))
    return out


def check_tiling(parent, parts):
    total = parent.area
    assert abs(float(shapely.area(parts).sum()) - total) <= 1e-9 * total  # no overlap
    assert abs(shapely.union_all(parts).area - total) <= 1e-9 * total  # no gap
    assert shapely.is_valid(parts).all()
    assert shapely.covers(parent.buffer(1e-6), parts).all()


@st.composite
def divided_blocks(draw):
    """A generated block in metres, its footprints clipped to it, and a division of its unit
    graph into 2-4 parts: straight sweeps (contiguous parts, mostly) or random labels (parts in
    pieces), the parts being the coverage unions of the samples' cells, as the engine makes
    them."""
    parent, buildings, households = draw(irregular_layouts())
    assume(len(buildings) >= 4)
    _, there, _ = local_frame(parent, True)
    local = there(parent)
    feet = there(np.asarray(buildings, dtype=object))
    g = cell_graph(local, feet, np.asarray(households))
    assume(g.n >= 4)
    k = draw(st.integers(2, 4))
    if draw(st.booleans()):
        angle = draw(st.floats(0, math.pi))
        along = g.xy @ np.array([math.cos(angle), math.sin(angle)])
        label = np.argsort(np.argsort(along)) * k // g.n
    else:
        label = np.asarray(draw(st.lists(st.integers(0, k - 1), min_size=g.n, max_size=g.n)))
    _, label = np.unique(label, return_inverse=True)
    label = label.reshape(-1)
    parts = g.polygons(label, int(label.max()) + 1)
    return local, parts, _clipped(feet, local), label[g.unit_of]


@st.composite
def leaky_blocks(draw):
    """A divided block (as `divided_blocks`, by a straight sweep) whose parts leak: one sample's
    cell in twenty goes to the part of the nearest cell of another part, so footprints stick
    out of their parts (and a part may come in pieces)."""
    parent, buildings, households = draw(irregular_layouts())
    assume(len(buildings) >= 4)
    _, there, _ = local_frame(parent, True)
    local = there(parent)
    feet = there(np.asarray(buildings, dtype=object))
    g = cell_graph(local, feet, np.asarray(households))
    assume(g.n >= 4)
    k = draw(st.integers(2, 4))
    angle = draw(st.floats(0, math.pi))
    along = g.xy @ np.array([math.cos(angle), math.sin(angle)])
    unit_part = np.argsort(np.argsort(along)) * k // g.n
    label = unit_part[g.point_unit]
    centre = shapely.get_coordinates(shapely.centroid(g.point_cells))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    for i in rng.choice(len(label), size=max(1, len(label) // 20), replace=False).tolist():
        d = np.hypot(*(centre - centre[i]).T)
        d[label == label[i]] = np.inf
        if np.isfinite(d.min()):
            label[i] = label[int(np.argmin(d))]
    used, label = np.unique(label, return_inverse=True)
    label = label.reshape(-1)
    assume(np.isin(unit_part[g.unit_of], used).all())
    parts = np.asarray([shapely.union_all(g.point_cells[label == j]) for j in range(len(used))],
                       dtype=object)
    return local, parts, _clipped(feet, local), np.searchsorted(used, unit_part[g.unit_of])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(divided_blocks(), leaky_blocks()))
def test_outlines_tile_exactly_keep_footprints_whole_and_parts_single(block):
    parent, parts, foot, owner = block
    out, mine = outlines(parts, foot, owner)
    check_tiling(parent, out)
    assert len(out) == len(parts)
    whole = (spill(out, foot, mine) <= SPILL_M2).all()
    if whole:
        single = shapely.get_type_id(parts) == 3
        assert (shapely.get_type_id(out[single]) == 3).all()  # one polygon stays one
    else:  # mending would cut a part in pieces holding its footprints: left as it came
        assert all(a.equals(b) for a, b in zip(out, parts, strict=True))
    moved = np.flatnonzero(mine != owner)
    if len(moved):  # only a footprint with no area in its own part changes part
        own = shapely.area(shapely.intersection(parts[owner[moved]], foot[moved]))
        assert (own <= 1e-9).all()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(leaky_blocks())
def test_outlines_never_keep_a_leak_they_can_mend(block):
    """Leaks are mended whenever the parts allow it: after outlines, only a fallback to the
    parts as they came can leave a footprint outside its part."""
    parent, parts, foot, owner = block
    out, mine = outlines(parts, foot, owner)
    if (spill(out, foot, mine) > SPILL_M2).any():
        assert all(a.equals(b) for a, b in zip(out, parts, strict=True))
        assert (spill(parts, foot, mine) > SPILL_M2).any()  # the leak was there before


def zigzag_pair(amplitude: float = 2.0, step: float = 5.0):
    """Two parts of a 100 x 50 m parent whose shared edge zig-zags around x = 50."""
    line = [(50 + (amplitude if i % 2 else -amplitude) * (0 < i * step < 50), i * step)
            for i in range(int(50 / step) + 1)]
    left = Polygon([(0, 0), *line, (0, 50)])
    right = Polygon([(100, 0), (100, 50), *line[::-1]])
    return box(0, 0, 100, 50), np.asarray([left, right], dtype=object)


def test_a_zigzag_edge_comes_out_straight_and_the_parts_more_compact():
    parent, parts = zigzag_pair()
    foot = np.asarray([box(10, 10, 25, 40), box(75, 10, 90, 40)], dtype=object)
    out, owner = outlines(parts, foot, np.array([0, 1]))
    check_tiling(parent, out)
    assert owner.tolist() == [0, 1]
    assert all(pp(o) > pp(p) for o, p in zip(out, parts, strict=True))
    shared = shapely.intersection(out[0].boundary, out[1].boundary)
    assert shapely.get_num_coordinates(shared) < shapely.get_num_coordinates(
        shapely.intersection(parts[0].boundary, parts[1].boundary))
    assert (spill(out, foot, owner) <= SPILL_M2).all()


def test_simplified_edges_go_around_footprints():
    """A footprint in a bump of the zig-zag: the straight edge would clip it, the edge
    simplified around the footprints' hulls keeps the bump."""
    _, parts = zigzag_pair()
    foot = np.asarray([box(49, 24, 50.5, 26), box(75, 10, 90, 40)], dtype=object)
    assert parts[0].covers(foot[0])
    around = outline._simplified(parts, foot, 30.0, True)
    assert around[0].covers(foot[0]) and not around[1].intersects(foot[0].buffer(-1e-6))
    assert shapely.get_num_coordinates(around[0]) < shapely.get_num_coordinates(parts[0])
    straight = outline._simplified(parts, foot, 30.0, False)
    assert not straight[0].covers(foot[0])


def test_a_small_part_beside_a_large_one_keeps_its_shape():
    """The tolerance follows the smallest part: a 30 m square in the corner of a 400 m block
    is not cut down to a triangle."""
    parent = box(0, 0, 400, 100)
    small = box(0, 0, 30, 30)
    parts = np.asarray([small, parent.difference(small)], dtype=object)
    foot = np.asarray([box(2, 2, 8, 8), box(200, 40, 230, 70)], dtype=object)
    out, owner = outlines(parts, foot, np.array([0, 1]))
    check_tiling(parent, out)
    assert abs(out[0].area - small.area) <= 0.25 * small.area
    assert pp(out[0]) >= pp(small) - 1e-9
    assert (spill(out, foot, owner) <= SPILL_M2).all()


def test_a_footprint_across_the_shared_edge_goes_whole_to_its_part():
    parent, parts = zigzag_pair()
    foot = np.asarray([box(35, 20, 58, 30), box(75, 10, 90, 40), box(5, 5, 15, 15)],
                      dtype=object)
    assert (spill(parts, foot, np.array([0, 1, 0])) > 1).any()  # it crosses the edge
    out, owner = outlines(parts, foot, np.array([0, 1, 0]))
    check_tiling(parent, out)
    assert owner.tolist() == [0, 1, 0]
    assert (spill(out, foot, owner) <= SPILL_M2).all()
    assert shapely.area(shapely.intersection(out[1], foot[0])) <= SPILL_M2
    assert all(p.geom_type == "Polygon" for p in out)


def test_a_footprint_wholly_in_another_part_changes_part():
    parent = box(0, 0, 100, 50)
    parts = np.asarray([box(0, 0, 50, 50), box(50, 0, 100, 50)], dtype=object)
    foot = np.asarray([box(10, 10, 20, 20), box(70, 20, 75, 25), box(80, 30, 90, 40)],
                      dtype=object)
    out, owner = outlines(parts, foot, np.array([0, 0, 1]))
    check_tiling(parent, out)
    assert owner.tolist() == [0, 1, 1]
    assert all(a.equals(b) for a, b in zip(out, parts, strict=True))


def test_a_part_that_mending_would_cut_in_two_is_left_as_it_came():
    """Part 1 holds footprints above and below a footprint of part 0 that crosses it from
    side to side: no exact tiling keeps both whole and part 1 in one piece."""
    parent = box(0, 0, 100, 50)
    parts = np.asarray([box(0, 0, 40, 50), box(40, 0, 100, 50)], dtype=object)
    foot = np.asarray([box(10, 20, 100, 30), box(60, 35, 70, 45), box(60, 5, 70, 15)],
                      dtype=object)
    out, owner = outlines(parts, foot, np.array([0, 1, 1]))
    check_tiling(parent, out)
    assert owner.tolist() == [0, 1, 1]
    assert all(a.equals(b) for a, b in zip(out, parts, strict=True))


def test_points_and_a_single_part_pass_through():
    parent, parts = zigzag_pair()
    foot = np.asarray([shapely.Point(20, 20), box(75, 10, 90, 40)], dtype=object)
    out, owner = outlines(parts, foot, np.array([0, 1]))
    check_tiling(parent, out)
    assert owner.tolist() == [0, 1]
    one, same = outlines(np.asarray([parent], dtype=object), foot, np.array([0, 0]))
    assert one[0].equals(parent) and same.tolist() == [0, 0]


def test_the_parents_ragged_outline_is_kept():
    """Only the shared edges are simplified: a parent's zig-zag outline stays as it is."""
    top = [(x, 50 - (3 if i % 2 else 0)) for i, x in enumerate(range(100, -1, -5))]
    parent = Polygon([(0, 0), (100, 0), *top])
    _, halves = zigzag_pair()
    parts = shapely.intersection(halves, parent)
    foot = np.asarray([box(10, 10, 25, 40), box(75, 10, 90, 40)], dtype=object)
    out, _ = outlines(parts, foot, np.array([0, 1]))
    check_tiling(parent, out)
    assert shapely.union_all(out).boundary.covers(parent.boundary)
