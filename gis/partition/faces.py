"""Building cells from faces (gis.partition.cells, FACES): one noding of the Voronoi
regions' edges and the footprints' outlines per parent, instead of overlays cell by cell.

The regions (the Voronoi cells of each unit's sample points, unioned per unit: an exact
coverage) and the footprints overlap wherever a footprint pokes out of its own region. All
their edges, with the parent's boundary, are noded once and polygonized: the faces tile the
parent (faces outside it are dropped) and every footprint is a union of faces. A face inside a
footprint belongs to that footprint's unit, any other face to the region holding it, so every
footprint lies whole in its unit's cell by construction. Faces come out of one noding, so two
faces share an edge vertex for vertex: their adjacency (and the length of each shared edge) is
a sort of their segments, and a cell, the coverage union of its faces, meets its neighbours
edge for edge. Pieces of a cell cut off from its footprints (by a concave parent, or by a
neighbour's footprint) join the neighbouring cell they share the longest edge with, decided on
the face graph without geometry.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

STRAY_ROUNDS = 3


def segments(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every edge of every polygon's rings: its ends (x1, y1, x2, y2, lower end first), the
    polygon's index and its length."""
    lines, owner = shapely.get_parts(shapely.boundary(geoms), return_index=True)
    xy, line = shapely.get_coordinates(lines, return_index=True)
    same = line[1:] == line[:-1]
    a, b = xy[:-1][same], xy[1:][same]
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    lo = np.where(swap[:, None], b, a)
    hi = np.where(swap[:, None], a, b)
    return np.hstack([lo, hi]), owner[line[:-1][same]], np.hypot(*(b - a).T)


def shared_edges(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i, j, length) of polygons sharing edges vertex for vertex, one row per shared
    segment (i and j in either order)."""
    if len(geoms) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    seg, owner, length = segments(geoms)
    order = np.lexsort(seg.T[::-1])
    seg, owner, length = seg[order], owner[order], length[order]
    twin = ((seg[1:] == seg[:-1]).all(axis=1) & (owner[1:] != owner[:-1]) & (length[1:] > 0))
    return owner[:-1][twin], owner[1:][twin], length[1:][twin]


def region_edges(vor: np.ndarray, label: np.ndarray, simplify_m: float) -> BaseGeometry:
    """The edges between Voronoi cells of different units (and the diagram's outer edges),
    merged into chains between junctions, each chain simplified by `simplify_m` (its ends
    kept, so the chains still meet)."""
    seg, owner, _ = segments(vor)
    order = np.lexsort(seg.T[::-1])
    seg, owner = seg[order], owner[order]
    twin = (seg[1:] == seg[:-1]).all(axis=1)
    inner = np.zeros(len(seg), dtype=bool)  # an edge between two cells of one unit
    same = twin & (label[owner[1:]] == label[owner[:-1]])
    inner[1:] |= same
    inner[:-1] |= same
    first = np.ones(len(seg), dtype=bool)  # one copy of an edge two cells share
    first[1:] &= ~twin
    keep = first & ~inner & ~(seg[:, :2] == seg[:, 2:]).all(axis=1)
    lines = shapely.linestrings(seg[keep].reshape(-1, 2, 2))
    merged = shapely.line_merge(shapely.multilinestrings(lines))
    if simplify_m > 0:
        merged = shapely.simplify(merged, simplify_m, preserve_topology=False)
    return merged


def plane_faces(parent: BaseGeometry, edges: BaseGeometry, foot: np.ndarray,
                grid_m: float) -> np.ndarray:
    """The faces of the parent cut by `edges` and the footprints' outlines, noded by snap
    rounding to `grid_m` (so every vertex lies on that grid, as the overlays that follow
    snap theirs)."""
    lines = np.concatenate([[edges], shapely.boundary(foot), [shapely.boundary(parent)]])
    noded = shapely.union_all(lines, grid_size=grid_m)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    faces = faces[shapely.area(faces) > 0]
    shapely.prepare(parent)
    return faces[shapely.contains(parent, shapely.point_on_surface(faces))]


def face_labels(faces: np.ndarray, vor: np.ndarray, vor_label: np.ndarray, foot: np.ndarray,
                unit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The unit of each face (its footprint's, else that of the Voronoi cell holding a point
    inside it; -1: none) and whether the face lies inside a footprint."""
    label = np.full(len(faces), -1, dtype=np.int64)
    inner = shapely.point_on_surface(faces)
    polys = np.flatnonzero(shapely.area(foot) > 0)
    if len(polys):
        f, b = shapely.STRtree(foot[polys]).query(inner, predicate="within")
        label[f] = unit[polys[b]]
    in_foot = label >= 0
    rest = np.flatnonzero(~in_foot)
    if len(rest):
        tree = shapely.STRtree(vor)
        f, c = tree.query(inner[rest], predicate="intersects")
        f, first = np.unique(f, return_index=True)
        label[rest[f]] = vor_label[c[first]]
        lost = rest[label[rest] < 0]  # beyond the diagram (cannot happen): the nearest cell
        if len(lost):
            f, c = tree.query_nearest(inner[lost])
            label[lost[f]] = vor_label[c]
    return label, in_foot


def _pieces(label: np.ndarray, fi: np.ndarray, fj: np.ndarray) -> np.ndarray:
    """A piece number per face: faces of one label joined by shared edges share a piece
    (label propagation over the face graph, smallest face index wins)."""
    piece = np.arange(len(label))
    same = label[fi] == label[fj]
    a, b = fi[same], fj[same]
    while len(a):
        low = np.minimum(piece[a], piece[b])
        if (piece[a] == low).all() and (piece[b] == low).all():
            break
        np.minimum.at(piece, a, low)
        np.minimum.at(piece, b, low)
        piece = piece[piece]  # follow the chains at once
    return piece


def gather_strays(label: np.ndarray, in_foot: np.ndarray, area: np.ndarray,
                  pairs: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """Labels where each unit's faces are connected: a connected piece holding none of the
    unit's footprint faces (the largest piece stays when none holds any) joins the
    neighbouring unit it shares the longest edge with."""
    label = label.copy()
    fi, fj, length = pairs
    for _ in range(STRAY_ROUNDS):
        valid = label >= 0
        piece = _pieces(label, fi, fj)
        roots = np.unique(piece[valid])
        if len(roots) == len(np.unique(label[valid])):
            break  # one piece per unit
        held = np.zeros(len(label), dtype=bool)
        np.logical_or.at(held, piece[in_foot & valid], True)
        size = np.bincount(piece, weights=area, minlength=len(label))
        keep = held.copy()
        for u in np.unique(label[valid]).tolist():
            mine = np.unique(piece[label == u])
            if not held[mine].any():
                keep[mine[int(np.argmax(size[mine]))]] = True
        stray = valid & ~keep[piece]
        across = stray[fi] != stray[fj]
        across |= stray[fi] & stray[fj] & (piece[fi] != piece[fj])
        moved = False
        edge: dict[int, dict[int, float]] = {}
        for i, j, w in zip(fi[across].tolist(), fj[across].tolist(), length[across].tolist(),
                           strict=True):
            for s, o in ((i, j), (j, i)):
                if stray[s] and label[o] >= 0 and label[o] != label[s]:
                    into = edge.setdefault(int(piece[s]), {})
                    into[int(label[o])] = into.get(int(label[o]), 0.0) + w
        for p, into in sorted(edge.items()):
            label[piece == p] = max(sorted(into), key=into.get)
            moved = True
        if not moved:
            break
    return label


def cell_adjacency(label: np.ndarray, pairs: tuple[np.ndarray, np.ndarray, np.ndarray],
                   n: int) -> list[dict[int, float]]:
    """Neighbouring units with the length of the edge their cells share (> 0)."""
    fi, fj, length = pairs
    a, b = label[fi], label[fj]
    keep = (a != b) & (a >= 0) & (b >= 0)
    lo, hi = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep])
    adj: list[dict[int, float]] = [{} for _ in range(n)]
    if not len(lo):
        return adj
    key, inverse = np.unique(lo * n + hi, return_inverse=True)
    total = np.bincount(inverse.reshape(-1), weights=length[keep])
    for k, w in zip(key.tolist(), total.tolist(), strict=True):
        i, j = divmod(k, n)
        if w > 0:
            adj[i][j] = w
            adj[j][i] = w
    return adj


def union_by_label(faces: np.ndarray, label: np.ndarray, n: int) -> np.ndarray:
    """The coverage union of the faces of each label 0..n-1 (empty polygon: none)."""
    order = np.argsort(label, kind="stable")
    bounds = np.searchsorted(label[order], np.arange(n + 1))
    out = np.empty(n, dtype=object)
    for u in range(n):
        group = faces[order[bounds[u]:bounds[u + 1]]]
        if len(group) == 1:
            out[u] = group[0]
        elif len(group):
            try:
                out[u] = shapely.coverage_union_all(group)
            except shapely.errors.GEOSException:  # degenerate pieces (co-circular points)
                out[u] = shapely.union_all(group, grid_size=1e-9)
        else:
            out[u] = shapely.Polygon()
    return out
