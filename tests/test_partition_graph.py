"""The `graph` split engine (gis.partition.graph): assignment on the unit graph, polygons once.

The unit graph's sums must be the geometry's (a group's perimeter from the shared edges equals
the perimeter of its polygon), and the engine's divisions must be as sound as every engine's:
an exact tiling, whole buildings, one polygon per part, bounds met where the arithmetic allows
on simple layouts, towers alone, and the same answer twice.
"""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from gis.partition import graph
from gis.partition.cellgraph import cell_graph
from gis.partition.engines import splitter
from gis.partition.growth import local_frame
from tests.test_partition_growth import (
    LAT,
    LON,
    D,
    check_division,
    feasible_everywhere,
    row_layouts,
)
from tests.test_partition_real import check_reasons, irregular_layouts


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(irregular_layouts(), st.integers(0, 2 ** 16))
def test_a_groups_sums_are_its_polygons_area_and_perimeter(layout, seed):
    parent, buildings, households = layout
    assume(len(buildings) >= 3)
    _, there, _ = local_frame(parent, True)
    g = cell_graph(there(parent), there(np.asarray(buildings, object)), np.asarray(households))
    assert abs(g.area.sum() - there(parent).area) / there(parent).area < 1e-9
    label = np.random.default_rng(seed).integers(0, 3, g.n)
    polys = g.polygons(label, 3)
    for j in range(3):
        inside = label == j
        if not inside.any():
            continue
        shared = g.edge_len[inside[g.edge_a] & inside[g.edge_b]].sum()
        perimeter = g.perimeter[inside].sum() - 2 * shared
        assert abs(g.area[inside].sum() - polys[j].area) <= 1e-6 * polys[j].area
        assert abs(perimeter - polys[j].length) <= 0.02 * polys[j].length  # twins rounded


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(row_layouts())
def test_rows_tile_exactly_and_meet_bounds_when_they_can(layout):
    parent, buildings, households = layout
    result = graph.split(parent, buildings, households)
    check_division(parent, buildings, households, result)
    check_reasons(result, 30, 50)
    if feasible_everywhere(households, 30, 50) and max(households) <= 10:
        assert all(30 <= h <= 50 for h in result.households), result.households


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(irregular_layouts())
def test_irregular_blocks_tile_keep_buildings_whole_and_stay_contiguous(layout):
    parent, buildings, households = layout
    result = splitter("graph")(parent, buildings, households)
    check_division(parent, buildings, households, result)
    check_reasons(result, 30, 50)
    if result.feasible:
        assert all(30 <= h <= 50 for h in result.households)


def test_towers_stand_alone_and_the_rest_is_divided():
    parent = box(LON, LAT, LON + 330 * D, LAT + 100 * D)
    buildings = [box(LON + x * D, LAT + 30 * D, LON + (x + 20) * D, LAT + 50 * D)
                 for x in range(10, 325, 35)]
    households = [20, 20, 120, 20, 20, 20, 20, 20, 20]
    result = graph.split(parent, buildings, households)
    check_division(parent, buildings, households, result)
    assert sorted(result.households) == [40, 40, 40, 40, 120]
    assert any("120 households exceeds the maximum 50" in v for v in result.violations)


def test_same_input_gives_the_same_division():
    parent, buildings, households = box(LON, LAT, LON + 300 * D, LAT + 200 * D), [], []
    rng = np.random.default_rng(3)
    for i in range(40):
        x, y = 10 + (i % 8) * 36, 10 + (i // 8) * 38
        buildings.append(box(LON + x * D, LAT + y * D, LON + (x + 25) * D, LAT + (y + 20) * D))
        households.append(int(rng.integers(5, 20)))
    a = graph.split(parent, buildings, households)
    b = graph.split(parent, buildings, households)
    assert a.assignment.tolist() == b.assignment.tolist()
    assert shapely.equals(shapely.union_all(a.parts), shapely.union_all(b.parts))
    check_division(parent, buildings, households, a)
    assert all(30 <= h <= 50 for h in a.households)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.floats(0, 100), st.floats(0, 100)), min_size=4, max_size=60,
                unique=True),
       st.integers(1, 6), st.integers(0, 2 ** 16))
def test_units_regions_are_the_unions_of_their_cells(points, units, seed):
    """The regions assembled from the cells' edges cover exactly what each unit's cells cover
    (holes, pinches and scattered units included) and are valid polygons."""
    from gis.partition.regions import unit_regions

    frame = box(-10, -10, 110, 110)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points),
                                                       extend_to=frame, ordered=True))
    assume(len(cells) == len(points))
    label = np.random.default_rng(seed).integers(0, units, len(cells))
    pieces, owner = unit_regions(np.asarray(cells, dtype=object), label)
    assert shapely.is_valid(pieces).all()
    total = float(shapely.area(cells).sum())
    assert abs(float(shapely.area(pieces).sum()) - total) <= 1e-9 * total
    for u in np.unique(label).tolist():
        mine = shapely.union_all(cells[label == u])
        theirs = shapely.union_all(pieces[owner == u])
        assert shapely.symmetric_difference(mine, theirs).area <= 1e-9 * total
