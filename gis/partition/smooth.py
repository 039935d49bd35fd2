"""Smoothing the edges between parts: the union of building cells zigzags around footprints.

The parts (a coverage of the parent, in metres) are simplified together by GEOS coverage
simplification (Visvalingam-Whyatt on the shared edges only, so the parent's outline and the
exact tiling are kept and neighbours stay edge-matched). A simplified edge may clip a
footprint near it: that footprint is then given back whole to its own part and taken from the
neighbour (overlays snapped to GRID_M, as for the cells, and the hairline holes they may
leave filled, as in the cells' unions: gis.partition.cells.without_hairlines). The result is
kept only when every part is still one valid polygon holding all its footprints and the areas
still add up to the parent's; else a smaller tolerance is tried (TOLERANCES, relative to the
parts' size), and at last the parts are left as they were.
"""

from __future__ import annotations

import numpy as np
import shapely

from gis.partition.cells import GRID_M, polygonal, without_hairlines

TOLERANCES = (0.15, 0.08, 0.04)  # x the side of a square of the parts' mean area
LOOSE_M2 = 1e-6


def _restore(simple: np.ndarray, foot: np.ndarray, owner: np.ndarray,
             clipped: np.ndarray) -> np.ndarray:
    """`simple` with each footprint in `clipped` (indices) made whole in its own part again."""
    simple = simple.copy()
    tree = shapely.STRtree(simple)
    for b in clipped.tolist():
        mine = int(owner[b])
        for j in tree.query(foot[b], predicate="intersects").tolist():
            if j != mine and shapely.relate_pattern(simple[j], foot[b], "2********"):
                simple[j] = without_hairlines(polygonal(
                    shapely.difference(simple[j], foot[b], grid_size=GRID_M)))
        simple[mine] = without_hairlines(polygonal(
            shapely.union(simple[mine], foot[b], grid_size=GRID_M)))
    return simple


def _spill(parts: np.ndarray, foot: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Area of each footprint outside its part: overlays only for those the part does not
    cover (a prepared predicate tells)."""
    shapely.prepare(parts)
    out = np.zeros(len(foot))
    odd = np.flatnonzero(~shapely.covers(parts[owner], foot))
    if len(odd):
        out[odd] = shapely.area(shapely.difference(foot[odd], parts[owner[odd]]))
    return out


def smooth(parts: np.ndarray, foot: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """`parts` with simplified shared edges (see the module docstring); owner[b] is the part
    holding footprint b (metres, clipped to the parent)."""
    parts = np.asarray(parts, dtype=object)
    if len(parts) < 2:
        return parts
    total = float(shapely.area(parts).sum())
    polys = np.flatnonzero(shapely.area(foot) > 0)
    side = (total / len(parts)) ** 0.5
    for tol in TOLERANCES:
        try:
            simple = shapely.coverage_simplify(parts, tol * side, simplify_boundary=False)
        except shapely.errors.GEOSException:
            return parts
        spill = _spill(simple, foot[polys], owner[polys])
        clipped = polys[spill > 0]
        if len(clipped):
            try:
                simple = _restore(simple, foot, owner, clipped)
            except shapely.errors.GEOSException:
                continue
            spill = _spill(simple, foot[polys], owner[polys])
        if ((spill <= LOOSE_M2).all() and shapely.is_valid(simple).all()
                and (shapely.get_type_id(simple) == 3).all()
                and abs(float(shapely.area(simple).sum()) - total) <= 1e-9 * total):
            return simple
    return parts
