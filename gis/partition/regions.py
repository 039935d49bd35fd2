"""The region of each unit in a Voronoi diagram: its cells' union, assembled in numpy.

A unit's region is bounded by the edges of its cells that have no twin in another cell of the
same unit. Those edges (all cells walked anticlockwise) are chained end to start within each
unit into rings, and the rings are ordered by list ranking (pointer doubling), so every region
comes out of a few array operations and one vectorised polygon construction instead of one
GEOS union per unit. An anticlockwise ring is a shell and a clockwise one a hole. A unit whose
boundary passes twice through one vertex (its cells meet at a point only, or a hole touches
its shell), that has several shells and a hole, or whose ring comes out invalid (a bow-tie
where near-equal circumcentres of co-circular points swap places) keeps its cells as they
are: every piece returned is then a valid polygon, and the pieces still tile what the cells
tiled.
"""

from __future__ import annotations

import numpy as np
import shapely


def _keys(xy: np.ndarray) -> np.ndarray:
    """A dense id per distinct vertex (exact coordinates: a Voronoi diagram's cells share
    theirs bit for bit)."""
    flat = np.ascontiguousarray(xy).view(np.complex128).reshape(-1)
    return np.unique(flat, return_inverse=True)[1].reshape(-1)


def _rank(succ: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For a permutation made of cycles: each element's cycle (its smallest member) and its
    distance from that member along the cycle."""
    n = len(succ)
    head = np.arange(n)
    jump = succ.copy()
    while True:
        nxt = np.minimum(head, head[jump])
        jump = jump[jump]
        if np.array_equal(nxt, head):
            break
        head = nxt
    pred = np.empty(n, np.int64)
    pred[succ] = np.arange(n)
    is_head = head == np.arange(n)
    pred[is_head] = np.flatnonzero(is_head)
    dist = (~is_head).astype(np.int64)
    while True:
        far = pred[pred]
        if np.array_equal(far, pred):
            break
        dist = dist + dist[pred] * (pred != far)
        pred = far
    dist = dist + dist[pred] * (~is_head & (pred != np.arange(n)))
    return head, dist


def unit_regions(cells: np.ndarray, label: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pieces (polygons) and the unit of each: one region per unit where it can be assembled,
    else the unit's cells (see the module docstring). `cells` are the convex cells of a
    Voronoi diagram, `label` their units."""
    coords, cell = shapely.get_coordinates(cells, return_index=True)  # cells have no holes
    same = cell[:-1] == cell[1:]
    ids = _keys(coords)
    a, b = coords[:-1][same], coords[1:][same]
    c = cell[:-1][same]
    cross = a[:, 0] * b[:, 1] - b[:, 0] * a[:, 1]
    flip = (np.bincount(c, weights=cross, minlength=len(cells)) < 0)[c]  # walk anticlockwise
    p = np.where(flip[:, None], b, a)
    va, vb = ids[:-1][same], ids[1:][same]
    vp, vq = np.where(flip, vb, va), np.where(flip, va, vb)
    vid = ids
    unit = label[c]
    nv = int(vid.max()) + 1
    live = vp != vq
    lo, hi = np.minimum(vp, vq), np.maximum(vp, vq)
    und = (unit * nv + lo) * nv + hi
    order = np.argsort(und)
    s = und[order]
    dup = np.zeros(len(s), bool)
    dup[1:] |= s[1:] == s[:-1]
    dup[:-1] |= s[1:] == s[:-1]
    inner = np.zeros(len(und), bool)
    inner[order] = dup
    edge = np.flatnonzero(live & ~inner)
    start = unit[edge] * nv + vp[edge]
    end = unit[edge] * nv + vq[edge]
    by_start = np.argsort(start, kind="stable")
    sorted_start = start[by_start]
    pinched = np.zeros(int(label.max()) + 1, bool)
    twice = sorted_start[1:] == sorted_start[:-1]
    pinched[unit[edge[by_start[1:][twice]]]] = True
    at = np.searchsorted(sorted_start, end)
    found = (at < len(sorted_start)) & (sorted_start[np.minimum(at, len(at) - 1)] == end)
    pinched[unit[edge[~found]]] = True
    ok = ~pinched[unit[edge]]
    if not ok.any():
        return cells, label
    renumber = np.cumsum(ok) - 1
    succ = renumber[by_start[at[ok]]]
    edge = edge[ok]
    head, dist = _rank(succ)
    seq = np.lexsort((dist, head))
    hs = head[seq]
    ring_of = np.cumsum(np.r_[False, hs[1:] != hs[:-1]])
    lines = shapely.linearrings(p[edge[seq]], indices=ring_of)
    ring_unit = np.zeros(len(lines), np.int64)
    ring_unit[ring_of] = unit[edge[seq]]
    shell = shapely.is_ccw(lines)
    n = len(pinched)
    shells = np.bincount(ring_unit[shell], minlength=n)
    holes = np.bincount(ring_unit[~shell], minlength=n)
    raw = pinched | ((holes > 0) & (shells != 1))
    keep = ~raw[ring_unit]
    polygon = np.full(len(lines), -1)
    polygon[shell & keep] = np.arange(int((shell & keep).sum()))
    of_unit = np.full(n, -1)
    of_unit[ring_unit[shell & keep]] = polygon[shell & keep]
    polygon[~shell & keep] = of_unit[ring_unit[~shell & keep]]
    rows = np.flatnonzero(keep)
    rows = rows[np.lexsort((~shell[rows], polygon[rows]))]
    polys = shapely.polygons(lines[rows], indices=polygon[rows])
    poly_unit = ring_unit[shell & keep]
    bad = ~shapely.is_valid(polys)  # a ring crossing itself (near-equal circumcentres)
    if bad.any():
        raw[poly_unit[bad]] = True
        polys, poly_unit = polys[~raw[poly_unit]], poly_unit[~raw[poly_unit]]
    from_cells = raw[label]
    pieces = np.concatenate([np.asarray(polys, dtype=object), cells[from_cells]])
    plabel = np.concatenate([poly_unit, label[from_cells]])
    return pieces, plabel
