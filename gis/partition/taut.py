"""The parts' shared boundaries pulled taut round the footprints, the last step of a split.

An engine draws the boundary between two parts as a chain of short edges through the gaps
between their footprints (Voronoi edges simplified round the footprints' convex hulls,
gis.partition.outline; straight cuts notched round footprints, gis.partition.engine). Such a
chain is longer than it needs to be: on the real sets of bench/real_city.py the boundaries
between parts are 4-5 % longer than the shortest ones that keep every building on its side.

Each run of edges two parts share (from where a third part or the parent's outline meets it to
where one meets it again) is pulled like a string held at its two ends. A vertex of the run
and its two neighbours make a triangle; the vertex is dropped where that triangle holds nothing
that must stay where it is (no footprint, no land of another part, nothing outside the
parent), and where something does, the vertex is replaced by the convex chain from one
neighbour to the other round what the triangle holds (the corners of the footprints in it):
the chain lies inside the triangle, so it is shorter, and only land changes hands. The
vertices are taken every other one, all at once (a sweep of the even ones, then of the odd
ones), until no run moves (SWEEPS at most).

A run is kept when the lower Polsby-Popper of its two parts does not fall and their sum
rises (both parts' perimeters shrink by the same length; the area it moves decides). Parts are
then checked as any division is: one valid polygon each, their areas adding up to what they
were, every footprint whole in its own part; the runs of a part that fails are put back.
Everything is drawn in the parts' own coordinates (a convex chain is one in any affine frame,
so lon/lat serves), the chains' corners are the footprints' own vertices, and only
Polsby-Popper is measured in metres. Only exterior rings are pulled (a part's holes, and a part
that is not one polygon, stay as they are).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis.partition.polish import PART_VIOLATION, arithmetic_of, rebuild
from gis.partition.quality import metric_scale, pp_value
from gis.partition.result import SplitResult
from gis.partition.whole import clipped_to

SWEEPS = 8  # sweeps over the runs still moving, at most (on the real sets two or three)
GAIN = 1e-9  # the smallest rise of the two parts' Polsby-Popper sum that counts
TINY = 1e-18  # twice a triangle's area (squared input units) under which it is flat
AREA_RTOL = 1e-9  # the parts' areas must add up to what they were within this share
POLYGON = 3  # shapely.GeometryType.POLYGON


@dataclass
class Obstacles:
    """What a pulled boundary must go round: the footprints (polygons in `tree`, their
    vertices `xy`, footprint f's from start[f] to start[f + 1]) and the buildings mapped as
    points (`points`: a vertex whose triangle holds one stays where it is); for the runs of
    many parents pulled at once (`swept`), each footprint's parent (`parent_of`, polygons
    then points; None: one parent)."""

    tree: shapely.STRtree
    xy: np.ndarray
    start: np.ndarray
    points: shapely.STRtree
    parent_of: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def of(cls, feet: np.ndarray, parent_of: np.ndarray | None = None) -> Obstacles:
        point = shapely.get_type_id(feet) == 0
        polys = feet[~point]
        xy, owner = shapely.get_coordinates(polys, return_index=True)
        start = np.searchsorted(owner, np.arange(len(polys) + 1))
        split = None if parent_of is None else (parent_of[~point], parent_of[point])
        return cls(shapely.STRtree(polys), xy, start, shapely.STRtree(feet[point]), split)

    def corners_in(self, tri: np.ndarray, a: np.ndarray, v: np.ndarray, b: np.ndarray,
                   tri_parent: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The footprints' vertices in each triangle (a, v, b) (closed), with its index
        (with `tri_parent`, each triangle's parent: its own parent's footprints only)."""
        ti, fi = self.tree.query(tri)  # envelopes: the corners are tested below
        if tri_parent is not None:
            own = self.parent_of[0][fi] == tri_parent[ti]
            ti, fi = ti[own], fi[own]
        count = self.start[fi + 1] - self.start[fi]
        pair = np.repeat(np.arange(len(ti)), count)
        first = np.repeat(self.start[fi] - (np.cumsum(count) - count), count)
        pts, t = self.xy[first + np.arange(len(pair))], ti[pair]
        s1 = side_of(a[t], v[t], pts)
        s2 = side_of(v[t], b[t], pts)
        s3 = side_of(b[t], a[t], pts)
        inside = (((s1 >= 0) & (s2 >= 0) & (s3 >= 0)) | ((s1 <= 0) & (s2 <= 0) & (s3 <= 0)))
        return pts[inside], t[inside]

    def stays(self, tri: np.ndarray, tri_parent: np.ndarray | None = None) -> np.ndarray:
        """Whether each triangle holds a building mapped as a point (of its own parent)."""
        out = np.zeros(len(tri), bool)
        if len(self.points.geometries):
            ti, pi = self.points.query(tri, predicate="intersects")
            if tri_parent is not None:
                ti = ti[self.parent_of[1][pi] == tri_parent[ti]]
            out[ti] = True
        return out


@dataclass
class Run:
    """Edges parts `a` and `b` share: `start` is the index in a's ring (open, anticlockwise)
    of the run's first vertex, `path` the run's vertices in a's order (ends included)."""

    a: int
    b: int
    start: int
    path: np.ndarray


def exterior_rings(parts: np.ndarray) -> list[np.ndarray | None]:
    """Each part's exterior ring as open anticlockwise coordinates (None for a part that is
    not one polygon; a part's holes, other parts or none, stay as they are)."""
    ok = shapely.get_type_id(parts) == POLYGON
    rings: list[np.ndarray | None] = [None] * len(parts)
    index = np.flatnonzero(ok)
    if not len(index):
        return rings
    outer = shapely.get_exterior_ring(parts[index])
    xy, k = shapely.get_coordinates(outer, return_index=True)
    ends = np.searchsorted(k, np.arange(len(index) + 1))
    clockwise = ~shapely.is_ccw(outer)
    for j, p in enumerate(index.tolist()):
        ring = xy[ends[j]:ends[j + 1] - 1]
        if len(ring) < 3:
            continue
        rings[p] = ring[::-1] if clockwise[j] else ring
    return rings


def _keys(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """One comparable key per edge p->q (its four coordinates' bytes)."""
    return np.ascontiguousarray(np.hstack([p, q])).view(np.dtype((np.void, 32))).ravel()


def shared_runs(rings: list[np.ndarray | None]) -> list[Run]:
    """The maximal runs of edges two rings share (an edge of one is the other's reversed)."""
    have = [i for i, r in enumerate(rings) if r is not None]
    if len(have) < 2:
        return []
    xy = np.vstack([rings[i] for i in have])
    size = np.asarray([len(rings[i]) for i in have])
    start = np.concatenate([[0], np.cumsum(size)])
    ring = np.repeat(np.arange(len(have)), size)
    nxt = np.arange(len(xy)) + 1
    nxt[start[1:] - 1] = start[:-1]
    keys = _keys(xy, xy[nxt])
    order = np.argsort(keys)
    back = _keys(xy[nxt], xy)
    at = np.minimum(np.searchsorted(keys[order], back), len(keys) - 1)
    found = keys[order][at] == back
    other = np.where(found, np.asarray(have)[ring[order[at]]], -1)
    runs = []
    for j, i in enumerate(have):
        o = other[start[j]:start[j + 1]]
        n = len(o)
        change = np.flatnonzero(o != np.roll(o, 1))
        if not len(change):  # shared all round (or not at all): left
            continue
        for c, first in enumerate(change.tolist()):
            if o[first] <= i:  # each pair once, from the lower part
                continue
            edges = (change[(c + 1) % len(change)] - first) % n or n
            path = rings[i][(first + np.arange(edges + 1)) % n]
            runs.append(Run(i, int(o[first]), first, path))
    return runs


def _chains(a: np.ndarray, v: np.ndarray, b: np.ndarray, held: np.ndarray, owner: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each triangle t (a[t], v[t], b[t]) the convex chain from a[t] to b[t] on v[t]'s
    side round the points held[owner == t]: its vertices strictly between the two, in order
    (rows of the first array, each with its triangle in the second), and whether v[t] itself
    is on the chain (nothing to pull; the third array)."""
    n = len(a)
    who = np.concatenate([np.arange(n), np.arange(n), owner])
    pts = np.vstack([a, b, held])
    order = np.argsort(who, kind="stable")
    hulls = shapely.convex_hull(shapely.multipoints(pts[order], indices=who[order]))
    ring, t = shapely.get_coordinates(shapely.get_exterior_ring(hulls), return_index=True)
    ring, t = _open(ring, t)
    sa, sb, sv = a[t], b[t], v[t]
    chord = sb - sa
    rel = ring - sa
    cross = chord[:, 0] * rel[:, 1] - chord[:, 1] * rel[:, 0]
    toward = np.sign(side_of(a, b, v))[t]
    on_side = cross * toward > 0
    on_v = np.zeros(n, bool)
    on_v[t[on_side & (ring == sv).all(axis=1)]] = True
    keep = on_side & ~on_v[t]
    angle = np.arctan2(cross * toward, chord[:, 0] * rel[:, 0] + chord[:, 1] * rel[:, 1])
    pick = np.flatnonzero(keep)
    pick = pick[np.lexsort((-angle[pick], t[pick]))]  # from a round to b: the angle falls
    return ring[pick], t[pick], on_v


def _open(ring: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rings' coordinates (each closed, grouped by t) without their closing rows."""
    last = np.append(t[1:] != t[:-1], True)
    return ring[~last], t[~last]


def _sweep(paths: list[np.ndarray], pairs: np.ndarray, parent, parts: np.ndarray,
           part_tree: shapely.STRtree, obstacles: Obstacles, parity: int,
           run_parent: np.ndarray | None = None, part_parent: np.ndarray | None = None
           ) -> list[np.ndarray]:
    """`paths` with every interior vertex at an index of `parity` dropped or replaced by the
    convex chain round what its triangle holds (see the module docstring); pairs[r] are the
    two parts run r lies between. With `run_parent` (each run's parent, an index into
    `parent`, then an array of parents) and `part_parent` (each part's), the runs of many
    parents at once, each weighed against its own parent's outline, parts and footprints."""
    sizes = np.asarray([len(p) for p in paths])
    offset = np.concatenate([[0], np.cumsum(sizes)])
    at = [np.arange(1 + parity, s - 1, 2) for s in sizes]
    who = np.repeat(np.arange(len(paths)), [len(x) for x in at])
    if not len(who):
        return paths
    xy = np.vstack(paths)
    g = offset[who] + np.concatenate(at)
    a, v, b = xy[g - 1], xy[g], xy[g + 1]
    tp = None if run_parent is None else run_parent[who]  # each triangle's parent
    flat = np.abs(side_of(a, b, v)) <= TINY
    tri = shapely.polygons(np.stack([a, v, b, a], axis=1))
    stays = obstacles.stays(tri, tp)
    corners, ti = obstacles.corners_in(tri, a, v, b, tp)
    held, owner = [corners], [ti]
    outline = parent if tp is None else parent[tp]
    away = np.flatnonzero(~flat & ~shapely.covers(outline, tri))  # land outside the parent
    if len(away):
        xy_out, k = shapely.get_coordinates(
            shapely.difference(tri[away], outline if tp is None else outline[away]),
            return_index=True)
        held.append(xy_out)
        owner.append(away[k])
    ti, pi = part_tree.query(tri)  # land of another part (envelopes; the two own parts
    # are dropped before any predicate)
    other = (pi != pairs[who[ti], 0]) & (pi != pairs[who[ti], 1])
    if tp is not None:
        other &= part_parent[pi] == tp[ti]
    ti, pi = ti[other], pi[other]
    if len(ti):
        inner = shapely.relate_pattern(parts[pi], tri[ti], "T********")
        xy_in, k = shapely.get_coordinates(shapely.intersection(parts[pi[inner]],
                                                                tri[ti[inner]]),
                                           return_index=True)
        held.append(xy_in)
        owner.append(ti[inner][k])
    held_xy, owner_t = np.vstack(held), np.concatenate(owner).astype(np.int64)
    strict = np.abs(side_of(a[owner_t], b[owner_t], held_xy)) > TINY  # off the chord
    held_xy, owner_t = held_xy[strict], owner_t[strict]
    holds = np.bincount(owner_t, minlength=len(who)) > 0
    drop = flat | (~holds & ~stays)
    pull = np.flatnonzero(~flat & holds & ~stays)
    count = np.where(drop, 0, 1)
    chain_xy, chain_t = np.zeros((0, 2)), np.zeros(0, np.int64)
    pulled = np.zeros(len(who), bool)
    pulled[pull] = True
    if len(pull):
        sel = pulled[owner_t]
        chain_xy, local, on_v = _chains(a[pull], v[pull], b[pull], held_xy[sel],
                                        np.searchsorted(pull, owner_t[sel]))
        moved = pull[~on_v]
        keep = ~on_v[local]
        chain_xy, chain_t = chain_xy[keep], pull[local[keep]]
        count[moved] = np.bincount(chain_t, minlength=len(who))[moved]
    rows = np.ones(len(xy), np.int64)
    rows[g] = count
    start = np.concatenate([[0], np.cumsum(rows)])
    out = np.empty((int(start[-1]), 2))
    plain = np.ones(len(xy), bool)
    plain[g[count != 1]] = False
    chained = np.zeros(len(who), bool)
    chained[chain_t] = True
    plain[g[(count == 1) & chained]] = False
    out[start[:-1][plain]] = xy[plain]
    if len(chain_t):
        first = start[g[chain_t]]
        rank = np.arange(len(chain_t)) - np.searchsorted(chain_t, chain_t)
        out[first + rank] = chain_xy
    ends = start[offset]
    return [out[ends[r]:ends[r + 1]] for r in range(len(paths))]


def side_of(a: np.ndarray, b: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Twice the signed area of triangle (a, b, p): above 0 where p lies left of a -> b (rows
    of points, or one point each)."""
    return ((b[..., 0] - a[..., 0]) * (p[..., 1] - a[..., 1])
            - (b[..., 1] - a[..., 1]) * (p[..., 0] - a[..., 0]))


def path_change(old: np.ndarray, new: np.ndarray, scale, origin: np.ndarray
                ) -> tuple[float, float]:
    """The area and the length (m², m) a ring gains where its path `old` (in the ring's order)
    becomes `new` between the same two ends; `scale` is metres per unit about `origin`."""
    (sx, sy), (ox, oy) = np.asarray(scale, dtype=float).tolist(), origin.tolist()
    area = length = 0.0
    for path, sign in ((new, 1.0), (old, -1.0)):  # plain floats: the paths are short
        xy = [((x - ox) * sx, (y - oy) * sy) for x, y in path.tolist()]
        for (x1, y1), (x2, y2) in zip(xy[:-1], xy[1:], strict=True):
            area += sign * 0.5 * (x1 * y2 - x2 * y1)
            length += sign * math.hypot(x2 - x1, y2 - y1)
    return area, length


def _kept(runs: list[Run], pulled: list[np.ndarray], area: np.ndarray, perimeter: np.ndarray,
          scale: tuple[float, float], origin: np.ndarray) -> list[int]:
    """The runs whose pulled path raises the sum of its two parts' Polsby-Popper without
    lowering the lower of the two (each weighed alone, in metres)."""
    kept = []
    for r, (run, new) in enumerate(zip(runs, pulled, strict=True)):
        if len(new) == len(run.path) and np.array_equal(new, run.path):
            continue
        moved, grown = path_change(run.path, new, scale, origin)  # the area part a gains
        shrink = -grown
        before = [pp_value(area[p], perimeter[p]) for p in (run.a, run.b)]
        after = [pp_value(area[run.a] + moved, perimeter[run.a] - shrink),
                 pp_value(area[run.b] - moved, perimeter[run.b] - shrink)]
        if min(after) >= min(before) and sum(after) > sum(before) + GAIN:
            kept.append(r)
    return kept


def _spliced(ring: np.ndarray, cuts: list[tuple[int, int, np.ndarray]], holes: list
             ) -> BaseGeometry:
    """The polygon of exterior `ring` (open) with each (start, edges, path) run replaced by
    `path`, and `holes`."""
    n = len(ring)
    cuts = sorted(cuts, key=lambda c: c[0])
    pieces = []
    for k, (start, edges, path) in enumerate(cuts):
        pieces.append(path[:-1])
        after = start + edges
        upto = cuts[(k + 1) % len(cuts)][0] + (n if k + 1 == len(cuts) else 0)
        pieces.append(ring[np.arange(after, upto) % n])
    xy = np.vstack(pieces) if cuts else ring
    closed = np.vstack([xy, xy[:1]])
    if not holes:
        return shapely.polygons(closed)
    return shapely.Polygon(closed, holes)


def swept(paths: list[np.ndarray], pairs: np.ndarray, parent, parts: np.ndarray,
          part_tree: shapely.STRtree, obstacles: Obstacles,
          run_parent: np.ndarray | None = None, part_parent: np.ndarray | None = None
          ) -> list[np.ndarray]:
    """The runs' `paths` after sweeps of the even vertices, then the odd ones, until no run
    moves (SWEEPS rounds at most; each round only the runs the last one moved); the rest as
    `_sweep` takes it (with `run_parent` and `part_parent`, the runs of many parents at once:
    bench/batch_bench.py)."""
    paths = list(paths)
    active = np.arange(len(paths))
    for _ in range(SWEEPS):
        moving = [paths[r] for r in active]
        for parity in (0, 1):
            moving = _sweep(moving, pairs[active], parent, parts, part_tree, obstacles, parity,
                            None if run_parent is None else run_parent[active], part_parent)
        moved = [len(new) != len(paths[r]) or not np.array_equal(new, paths[r])
                 for r, new in zip(active.tolist(), moving, strict=True)]
        for r, new in zip(active.tolist(), moving, strict=True):
            paths[r] = new
        active = active[np.asarray(moved, bool)]
        if not len(active):
            break
    return paths


@dataclass
class Pull:
    """One division about to be pulled taut (`pull_start`): its outline, parts (as given and
    as an array), buildings' parts, footprints (clipped to the outline), metric scale, the
    parts' exterior rings and the runs of edges they share; `feet`, the footprints to go
    round (the non-empty ones: None where the caller gave their `obstacles`)."""

    parent: BaseGeometry
    parts: list[BaseGeometry]
    geoms: np.ndarray
    assignment: np.ndarray
    foot: np.ndarray
    scale: tuple[float, float]
    rings: list[np.ndarray | None]
    runs: list[Run]
    feet: np.ndarray | None
    obstacles: Obstacles | None = None


def pull_start(parent: BaseGeometry, parts: list[BaseGeometry], assignment: np.ndarray,
               foot: np.ndarray, scale: tuple[float, float], *, only: set[int] | None = None,
               obstacles: Obstacles | None = None) -> Pull | None:
    """`pulled_taut`'s division before its sweeps (arguments as there); None where its parts
    share no run of edges (nothing to pull)."""
    parts = list(parts)
    rings = exterior_rings(np.asarray(parts, dtype=object))
    runs = shared_runs(rings)
    if only is not None:
        runs = [run for run in runs if run.a in only or run.b in only]
    if not runs:
        return None
    feet = None
    if obstacles is None:
        foot = clipped_to(parent, np.asarray(foot, dtype=object))
        feet = foot[~shapely.is_empty(foot)]
    return Pull(parent, parts, np.asarray(parts, dtype=object), assignment, foot, scale, rings,
                runs, feet, obstacles)


def swept_alone(pull: Pull) -> list[np.ndarray]:
    """The runs of `pull` swept on their own (`swept`): their paths."""
    shapely.prepare(pull.parent)
    obstacles = pull.obstacles if pull.obstacles is not None else Obstacles.of(pull.feet)
    pairs = np.asarray([(r.a, r.b) for r in pull.runs], dtype=np.int64)
    return swept([r.path for r in pull.runs], pairs, pull.parent, pull.geoms,
                 shapely.STRtree(pull.geoms), obstacles)


def swept_together(pulls: list[Pull]) -> list[list[np.ndarray]]:
    """The runs of every pull (made without obstacles given) swept at once, each run weighed
    against its own division's outline, parts and footprints only (`swept`'s `run_parent`
    and `part_parent`): the paths `swept_alone` gives each, for a fraction of the sweeps'
    fixed costs (bench/batch_bench.py)."""
    outlines = np.asarray([pull.parent for pull in pulls], dtype=object)
    shapely.prepare(outlines)
    geoms = np.concatenate([pull.geoms for pull in pulls])
    part_parent = np.repeat(np.arange(len(pulls)), [len(pull.geoms) for pull in pulls])
    first_part = np.concatenate([[0], np.cumsum([len(pull.geoms) for pull in pulls])])
    pairs = np.asarray([(r.a + first_part[g], r.b + first_part[g])
                        for g, pull in enumerate(pulls) for r in pull.runs], dtype=np.int64)
    run_parent = np.repeat(np.arange(len(pulls)), [len(pull.runs) for pull in pulls])
    foot_parent = np.repeat(np.arange(len(pulls)), [len(pull.feet) for pull in pulls])
    paths = swept([r.path for pull in pulls for r in pull.runs], pairs, outlines, geoms,
                  shapely.STRtree(geoms),
                  Obstacles.of(np.concatenate([pull.feet for pull in pulls]), foot_parent),
                  run_parent, part_parent)
    ends = np.concatenate([[0], np.cumsum([len(pull.runs) for pull in pulls])])
    return [paths[ends[g]:ends[g + 1]] for g in range(len(pulls))]


def pulled_taut(parent: BaseGeometry, parts: list[BaseGeometry], assignment: np.ndarray,
                foot: np.ndarray, scale: tuple[float, float], *,
                only: set[int] | None = None, obstacles: Obstacles | None = None
                ) -> tuple[list[BaseGeometry], int]:
    """`parts` with their shared boundaries pulled taut round the footprints `foot` (each
    building's part in `assignment`; see the module docstring), and how many runs changed;
    `scale` is metres per unit along x and y (for Polsby-Popper only). A caller pulling the
    same division more than once (gis.partition.junctions) gives the footprints already
    clipped to the parent with their `obstacles` (Obstacles.of the non-empty ones), and
    `only` the parts changed since the last pull: a run between two parts that did not
    change was pulled as far as it goes already."""
    pull = pull_start(parent, parts, assignment, foot, scale, only=only, obstacles=obstacles)
    if pull is None:
        return list(parts), 0
    return pull_end(pull, swept_alone(pull))


def pulled_taut_many(pulls: list[Pull | None]) -> list[tuple[list[BaseGeometry], int] | None]:
    """`pulled_taut` of many divisions (`pull_start` of each, without obstacles given; None
    where it has nothing to pull, and None back for it), their sweeps run over all of them
    at once (`swept_together`): the same parts as one by one."""
    live = [k for k, pull in enumerate(pulls) if pull is not None]
    out: list[tuple[list[BaseGeometry], int] | None] = [None] * len(pulls)
    if live:
        batch = [pulls[k] for k in live]
        for k, pull, paths in zip(live, batch, swept_together(batch), strict=True):
            out[k] = pull_end(pull, paths)
    return out


def pull_end(pull: Pull, paths: list[np.ndarray]) -> tuple[list[BaseGeometry], int]:
    """`pulled_taut`'s result from the division of `pull` and its runs' swept `paths`: the
    runs that raise their two parts' Polsby-Popper spliced in where every part they change
    stays sound (and the parts' areas add up), else the parts as they were and 0."""
    parts, runs, rings, foot, assignment = (pull.parts, pull.runs, pull.rings, pull.foot,
                                            pull.assignment)
    bounds = shapely.total_bounds(pull.geoms)
    origin = 0.5 * (bounds[:2] + bounds[2:])
    metric = shapely.transform(pull.geoms, lambda xy: (xy - origin) * np.asarray(pull.scale))
    kept = set(_kept(runs, paths, shapely.area(metric), shapely.length(metric), pull.scale,
                     origin))
    own = [np.flatnonzero(assignment == k) for k in range(len(parts))]
    for _ in range(3):
        new = list(parts)
        touched = sorted({p for r in kept for p in (runs[r].a, runs[r].b)})
        for p in touched:
            cuts = []
            for r in kept:
                run = runs[r]
                if run.a == p:
                    cuts.append((run.start, len(run.path) - 1, paths[r]))
                elif run.b == p:  # b's ring holds the run reversed
                    cuts.append((_start_in(rings[p], run.path[-1]), len(run.path) - 1,
                                 paths[r][::-1]))
            new[p] = _spliced(rings[p], cuts, list(parts[p].interiors))
        bad = unsound_parts(new, parts, touched, [foot[own[p]] for p in touched])
        if not bad:
            before = float(shapely.area(np.asarray([parts[p] for p in touched])).sum())
            after = float(shapely.area(np.asarray([new[p] for p in touched])).sum())
            if abs(after - before) > AREA_RTOL * before:
                break
            return new, len(kept)
        kept = {r for r in kept if runs[r].a not in bad and runs[r].b not in bad}
        if not kept:
            break
    return parts, 0


def _start_in(ring: np.ndarray, point: np.ndarray) -> int:
    return int(np.flatnonzero((ring == point).all(axis=1))[0])


def unsound_parts(new: dict[int, BaseGeometry] | list[BaseGeometry], old: list[BaseGeometry],
                  which: list[int], own: list[np.ndarray]) -> set[int]:
    """The parts p of `which` whose new polygon new[p] is not sound: one valid polygon
    holding its own footprints (own[i] for which[i], clipped to the parent) as whole as
    old[p] did, each covered or, where old[p] did not cover one either (a hairline across
    its edge), no more of it outside. All parts are judged in one call per check."""
    which_a = np.asarray(which, dtype=np.int64)
    if not len(which_a):
        return set()
    fresh = np.asarray([new[p] for p in which], dtype=object)
    ok = (shapely.get_type_id(fresh) == POLYGON) & shapely.is_valid(fresh)
    feet = np.concatenate([np.asarray(o, dtype=object) for o in own])
    whose = np.repeat(np.arange(len(which_a)), [len(o) for o in own])
    keep = ~shapely.is_empty(feet)
    feet, whose = feet[keep], whose[keep]
    if len(feet):
        whose_ok = ok[whose]
        feet, whose = feet[whose_ok], whose[whose_ok]
        loose = ~shapely.covers(fresh[whose], feet)
        if loose.any():
            feet, whose = feet[loose], whose[loose]
            stale = np.asarray([old[p] for p in which], dtype=object)
            before = shapely.area(shapely.difference(feet, stale[whose]))
            after = shapely.area(shapely.difference(feet, fresh[whose]))
            spilled = ~(after <= before * (1 + AREA_RTOL) + TINY)
            ok[np.unique(whose[spilled])] = False
    return {int(p) for p in which_a[~ok]}


def tautened(parent: BaseGeometry, buildings: list, households: np.ndarray,
             result: SplitResult, lo: int, hi: int, geographic: bool = True,
             pull: Callable[..., tuple[list[BaseGeometry], int]] | None = None) -> SplitResult:
    """`result` with its parts' shared boundaries pulled taut (`pull`: `pulled_taut` unless
    given, e.g. gis.partition.junctions.moved_junctions), measured again
    (gis.partition.polish.rebuild, graph_first's `corridor` reasons kept); `result` itself
    where no boundary changed. `parent`, `buildings` and `households` as the split checked
    them (engine.split_inputs)."""
    if len(result.parts) < 2:
        return result
    assignment = np.asarray(result.assignment, dtype=np.int64)
    parts, changed = (pull or pulled_taut)(parent, list(result.parts), assignment,
                                           np.asarray(buildings, dtype=object),
                                           metric_scale(parent, geographic))
    return _retold(parent, households, result, lo, hi, geographic, parts, changed)


def tautened_many(divisions: list[tuple]) -> list[SplitResult]:
    """`tautened` (with `pulled_taut`) of many divisions, each given as its arguments
    (parent, buildings, households, result, lo, hi, geographic), their sweeps run over all of
    them at once (`pulled_taut_many`): the same results as one by one."""
    pulls: list[Pull | None] = []
    for parent, buildings, _, result, _, _, geographic in divisions:
        pulls.append(None if len(result.parts) < 2 else pull_start(
            parent, list(result.parts), np.asarray(result.assignment, dtype=np.int64),
            np.asarray(buildings, dtype=object), metric_scale(parent, geographic)))
    out = []
    for (parent, _, households, result, lo, hi, geographic), pulled in zip(
            divisions, pulled_taut_many(pulls), strict=True):
        out.append(result if pulled is None else _retold(parent, households, result, lo, hi,
                                                         geographic, *pulled))
    return out


def _retold(parent: BaseGeometry, households: np.ndarray, result: SplitResult, lo: int,
            hi: int, geographic: bool, parts: list[BaseGeometry], changed: int) -> SplitResult:
    """`result` with `parts` pulled taut in place of its own, measured again; `result` itself
    where no run `changed`."""
    if not changed:
        return result
    assignment = np.asarray(result.assignment, dtype=np.int64)
    violations = [v for v in result.violations if not v.startswith(PART_VIOLATION)]
    h = np.asarray(households, dtype=np.int64)
    told = rebuild(parent, parts, assignment, h, result, violations, lo, hi, geographic,
                   arithmetic_of(result.violations))
    for mine, before in zip(told.part_reasons, result.part_reasons, strict=True):
        mine.extend(r for r in before if r["code"] == "corridor")  # graph_first's own
    return told
