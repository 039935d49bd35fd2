"""Building cells: a tiling of a parent by one cell per building, for assignment-first splits.

Points are sampled on every footprint (its representative point and its outline, densified
every SPACING_M and pulled INSET_M towards the footprint's centre so that two footprints
sharing a wall give two rows of points with the wall between them); one Voronoi diagram of all
the points (one GEOS call per parent) is clipped to the parent and its cells are unioned per
building. Overlapping footprints, and buildings whose points all coincide with another's, form
one unit (they always go to the same part). Every unit's cell then holds its whole footprint:
the rare pieces of a footprint that fell into another cell are added to its own and taken from
the other. Pieces of a cell cut off by a concave parent (holding none of its footprints) join
the neighbouring cell they share the longest edge with, so each cell is one polygon. The cells
tile the parent (land without buildings belongs to the nearest building's cell), and two units
are neighbours when their cells share an edge of positive length: a connected set of units has
a single polygon as its union.

With FACES set, the cells come instead from one noding of the regions' edges and the
footprints' outlines (gis.partition.faces): every footprint whole in its cell by construction,
shared edges matched vertex for vertex, no overlay per cell (about half the CPU of this
construction on real blocks). It is off by default: the growth engine's micro-grids come out
slightly less compact on it (see docs/split-rounds.md, "Growth").

Everything is computed in a local metric frame (metres), so areas, perimeters and shared edge
lengths are what Polsby-Popper needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis.partition import faces as faces_of

SPACING_M = 3.0
INSET_M = 0.05
JITTER_M = 1e-3  # breaks ties between co-circular points (regular rows of houses)
TINY_M2 = 0.0
GRID_M = 1e-9
SIMPLIFY_M = 0.5
HOLE_M2 = 1e-4
FACES = False  # build cells from faces (gis.partition.faces) instead of overlays per cell
EXACT_LENGTHS = False  # T-junction edges paired by projection (_lone_lengths), not overlays
ON_LINE_M = 1e-6  # an edge this near the parent's boundary lies on it
POLYGONAL = (3, 6)  # shapely.GeometryType POLYGON, MULTIPOLYGON


@dataclass
class Cells:
    """Unit cells of one parent, in metres: unit_of[b] is building b's unit; per unit its
    area, perimeter, households and centroid; adj[u] maps each neighbour to the shared length.
    Cells built from faces (FACES) keep them with their unit (face_unit) and make a cell's
    polygon only when asked (`cells`); their unions are coverage unions of faces."""

    unit_of: np.ndarray
    geoms: np.ndarray | None
    area: np.ndarray
    perimeter: np.ndarray
    households: np.ndarray
    centroid: np.ndarray
    adj: list[dict[int, float]]
    members: list[np.ndarray]
    outline: BaseGeometry | None = None  # the parent's boundary
    faces: np.ndarray | None = None
    face_unit: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.area)

    @property
    def cells(self) -> np.ndarray:
        """Each unit's cell (made from the faces on first use)."""
        if self.geoms is None:
            self.geoms = polygonal_all(faces_of.union_by_label(self.faces, self.face_unit,
                                                               self.n))
        return self.geoms

    def unions(self, groups: list[np.ndarray]) -> np.ndarray:
        """The union of the cells of each group of units (`union_of`)."""
        if self.faces is None:
            return np.asarray([union_of(self.cells[g]) for g in groups], dtype=object)
        group = np.full(self.n, -1, dtype=np.int64)
        for j, g in enumerate(groups):
            group[g] = j
        of_face = group[self.face_unit]
        held = of_face >= 0
        out = faces_of.union_by_label(self.faces[held], of_face[held], len(groups))
        return np.asarray([without_hairlines(g) for g in polygonal_all(out)], dtype=object)


def footprint_units(foot: np.ndarray) -> np.ndarray:
    """Unit index per footprint: footprints whose interiors overlap share a unit."""
    root = list(range(len(foot)))

    def find(i: int) -> int:
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    polys = np.flatnonzero(shapely.area(foot) > 0)
    if len(polys) > 1:
        tree = shapely.STRtree(foot[polys])
        a, b = tree.query(foot[polys], predicate="intersects")
        keep = a < b
        a, b = polys[a[keep]], polys[b[keep]]
        inter = shapely.area(shapely.intersection(foot[a], foot[b]))
        for i, j in zip(a[inter > TINY_M2].tolist(), b[inter > TINY_M2].tolist(), strict=True):
            root[find(i)] = find(j)
    labels = np.array([find(i) for i in range(len(foot))], dtype=np.int64)
    _, unit = np.unique(labels, return_inverse=True)
    return unit.reshape(-1)


def sample_points(foot: np.ndarray, unit: np.ndarray, spacing: float | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Sample points (metres) and the unit of each: representative points, and outlines
    densified every `spacing` (SPACING_M) and pulled slightly inside (see the module
    docstring)."""
    xy, label, _ = sample_points_many(foot, unit, np.zeros(len(foot), np.int64), spacing)
    return xy, label


def sample_points_many(foot: np.ndarray, unit: np.ndarray, parent: np.ndarray,
                       spacing: float | None = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`sample_points` of the footprints of many parents at once (`parent`: each footprint's,
    the footprints in the parents' order): each parent's points as it gets them alone (its
    representative points, then its outlines' samples, a point met twice kept once, the
    jitter drawn afresh), parents in turn, with each point's unit and parent."""
    reps = shapely.get_coordinates(shapely.point_on_surface(foot))
    rings = shapely.segmentize(shapely.get_exterior_ring(shapely.get_parts(foot)),
                               spacing or SPACING_M)
    part_owner = np.repeat(np.arange(len(foot)), shapely.get_num_geometries(foot))
    coords, ring_idx = shapely.get_coordinates(rings, return_index=True)
    ok = ~np.isnan(coords).any(axis=1) if len(coords) else np.zeros(0, bool)
    coords, owner = coords[ok], part_owner[ring_idx[ok]]
    centre = shapely.get_coordinates(shapely.centroid(foot))
    toward = centre[owner] - coords
    dist = np.hypot(toward[:, 0], toward[:, 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.where(dist > 2 * INSET_M, INSET_M / dist, 0.0)
    coords = coords + toward * step[:, None]
    order = np.argsort(np.concatenate([parent, parent[owner]]), kind="stable")
    xy = np.vstack([reps, coords])[order]
    label = np.concatenate([unit, unit[owner]])[order]
    where = np.concatenate([parent, parent[owner]])[order]
    rounded = np.round(xy, 6)
    by_value = np.lexsort((rounded[:, 1], rounded[:, 0], where))  # stable: first kept
    v, w = rounded[by_value], where[by_value]
    new = np.ones(len(v), bool)
    new[1:] = (w[1:] != w[:-1]) | (v[1:, 0] != v[:-1, 0]) | (v[1:, 1] != v[:-1, 1])
    first = np.sort(by_value[new])
    xy, label, where = xy[first], label[first], where[first]
    starts = np.searchsorted(where, where)  # each point's rank within its parent's
    rank = np.arange(len(where)) - starts
    jitter = np.random.default_rng(0).uniform(-JITTER_M, JITTER_M,
                                              (int(rank.max()) + 1 if len(rank) else 0, 2))
    return xy + jitter[rank], label, where


def single_polygon(geom: BaseGeometry) -> BaseGeometry:
    """`geom`, or its Polygon where it is a MultiPolygon of one piece (as a parent read from
    a file often is): the passes and checks work on one polygon."""
    if geom.geom_type == "MultiPolygon" and len(geom.geoms) == 1:
        return geom.geoms[0]
    return geom


def polygonal(geom: BaseGeometry) -> BaseGeometry:
    """The polygons of `geom` (lines and points left by overlays dropped)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    polys = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and p.area > 0]
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def polygonal_all(geoms: np.ndarray) -> np.ndarray:
    """`polygonal` of every geometry that is not already a (Multi)Polygon."""
    geoms = np.asarray(geoms, dtype=object).copy()
    odd = ~np.isin(shapely.get_type_id(geoms), POLYGONAL)
    if odd.any():
        geoms[odd] = [polygonal(g) for g in geoms[odd]]
    return geoms


def _simplified(cells: np.ndarray) -> np.ndarray:
    """Cells with fewer vertices: the chains of short Voronoi edges between two cells are
    simplified together (coverage simplification, the parent's outline kept)."""
    try:
        simple = shapely.coverage_simplify(cells, SIMPLIFY_M, simplify_boundary=False)
    except shapely.errors.GEOSException:
        return cells
    if not shapely.is_valid(simple).all():
        return cells
    return polygonal_all(shapely.set_precision(simple, GRID_M))


def _own_footprints(cells: np.ndarray, foot: np.ndarray, unit: np.ndarray,
                    parent: BaseGeometry) -> np.ndarray:
    """Cells in which every footprint lies wholly in its own unit's cell: a cell holding part
    of another unit's footprint loses all such footprints at once, and each unit concerned
    takes its footprints (within the parent) whole. Overlays are snapped to GRID_M, so what
    one cell loses and another takes match and the cells still tile the parent."""
    tree = shapely.STRtree(cells)
    b, c = tree.query(foot, predicate="intersects")
    foreign = unit[b] != c
    b, c = b[foreign], c[foreign]
    if len(b):
        hit = shapely.relate_pattern(cells[c], foot[b], "2********")  # interiors share area
        b, c = b[hit], c[hit]
    if not len(b):
        return cells
    cells = cells.copy()
    for ci in np.unique(c).tolist():
        taken = shapely.union_all(foot[b[c == ci]], grid_size=GRID_M)
        cells[ci] = polygonal(shapely.difference(cells[ci], taken, grid_size=GRID_M))
    for u in np.unique(unit[b]).tolist():
        mine = shapely.intersection(shapely.union_all(foot[unit == u], grid_size=GRID_M),
                                    parent, grid_size=GRID_M)
        cells[u] = polygonal(shapely.union(cells[u], polygonal(mine), grid_size=GRID_M))
    return cells


def _polygons(geom: BaseGeometry) -> list:
    return [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and p.area > 0]


def _shared(a: BaseGeometry, b: BaseGeometry) -> float:
    return float(shapely.length(shapely.intersection(a.boundary, b.boundary)))


def _gather_strays(cells: np.ndarray, foot: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """Cells made single polygons: pieces holding no part of the unit's footprints join the
    neighbouring cell that shares the longest edge with them."""
    cells = cells.copy()
    for _ in range(3):
        moved = False
        for u in range(len(cells)):
            pieces = _polygons(cells[u])
            if len(pieces) <= 1:
                if len(pieces) == 1:
                    cells[u] = pieces[0]
                continue
            own = shapely.union_all(foot[unit == u])
            held = [bool(shapely.area(shapely.intersection(p, own)) > 0) for p in pieces]
            if not any(held):
                held[int(np.argmax([p.area for p in pieces]))] = True
            keep = [p for p, h in zip(pieces, held, strict=True) if h]
            tree = shapely.STRtree(cells)
            for piece, h in zip(pieces, held, strict=True):
                if h:
                    continue
                near = [int(j) for j in tree.query(piece, predicate="intersects") if j != u]
                edge = [_shared(piece, cells[j]) for j in near]
                if not near or max(edge) <= 0:
                    keep.append(piece)
                    continue
                j = near[int(np.argmax(edge))]
                cells[j] = shapely.union(cells[j], piece, grid_size=GRID_M)
                moved = True
            cells[u] = keep[0] if len(keep) == 1 else shapely.union_all(keep, grid_size=GRID_M)
        if not moved:
            break
    return cells


def _overlay_lengths(cells: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return shapely.length(shapely.intersection(shapely.boundary(cells[a]),
                                               shapely.boundary(cells[b])))


def _lone_lengths(seg: np.ndarray, cell: np.ndarray) -> dict[tuple[int, int], float]:
    """Length each pair of cells shares along edges that no other cell repeats vertex for
    vertex (`seg`, rows x1, y1, x2, y2, with their cell): T-junctions, and ends that snapped
    overlays left a nanometre apart. Two such edges of different cells are collinear when
    both ends of one lie within ON_LINE_M of the other's line; they share the overlap of
    their extents along it (a projection, no overlay)."""
    lines = shapely.linestrings(seg.reshape(-1, 2, 2))
    a, b = shapely.STRtree(lines).query(lines, predicate="dwithin", distance=ON_LINE_M)
    keep = (a < b) & (cell[a] != cell[b])
    a, b = a[keep], b[keep]
    if not len(a):
        return {}
    p0, d = seg[b, :2], seg[b, 2:] - seg[b, :2]
    span = np.hypot(d[:, 0], d[:, 1])
    u = d / np.where(span > 0, span, 1.0)[:, None]
    q0, q1 = seg[a, :2] - p0, seg[a, 2:] - p0
    off0 = np.abs(u[:, 0] * q0[:, 1] - u[:, 1] * q0[:, 0])
    off1 = np.abs(u[:, 0] * q1[:, 1] - u[:, 1] * q1[:, 0])
    s0 = (u * q0).sum(axis=1)
    s1 = (u * q1).sum(axis=1)
    overlap = np.minimum(np.maximum(s0, s1), span) - np.maximum(np.minimum(s0, s1), 0.0)
    ok = (off0 <= ON_LINE_M) & (off1 <= ON_LINE_M) & (overlap > 0) & (span > 0)
    out: dict[tuple[int, int], float] = {}
    for i, j, w in zip(cell[a[ok]].tolist(), cell[b[ok]].tolist(), overlap[ok].tolist(),
                       strict=True):
        key = (i, j) if i < j else (j, i)
        out[key] = out.get(key, 0.0) + w
    return out


def _adjacency(cells: np.ndarray, outline: BaseGeometry | None = None
               ) -> list[dict[int, float]]:
    """Neighbours of each cell with the length of the edge they share (> 0).

    Edges that two cells share vertex for vertex are matched by their ends (a sort, no
    geometry). A cell with an edge matched by no other cell and not on `outline` (the
    parent's boundary; None: unknown) meets a neighbour along edges noded differently on
    each side (a T-junction left by an overlay): its shared lengths are measured by overlays
    of the outlines, as before, so the lengths are the same either way. Such overlays read
    edges short wherever the two sides are not exactly collinear (ends snapped a nanometre
    apart); with EXACT_LENGTHS those edges are paired by projection instead
    (`_lone_lengths`), so every length is what the two polygons share within ON_LINE_M."""
    adj: list[dict[int, float]] = [{} for _ in range(len(cells))]
    if len(cells) < 2:
        return adj
    seg, cell, length = faces_of.segments(cells)
    order = np.lexsort(seg.T[::-1])
    seg, cell, length = seg[order], cell[order], length[order]
    twin = (seg[1:] == seg[:-1]).all(axis=1)  # an edge two cells share (or one, twice)
    dup = twin & (cell[1:] != cell[:-1]) & (length[1:] > 0)
    matched = np.zeros(len(seg), dtype=bool)
    matched[1:] |= twin
    matched[:-1] |= twin
    lone = np.flatnonzero(~matched & (length > 0))
    if outline is not None and len(lone):
        mid = (seg[lone, :2] + seg[lone, 2:]) / 2.0
        lone = lone[shapely.distance(outline, shapely.points(mid)) > ON_LINE_M]
    pairs: dict[tuple[int, int], float] = {}
    for i, j, w in zip(cell[:-1][dup].tolist(), cell[1:][dup].tolist(),
                       length[1:][dup].tolist(), strict=True):
        key = (i, j) if i < j else (j, i)
        pairs[key] = pairs.get(key, 0.0) + w
    odd = np.unique(cell[lone])
    if EXACT_LENGTHS and len(odd) > 1:
        for (i, j), w in _lone_lengths(seg[lone], cell[lone]).items():
            pairs[(i, j)] = pairs.get((i, j), 0.0) + w
    elif len(odd):
        tree = shapely.STRtree(cells)
        a, b = tree.query(cells[odd], predicate="intersects")
        a = odd[a]
        keep = a != b
        a, b = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep])
        ab = np.unique(np.column_stack([a, b]), axis=0) if len(a) else np.zeros((0, 2), int)
        for (i, j), w in zip(ab.tolist(), _overlay_lengths(cells, ab[:, 0], ab[:, 1]).tolist(),
                             strict=True):
            pairs[(i, j)] = w
    for (i, j), w in sorted(pairs.items()):
        if w > 0:
            adj[i][j] = w
            adj[j][i] = w
    return adj


def _land_pieces(cell: BaseGeometry, own: BaseGeometry) -> tuple[BaseGeometry, list]:
    """A cell split into its footprints and the land around them, cut in quadrants at the
    footprints' centre (each connected piece on its own)."""
    core = polygonal(shapely.intersection(cell, own, grid_size=GRID_M))
    land = polygonal(shapely.difference(cell, own, grid_size=GRID_M))
    if core.is_empty or land.is_empty:
        return cell, []
    cx, cy = shapely.get_coordinates(shapely.centroid(core))[0]
    minx, miny, maxx, maxy = cell.bounds
    r = 2.0 * max(maxx - minx, maxy - miny, 1.0)
    quads = [shapely.box(cx + dx * r if dx < 0 else cx, cy + dy * r if dy < 0 else cy,
                         cx if dx < 0 else cx + r, cy if dy < 0 else cy + r)
             for dx, dy in ((-1, -1), (1, -1), (-1, 1), (1, 1))]
    pieces = [p for q in quads
              for p in shapely.get_parts(polygonal(shapely.intersection(land, q,
                                                                        grid_size=GRID_M)))
              if p.geom_type == "Polygon" and p.area > HOLE_M2]
    return core, pieces


def _free_land(cells: np.ndarray, foot: np.ndarray, unit: np.ndarray,
               split: np.ndarray) -> np.ndarray:
    """Cells of the `split` units reduced to their footprints, the land around them appended
    as cells of no building (see _land_pieces)."""
    cells = list(cells)
    for u in np.flatnonzero(split).tolist():
        own = shapely.union_all(foot[unit == u])
        if shapely.area(own) <= 0:
            continue
        core, pieces = _land_pieces(cells[u], own)
        if pieces and core.geom_type == "Polygon":
            cells[u] = core
            cells.extend(pieces)
    return np.asarray(cells, dtype=object)


def _made(unit: np.ndarray, cells: np.ndarray, households: np.ndarray, n: int,
          outline: BaseGeometry | None) -> Cells:
    hh = np.bincount(unit, weights=households, minlength=n).astype(np.int64)
    members = [np.flatnonzero(unit == u) for u in range(n)]
    return Cells(unit, cells, shapely.area(cells), shapely.length(cells), hh,
                 shapely.get_coordinates(shapely.centroid(cells)), _adjacency(cells, outline),
                 members, outline)


def _from_faces(unit: np.ndarray, faces: np.ndarray, face_unit: np.ndarray,
                pairs: tuple[np.ndarray, np.ndarray, np.ndarray], households: np.ndarray,
                n: int, outline: BaseGeometry | None) -> Cells:
    """Cells as sets of faces: area and centroid summed over them, perimeter their outlines
    less twice the edges shared within a cell, adjacency the edges shared across cells."""
    fa, fl = shapely.area(faces), shapely.length(faces)
    fc = shapely.get_coordinates(shapely.centroid(faces))
    area = np.bincount(face_unit, weights=fa, minlength=n)
    fi, fj, length = pairs
    inside = face_unit[fi] == face_unit[fj]
    perimeter = (np.bincount(face_unit, weights=fl, minlength=n)
                 - 2.0 * np.bincount(face_unit[fi[inside]], weights=length[inside], minlength=n))
    with np.errstate(divide="ignore", invalid="ignore"):
        centroid = np.column_stack([np.bincount(face_unit, weights=fa * fc[:, k], minlength=n)
                                    for k in (0, 1)]) / area[:, None]
    hh = np.bincount(unit, weights=households, minlength=n).astype(np.int64)
    members = [np.flatnonzero(unit == u) for u in range(n)]
    return Cells(unit, None, area, perimeter, hh, centroid,
                 faces_of.cell_adjacency(face_unit, pairs, n), members, outline, faces,
                 face_unit)


def face_cells(parent: BaseGeometry, foot: np.ndarray, households: np.ndarray) -> Cells:
    """Unit cells of `parent` (metres) for footprints `foot` (metres; points allowed), made
    from faces: the parent cut by the edges between the units' Voronoi regions and by the
    footprints' outlines, each face given to its footprint's unit or its region's
    (gis.partition.faces). Same sampling, units and guarantees as `building_cells`."""
    foot = np.asarray(foot, dtype=object)
    unit = footprint_units(foot)
    n = int(unit.max()) + 1
    xy, label = sample_points(foot, unit)
    outline = shapely.boundary(parent)
    if len(xy) < 2 or n == 1:
        return _made(np.zeros(len(foot), dtype=np.int64), np.asarray([parent], dtype=object),
                     households, 1, outline)
    vor = polygonal_all(shapely.get_parts(shapely.voronoi_polygons(
        shapely.multipoints(xy), extend_to=parent, ordered=True)))
    edges = faces_of.region_edges(vor, label, SIMPLIFY_M)
    faces = faces_of.plane_faces(parent, edges, foot[shapely.area(foot) > 0], GRID_M)
    pairs = faces_of.shared_edges(faces)
    face_unit, in_foot = faces_of.face_labels(faces, vor, label, foot, unit)
    face_unit = faces_of.gather_strays(face_unit, in_foot, shapely.area(faces), pairs)
    held = np.bincount(face_unit[face_unit >= 0], minlength=n) > 0
    if not held.all():  # a unit every point of which another unit took: it joins that unit
        keep = np.flatnonzero(held)
        renumber = np.full(n, -1)
        renumber[keep] = np.arange(len(keep))
        reps = shapely.point_on_surface(foot)
        host = unit.copy()
        for b in np.flatnonzero(~held[unit]).tolist():
            host[b] = face_unit[int(np.argmin(shapely.distance(faces, reps[b])))]
        unit, n = renumber[host], len(keep)
        face_unit = np.where(face_unit >= 0, renumber[np.maximum(face_unit, 0)], -1)
    return _from_faces(unit, faces, face_unit, pairs, households, n, outline)


def with_free_land(cells: Cells, foot: np.ndarray, households: np.ndarray, hi: int) -> Cells:
    """`cells` where a lone building over `hi` households keeps only its footprint as its
    cell: the land around it becomes cells of no building (quadrants around it), so that the
    parts around a tower can reach one another past it."""
    single = np.array([len(m) == 1 for m in cells.members])
    grown = _free_land(cells.cells.copy(), np.asarray(foot, dtype=object), cells.unit_of,
                       single & (cells.households > hi))
    return _made(cells.unit_of, grown, households, len(grown), cells.outline)


def building_cells(parent: BaseGeometry, foot: np.ndarray, households: np.ndarray) -> Cells:
    """Unit cells of `parent` (metres) for footprints `foot` (metres; points allowed); made
    from faces (`face_cells`) when FACES is set."""
    if FACES:
        return face_cells(parent, foot, households)
    foot = np.asarray(foot, dtype=object)
    unit = footprint_units(foot)
    n = int(unit.max()) + 1
    xy, label = sample_points(foot, unit)
    if len(xy) < 2 or n == 1:
        cells = np.asarray([parent], dtype=object)
        unit = np.zeros(len(foot), dtype=np.int64)
        n = 1
    else:
        pts = shapely.multipoints(xy)
        vor = shapely.get_parts(shapely.voronoi_polygons(pts, extend_to=parent, ordered=True))
        vor = polygonal_all(vor)  # GEOS may wrap a cell in a collection
        cells = polygonal_all(shapely.intersection(faces_of.union_by_label(vor, label, n), parent,
                                                    grid_size=GRID_M))
        if SIMPLIFY_M > 0:
            cells = _simplified(cells)
        cells = _own_footprints(cells, foot, unit, parent)
        cells = _gather_strays(cells, foot, unit)
    empty = shapely.is_empty(cells) | (shapely.area(cells) <= 0)
    if empty.any():  # a unit every point of which another unit took: it joins that unit
        keep = np.flatnonzero(~empty)
        reps = shapely.point_on_surface(foot)
        host = np.array([keep[int(np.argmin(shapely.distance(cells[keep], reps[b])))]
                         if empty[unit[b]] else unit[b] for b in range(len(foot))])
        renumber = np.full(n, -1)
        renumber[keep] = np.arange(len(keep))
        unit, cells, n = renumber[host], cells[keep], len(keep)
    return _made(unit, cells, households, n, shapely.boundary(parent))


def union_of(cells: np.ndarray) -> BaseGeometry:
    """The union of some cells (snapped like the cells), without the hairline gaps overlays
    may leave between them (holes under HOLE_M2)."""
    geom = cells[0] if len(cells) == 1 else polygonal(shapely.union_all(cells, grid_size=GRID_M))
    return without_hairlines(geom)


def without_hairlines(geom: BaseGeometry, hole_m2: float = HOLE_M2) -> BaseGeometry:
    """`geom` (metres) without the hairline holes snapped overlays leave (under `hole_m2`).

    Such a hole is a gap no part covers, and a near-flat one may turn its orientation over when
    the part is scaled back to degrees, after which GEOS overlays count the whole part as
    outside it (a footprint inside it intersects it in nothing)."""
    if geom.geom_type != "Polygon" or not geom.interiors:
        return geom
    holes = [h for h in geom.interiors if shapely.Polygon(h).area >= hole_m2]
    return geom if len(holes) == len(geom.interiors) else shapely.Polygon(geom.exterior, holes)
