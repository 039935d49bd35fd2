"""The `graph` split engine (gis.partition.graph): assignment on the unit graph, polygons once.

The unit graph's sums must be the geometry's (a group's perimeter from the shared edges equals
the perimeter of its polygon), and the engine's divisions must be as sound as every engine's:
an exact tiling, whole buildings, one polygon per part, bounds met where the arithmetic allows
on simple layouts, towers alone, and the same answer twice.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import psycopg
import pytest
import shapely
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from gis.database import libpq_url
from gis.editing.ops import _engine
from gis.partition import assign, engines, graph, reshape
from gis.partition.cellgraph import cell_graph
from gis.partition.engines import division_rank, splitter
from gis.partition.inputs import local_frame
from gis.partition.result import SplitResult
from gis.partition.subsets import SubsetTable, connected_rows
from importers.split_job import split_grids
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


@st.composite
def layouts_with_towers(draw):
    """Irregular blocks (tests.test_partition_real) where one to three buildings are towers
    of 51-200 households: groups of small buildings cut off between them or against the
    block's outline are where the division gives households to a tower's part."""
    parent, buildings, households = draw(irregular_layouts())
    assume(len(buildings) >= 4)
    towers = draw(st.lists(st.integers(0, len(buildings) - 1), min_size=1, max_size=3,
                           unique=True))
    households = list(households)
    for i in towers:
        households[i] = draw(st.integers(51, 200))
    return parent, buildings, households


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layouts_with_towers())
def test_blocks_with_towers_tile_and_keep_every_tower_in_a_part_of_its_own(layout):
    """With towers, the split still tiles the block with whole buildings, one polygon a part,
    every part explained; no two towers share a part, and no part is left without households
    (units given to a tower leave every group behind a part's minimum at least)."""
    parent, buildings, households = layout
    result = splitter("graph")(parent, buildings, households)
    check_division(parent, buildings, households, result)
    check_reasons(result, 30, 50)
    h = np.asarray(households)
    for k, count in enumerate(result.households):
        held = h[result.assignment == k]
        assert (held > 50).sum() <= 1
        assert count > 0


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


def test_a_real_monaco_grid_is_divided_soundly(monaco_grid_202):
    """A real grid of 23 buildings with a tower: exact tiling, whole buildings, single
    polygons, the tower alone, every other part within the bounds and none under 0.2."""
    grid, buildings, households = monaco_grid_202
    for split in (graph.split, splitter("graph")):
        result = split(grid, buildings, households)
        check_division(grid, buildings, households, result)
        check_reasons(result, 30, 50)
        for i, count in enumerate(result.households):
            held = np.asarray(households)[result.assignment == i]
            assert 30 <= count <= 50 or (held > 50).any(), result.households
        assert min(result.polsby_popper) >= 0.2


def test_split_job_and_cli_run_the_graph_engine(db_url, monkeypatch):
    from typer.testing import CliRunner

    from cli.main import app
    from gis.settings import get_settings
    from tests.test_split_job import _seed

    grid = _seed(db_url, "110105031", [10] * 36)
    (row,) = split_grids(db_url, [grid], engine="graph").rows
    assert row.households == 360 and not row.violations
    assert 30 <= row.min_households <= row.max_households <= 50
    with psycopg.connect(libpq_url(db_url)) as conn:
        error, single, whole = conn.execute(
            """SELECT abs(ST_Area(ST_Union(m.geom)) - ST_Area(g.geom)) / ST_Area(g.geom),
                      bool_and(ST_NumGeometries(m.geom) = 1),
                      (SELECT bool_and(ST_Area(ST_Difference(b.geom, mm.geom))
                                       <= 1e-9 * ST_Area(b.geom))
                       FROM buildings b JOIN micro_grids mm ON mm.id = b.micro_grid_id
                       WHERE mm.parent_code = %s)
               FROM micro_grids m JOIN grids g ON g.id = m.parent_id
               WHERE g.code = %s AND m.valid_to IS NULL GROUP BY g.geom""",
            (grid, grid)).fetchone()
    assert error < 1e-9 and single and whole
    other = _seed(db_url, "110105032", [12] * 30)
    monkeypatch.setenv("DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        ok = CliRunner().invoke(app, ["split", "--grid", other, "--engine", "graph",
                                      "--dry-run"])
        assert ok.exit_code == 0, ok.output
        assert "would create 9" in ok.output and "0 violation(s)" in ok.output
    finally:
        get_settings.cache_clear()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(irregular_layouts())
def test_every_subset_division_is_the_best_two_part_division(layout):
    """SubsetTable.best(k=2) against a brute force over the unit graph's polygons: the same
    lowest Polsby-Popper, and its parts connected and within the bounds."""
    parent, buildings, households = layout
    assume(3 <= len(buildings) <= 8)
    _, there, _ = local_frame(parent, True)
    g = cell_graph(there(parent), there(np.asarray(buildings, object)), np.asarray(households))
    assume(g.n >= 3)
    lo, hi = int(g.households.sum()) // 3, int(g.households.sum())
    units = np.arange(g.n)
    found = SubsetTable(g, units, lo, hi).best(2 ** g.n - 1, 2)
    best = None
    for mask in range(1, 2 ** g.n - 1):
        side = ((mask >> units) & 1).astype(np.int64)
        polys = g.polygons(side, 2)
        hh = np.bincount(side, weights=g.households, minlength=2)
        if any(p.geom_type != "Polygon" for p in polys) or not ((hh >= lo) & (hh <= hi)).all():
            continue
        worst = min(4 * np.pi * p.area / p.length ** 2 for p in polys)
        best = worst if best is None else max(best, worst)
    if best is None:
        assert found is None
    else:
        assert found is not None and abs(found[0] - best) <= 0.05 * best


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 12).flatmap(lambda m: st.tuples(
    st.just(m), st.sets(st.tuples(st.integers(0, m - 1), st.integers(0, m - 1))))))
def test_the_subsets_connected_are_those_a_walk_finds(graph_edges):
    """connected_rows (every subset's connectedness at once, by matrix products) against a
    walk over the edges, for every subset of up to a dozen units of a random graph."""
    m, edges = graph_edges
    adjacent = np.zeros((m, m), bool)
    for a, b in edges:
        adjacent[a, b] = adjacent[b, a] = a != b
    masks = np.arange(1, 2 ** m)
    bits = ((masks[:, None] >> np.arange(m)[None, :]) & 1).astype(bool)

    def walked(row: np.ndarray) -> bool:
        members = set(np.flatnonzero(row).tolist())
        seen, todo = {min(members)}, [min(members)]
        while todo:
            for v in np.flatnonzero(adjacent[todo.pop()]).tolist():
                if v in members and v not in seen:
                    seen.add(v)
                    todo.append(v)
        return seen == members

    assert connected_rows(bits, adjacent).tolist() == [walked(row) for row in bits]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 1000)), min_size=4, max_size=60,
                unique=True),
       st.integers(1, 6), st.integers(0, 2 ** 16))
def test_units_regions_are_the_unions_of_their_cells(points, units, seed):
    """The regions assembled from the cells' edges cover exactly what each unit's cells cover
    (holes, pinches and scattered units included) and are valid polygons. Sites lie on a
    10 cm lattice, as samples in metres do (no subnormal coordinates GEOS cannot node)."""
    from gis.partition.regions import unit_regions

    points = [(x / 10, y / 10) for x, y in points]
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


def _division(households_per_part: list[list[int]], pps: list[float]) -> tuple:
    """A SplitResult (no geometry: the ranking reads none) and its buildings' households."""
    held = [h for part in households_per_part for h in part]
    assignment = np.repeat(np.arange(len(households_per_part)),
                           [len(p) for p in households_per_part])
    return SplitResult([], assignment, [sum(p) for p in households_per_part], pps), \
        np.asarray(held)


def test_a_house_cut_off_beside_a_tower_joins_it_and_no_sliver_is_made_for_bounds():
    # the same buildings: a tower of 78, a house of 9 cut off beside it, 40, 35
    beside_tower, h = _division([[78, 9], [40], [35]], [0.6, 0.6, 0.6])
    alone, h2 = _division([[78], [9], [40], [35]], [0.6, 0.6, 0.6, 0.6])
    sliver, h3 = _division([[78], [40, 9], [35]], [0.6, 0.12, 0.6])
    ranks = [division_rank(r, hh, 30, 50)
             for r, hh in ((beside_tower, h), (alone, h2), (sliver, h3))]
    assert ranks[0] < ranks[1] < ranks[2]
    # with no thin part at stake, fewer households beside a tower wins
    in_bounds, h4 = _division([[78], [40, 9], [35]], [0.6, 0.5, 0.6])
    assert division_rank(in_bounds, h4, 30, 50) < ranks[0]
    # when both are thin (a thin parent), fewer parts out of bounds still comes first
    thin_out, h5 = _division([[78], [9], [40], [35]], [0.6, 0.15, 0.6, 0.6])
    assert ranks[2] < division_rank(thin_out, h5, 30, 50)


def test_a_grid_between_towers_keeps_compact_parts_and_says_why_one_is_short(monaco_grid_82):
    """Three towers leave one group of small buildings short: every division found with it in
    bounds has a corridor round a tower (PP about 0.1). The split keeps compact parts and tells
    the planner both things: the part is short, and a corridor was the price of bounds."""
    grid, buildings, households = monaco_grid_82
    result = splitter("graph")(grid, buildings, households)
    check_division(grid, buildings, households, result)
    check_reasons(result, 30, 50)
    assert min(result.polsby_popper) >= 0.2
    h = np.asarray(households)
    short = [i for i, count in enumerate(result.households)
             if not 30 <= count <= 50 and not (h[result.assignment == i] > 50).any()]
    assert short
    for i in short:
        codes = [r["code"] for r in result.part_reasons[i]]
        assert "corridor" in codes and bool(
            {"under", "over", "towers", "walled", "no_trade_under", "no_trade_over"} & set(codes))
        corridor = next(r for r in result.part_reasons[i] if r["code"] == "corridor")
        assert corridor["pp"] < 0.2 and corridor["households"] == result.households[i]
    beside = [r for rs in result.part_reasons for r in rs if r["code"] == "beside_tower"]
    for r in beside:
        assert r["largest"] > 50 and r["beside"] == r["households"] - r["largest"] > 0


def test_the_new_reasons_have_their_words_in_both_languages():
    from api.pages.i18n import labels
    from gis.partition.diagnose import bounds_reason, corridor_reason

    beside = bounds_reason(87, np.array([78, 9]), 30, 50, None)
    assert beside["code"] == "beside_tower" and (beside["largest"], beside["beside"]) == (78, 9)
    corridor = corridor_reason(26, 0.104)
    assert corridor["pp"] == 0.104 and corridor["floor"] == 0.2
    table = labels()
    for reason in (beside, corridor):
        for lang in ("zh-CN", "en"):
            words = table[lang][f"why_{reason['code']}"]
            figures = set(re.findall(r"\{(\w+)\}", words))
            assert figures and figures <= set(reason), (lang, reason["code"], figures)


@pytest.mark.parametrize("street", [shapely.LineString([(-10, 120), (250, 120)]),
                                    shapely.LineString([(120, -10), (120, 250)])],
                         ids=["across", "along"])
def test_the_graph_engine_divides_along_a_street(street):
    """A square block of 6 x 6 buildings (2 households each, metres) splits into two parts of
    36 as compactly one way as the other; the street through the middle decides which."""
    parent = box(0, 0, 240, 240)
    buildings = [box(10 + 40 * i, 15 + 40 * j, 30 + 40 * i, 25 + 40 * j)
                 for i in range(6) for j in range(6)]
    result = graph.split(parent, buildings, [2] * 36, barriers=[street], geographic=False)
    assert result.households == [36, 36] and not result.violations
    side = np.array([shapely.centroid(b).coords[0][1 if street.coords[0][1] == 120 else 0]
                     > 120 for b in buildings])
    assert len(set(result.assignment[side])) == 1 and len(set(result.assignment[~side])) == 1
    assert set(result.assignment[side]) != set(result.assignment[~side])


def test_a_division_with_a_building_across_parts_is_never_kept(monaco_grid_37):
    """On this grid giving footprints back to their parts cut crumbs off a part that touch
    their neighbours only at points (the outlines once gave up there and left two footprints
    across parts); every division keeps every building whole, and the ranking puts one
    holding a building across parts after any whole one, however thin."""
    grid, buildings, households = monaco_grid_37
    for split in (graph.split, splitter("graph")):
        result = split(grid, buildings, households)
        check_division(grid, buildings, households, result)
        assert not [v for v in result.violations if "lies across" in v or "split" in v]
    split_one, h = _division([[60], [30, 5], [35]], [0.7, 0.7, 0.7])
    split_one.violations.append("building 1 (60 households) lies across parts 1, 2 and cannot "
                                "be given whole to one")
    whole, h2 = _division([[60], [30, 5], [35]], [0.15, 0.7, 0.7])
    assert division_rank(whole, h2, 30, 50) < division_rank(split_one, h, 30, 50)


def _feasible_out(result: SplitResult, households, lo: int = 30, hi: int = 50) -> list[int]:
    """Households of the parts out of lo..hi that hold no building over hi."""
    h = np.asarray(households)
    return sorted(int(c) for i, c in enumerate(result.households)
                  if not lo <= c <= hi and not (h[result.assignment == i] > hi).any())


def test_the_land_round_towers_is_taken_when_the_passes_make_it_compact(monaco_grid_235,
                                                                         monkeypatch):
    """Between towers of 54 and 92 the graph engine's own division, where no tower's part
    takes in households beside it (SHED and assign.TOWERS_UNCOUNTED off; by default the
    first division gives one house to a tower and leaves one part over), leaves three parts
    short (24, 25, 28). With the land round the towers free it finds one short part only,
    but a part too thin on the unit graph, so the engine alone keeps its own; the polish and
    improvement passes make that division compact, and the split takes it."""
    monkeypatch.setattr(graph, "SHED", False)
    monkeypatch.setattr(assign, "TOWERS_UNCOUNTED", False)
    grid, buildings, households = monaco_grid_235
    first, spare = graph.divisions(grid, buildings, households)
    assert spare is not None and len(_feasible_out(spare, households)) < len(
        _feasible_out(first, households))
    assert graph.split(grid, buildings, households).households == first.households
    result = splitter("graph")(grid, buildings, households)
    check_division(grid, buildings, households, result)
    check_reasons(result, 30, 50)
    assert _feasible_out(first, households) == [24, 25, 28]
    assert _feasible_out(result, households) == [28]
    assert min(result.polsby_popper) >= 0.2


def test_a_slab_walled_in_by_one_building_s_land_comes_in_with_the_land_free(monaco_grid_288,
                                                                             monkeypatch):
    """On a real Monaco grid the unit of a slab of 28 households touches one unit only, a
    building of 46: no division of the unit graph puts it in bounds (28 alone, 74 with it),
    and without the last candidate the split leaves it out. With the land round every
    building free (graph.free_land_division, weighed last: engines.FREE_LAND_LAST) its part
    reaches round that building: every part that could be in bounds is, none thinner than
    0.2, the grid tiled with every building whole. The re-split's near misses, weighed after
    it (engines.NEAR_MISSES_LAST), bring it in too where the free land is not weighed."""
    grid, buildings, households, streets = monaco_grid_288
    _, there, _ = local_frame(grid, True)
    g = cell_graph(there(grid), there(np.asarray(buildings, dtype=object)),
                   np.asarray(households))
    near, _ = g.neighbours()
    slab = int(np.flatnonzero(g.households == 28)[0])
    assert g.households[near[slab]].tolist() == [46]
    monkeypatch.setattr(engines, "FREE_LAND_LAST", False)
    monkeypatch.setattr(engines, "NEAR_MISSES_LAST", False)
    assert _feasible_out(splitter("graph")(grid, buildings, households, barriers=streets),
                         households) == [28]
    monkeypatch.setattr(engines, "NEAR_MISSES_LAST", True)  # the re-split's near misses
    alone = splitter("graph")(grid, buildings, households, barriers=streets)
    check_division(grid, buildings, households, alone)
    assert _feasible_out(alone, households) == [] and min(alone.polsby_popper) >= 0.2
    monkeypatch.setattr(engines, "FREE_LAND_LAST", True)
    runs = _counted(monkeypatch, "free_land_division", graph)
    result = splitter("graph")(grid, buildings, households, barriers=streets)
    assert runs == [1]
    check_division(grid, buildings, households, result)
    check_reasons(result, 30, 50)
    assert _feasible_out(result, households) == []
    assert min(result.polsby_popper) >= 0.2


def test_the_passes_over_the_engine_s_own_division_spare_the_growth_engine(monaco_grid_105,
                                                                            monkeypatch):
    """Round a tower of 53 the graph engine's own division leaves one part short (29); the
    polish and improvement passes bring it in bounds, and the growth engine (the costliest
    candidate) is then not run at all, nor the last one (the land round every building free,
    five units a building)."""
    grid, buildings, households = monaco_grid_105
    assert _feasible_out(graph.split(grid, buildings, households), households) == [29]

    def growth_engine(*args, **kwargs):
        raise AssertionError("the growth engine was run though the passes sufficed")

    monkeypatch.setattr(engines, "FALLBACK", growth_engine)
    free_land = _counted(monkeypatch, "free_land_division", graph)
    result = splitter("graph")(grid, buildings, households)
    check_division(grid, buildings, households, result)
    check_reasons(result, 30, 50)
    assert _feasible_out(result, households) == []
    assert min(result.polsby_popper) >= 0.2
    assert free_land == []


def test_the_growth_engine_is_weighed_where_the_passes_leave_parts_out(monaco_grid_235,
                                                                       monkeypatch):
    """Where neither the engine's division nor the one with the land round the towers free
    comes out of the passes with every part in bounds, the growth engine's division is
    weighed too (once)."""
    grid, buildings, households = monaco_grid_235
    runs = _counted(monkeypatch, "FALLBACK")
    result = splitter("graph")(grid, buildings, households)
    check_division(grid, buildings, households, result)
    assert runs == [1]


@pytest.mark.parametrize("stage", ["FALLBACK", "GROUPED"])
def test_a_late_stage_switched_off_still_gives_a_whole_division(monaco_grid_235, monkeypatch,
                                                                stage):
    """bench/tail_bench.py measures each late stage by switching it off (None): the split
    still tiles the grid with every building whole and every part explained, on a grid whose
    division goes through both stages."""
    grid, buildings, households = monaco_grid_235
    monkeypatch.setattr(engines, stage, None)
    result = splitter("graph")(grid, buildings, households)
    check_division(grid, buildings, households, result)
    check_reasons(result, 30, 50)


def test_the_growth_engine_is_not_run_where_the_resplit_brings_the_parts_in_bounds(
        wuhan_grid_1, monkeypatch):
    """The engine leaves parts of 28 and 52 households that the passes do not mend; the
    re-split of them with their neighbours does, so the growth engine (which costs more than
    the rest together) is not run."""
    grid, buildings, households = wuhan_grid_1
    first = graph.split(grid, buildings, households)
    assert _feasible_out(first, households) != []
    fallback = _counted(monkeypatch, "FALLBACK")
    resplits = _counted(monkeypatch, "resplit_result")
    result = splitter("graph")(grid, buildings, households)
    check_division(grid, buildings, households, result)
    assert _feasible_out(result, households) == []
    assert min(result.polsby_popper) >= 0.2
    assert resplits == [1] and fallback == []


def test_at_the_grid_level_a_towers_land_is_free_where_that_makes_the_grids_compact(
        shanghai_community_32, monkeypatch):
    """A real community with a tower of 692 households: the graph engine's grids are all
    within 300-500, but the tower's Voronoi region reaches far between them. At the grid level
    the division with the tower's land free is weighed too and kept (every grid still in
    bounds, more compact on average); micro-grids are not given that candidate."""
    community, buildings, households = shanghai_community_32
    bounds = {"min_households": 300, "max_households": 500}
    engine_only = graph.split(community, buildings, households, **bounds)
    assert _feasible_out(engine_only, households, 300, 500) == []
    grids = splitter("graph", "grid")(community, buildings, households, **bounds)
    check_division(community, buildings, households, grids)
    assert _feasible_out(grids, households, 300, 500) == []
    assert min(grids.polsby_popper) >= 0.2
    assert np.mean(grids.polsby_popper) >= np.mean(engine_only.polsby_popper) + 0.02
    assert sorted(grids.households) != sorted(engine_only.households)
    divisions = []
    inner = graph.divisions
    monkeypatch.setattr(graph, "divisions",
                        lambda *a, **k: divisions.append(k["land_too"]) or inner(*a, **k))
    splitter("graph")(community, buildings, households, **bounds)
    assert divisions == [False]


def test_a_tower_s_grid_gives_its_wedge_of_land_to_its_neighbour(wuhan_community_4,
                                                                monkeypatch):
    """A real community whose graph-engine grids are all within 300-500, the tower's (803
    households) a wedge of land reaching past its neighbour (Polsby-Popper 0.39). At the grid
    level that clean division also goes through the passes, whose straight boundary beside the
    tower is drawn at several angles: the wedge goes to the neighbour and both grids are
    compact. With the widest gap's line alone (reshape.KEEP_DRAWN 1) the wedge stays. (The
    grids beside it were 0.52, 0.53 and 0.66 before the grid level divided neighbouring grids
    again in pairs, graph.PAIRS; now 0.45, 0.59 and 0.72: a mean of 0.61 against 0.59.)"""
    community, buildings, households = wuhan_community_4
    bounds = {"min_households": 300, "max_households": 500}
    grids = splitter("graph", "grid")(community, buildings, households, **bounds)
    check_division(community, buildings, households, grids)
    assert _feasible_out(grids, households, 300, 500) == []
    tower = int(np.flatnonzero(np.asarray(grids.households) == 803)[0])
    assert grids.polsby_popper[tower] >= 0.6
    assert min(grids.polsby_popper) >= 0.45
    assert np.mean(grids.polsby_popper) >= 0.6
    monkeypatch.setattr(reshape, "KEEP_DRAWN", 1)
    widest = splitter("graph", "grid")(community, buildings, households, **bounds)
    assert widest.polsby_popper[int(np.flatnonzero(
        np.asarray(widest.households) == 803)[0])] < 0.45


def test_at_the_grid_level_the_re_split_gets_more_divisions(shanghai_community_8,
                                                             monkeypatch):
    """A real community with towers of 2,718 and 749 households, divided with its streets:
    with two divisions the re-split leaves a grid of 289 households out of bounds; the grid
    level's budget (GRID_RESPLITS) brings every grid within 300-500, none under 0.2. (Before
    the sweeps' ties and the chains' order were settled, four divisions left grids of 181 and
    277 out, and before the grid level stopped weighing the growth engine's division,
    FALLBACK_MICRO_ONLY, eight left one of 517.)"""
    community, buildings, households, streets = shanghai_community_8
    bounds = {"min_households": 300, "max_households": 500, "barriers": streets}
    grids = splitter("graph", "grid")(community, buildings, households, **bounds)
    check_division(community, buildings, households, grids)
    assert _feasible_out(grids, households, 300, 500) == []
    assert min(grids.polsby_popper) >= 0.2
    monkeypatch.setattr(engines, "GRID_RESPLITS", 2)
    fewer = splitter("graph", "grid")(community, buildings, households, **bounds)
    assert _feasible_out(fewer, households, 300, 500) == [289]


@pytest.mark.parametrize(("house", "parts"), [(28, [28, 40, 40, 40, 120]),
                                              (15, [15, 40, 40, 40, 120]),
                                              (14, [40, 40, 40, 134])])
def test_a_house_cut_off_by_a_tower_stands_alone_unless_joining_is_nearer_the_bounds(house,
                                                                                    parts):
    """A house cut off from the rest by a tower of 120 households across the parent: alone
    it is short of 30; joined to the tower, its households are out of bounds too. It joins
    only when that puts fewer households out of bounds (under half the minimum), and a short
    part of its own says why: with the tower alone, 28 or 15 households and three of 40 can
    be grouped into no parts of 30-50 at all, so the parent's arithmetic is the cause (told
    as the polish pass tells it, though the graph engine's division is kept as drawn), not
    the tower's part boxing it in."""
    parent = box(0, 0, 300, 40)
    buildings = [box(10, 10, 40, 30), box(60, 0, 90, 40), box(120, 10, 150, 30),
                 box(180, 10, 210, 30), box(240, 10, 270, 30)]
    households = [house, 120, 40, 40, 40]
    for split in (graph.split, splitter("graph")):
        result = split(parent, buildings, households, geographic=False)
        assert sorted(result.households) == parts
        assert len(result.parts) == len(parts) and all(
            p.geom_type == "Polygon" for p in result.parts)
    codes = {r["code"] for reasons in result.part_reasons for r in reasons}
    assert ("arithmetic" in codes) == (house >= 15)
    assert ("beside_tower" in codes) == (house < 15)


def test_a_group_walled_in_by_a_tower_gives_it_the_fewest_households_so_the_rest_fit():
    """Beside a tower of 120 households that crosses the parent, 25 + 23 + 22 + 4 households
    (74) are cut off from the rest: no grouping of them fits 30-50 (two parts of 48 + 26 at
    best). The 25 beside the tower join its part, which is out of bounds anyway, and 23 + 22 +
    4 make one part of 49: every part that holds no tower is in bounds, the tower's part says
    who is beside it, and the local moves do not take the 25 back (that would put 24
    households over the maximum to spare the tower's part 25)."""
    parent = box(0, 0, 330, 40)
    buildings = [box(10, 10, 40, 30), box(60, 0, 90, 40), box(120, 10, 150, 30),
                 box(170, 10, 200, 30), box(220, 10, 250, 30), box(270, 10, 300, 30)]
    households = [40, 120, 25, 23, 22, 4]
    for split in (graph.split, splitter("graph")):
        result = split(parent, buildings, households, geographic=False)
        check_division(parent, buildings, households, result)
        check_reasons(result, 30, 50)
        assert sorted(result.households) == [40, 49, 145]
        assert result.assignment[2] == result.assignment[1]  # the 25 with the tower
    beside = [r for rs in result.part_reasons for r in rs if r["code"] == "beside_tower"]
    assert [(r["largest"], r["beside"]) for r in beside] == [(120, 25)]


def test_a_group_that_would_join_a_tower_whole_is_not_given_away_unit_by_unit():
    """What is left after giving households to a tower must hold a part's minimum: a house
    of 28 beside the tower with a garage (no households) behind it stay a short part of their
    own, as the rule for a group cut off whole says (only one under half the minimum joins
    the tower), rather than the 28 joining the tower and the garage making a part of none."""
    parent = box(0, 0, 300, 40)
    buildings = [box(10, 10, 40, 30), box(50, 10, 70, 30), box(90, 0, 120, 40),
                 box(150, 10, 180, 30), box(210, 10, 240, 30)]
    households = [0, 28, 120, 40, 40]
    result = graph.split(parent, buildings, households, geographic=False)
    check_division(parent, buildings, households, result)
    assert sorted(result.households) == [28, 40, 40, 120]


def test_at_the_grid_level_the_whole_straight_cuts_are_weighed_where_grids_stay_out(
        monaco_community_0, monkeypatch):
    """A real community along a narrow strip: the graph engine and its candidates leave the
    last grid short of 300 households (what micro-grids keep: that candidate is not run for
    them); at the grid level the straight cuts of the whole community are weighed last, once,
    and bring every grid within 300-500."""
    community, buildings, households = monaco_community_0
    runs = _counted(monkeypatch, "WHOLE_CUTS")
    bounds = {"min_households": 300, "max_households": 500}
    micro = splitter("graph")(community, buildings, households, **bounds)
    assert runs == [] and min(micro.households) < 300
    grids = splitter("graph", "grid")(community, buildings, households, **bounds)
    assert runs == [1]
    check_division(community, buildings, households, grids)
    assert all(300 <= h <= 500 for h in grids.households), grids.households
    assert sum(grids.households) == int(np.sum(households)) == 4799


@pytest.mark.parametrize("households", [[45, 45, 45, 10], [40, 40, 25]])
def test_where_no_grouping_fits_the_bounds_one_part_out_is_the_best_and_no_more_is_tried(
        households, monkeypatch):
    """Buildings whose households no grouping puts within 30-50 (45 + 45 + 45 + 10; 40 + 40
    + 25): one part out of bounds is the fewest there can be, so a division with just one out
    is kept as it is, without the growth engine or the re-split spent on it."""
    parent = box(0, 0, 60 * len(households), 40)
    buildings = [box(60 * i + 15, 10, 60 * i + 45, 30) for i in range(len(households))]
    fallback, resplits = _counted(monkeypatch, "FALLBACK"), _counted(monkeypatch,
                                                                       "resplit_result")
    result = splitter("graph")(parent, buildings, households, geographic=False)
    check_division(parent, buildings, households, result)
    assert sum(not 30 <= h <= 50 for h in result.households) == 1, result.households
    assert fallback == [] and resplits == []


def _two_parts(households: list[int], left: int = 1, broken: bool = False) -> tuple:
    """A parent 40 m deep (metres), one 20 m building every 30 m, and a division of it into
    a part holding the `left` first buildings and a part holding the rest (`broken`: with a
    footprint said to lie across both)."""
    n = len(households)
    parent = box(0, 0, 30 * n, 40)
    buildings = [box(30 * i + 5, 10, 30 * i + 25, 30) for i in range(n)]
    parts = [box(0, 0, 30 * left, 40), box(30 * left, 0, 30 * n, 40)]
    counts = [sum(households[:left]), sum(households[left:])]
    violations = [f"part {k} holds {c} households, outside 30-50" for k, c in enumerate(counts)
                  if not 30 <= c <= 50]
    if broken:
        violations.append(f"building 2 ({households[1]} households) lies across parts 1, 2 "
                          "and cannot be given whole to one")
    division = SplitResult(parts, np.array([0] * left + [1] * (n - left)), counts,
                           [0.7, 0.5], violations, [], 0.0, [[], []])
    return parent, buildings, division


def _tail(monkeypatch, first: SplitResult, spare: SplitResult | None, resplit) -> tuple:
    """graph_first's late stages as lists counting their runs: the passes (returning the
    division as it came) and the growth engine (returning the engine's division), with
    graph.divisions giving (first, spare) and the re-split given by `resplit`."""
    compacted: list[bool] = []
    fallback: list[int] = []

    def passes(parent, buildings, h, division, *args, **kwargs):
        compacted.append(division.broken)
        return division

    def growth_engine(*args, **kwargs):
        fallback.append(1)
        return first

    monkeypatch.setattr(graph, "divisions", lambda *args, **kwargs: (first, spare))
    monkeypatch.setattr(engines, "_compacted", passes)
    monkeypatch.setattr(engines, "_resplit_if_out", resplit)
    monkeypatch.setattr(engines, "FALLBACK", growth_engine)
    monkeypatch.setattr(engines, "GROUPED", None)
    monkeypatch.setattr(engines, "FREE_LAND_LAST", False)
    return compacted, fallback


def test_a_spare_division_with_a_footprint_across_its_parts_is_not_polished(monkeypatch):
    """The division with the land round the towers free may come out with a footprint
    across parts (finish could not give it whole to one): the passes redraw boundaries
    between parts that hold their footprints whole and leave it as broken as it came (on the
    Bund after 0.3 s of CPU), so only the engine's own division goes through them."""
    households = [20, 20, 20, 20]  # 20 | 60: both out, 40 + 40 would fit
    parent, buildings, first = _two_parts(households)
    spare = _two_parts(households, broken=True)[2]
    compacted, _ = _tail(monkeypatch, first, spare, lambda division, *args: division)
    engines.graph_first(parent, buildings, households, geographic=False)
    assert compacted == [False]
    whole_spare = _two_parts(households)[2]
    compacted, _ = _tail(monkeypatch, first, whole_spare, lambda division, *args: division)
    engines.graph_first(parent, buildings, households, geographic=False)
    assert compacted == [False, False]
    monkeypatch.setattr(engines, "SPARE_WHOLE_ONLY", False)  # bench/tail_bench.py's switch
    compacted, _ = _tail(monkeypatch, first, spare, lambda division, *args: division)
    engines.graph_first(parent, buildings, households, geographic=False)
    assert compacted == [False, True]


def _fallbacks(monkeypatch, households: list[int], first: SplitResult, resplit=None,
               **kwargs) -> list[int]:
    """The growth engine's runs when graph_first divides the parent of `_two_parts(households)`
    whose engine division is `first` (the re-split given by `resplit`, by default one that
    changes nothing)."""
    parent, buildings, _ = _two_parts(households)
    _, fallback = _tail(monkeypatch, first, None, resplit or (lambda division, *args: division))
    engines.graph_first(parent, buildings, households, geographic=False, **kwargs)
    return fallback


def test_the_growth_engine_is_not_run_where_the_resplit_brought_parts_in_but_not_all(
        monkeypatch):
    """Where the re-split brings some parts in bounds but leaves one out, the growth
    engine's division is not weighed (on the real sets it never ranked better there, for
    0.1-0.6 s of CPU a grid); where the re-split changes nothing it is, as before."""
    households = [20, 20, 30, 30]  # 20 | 80 at first, 70 | 30 re-split; 50 + 50 would fit
    parent, buildings, first = _two_parts(households)
    one_out = _two_parts(households, left=3)[2]

    _, fallback = _tail(monkeypatch, first, None, lambda division, *args: one_out)
    assert engines.graph_first(parent, buildings, households, geographic=False) is one_out
    assert fallback == []
    assert _fallbacks(monkeypatch, households, first) == [1]
    monkeypatch.setattr(engines, "FALLBACK_IF_VAIN", False)  # bench/tail_bench.py's switch
    assert _fallbacks(monkeypatch, households, first, lambda division, *args: one_out) == [1]


def test_the_growth_engine_is_not_run_where_towers_leave_households_no_grouping_in_bounds(
        monkeypatch):
    """Where towers stand and the others' households cannot be grouped within the bounds at
    all, the growth engine's division is weighed only where the best division has households
    beside a tower (there it may place them rounder); with none beside it is not (on the real
    sets it never brought a part in there, for a tenth of the Bund's CPU)."""
    alone = [20, 60]  # 20 | tower of 60: 20 out, no grouping fits 30-50
    beside = [10, 15, 60]  # 10 | 15 beside the tower of 60: 10 + 15 would still be short
    assert _fallbacks(monkeypatch, alone, _two_parts(alone)[2]) == []
    assert _fallbacks(monkeypatch, beside, _two_parts(beside)[2]) == [1]
    monkeypatch.setattr(engines, "FALLBACK_BESIDE_ONLY", False)  # bench/tail_bench.py's switch
    assert _fallbacks(monkeypatch, alone, _two_parts(alone)[2]) == [1]


def test_the_growth_engine_is_not_run_at_the_grid_level(monkeypatch):
    """Communities into grids: the growth engine's division is not weighed (on the real sets
    it never ranked better there, for a quarter of Monaco's grid-level CPU); the straight cuts of
    the whole community stay the last candidate. Micro-grids still weigh it, and with
    FALLBACK_MICRO_ONLY off so do grids."""
    households = [20, 20, 20, 20]  # 20 | 60: both out, 40 + 40 would fit
    first = _two_parts(households)[2]
    whole: list[int] = []

    def whole_cuts(*args, **kwargs):
        whole.append(1)
        return first

    monkeypatch.setattr(engines, "WHOLE_CUTS", whole_cuts)
    assert _fallbacks(monkeypatch, households, first, grid_level=True) == []
    assert whole == [1]
    assert _fallbacks(monkeypatch, households, first) == [1]
    monkeypatch.setattr(engines, "FALLBACK_MICRO_ONLY", False)  # bench/tail_bench.py's switch
    assert _fallbacks(monkeypatch, households, first, grid_level=True) == [1]


def test_the_land_free_division_is_weighed_last_for_micro_grids_only(monkeypatch):
    """Where a part that could be in bounds stays out after every other stage, micro-grids
    weigh the division with the land round every building free (once) and keep it where it
    ranks better; grids do not (no grid of the real sets stays out, and a community has five
    units a building more), nor does a parent whose arithmetic allows no grouping."""
    households = [20, 20, 20, 20]  # 20 | 60: both out, 40 + 40 would fit
    parent, buildings, first = _two_parts(households)
    fixed = _two_parts(households, left=2)[2]  # 40 | 40
    _tail(monkeypatch, first, None, lambda division, *args: division)
    monkeypatch.setattr(engines, "FREE_LAND_LAST", True)
    monkeypatch.setattr(engines, "WHOLE_CUTS", lambda *args, **kwargs: first)
    drawn: list[int] = []

    def free_land_division(*args, **kwargs):
        drawn.append(1)
        return fixed

    monkeypatch.setattr(graph, "free_land_division", free_land_division)
    assert engines.graph_first(parent, buildings, households, geographic=False) is fixed
    assert drawn == [1]
    assert engines.graph_first(parent, buildings, households, geographic=False,
                               grid_level=True) is not fixed
    assert drawn == [1]
    alone = [20, 60]  # 20 | tower of 60: 20 out, no grouping fits 30-50
    parent, buildings, first = _two_parts(alone)
    _tail(monkeypatch, first, None, lambda division, *args: division)
    monkeypatch.setattr(engines, "FREE_LAND_LAST", True)
    engines.graph_first(parent, buildings, alone, geographic=False)
    assert drawn == [1]


def test_the_graph_engines_micro_grids_go_through_the_passes_without_their_chains(
        monkeypatch):
    """At the micro level the graph engine's divisions are polished and improved without the
    improvement's chains of moves between neighbouring parts: the engine searched such chains
    on its unit graph already, and on the real sets the passes' chains after it never brought
    a part in (300 tried on Monaco, 8 % of its CPU). At the grid level, where they brought two
    of the Bund's grids in, they run; and with UNIT_CHAINS_ENOUGH off, at both levels."""
    households = [20, 20, 20, 20]
    parent, buildings, first = _two_parts(households)
    asked: list[bool] = []

    def passes(parent, buildings, h, result, lo, hi, geographic, chained=True):
        asked.append(chained)
        return result

    monkeypatch.setattr(graph, "divisions", lambda *args, **kwargs: (first, None))
    monkeypatch.setattr(engines, "polish", lambda parent, buildings, h, result, *a: result)
    monkeypatch.setattr(engines, "improved", passes)
    monkeypatch.setattr(engines, "_resplit_if_out", lambda division, *args: division)
    monkeypatch.setattr(engines, "FALLBACK", None)
    monkeypatch.setattr(engines, "GROUPED", None)
    monkeypatch.setattr(engines, "WHOLE_CUTS", lambda *args, **kwargs: first)
    monkeypatch.setattr(engines, "FREE_LAND_LAST", False)
    engines.graph_first(parent, buildings, households, geographic=False)
    engines.graph_first(parent, buildings, households, geographic=False, grid_level=True)
    assert asked == [False, True]
    monkeypatch.setattr(engines, "UNIT_CHAINS_ENOUGH", False)  # bench/tail_bench.py's switch
    engines.graph_first(parent, buildings, households, geographic=False)
    assert asked == [False, True, True]


def test_an_unknown_level_is_refused():
    with pytest.raises(ValueError, match="unknown level"):
        splitter("graph", "street")


def _counted(monkeypatch, candidate: str, owner=engines) -> list[int]:
    """A list that grows by one each time graph_first runs <owner>.<candidate>
    (gis.partition.engines unless told)."""
    runs: list[int] = []
    inner = getattr(owner, candidate)

    def counted(*args, **kwargs):
        runs.append(1)
        return inner(*args, **kwargs)

    monkeypatch.setattr(owner, candidate, counted)
    return runs


def _strip(per_building: int) -> tuple:
    """A strip 600 m by 100 m, in metres, with two rows of twelve 10 m buildings of
    `per_building` households each."""
    strip = box(0, 0, 600, 100)
    buildings = [box(20 + 50 * i, y, 30 + 50 * i, y + 10) for i in range(12) for y in (20, 70)]
    return strip, buildings, [per_building] * len(buildings)


def test_at_the_grid_level_one_grid_more_is_kept_where_the_grids_are_more_compact(
        monkeypatch):
    """A strip community of 960 households: the suggested count is two grids of 480, each
    300 m by 100 m (Polsby-Popper about 0.59). At the grid level one grid more per group is
    tried too (graph.ONE_MORE) and kept, being more compact: three grids of 320 households,
    about 200 m by 100 m (0.70). Micro-grids, and the grid level with the setting off, keep
    the suggested count."""
    strip, buildings, households = _strip(40)
    bounds = {"min_households": 300, "max_households": 500, "geographic": False}
    grids = splitter("graph", "grid")(strip, buildings, households, **bounds)
    check_division(strip, buildings, households, grids)
    assert sorted(grids.households) == [320, 320, 320]
    assert min(grids.polsby_popper) >= 0.65
    monkeypatch.setattr(graph, "ONE_MORE", False)
    suggested = splitter("graph", "grid")(strip, buildings, households, **bounds)
    check_division(strip, buildings, households, suggested)
    assert sorted(suggested.households) == [480, 480]
    assert max(suggested.polsby_popper) < min(grids.polsby_popper)
    monkeypatch.undo()
    micro = splitter("graph")(strip, buildings, [4] * len(buildings), min_households=30,
                              max_households=50, geographic=False)
    assert sorted(micro.households) == [48, 48]


def test_a_planners_split_into_n_grids_gives_n():
    """A planner's "split into N parts" centres the bounds on N (75-125 % of the households
    over N): at the grid level one grid more would fit those bounds too, and on the strip of
    960 households asked for 3 it is more compact (four of 240). The edit asks the engine for
    the planner's count (splitter's fixed_count), so it gets three; the split job's own bounds
    still get the grid more."""
    strip, buildings, households = _strip(40)
    lo, hi = 240, 400  # gis.editing.ops: 960 / 3 * 0.75 and * 1.25
    free = splitter("graph", "grid")(strip, buildings, households, min_households=lo,
                                     max_households=hi, geographic=False)
    assert len(free.parts) == 4
    asked = splitter("graph", "grid", fixed_count=True)(
        strip, buildings, households, min_households=lo, max_households=hi, geographic=False)
    check_division(strip, buildings, households, asked)
    assert len(asked.parts) == 3 and all(lo <= h <= hi for h in asked.households)

    def to_degrees(geom):  # the same strip in degrees: about 600 m by 100 m near Beijing
        return shapely.transform(geom, lambda xy: xy / [85_390.0, 111_000.0] + [116.4, 39.9])

    blds = [SimpleNamespace(geom=to_degrees(b), households=h)
            for b, h in zip(buildings, households, strict=True)]
    parts, _ = _engine(to_degrees(strip), blds, lo, hi, level="grid", fixed_count=True)
    assert len(parts) == 3  # the edit's own call


@pytest.mark.parametrize("grid", ["monaco_grid_37", "monaco_grid_105", "wuhan_grid_1"])
def test_a_real_grid_divides_alike_when_its_coordinates_move_by_a_hair(grid, request):
    """Every coordinate of a real grid and its footprints rounded to nine decimal degrees
    (a point moves 0.05 mm at most, as a file written with nine decimals moves it), on four
    differently shifted lattices: the division is the same. Each of these grids divided
    otherwise in one copy or more while the sweeps' near ties fell by a float's last bits and
    the chains ran in the parts' numbering (bench/noise_bench.py measures it over the sets)."""
    parent, buildings, households = request.getfixturevalue(grid)
    given = splitter("graph")(parent, buildings, households)

    def moved(geom, shift):
        return shapely.transform(geom, lambda xy: np.round(xy + shift, 9) - shift)

    for k in range(4):
        shift = (k + 0.5) / 4 * 1e-9
        copy = splitter("graph")(moved(parent, shift), [moved(b, shift) for b in buildings],
                                 households)
        assert np.array_equal(copy.assignment, given.assignment), k
        assert copy.households == given.households


def test_a_sweep_whose_side_fits_two_part_counts_takes_the_one_nearest_the_middle():
    """Six units in a row, 40, 40, 40, 50, 50 and 50 households, to become seven parts: the
    sweep between the third and the fourth unit fits with three parts on the first side (40
    and 37.5 households a part) and with four (30 and 50). Both score alike, as do the same
    sides reached from other directions; the three parts, nearest the middle of 30-50, come
    first."""
    from gis.partition.cellgraph import CellGraph

    n = 6
    squares = np.asarray([box(i, 0, i + 1, 1) for i in range(n)], dtype=object)
    g = CellGraph(np.arange(n), np.ones(n), np.full(n, 4.0),
                  np.array([40, 40, 40, 50, 50, 50]), np.c_[np.arange(n) + 0.5, np.full(n, 0.5)],
                  np.arange(n - 1), np.arange(1, n), np.ones(n - 1), np.arange(n), squares)
    sweeps = assign.Assigner(g, 30, 50)._sweeps(np.arange(n), 7)
    middle = [k1 for _, _, t, k1, order in sweeps if set(order[:t + 1].tolist()) == {0, 1, 2}]
    assert set(middle) == {3, 4}  # both fit
    assert middle[0] == 3


def test_the_chains_start_from_the_part_furthest_out_of_bounds(monkeypatch):
    """Parts of 45, 28 and 20 households: the chains start from the part of 20 (10 short),
    then the part of 28, whatever their numbers."""
    from gis.partition import improve
    from gis.partition.reshape import Footprints

    parts = [box(0, 0, 10, 10), box(10, 0, 20, 10), box(20, 0, 30, 10)]
    feet = [box(2, 2, 8, 8), box(12, 2, 18, 8), box(22, 2, 28, 8)]
    fp = Footprints.of(feet, shapely.get_coordinates(shapely.centroid(feet)),
                       np.array([45, 28, 20]), (1.0, 1.0))
    started = []
    monkeypatch.setattr(improve, "_paths", lambda start, *a: started.append(start) or [])
    improve.chains(parts, np.arange(3), fp, (1.0, 1.0), 30, 50, np.zeros(3, bool))
    assert started == [2, 1]
