"""Streets in the unit graph: a boundary along a street costs the search less than one
through a block.

The graph engine's search (gis.partition.assign) scores a group of units by a Polsby-Popper
computed from sums: area sum(area), perimeter sum(perimeter) - 2 * (shared length inside).
Here each shared edge between two units that a street separates (the segment between the
units' representative points crosses one) counts STREET_WEIGHT of its length on a part's
boundary: every unit's perimeter loses (1 - STREET_WEIGHT) of such edges and the edges keep
STREET_WEIGHT of their length, so a group holding both sides still sums to its true perimeter
while a boundary along the street is cheaper. The search then prefers divisions along streets
with no change of its own; the parts' true Polsby-Popper is measured on their polygons at the
end, as for every engine. Boundaries are the units' Voronoi edges, so they run along a street
between the buildings facing it, not on the street's centre line.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import shapely

from gis.partition.cellgraph import CellGraph
from gis.partition.cells import POLYGONAL

STREET_WEIGHT = 0.75  # the share of its length a boundary along a street counts


def crossed_edges(g: CellGraph, streets: np.ndarray) -> np.ndarray:
    """For each shared edge of `g`, whether a street (lines, same frame) separates its two
    units: the segment between their representative points crosses it."""
    if not len(streets) or not len(g.edge_a):
        return np.zeros(len(g.edge_a), bool)
    segments = shapely.linestrings(np.stack([g.xy[g.edge_a], g.xy[g.edge_b]], axis=1))
    hit, _ = shapely.STRtree(streets).query(segments, predicate="intersects")
    crossed = np.zeros(len(segments), bool)
    crossed[hit] = True
    return crossed


def along_streets(g: CellGraph, streets: np.ndarray, weight: float | None = None
                  ) -> CellGraph:
    """`g` with the edges streets cross weighted for the search (see the module docstring;
    `weight`: STREET_WEIGHT when None)."""
    weight = STREET_WEIGHT if weight is None else weight
    crossed = crossed_edges(g, streets)
    if not crossed.any():
        return g
    cheaper = np.where(crossed, g.edge_len * (1.0 - weight), 0.0)
    perimeter = (g.perimeter - np.bincount(g.edge_a, cheaper, g.n)
                 - np.bincount(g.edge_b, cheaper, g.n))
    return replace(g, perimeter=perimeter, edge_len=np.where(crossed, g.edge_len * weight,
                                                              g.edge_len))


def street_lines(barriers, there) -> np.ndarray:
    """The barriers' lines in the local frame (`there`): lines and polygon outlines."""
    geoms = np.asarray(list(barriers) if barriers is not None else [], dtype=object)
    if not len(geoms):
        return geoms
    geoms = geoms[~shapely.is_empty(geoms)]
    polygonal = np.isin(shapely.get_type_id(geoms), POLYGONAL)
    geoms[polygonal] = shapely.boundary(geoms[polygonal])
    return np.asarray(there(geoms), dtype=object)
