"""Building cells by overlays (gis.partition.cells, the default construction) with
EXACT_LENGTHS: the shared edge lengths the growth engine's search reads are the lengths the
cells' polygons really share.

Giving a footprint back whole to its own cell leaves T-junctions (a vertex on one side of an
edge and none on the other) and edge ends snapped a nanometre apart; an overlay of two such
outlines (the default, EXACT_LENGTHS off) finds only points where the edges are not exactly
collinear, so it reads some shared edges short. With EXACT_LENGTHS they are measured as what
lies within ON_LINE_M of both outlines; the default stays as it was (see docs/split-rounds.md,
"Growth").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, assume, given, settings

from bench.real_city import load_monaco
from gis.partition import cells as cells_module
from gis.partition.cells import ON_LINE_M, building_cells
from gis.partition.inputs import local_frame
from tests.test_partition_real import irregular_layouts

DATA = Path(__file__).resolve().parent / "data"


def shared(a, b) -> float:
    """What two polygons' outlines share, within ON_LINE_M (metres)."""
    near = shapely.buffer(b.boundary, ON_LINE_M, quad_segs=1, cap_style="flat")
    return float(shapely.length(shapely.intersection(a.boundary, near)))


def check_adjacency(parent, buildings, households) -> tuple[int, int]:
    """Every pair of cells sharing an edge is a neighbour pair with that length, both ways;
    returns the pairs and how many a plain overlay of the outlines reads short."""
    foot = np.asarray(buildings, dtype=object)
    cells = building_cells(parent, foot, np.asarray(households))
    geoms = cells.cells
    a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs, short = 0, 0
    for u, v in zip(a.tolist(), b.tolist(), strict=True):
        if u >= v:
            continue
        real = shared(geoms[u], geoms[v])
        if real <= 1e-6:
            assert v not in cells.adj[u]
            continue
        pairs += 1
        assert cells.adj[u][v] == cells.adj[v][u] == pytest.approx(real, abs=1e-5)
        plain = shapely.length(shapely.intersection(geoms[u].boundary, geoms[v].boundary))
        short += plain < real - 1e-3
    return pairs, short


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(irregular_layouts())
def test_cells_share_the_lengths_their_polygons_share(layout):
    cells_module.EXACT_LENGTHS = True
    try:
        check_layout(layout)
    finally:
        cells_module.EXACT_LENGTHS = False


def check_layout(layout):
    parent, buildings, households = layout
    assume(buildings)
    _, there, _ = local_frame(parent, True)  # cells are built in metres
    check_adjacency(there(parent), list(there(np.asarray(buildings, object))), households)


def test_t_junctions_of_a_real_grid_are_measured_whole(monkeypatch):
    """A real Monaco grid (tests/data/monaco_grid_202.wkt, 23 buildings poking into their
    neighbours' Voronoi regions): every shared length is the polygons', including the pairs a
    plain overlay of the outlines reads short."""
    grid = shapely.from_wkt((DATA / "monaco_grid_202.wkt").read_text())
    data = load_monaco()
    inside = shapely.contains(grid, shapely.point_on_surface(data.buildings))
    _, there, _ = local_frame(grid, True)
    monkeypatch.setattr(cells_module, "EXACT_LENGTHS", True)
    pairs, short = check_adjacency(there(grid), list(there(data.buildings[inside])),
                                   data.households[inside])
    assert pairs >= 23
    assert short >= 1  # the grid does have edges noded differently on their two sides
