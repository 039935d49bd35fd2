"""Divisions drawn from groupings of the households (gis.partition.groupings).

Every way to group a parent's buildings within the bounds must be listed once, and where the
only such groupings interleave (the graph engine's sweeps cannot draw them), the split must
still bring every part within the bounds, with compact, whole, contiguous parts.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from gis.partition import assign, engines, graph
from gis.partition.cellgraph import cell_graph
from gis.partition.engines import splitter
from gis.partition.groupings import SPACINGS, grouped_divisions, groupings
from gis.partition.improve import THIN
from gis.partition.towerland import RING_M, with_free_land
from tests.test_partition_graph import _feasible_out
from tests.test_partition_growth import check_division


def _every_grouping(units: list[int], h: np.ndarray, lo: int, hi: int) -> set:
    """All set partitions of `units` whose groups hold lo..hi households (brute force)."""
    if not units:
        return {frozenset()}
    first, rest = units[0], units[1:]
    out = set()
    for mask in range(2 ** len(rest)):
        group = [first] + [u for i, u in enumerate(rest) if mask >> i & 1]
        if lo <= int(h[group].sum()) <= hi:
            left = [u for u in rest if u not in group]
            out |= {g | {frozenset(group)} for g in _every_grouping(left, h, lo, hi)}
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 50), min_size=1, max_size=7))
def test_every_way_to_group_the_households_within_the_bounds_is_listed_once(households):
    h = np.asarray(households)
    units = list(range(len(h)))
    listed = groupings(units, h, 30, 50)
    as_sets = [frozenset(frozenset(g) for g in grouping) for grouping in listed]
    assert len(set(as_sets)) == len(as_sets)
    assert set(as_sets) == _every_grouping(units, h, 30, 50)
    for grouping in listed:
        assert sorted(u for g in grouping for u in g) == units


def test_interleaved_households_in_a_row_are_grouped_round_each_other():
    """22, 6, 26 and 35 households in a row: 22 + 26 and 6 + 35 are the only parts within
    30-50. The graph engine's sweeps cut the row into 54 + 35; the grouped division passes
    round the buildings between, and the split takes it."""
    parent = box(0, 0, 240, 120)
    households = [22, 6, 26, 35]
    buildings = [box(60 * i + 15, 45, 60 * i + 45, 75) for i in range(4)]
    assert not all(30 <= c <= 50 for c in graph.split(parent, buildings, households,
                                                      geographic=False).households)
    first = next(grouped_divisions(parent, buildings, households, geographic=False))
    assert {frozenset(np.flatnonzero(first.assignment == k).tolist())
            for k in range(len(first.parts))} == {frozenset({0, 2}), frozenset({1, 3})}
    result = splitter("graph")(parent, buildings, households, geographic=False)
    check_division(parent, buildings, households, result)
    assert sorted(result.households) == [41, 48] and min(result.polsby_popper) >= THIN


@pytest.mark.parametrize("grid", ["monaco_grid_213", "wuhan_grid_12"])
def test_a_real_grid_whose_groupings_interleave_comes_in_bounds(grid, request, monkeypatch):
    """Real grids where the graph engine, its passes, the land round its towers, the growth
    engine and the straight cuts of the re-split leave a part out of bounds when no tower's
    part takes in households beside it (graph.SHED and assign.TOWERS_UNCOUNTED off): a
    division drawn from the groupings (of a cluster's households in the re-split, or of the
    whole grid's after it) brings every part that could be in bounds within 30-50, none
    under THIN. (By default a tower's part takes in a house beside it where that brings a
    part in bounds, which does so from the first division.)"""
    parent, buildings, households = request.getfixturevalue(grid)
    result = splitter("graph")(parent, buildings, households)
    check_division(parent, buildings, households, result)
    assert _feasible_out(result, households) == [], result.households
    monkeypatch.setattr(graph, "SHED", False)
    monkeypatch.setattr(assign, "TOWERS_UNCOUNTED", False)
    result = splitter("graph")(parent, buildings, households)
    check_division(parent, buildings, households, result)
    assert _feasible_out(result, households) == [], result.households
    assert min(result.polsby_popper) >= THIN
    monkeypatch.setattr(engines, "GRAPH_SUBSPLITS", engines.SUBSPLITS[:1])
    monkeypatch.setattr(engines, "GROUPED", lambda *args, **kwargs: iter(()))
    assert _feasible_out(splitter("graph")(parent, buildings, households), households) != []


def test_a_cluster_of_a_large_grid_is_re_split_by_the_groupings_of_its_households(
        monaco_grid_51, monkeypatch):
    """A real grid of 24 buildings, too many for the grouped divisions of the whole grid,
    divided with its streets: the engine and every pass leave a part of 24 households, and
    the straight cuts of each cluster round it are not kept; the division drawn from the
    groupings of a cluster's households is, and brings every part within 30-50, none under
    THIN."""
    parent, buildings, households, streets = monaco_grid_51
    assert list(grouped_divisions(parent, buildings, households)) == []
    result = splitter("graph")(parent, buildings, households, barriers=streets)
    check_division(parent, buildings, households, result)
    assert _feasible_out(result, households) == [], result.households
    assert min(result.polsby_popper) >= THIN
    monkeypatch.setattr(engines, "GRAPH_SUBSPLITS", engines.SUBSPLITS[:1])
    without = splitter("graph")(parent, buildings, households, barriers=streets)
    assert _feasible_out(without, households) == [24]


def test_a_parent_of_many_buildings_or_no_grouping_gets_no_grouped_division():
    """Over MAX_BUILDINGS buildings within the maximum the groupings are too many to list,
    and where no grouping fits the bounds there is nothing to draw: none is returned."""
    parent = box(0, 0, 400, 40)
    many = [box(20 * i + 2, 10, 20 * i + 18, 30) for i in range(20)]
    assert list(grouped_divisions(parent, many, [10] * 20, geographic=False)) == []
    few = many[:3]
    assert list(grouped_divisions(parent, few, [40, 40, 25], geographic=False)) == []


def test_with_the_land_round_every_building_free_the_fine_samples_keep_land_out_of_footprints():
    """Land units are cells of points 1 m outside the footprints: with outlines sampled every
    8 m, a point's cell reaches into the footprint beside it (a chain of land through it is
    cut when the footprint is made whole); sampled every 2 m (no more than twice RING_M), no
    land cell holds any footprint's area."""
    parent = box(0, 0, 100, 60)
    feet = np.array([box(10, 10, 50, 30), box(51.5, 10, 90, 30), box(20, 40, 40, 50)],
                    dtype=object)
    households = np.array([40, 30, 20])

    def land_in_footprints(spacing: float) -> float:
        g = with_free_land(parent, feet, households, np.ones(3, bool),
                           partial(cell_graph, spacing=spacing))
        land = g.point_cells[np.isin(g.point_unit, np.flatnonzero(g.households == 0))]
        return float(shapely.area(shapely.intersection(shapely.union_all(land),
                                                       shapely.union_all(feet))))

    assert SPACINGS[-1] <= 2 * RING_M
    assert land_in_footprints(SPACINGS[0]) > 1.0
    assert land_in_footprints(SPACINGS[-1]) < 1e-6
