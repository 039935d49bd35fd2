"""Building cells made from faces (gis.partition.faces, gis.partition.cells FACES).

On generated blocks (hypothesis) and a real Monaco grid: the cells tile the parent exactly,
every footprint lies whole in its own unit's cell, every cell is one valid polygon, and the
areas, perimeters and shared edge lengths the local search reads off the faces are those of
the cells' polygons; the growth engine on these cells still divides a real grid with every
building whole.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, assume, given, settings

from bench.real_city import load_monaco
from gis.partition import cells as cells_module
from gis.partition import growth
from gis.partition.cells import face_cells
from gis.partition.inputs import local_frame
from tests.test_partition_growth import check_division, outside
from tests.test_partition_real import irregular_layouts

DATA = Path(__file__).resolve().parent / "data"


def check_cells(parent, buildings, households):
    """The face cells of one parent (metres) against their own polygons."""
    foot = np.asarray(buildings, dtype=object)
    cells = face_cells(parent, foot, np.asarray(households))
    geoms = cells.cells
    assert abs(shapely.area(geoms).sum() - parent.area) / parent.area < 1e-9
    assert abs(shapely.union_all(geoms).area - parent.area) / parent.area < 1e-9
    assert shapely.is_valid(geoms).all()
    assert (shapely.get_type_id(geoms) == 3).all()  # one polygon each
    for b, unit in zip(buildings, cells.unit_of, strict=True):
        spill, far = outside(b.intersection(parent), geoms[unit])
        assert spill <= 1e-9 * max(b.area, 1.0) and far < 1e-6  # metres
    np.testing.assert_allclose(cells.area, shapely.area(geoms), rtol=1e-9)
    np.testing.assert_allclose(cells.perimeter, shapely.length(geoms), rtol=1e-9)
    for u, near in enumerate(cells.adj):  # the length each pair of cells really shares
        for v, length in near.items():
            assert cells.adj[v][u] == length
            real = shapely.length(shapely.intersection(geoms[u].boundary, geoms[v].boundary))
            assert length == pytest.approx(real, rel=1e-6)
    return cells


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(irregular_layouts())
def test_face_cells_tile_the_parent_and_hold_every_footprint_whole(layout):
    parent, buildings, households = layout
    assume(buildings)
    _, there, _ = local_frame(parent, True)  # cells are built in metres
    check_cells(there(parent), list(there(np.asarray(buildings, object))), households)


@pytest.fixture(scope="module")
def monaco_grid():
    """A real Monaco grid of 23 buildings (tests/data/monaco_grid_202.wkt)."""
    grid = shapely.from_wkt((DATA / "monaco_grid_202.wkt").read_text())
    data = load_monaco()
    inside = shapely.contains(grid, shapely.point_on_surface(data.buildings))
    return grid, list(data.buildings[inside]), data.households[inside]


def test_face_cells_of_a_real_grid(monaco_grid, monkeypatch):
    """Irregular OSM footprints poking into their neighbours' Voronoi regions, some crossing
    the grid's edge: cells as above, and the growth engine on them keeps every building whole
    in one single-polygon part."""
    parent, buildings, households = monaco_grid
    _, there, _ = local_frame(parent, True)
    cells = check_cells(there(parent), list(there(np.asarray(buildings, object))), households)
    assert cells.n == len(buildings)  # no two of these footprints overlap
    monkeypatch.setattr(cells_module, "FACES", True)
    result = growth.split(parent, buildings, households)
    check_division(parent, buildings, households, result)
    assert not any("lies across" in v or "contiguous" in v for v in result.violations)
