"""The unit graph of a parent, built once in a few GEOS calls and measured in numpy.

Footprints are grouped into units (overlapping footprints always go together: one relate per
pair of overlapping envelopes) and sampled: representative points and outlines every
SPACING_M, pulled slightly inside (gis.partition.cells.sample_points). One Voronoi diagram of
the samples (ordered like them) gives each unit its region, the union of its samples' cells,
assembled from the cells' edges in numpy (gis.partition.regions); only the regions crossing
the parent's outline are overlaid with it. Every edge of every piece is then matched with its
twin in numpy (the same two vertices, rounded to ROUND_M): an edge with a twin in another
unit's piece is shared by the two units, an edge without one lies on the parent's outline. So
each unit gets its area, its perimeter and its shared length with every neighbour without one
overlay per pair, and a group of units has area sum(area), perimeter sum(perimeter) - 2 *
sum(shared inside) - all that a search over assignments needs (gis.partition.graph). The
polygons are made once, at the end, as the coverage union of the pieces per part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis.partition.cells import polygonal, polygonal_all, sample_points_many
from gis.partition.regions import unit_regions

SPACING_M = 8.0
SIMPLIFY_M = 0.3  # footprints' outlines simplified before sampling (fewer Voronoi sites)
POLYGONAL = ("Polygon", "MultiPolygon")
REGIONS = True  # pieces are the units' regions, not the samples' cells
ROUND_M = 1e-4  # 0.1 mm: x and y of a city-wide frame fit one int64 key


@dataclass
class CellGraph:
    """Units of one parent (metres): unit_of[b] is building b's unit; per unit its area,
    perimeter, households and representative point; the shared edges as arrays (a, b, length)
    with a < b; the pieces tiling the parent (point_cells: the units' regions, clipped, or a
    unit's samples' cells where its region could not be assembled) and the unit of each
    (point_unit)."""

    unit_of: np.ndarray
    area: np.ndarray
    perimeter: np.ndarray
    households: np.ndarray
    xy: np.ndarray
    edge_a: np.ndarray
    edge_b: np.ndarray
    edge_len: np.ndarray
    point_unit: np.ndarray
    point_cells: np.ndarray

    @property
    def n(self) -> int:
        return len(self.area)

    def neighbours(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Each unit's neighbours (sharing an edge of positive length) and the length shared
        with each."""
        a = np.concatenate([self.edge_a, self.edge_b])
        order = np.argsort(a, kind="stable")
        bounds = np.searchsorted(a[order], np.arange(self.n + 1))
        other = np.concatenate([self.edge_b, self.edge_a])[order]
        length = np.concatenate([self.edge_len, self.edge_len])[order]
        return ([other[bounds[u]:bounds[u + 1]] for u in range(self.n)],
                [length[bounds[u]:bounds[u + 1]] for u in range(self.n)])

    def sums(self, label: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Households, area and perimeter of each of k groups of units (label: each unit's
        group): sums, less twice the edges shared inside a group."""
        inside = label[self.edge_a] == label[self.edge_b]
        inner = np.bincount(label[self.edge_a[inside]], weights=self.edge_len[inside],
                            minlength=k)
        return (np.bincount(label, weights=self.households, minlength=k),
                np.bincount(label, weights=self.area, minlength=k),
                np.bincount(label, weights=self.perimeter, minlength=k) - 2 * inner)

    def polygons(self, part_of_unit: np.ndarray, k: int) -> np.ndarray:
        """The polygon of each of k parts, given each unit's part: the coverage union of its
        pieces (an ordinary union where GEOS finds the coverage invalid)."""
        label = part_of_unit[self.point_unit]
        order = np.argsort(label, kind="stable")
        bounds = np.searchsorted(label[order], np.arange(k + 1))
        out = []
        for j in range(k):
            cells = self.point_cells[order[bounds[j]:bounds[j + 1]]]
            if len(cells) == 1:
                out.append(cells[0])
                continue
            try:
                geom = shapely.coverage_union_all(cells)
            except shapely.errors.GEOSException:  # pieces not noded alike
                geom = shapely.Polygon()
            if geom.is_empty or not geom.is_valid or geom.geom_type not in POLYGONAL:
                geom = polygonal(shapely.union_all(cells))
            out.append(geom)
        return np.asarray(out, dtype=object)


def _units(foot: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Unit index per footprint, numbered within its parent (`parent`: each footprint's, the
    footprints in the parents' order): footprints of one parent whose interiors overlap
    share a unit (as gis.partition.cells.footprint_units, asked with one relate per pair of
    overlapping envelopes instead of an overlay per pair of intersecting footprints)."""
    n = len(foot)
    root = np.arange(n)
    polys = np.flatnonzero(shapely.area(foot) > 0)
    if len(polys) >= 2:
        a, b = _envelope_pairs(foot[polys], parent[polys])
        keep = a < b
        a, b = polys[a[keep]], polys[b[keep]]
        over = shapely.relate_pattern(foot[a], foot[b], "2********")  # interiors share area
        for i, j in zip(a[over].tolist(), b[over].tolist(), strict=True):
            while root[i] != i:
                i = root[i]
            while root[j] != j:
                j = root[j]
            root[max(i, j)] = min(i, j)
        while not np.array_equal(root, root[root]):
            root = root[root]
    unit = np.unique(root, return_inverse=True)[1].reshape(-1)  # the parents' in turn
    return unit - unit[np.searchsorted(parent, parent)]


def _envelope_pairs(geoms: np.ndarray, parent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j) of `geoms` of one parent whose envelopes meet (both ways round, each with
    itself). Parents in their local frames lie on top of one another, so each one's
    envelopes are moved along x by its index times more than all of them span before one
    tree is asked (a move only rounds the bounds monotonically: no meeting pair is lost, and
    a pair it makes meet is only asked one predicate more)."""
    bounds = shapely.bounds(geoms)
    if not len(geoms) or parent[0] == parent[-1]:
        tree = shapely.STRtree(geoms)
        return tree.query(geoms)
    span = float(np.nanmax(bounds[:, 2]) - np.nanmin(bounds[:, 0])) + 1.0
    shift = parent * (2.0 * span)
    boxes = shapely.box(bounds[:, 0] + shift, bounds[:, 1], bounds[:, 2] + shift, bounds[:, 3])
    return shapely.STRtree(boxes).query(boxes)


_POINT = np.dtype([("order", "u1"), ("kind", "<u4"), ("x", "<f8"), ("y", "<f8")])
_HEAD = np.dtype([("order", "u1"), ("kind", "<u4"), ("count", "<u4")])


def multipoints_of(xy: np.ndarray, where: np.ndarray, n: int) -> np.ndarray:
    """One MultiPoint per group 0..n-1 of the points `xy` (`where`: each point's group,
    ascending, every group holding one at least), the same geometries as
    shapely.multipoints(xy, indices=where) but read from WKB written in numpy, without a
    Point object per point (those cost 0.40 ms a Monaco grid, these 0.15)."""
    count = np.bincount(where, minlength=n)
    body = np.empty(len(xy), _POINT)
    body["order"], body["kind"] = 1, 1  # little-endian Point
    body["x"], body["y"] = xy[:, 0], xy[:, 1]
    head = np.empty(n, _HEAD)
    head["order"], head["kind"], head["count"] = 1, 4, count  # little-endian MultiPoint
    points, heads = body.tobytes(), head.tobytes()
    end = np.cumsum(count) * _POINT.itemsize
    start = end - count * _POINT.itemsize
    wkb = np.empty(n, dtype=object)
    for g in range(n):
        wkb[g] = heads[g * _HEAD.itemsize:(g + 1) * _HEAD.itemsize] + points[start[g]:end[g]]
    return shapely.from_wkb(wkb)


def _clipped_regions(parents: np.ndarray, xy: np.ndarray, label: np.ndarray,
                     where: np.ndarray, unit_parent: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Pieces tiling each parent and the unit of each (`label`: each sample point's unit,
    numbered across parents; `where`: each point's parent, an index into `parents`, the
    points in the parents' order; `unit_parent`: each unit's): the units' regions in the
    Voronoi diagram of the parent's sample points (gis.partition.regions), those crossing
    the parent's outline clipped to it; the pieces in the parents' order, within a parent
    as alone."""
    points = multipoints_of(xy, where, len(parents))
    vor = shapely.get_parts(shapely.voronoi_polygons(points, extend_to=parents, ordered=True))
    if REGIONS:
        out, label = unit_regions(np.asarray(vor, dtype=object), label)
        order = np.argsort(unit_parent[label], kind="stable")  # regions, then cells, a parent
        out, label = out[order], label[order]
    else:
        out = np.asarray(vor, dtype=object).copy()
    shapely.prepare(parents)
    outline = parents[unit_parent[label]]
    crossing = ~shapely.contains(outline, out)
    if crossing.any():
        out[crossing] = polygonal_all(shapely.intersection(out[crossing], outline[crossing]))
    return out, label


def _vertex_keys(xy: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """One int64 key per distinct vertex of a parent (coordinates rounded to ROUND_M from the
    parent's lowest x and y; `parent`: each row's, ascending)."""
    if not len(xy):
        return np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, parent[1:] != parent[:-1]])
    low = np.minimum.reduceat(xy, starts, axis=0)
    first = np.searchsorted(parent[starts], parent)
    grid = np.round((xy - low[first]) / ROUND_M).astype(np.int64)
    height = np.maximum.reduceat(grid[:, 1], starts)[first] + 1
    return grid[:, 0] * height + grid[:, 1]


def _twins(pieces: np.ndarray, piece_parent: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The pieces' edges matched with their twins in the same parent (`piece_parent`: each
    piece's, ascending): pairs of pieces (a, b) sharing an edge of length w (one row per
    matched edge, a parent's rows in turn), and per piece its outline length. An edge is
    matched when exactly one other edge of its parent has the same two (rounded) ends: one
    sort of the edges by their parent and ends."""
    ring_geoms, ring_piece = shapely.get_rings(pieces, return_index=True)
    coords, ring_idx = shapely.get_coordinates(ring_geoms, return_index=True)
    same = ring_idx[:-1] == ring_idx[1:]
    p, q = coords[:-1][same], coords[1:][same]
    piece = ring_piece[ring_idx[:-1][same]]
    length = np.hypot(*(q - p).T)
    keep = length > 0
    p, q, piece, length = p[keep], q[keep], piece[keep], length[keep]
    edge_parent = piece_parent[piece]
    both = np.concatenate([edge_parent, edge_parent])
    order = np.argsort(both, kind="stable")  # p's then q's of a parent, as alone
    vertex = np.empty(len(both), np.int64)
    vertex[order] = _vertex_keys(np.vstack([p, q])[order], both[order])
    vp, vq = vertex[:len(p)], vertex[len(p):]
    lo, hi = np.minimum(vp, vq), np.maximum(vp, vq)
    order = np.lexsort((hi, lo, edge_parent))
    slo, shi, spa = lo[order], hi[order], edge_parent[order]
    start = np.flatnonzero(np.r_[True, (slo[1:] != slo[:-1]) | (shi[1:] != shi[:-1])
                                 | (spa[1:] != spa[:-1])])
    size = np.diff(np.r_[start, len(order)])
    first, second = order[start[size == 2]], order[start[size == 2] + 1]
    outline = np.bincount(piece, weights=length, minlength=len(pieces))
    return piece[first], piece[second], length[first], outline


def connected_components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected component (its smallest member) of each of n nodes joined by edges a-b."""
    comp = np.arange(n)
    while True:
        nxt = comp.copy()
        np.minimum.at(nxt, a, comp[b])
        np.minimum.at(nxt, b, comp[a])
        nxt = nxt[nxt]
        if np.array_equal(nxt, comp):
            return comp
        comp = nxt


def _gather_strays(label: np.ndarray, area: np.ndarray, a: np.ndarray, b: np.ndarray,
                   w: np.ndarray) -> np.ndarray:
    """Pieces' units such that each unit's pieces are connected: a group of pieces cut off
    from its unit's largest group joins the unit it shares the longest edge with."""
    for _ in range(4):
        own = label[a] == label[b]
        comp = connected_components(len(label), a[own], b[own])
        comp_area = np.bincount(comp, weights=area, minlength=len(label))
        roots = np.flatnonzero(np.bincount(comp, minlength=len(label)))
        order = roots[np.lexsort((-comp_area[roots], label[roots]))]
        main = order[np.r_[True, label[order][1:] != label[order][:-1]]]
        stray = np.ones(len(label), bool)
        stray[main] = False
        stray = stray[comp]
        if not stray.any():
            return label
        cross = ~own
        ca, cb, cw = comp[a[cross]], comp[b[cross]], w[cross]
        out_a, out_b = np.r_[ca, cb], np.r_[label[b[cross]], label[a[cross]]]
        ww = np.r_[cw, cw]
        sel = stray[np.r_[a[cross], b[cross]]]
        if not sel.any():
            return label
        key = out_a[sel] * (int(label.max()) + 1) + out_b[sel]
        uniq, inv = np.unique(key, return_inverse=True)
        total = np.bincount(inv.reshape(-1), weights=ww[sel])
        best_comp, best_unit = uniq // (int(label.max()) + 1), uniq % (int(label.max()) + 1)
        pick = np.lexsort((-total, best_comp))
        first = pick[np.r_[True, best_comp[pick][1:] != best_comp[pick][:-1]]]
        target = dict(zip(best_comp[first].tolist(), best_unit[first].tolist(), strict=True))
        moved = np.flatnonzero(stray & np.isin(comp, list(target)))
        if not len(moved):
            return label
        label = label.copy()
        label[moved] = [target[c] for c in comp[moved].tolist()]
    return label


def unit_edges(label: np.ndarray, a: np.ndarray, b: np.ndarray, w: np.ndarray,
                outline: np.ndarray, n: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per unit its perimeter, and the edges (a < b, length) shared between units."""
    ua, ub = label[a], label[b]
    inner = np.bincount(ua[ua == ub], weights=w[ua == ub], minlength=n)
    perimeter = np.bincount(label, weights=outline, minlength=n) - 2 * inner
    between = ua != ub
    lo, hi, lengths = np.minimum(ua, ub)[between], np.maximum(ua, ub)[between], w[between]
    if len(lo):
        uniq, inv = np.unique(lo * n + hi, return_inverse=True)
        lengths = np.bincount(inv.reshape(-1), weights=lengths)
        lo, hi = uniq // n, uniq % n
    return perimeter, lo.astype(np.int64), hi.astype(np.int64), lengths


def _hosted(unit: np.ndarray, label: np.ndarray, present: np.ndarray, foot: np.ndarray,
            xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Units renumbered so that a unit without samples joins the unit of the sample nearest
    to its footprint."""
    host = np.arange(len(present))
    reps = shapely.get_coordinates(shapely.point_on_surface(foot))
    for u in np.flatnonzero(~present).tolist():
        b = int(np.flatnonzero(unit == u)[0])
        host[u] = label[int(np.argmin(np.hypot(*(xy - reps[b]).T)))]
    keep = np.flatnonzero(present)
    renumber = np.full(len(present), -1)
    renumber[keep] = np.arange(len(keep))
    return renumber[host[unit]], renumber[label], len(keep)


def cell_graph(parent: BaseGeometry, foot: np.ndarray, households: np.ndarray,
               spacing: float = SPACING_M) -> CellGraph:
    """The unit graph of `parent` (metres) for footprints `foot` (metres, points allowed) with
    their households (see the module docstring), outlines sampled every `spacing` metres."""
    return cell_graphs([parent], [foot], [households], spacing)[0]


def cell_graphs(parents: list[BaseGeometry], feet: list, households: list,
                spacing: float = SPACING_M) -> list[CellGraph]:
    """`cell_graph` of many parents at once, each with its footprints and households: the
    same graphs as one by one, for one call per step over all of them (the split job's
    batches: gis.partition.engines.splitter_many)."""
    feet = [np.asarray(f, dtype=object) for f in feet]
    count = np.asarray([len(f) for f in feet], dtype=np.int64)
    foot = np.concatenate(feet) if len(feet) else np.zeros(0, dtype=object)
    owner = np.repeat(np.arange(len(feet)), count)  # each footprint's parent
    h = np.concatenate([np.asarray(x).reshape(-1) for x in households]) if len(feet) else []
    unit = _units(foot, owner)
    simple = shapely.simplify(foot, SIMPLIFY_M) if SIMPLIFY_M > 0 else foot
    simple = np.where(shapely.is_empty(simple), foot, simple)
    n = np.zeros(len(feet), np.int64)
    np.maximum.at(n, owner, unit + 1)
    first_unit = np.concatenate([[0], np.cumsum(n)])
    xy, label, where = sample_points_many(simple, unit + first_unit[owner], owner, spacing)
    local = label - first_unit[where]
    present = np.bincount(label, minlength=int(first_unit[-1])) > 0
    absent = np.repeat(np.arange(len(feet)), n)[~present]  # parents of units all of whose
    for g in np.unique(absent).tolist():  # samples another unit's matched
        mine, points = owner == g, where == g
        if points.any():
            unit[mine], local[points], n[g] = _hosted(
                unit[mine], local[points], present[first_unit[g]:first_unit[g + 1]],
                foot[mine], xy[points])
    first_unit = np.concatenate([[0], np.cumsum(n)])
    label = local + first_unit[where]
    global_unit = unit + first_unit[owner]
    hh = np.bincount(global_unit, weights=h, minlength=int(first_unit[-1])).astype(np.int64)
    rep = np.zeros((int(first_unit[-1]), 2))
    np.add.at(rep, global_unit, shapely.get_coordinates(shapely.point_on_surface(foot)))
    rep /= np.maximum(np.bincount(global_unit, minlength=len(rep)), 1)[:, None]
    sampled = np.bincount(where, minlength=len(feet))
    whole = (n == 1) | (sampled < 3)  # one unit, or too few points: the parent is the piece
    graphs: list[CellGraph | None] = [None] * len(feet)
    for g in np.flatnonzero(whole).tolist():
        parent = parents[g]
        graphs[g] = CellGraph(np.zeros(count[g], np.int64), np.array([parent.area]),
                              np.array([parent.length]),
                              np.array([hh[first_unit[g]:first_unit[g + 1]].sum()]),
                              rep[first_unit[g]:first_unit[g] + 1], np.zeros(0, np.int64),
                              np.zeros(0, np.int64), np.zeros(0), np.zeros(1, np.int64),
                              np.asarray([parent], dtype=object))
    if whole.all():
        return graphs
    drawn = np.flatnonzero(~whole)
    pick = ~whole[where]
    unit_parent = np.repeat(np.arange(len(feet)), n)
    batch = np.full(len(feet), -1)
    batch[drawn] = np.arange(len(drawn))
    cells, label = _clipped_regions(np.asarray([parents[g] for g in drawn], dtype=object),
                                    xy[pick], label[pick], batch[where[pick]],
                                    batch[unit_parent])
    pieces = shapely.get_parts(cells)
    label = label[np.repeat(np.arange(len(cells)), shapely.get_num_geometries(cells))]
    piece_parent = unit_parent[label]
    piece_area = shapely.area(pieces)
    a, b, w, outline = _twins(pieces, piece_parent)
    label = _gather_strays(label, piece_area, a, b, w)
    units = int(first_unit[-1])
    area = np.bincount(label, weights=piece_area, minlength=units)
    perimeter, ea, eb, lengths = unit_edges(label, a, b, w, outline, units)
    piece_at = np.searchsorted(piece_parent, np.arange(len(feet) + 1))
    edge_at = np.searchsorted(unit_parent[ea], np.arange(len(feet) + 1))
    foot_at = np.concatenate([[0], np.cumsum(count)])
    for g in drawn.tolist():
        u0, u1, e0, e1 = first_unit[g], first_unit[g + 1], edge_at[g], edge_at[g + 1]
        graphs[g] = CellGraph(unit[foot_at[g]:foot_at[g + 1]], area[u0:u1], perimeter[u0:u1],
                              hh[u0:u1], rep[u0:u1], ea[e0:e1] - u0, eb[e0:e1] - u0,
                              lengths[e0:e1], label[piece_at[g]:piece_at[g + 1]] - u0,
                              pieces[piece_at[g]:piece_at[g + 1]])
    return graphs
