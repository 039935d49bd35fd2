"""The parts' final outlines: shared edges smoothed, every footprint whole in its part.

The graph engine's parts come as coverage unions of Voronoi cells (gis.partition.cellgraph):
they tile the parent exactly, but their shared edges zig-zag, and a footprint may stick out of
its part into a neighbour's cells. Here the shared edges are simplified once, together (GEOS
coverage simplification, the parent's outline kept, TOLERANCE relative to the smallest
part's size, so that a small part beside large ones keeps its shape).
The footprints' convex hulls go into that call as rings of no part (AROUND_HULLS): rings that
belong to no two polygons are kept as they are, and the simplifier removes no vertex whose
triangle would hold another ring's vertex, so a simplified edge does not cross a hull it did not
cross before: simplification clips almost no footprint, and the edges are straight lines
between the buildings. Then every footprint its part does not cover (a prepared covers() tells)
is made whole, one overlay pair per part touched: a part gives up the footprints of others that
lie partly inside it and takes its own whole. A footprint that simplification moved wholly into
a neighbour first gets back, with its part, the land the simplification took from that part
around it. A part that giving up a footprint cuts in pieces keeps the piece holding its
footprints; a piece holding none joins the neighbour it shares the longest edge with (a crumb
that touches its neighbours only at points is grown by a micrometre to join one). Pieces
only change hands, so the parts still tile the parent (hairline holes the overlays leave are
filled, as in the cells' unions: gis.partition.cells.without_hairlines).

A simplification that makes a part gain or lose more than AREA_SHIFT of its area is not
used. The result is kept when every part is one valid polygon (or was not one before) and the
areas still add up to the parent's; else the same mending runs on the parts simplified
without the hulls, then on the unsimplified parts, and at last the parts are returned as they
came (gis.partition.whole then mends or reports what stays split). A footprint none of whose
area lies in its own part's cells is given to the part holding most of it, and the
assignment returned says so.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis.partition.cells import polygonal, without_hairlines

AROUND_HULLS = True  # the simplified edges go around the footprints' convex hulls
TOLERANCE = 0.5  # x the side of a square of the smallest part's area
AREA_SHIFT = 0.25  # simplification may not make a part gain or lose more of its area
SLIVER_M2 = 1e-6  # a cut-off piece this small sharing no edge is overlay noise, dropped
CRUMB_M2 = 1e-2  # a larger one up to this size is welded to a neighbour it touches
WELD_M = 1e-6  # by growing it this much (the overlap it adds is far under AREA_RTOL)
AREA_RTOL = 1e-9  # the parts' areas must add up to the parent's within this share
POLYGON = 3  # shapely.GeometryType.POLYGON


def _union(geoms: np.ndarray) -> BaseGeometry:
    return geoms[0] if len(geoms) == 1 else shapely.union_all(geoms)


def _rehomed(parts: np.ndarray, foot: np.ndarray, owner: np.ndarray, lost: np.ndarray
             ) -> np.ndarray:
    """`owner` where each footprint in `lost` goes to the part holding most of it."""
    owner = owner.copy()
    tree = shapely.STRtree(parts)
    for b in lost.tolist():
        near = tree.query(foot[b], predicate="intersects")
        if len(near):
            owner[b] = near[int(np.argmax(shapely.area(shapely.intersection(parts[near],
                                                                            foot[b]))))]
    return owner


def _without_area(parts: np.ndarray, foot: np.ndarray, owner: np.ndarray, which: np.ndarray
                  ) -> np.ndarray:
    """The footprints among `which` with no area in their part (`parts` prepared)."""
    mine = parts[owner[which]]
    return which[~shapely.intersects(mine, foot[which]) | shapely.touches(mine, foot[which])]


def _given_back(simple: np.ndarray, parts: np.ndarray, foot: np.ndarray, owner: np.ndarray,
                lost: np.ndarray) -> np.ndarray:
    """`simple` where each part whose footprints in `lost` lie wholly in neighbours takes back
    the land around them that simplification took from it (from `parts`, unsimplified)."""
    simple = simple.copy()
    for i in np.unique(owner[lost]).tolist():
        taken = np.asarray([p for p in shapely.get_parts(shapely.difference(parts[i], simple[i]))
                            if p.geom_type == "Polygon" and p.area > 0], dtype=object)
        mine = lost[owner[lost] == i]
        hit = np.unique(shapely.STRtree(taken).query(foot[mine], predicate="intersects")[1]) \
            if len(taken) else np.zeros(0, np.int64)
        if not len(hit):
            continue
        land = _union(taken[hit])
        for k in shapely.STRtree(simple).query(land, predicate="intersects").tolist():
            if k != i:
                simple[k] = polygonal(shapely.difference(simple[k], land))
        simple[i] = polygonal(shapely.union(simple[i], land))
    return simple


def _simplified(parts: np.ndarray, foot: np.ndarray, tolerance: float, around: bool
                ) -> np.ndarray:
    """`parts` with their shared edges simplified; `around`, the footprints' convex hulls go
    in too, as rings of no part that the simplified edges must not pass over."""
    if not around:
        return shapely.coverage_simplify(parts, tolerance, simplify_boundary=False)
    keep = shapely.convex_hull(foot)
    keep = keep[shapely.get_type_id(keep) == POLYGON]
    both = np.concatenate([parts, keep])
    return shapely.coverage_simplify(both, tolerance, simplify_boundary=False)[:len(parts)]


def _leaks(parts: np.ndarray, foot: np.ndarray, owner: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Footprints their part does not cover, and the pairs (footprint, other part) whose
    interiors meet."""
    shapely.prepare(parts)
    leak = np.flatnonzero(~shapely.covers(parts[owner], foot))
    if not len(leak):
        return leak, leak, leak
    at, j = shapely.STRtree(parts).query(foot[leak], predicate="intersects")
    b = leak[at]
    other = owner[b] != j
    b, j = b[other], j[other]
    inside = ~shapely.touches(parts[j], foot[b])
    return leak, b[inside], j[inside]


def _welded(out: np.ndarray, near: list[int], piece: BaseGeometry, may_split: np.ndarray
            ) -> bool:
    """A crumb (under CRUMB_M2) that touches its neighbours only at points, as overlays leave
    them, joined to the first neighbour with which it makes one polygon once grown by WELD_M;
    whether one did."""
    if piece.area > CRUMB_M2:
        return False
    grown = shapely.buffer(piece, WELD_M, quad_segs=1)
    for q in near:
        merged = polygonal(shapely.union(out[q], grown))
        if shapely.get_type_id(merged) == POLYGON or may_split[q]:
            out[q] = merged
            return True
    return False


def _gathered(out: np.ndarray, p: int, foot: np.ndarray, owner: np.ndarray,
              may_split: np.ndarray) -> bool:
    """Part p made one polygon again: the piece holding its footprints stays, pieces holding
    none join the neighbour sharing the longest edge with them (a sliver under SLIVER_M2 that
    shares none is dropped). False when p's footprints lie in several pieces (and p was one
    polygon before) or a larger piece shares no edge with a neighbour."""
    pieces = np.asarray([g for g in shapely.get_parts(out[p])
                         if g.geom_type == "Polygon" and g.area > 0], dtype=object)
    if len(pieces) == 0:
        return False
    own = foot[owner == p]
    held = np.zeros(len(pieces), bool)
    if len(own):
        a, c = shapely.STRtree(own).query(pieces, predicate="intersects")
        meet = ~shapely.touches(pieces[a], own[c])
        held[a[meet]] = True
    if held.sum() > 1 and not may_split[p]:
        return False
    if not held.any():
        held[int(np.argmax(shapely.area(pieces)))] = True
    out[p] = pieces[held][0] if held.sum() == 1 else shapely.MultiPolygon(list(pieces[held]))
    for piece in pieces[~held]:
        near = [int(q) for q in shapely.STRtree(out).query(piece, predicate="intersects")
                if q != p]
        edge = shapely.length(shapely.intersection(piece.boundary, shapely.boundary(out[near])))
        if not near or edge.max() <= 0:
            if piece.area <= SLIVER_M2:  # overlay noise touching its neighbours at points
                continue
            if _welded(out, near, piece, may_split):
                continue
            return False
        q = near[int(np.argmax(edge))]
        out[q] = polygonal(shapely.union(out[q], piece))
        if shapely.get_type_id(out[q]) != POLYGON and not may_split[q]:
            return False
    return True


def _mended(parts: np.ndarray, foot: np.ndarray, owner: np.ndarray, may_split: np.ndarray,
            unsimplified: np.ndarray | None, rehome: bool
            ) -> tuple[np.ndarray, np.ndarray] | None:
    """`parts` and `owner` with every footprint whole in its own part (see the module
    docstring), or None when that would break a part. A footprint with no area in its part
    gets back the land around it (from `unsimplified`) when it had area there; else, with
    `rehome`, it goes to the part holding most of it; else the answer is None."""
    leak, b, j = _leaks(parts, foot, owner)
    if not len(b):
        return parts, owner
    lost = _without_area(parts, foot, owner, leak)
    if len(lost):
        if unsimplified is not None:
            shapely.prepare(unsimplified)
            gone = _without_area(unsimplified, foot, owner, lost)
            owner = _rehomed(parts, foot, owner, gone)
            parts = _given_back(parts, unsimplified, foot, owner, np.setdiff1d(lost, gone))
            return _mended(parts, foot, owner, may_split, None, False)
        if not rehome:
            return None
        owner = _rehomed(parts, foot, owner, lost)
        return _mended(parts, foot, owner, may_split, None, False)
    out = parts.copy()
    taking = np.unique(b)
    broken = []
    for p in np.union1d(np.unique(j), owner[taking]).tolist():
        geom = out[p]
        give = b[j == p]
        if len(give):
            geom = polygonal(shapely.difference(geom, _union(foot[np.unique(give)])))
        take = taking[owner[taking] == p]
        if len(take):
            geom = polygonal(shapely.union(geom, _union(foot[take])))
        out[p] = geom
        if shapely.get_type_id(geom) != POLYGON:
            broken.append(p)
    for p in broken:
        if shapely.get_type_id(out[p]) != POLYGON and not _gathered(out, p, foot, owner,
                                                                     may_split):
            return None
    return out, owner


def _sound(out: np.ndarray, parts: np.ndarray, total: float, may_split: np.ndarray) -> bool:
    """Every part one polygon (or in pieces from the start), the parts changed from `parts`
    (all those simplified) valid, and the areas adding up to `total`."""
    one = (shapely.get_type_id(out) == POLYGON) | may_split
    changed = out[[a is not b for a, b in zip(out, parts, strict=True)]]
    return bool(one.all() and shapely.is_valid(changed).all()
                and abs(float(shapely.area(out).sum()) - total) <= AREA_RTOL * total)


def _starts(parts: np.ndarray, foot: np.ndarray, tolerance: float):
    """The parts to mend, in order of preference, each with the unsimplified parts (or None):
    simplified around the footprints' hulls, simplified alone (each only if no part gained or
    lost more than AREA_SHIFT of its area), as they are."""
    before = shapely.area(parts)
    for around in (AROUND_HULLS, False) if AROUND_HULLS else (False,):
        try:
            simple = _simplified(parts, foot, tolerance, around)
        except shapely.errors.GEOSException:
            continue
        if (np.abs(shapely.area(simple) - before) <= AREA_SHIFT * before).all():
            yield simple, parts
    yield parts, None


def outlines(parts: np.ndarray, foot: np.ndarray, owner: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """The final parts and each footprint's part (see the module docstring): `parts` tile the
    parent (metres), foot[b] is footprint b clipped to it (points allowed), owner[b] its
    part."""
    parts = np.asarray(parts, dtype=object)
    owner = np.asarray(owner, dtype=np.int64)
    if len(parts) < 2:
        return parts, owner
    poly = np.flatnonzero(shapely.area(foot) > 0)
    f = np.asarray(foot, dtype=object)[poly]
    total = float(shapely.area(parts).sum())
    may_split = shapely.get_type_id(parts) != POLYGON
    side = float(shapely.area(parts).min()) ** 0.5
    for start, unsimplified in _starts(parts, f, TOLERANCE * side):
        try:
            done = _mended(start, f, owner[poly], may_split, unsimplified, True)
        except shapely.errors.GEOSException:
            continue
        if done is None:
            continue
        out = np.asarray([without_hairlines(g) for g in done[0]], dtype=object)
        if _sound(out, parts, total, may_split):
            mine = owner.copy()
            mine[poly] = done[1]
            return out, mine
    return parts, owner
