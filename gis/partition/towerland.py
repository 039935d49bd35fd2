"""The land round towers made free: four units of no households round each tower.

A tower (a building over the maximum) is a part of its own, and its cell holds all the land
nearest to it, so the buildings either side of it may have no way to reach one another: a part
of 20 + 20 households cannot form across a tower. Here points are sampled on a ring RING_M
outside each tower's footprint (every STEP_M, in the parent, not within RING_M of another
footprint), labelled by the quadrant they lie in seen from the tower's centre, and added to the
unit graph as footprints of no households; the tower's cell then shrinks to its footprint and a
thin margin, and the points' cells of one quadrant are merged into one unit (`merge_units`):
land any part may take, in four pieces wide enough to stay compact.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis.partition.cellgraph import CellGraph, connected_components, unit_edges

RING_M = 1.0
STEP_M = 3.0
QUADRANTS = 4


def land_points(feet: np.ndarray, towers: np.ndarray, parent: BaseGeometry
                ) -> tuple[np.ndarray, np.ndarray]:
    """Ring points round the towers (metres) and the land unit (tower x quadrant) of each."""
    idx = np.flatnonzero(towers)
    if not len(idx):
        return np.zeros((0, 2)), np.zeros(0, np.int64)
    rings = shapely.segmentize(shapely.get_exterior_ring(shapely.convex_hull(
        shapely.buffer(feet[idx], RING_M, quad_segs=2))), STEP_M)
    xy, which = shapely.get_coordinates(rings, return_index=True)
    centre = shapely.get_coordinates(shapely.centroid(feet[idx]))[which]
    angle = np.arctan2(xy[:, 1] - centre[:, 1], xy[:, 0] - centre[:, 0])
    quadrant = ((angle + math.pi) / (2 * math.pi) * QUADRANTS).astype(np.int64) % QUADRANTS
    group = which * QUADRANTS + quadrant
    keep = shapely.contains_xy(parent, xy[:, 0], xy[:, 1])
    near = shapely.STRtree(feet).query(shapely.points(xy), predicate="dwithin",
                                       distance=RING_M * 0.999)
    keep[near[0]] = False
    xy, group = xy[keep], group[keep]
    xy, first = np.unique(np.round(xy, 3), axis=0, return_index=True)
    return xy, np.unique(group[first], return_inverse=True)[1].reshape(-1)


def merge_units(g: CellGraph, group: np.ndarray) -> CellGraph:
    """The unit graph with units of the same `group` (one label per unit) merged into one."""
    n = int(group.max()) + 1
    perimeter, lo, hi, w = unit_edges(group, g.edge_a, g.edge_b, g.edge_len, g.perimeter, n)
    size = np.bincount(group, minlength=n)
    xy = np.zeros((n, 2))
    np.add.at(xy, group, g.xy)
    return CellGraph(group[g.unit_of], np.bincount(group, weights=g.area, minlength=n),
                     perimeter, np.bincount(group, weights=g.households,
                                            minlength=n).astype(np.int64),
                     xy / size[:, None], lo, hi, w,
                     group[g.point_unit], g.point_cells)


def with_free_land(parent: BaseGeometry, feet: np.ndarray, households: np.ndarray,
                   towers: np.ndarray, build) -> CellGraph | None:
    """The unit graph of `parent` with the land round the towers free (see the module
    docstring), built by `build(parent, footprints, households)`; None when no land is left.
    `towers` marks the buildings whose land is freed (gis.partition.graph.free_land_division
    marks every building that holds households)."""
    xy, quadrant = land_points(feet, towers, parent)
    if not len(xy):
        return None
    g = build(parent, np.concatenate([feet, shapely.points(xy)]),
              np.concatenate([households, np.zeros(len(xy), np.int64)]))
    point_units = g.unit_of[len(feet):]
    land = ~np.isin(point_units, g.unit_of[:len(feet)])  # a point a building took stays so
    group = np.arange(g.n)
    group[point_units[land]] = g.n + quadrant[land]
    same = group[g.edge_a] == group[g.edge_b]  # a quadrant's cells cut apart stay apart
    piece = connected_components(g.n, g.edge_a[same], g.edge_b[same])
    _, group = np.unique(np.where(group >= g.n, g.n + piece, group), return_inverse=True)
    merged = merge_units(g, group.reshape(-1))
    merged.unit_of = merged.unit_of[:len(feet)]
    return merged
