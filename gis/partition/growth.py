"""Assignment-first split: grow parts over building cells, then improve them by local moves.

An alternative to the straight cuts of gis.partition.engine, with the same signature and
result. The parent is tiled by one cell per building (gis.partition.cells: Voronoi cells of
points sampled on the footprints, unioned per building); cells sharing an edge make the
building graph. k parts (choose_parts) are seeded far apart (weighted k-means++ on the
household-weighted cell centroids, then a few Lloyd steps) and grown together, the part with
the fewest households taking the free neighbouring cell nearest its centre, so parts stay
balanced. A local search (gis.partition.moves) then moves boundary cells between neighbouring
parts: first while it brings parts nearer their bounds, then while it raises compactness
(minimum Polsby-Popper of the two parts first, then their sum) without leaving the bounds or
breaking a part in two. Several growths are tried (TRIES seeds, then one part more or fewer)
and the best kept: fewest households outside the bounds, then the highest minimum and mean
Polsby-Popper. Every part is the union of a connected set of cells, hence a single polygon;
footprints lie inside their own cells, so no building is split; the cells tile the parent, so
the parts do. The shared edges are then simplified together (gis.partition.smooth), footprints
kept whole. Buildings above the maximum are parts of their own, as in the cut engine; when
their cells cut the other buildings into groups that cannot meet the bounds, the split is tried
again with the land around those towers as cells of no building (gis.partition.cells
with_free_land), which any part may cross. The same violations and reasons are reported as by
the cut engine.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis.partition.cells import Cells, building_cells, polygonal_all, with_free_land
from gis.partition.engine import choose_parts
from gis.partition.inputs import split_inputs_of
from gis.partition.moves import Parts, improve
from gis.partition.result import SplitResult, finish
from gis.partition.smooth import smooth

LLOYD_STEPS = 4
TRIES = 2
FREE, LONE = -1, -2
SMOOTH = 1


def _seeds(cells: Cells, free: np.ndarray, k: int, rng: np.random.Generator) -> list[int]:
    """k well-spread units among `free`: weighted k-means++ then Lloyd steps on the
    household-weighted centroids; each centre's nearest free unit (distinct)."""
    xy = cells.centroid[free]
    w = cells.households[free].astype(float) + 1e-3
    centres = [xy[int(np.argmax(w))] if rng is None else xy[rng.choice(len(xy), p=w / w.sum())]]
    d2 = ((xy - centres[0]) ** 2).sum(axis=1)
    for _ in range(1, k):
        p = w * d2
        i = int(rng.choice(len(xy), p=p / p.sum())) if p.sum() > 0 else int(np.argmax(w))
        centres.append(xy[i])
        d2 = np.minimum(d2, ((xy - xy[i]) ** 2).sum(axis=1))
    c = np.asarray(centres)
    wxy = xy * w[:, None]
    for _ in range(LLOYD_STEPS):
        near = np.argmin(((xy[:, None, :] - c[None]) ** 2).sum(axis=2), axis=1)
        mass = np.bincount(near, weights=w, minlength=k)
        sx = np.bincount(near, weights=wxy[:, 0], minlength=k)
        sy = np.bincount(near, weights=wxy[:, 1], minlength=k)
        held = mass > 0
        c[held] = np.column_stack([sx[held], sy[held]]) / mass[held, None]
    d = ((xy[:, None, :] - c[None]) ** 2).sum(axis=2)
    taken: list[int] = []
    for j in range(k):
        i = int(np.argmin(d[:, j]))
        taken.append(int(free[i]))
        d[i] = np.inf
    return taken


def _grow(cells: Cells, part: np.ndarray, seeds: list[int], first: int) -> None:
    """Grow parts first.. from `seeds` over the free units (part FREE): the part with the fewest
    households takes the free neighbour nearest its centre, until none is left."""
    k = len(seeds)
    xy = cells.centroid.tolist()
    households = cells.households.tolist()
    adj = cells.adj
    free = part.tolist()
    for j, u in enumerate(seeds):
        free[u] = first + j
    hh = [households[u] for u in seeds]
    cx = [xy[u][0] for u in seeds]
    cy = [xy[u][1] for u in seeds]
    weight = [households[u] + 1e-3 for u in seeds]
    frontier = [{v for v in adj[u] if free[v] == FREE} for u in seeds]
    while True:
        live = [j for j in range(k) if frontier[j]]
        if not live:
            break
        j = min(live, key=lambda j: (hh[j], j))
        x0, y0 = cx[j], cy[j]
        u = min(frontier[j], key=lambda v: (xy[v][0] - x0) ** 2 + (xy[v][1] - y0) ** 2)
        free[u] = first + j
        hw = households[u] + 1e-3
        cx[j] = (x0 * weight[j] + xy[u][0] * hw) / (weight[j] + hw)
        cy[j] = (y0 * weight[j] + xy[u][1] * hw) / (weight[j] + hw)
        weight[j] += hw
        hh[j] += households[u]
        for f in frontier:
            f.discard(u)
        frontier[j] |= {v for v in adj[u] if free[v] == FREE}
    part[:] = free


def _attach(cells: Cells, part: np.ndarray) -> None:
    """Units left without a part (groups holding no households) join the neighbouring part
    they share the longest edge with, nearest first."""
    todo = set(np.flatnonzero(part < 0).tolist())
    while todo:
        done = []
        for u in sorted(todo):
            edge: dict[int, float] = {}
            for v, w in cells.adj[u].items():
                if part[v] >= 0:
                    edge[int(part[v])] = edge.get(int(part[v]), 0.0) + w
            if edge:
                done.append((u, max(edge, key=edge.get)))
        if not done:  # no neighbour at all (cannot happen in a tiling): a part of its own
            nxt = int(part.max()) + 1
            for u in sorted(todo):
                part[u] = nxt
            return
        for u, j in done:
            part[u] = j
            todo.discard(u)


def _components(cells: Cells, lone: set[int]) -> list[np.ndarray]:
    """Connected groups of the units that are not lone buildings over the maximum."""
    seen = set(lone)
    out = []
    for s in range(cells.n):
        if s in seen:
            continue
        seen.add(s)
        stack, comp = [s], [s]
        while stack:
            x = stack.pop()
            for v in cells.adj[x]:
                if v not in seen:
                    seen.add(v)
                    stack.append(v)
                    comp.append(v)
        out.append(np.array(sorted(comp), dtype=np.int64))
    return out


def _part_counts(households: int, lo: int, hi: int, delta: int) -> int:
    """Parts for a connected group of `households` (choose_parts), shifted by `delta` within
    the counts that meet the bounds (0 when the shifted count does not)."""
    k, reason = choose_parts(households, 0, lo, hi)
    if delta == 0:
        return k
    k += delta
    return k if not reason and math.ceil(households / hi) <= k <= households // lo else 0


def _assign(cells: Cells, lone: list[int], lo: int, hi: int, seed: int
            ) -> tuple[tuple, Parts]:
    """The best of several growths (seeds, then part counts one up or down) after local
    search: fewest households outside the bounds, then the highest minimum and mean
    Polsby-Popper. Returns that ranking key and the assignment."""
    comps = [(c, int(cells.households[c].sum())) for c in _components(cells, set(lone))]
    best = None
    for delta in (0, 1, -1):
        if best is not None and best[0][0] == 0:
            break
        for t in range(TRIES):
            rng = np.random.default_rng([seed, t])
            part = np.full(cells.n, FREE, dtype=np.int64)
            part[lone] = LONE  # not free for growth; numbered below
            nxt = 0
            shifted = False
            for comp, hh in comps:
                if hh == 0:
                    continue
                k = _part_counts(hh, lo, hi, delta) if delta else 0
                shifted |= k > 0
                k = min(k or _part_counts(hh, lo, hi, 0), len(comp))
                _grow(cells, part, _seeds(cells, comp, k, rng), nxt)
                nxt += k
            if delta and not shifted:
                break
            for j, u in enumerate(lone):
                part[u] = nxt + j
            _attach(cells, part)
            state = Parts(cells, part, lo, hi, fixed=set(range(nxt, nxt + len(lone))))
            improve(state)
            pps = [state.pp(j) for j in range(state.k)]
            key = (state.total_deviation(), -min(pps), -float(np.mean(pps)))
            if best is None or key < best[0]:
                best = (key, state)
    return best


def _lone(cells: Cells, households: np.ndarray, hi: int) -> list[int]:
    """Units that are one building over the maximum (parts of their own)."""
    return [u for u in range(cells.n)
            if len(cells.members[u]) == 1 and households[cells.members[u][0]] > hi]


def split(parent: BaseGeometry, buildings, households, *, barriers=(), min_households: int = 30,
          max_households: int = 50, seed: int = 0, geographic: bool = True) -> SplitResult:
    """Divide `parent` into parts of min..max households (see the module docstring).

    Same arguments and result as gis.partition.engine.split; `barriers` are accepted for that
    reason and not used yet.
    """
    got = split_inputs_of(parent, buildings, households, min_households, max_households,
                          geographic)
    if isinstance(got, SplitResult):
        return got
    parent, foot, households, lo, hi = got.parent, got.foot, got.households, got.lo, got.hi
    local, feet, reason = got.local, got.feet, got.reason
    cells = building_cells(local, feet, households)
    key, state = _assign(cells, _lone(cells, households, hi), lo, hi, seed)
    if key[0] > 0 and (households > hi).any():  # try again with the land round the towers free
        freed = with_free_land(cells, feet, households, hi)
        key2, state2 = _assign(freed, _lone(freed, households, hi), lo, hi, seed)
        if key2 < key:
            cells, state = freed, state2
    part = np.asarray(state.part, dtype=np.int64)
    groups = [np.flatnonzero(part == j) for j in range(int(part.max()) + 1)]
    groups = [g for g in groups if len(g)]
    renumber = np.full(int(part.max()) + 1, -1)
    for j, g in enumerate(groups):
        renumber[part[g[0]]] = j
    geoms = cells.unions(groups)
    assignment = renumber[part[cells.unit_of]]
    if SMOOTH:
        geoms = smooth(geoms, polygonal_all(shapely.intersection(feet, local)), assignment)
    parts = list(got.back(geoms))
    return finish(parent, parts, assignment, got.rep, households, got.violations, got.notes,
                  got.scale, lo, hi, reason is not None, reason, list(foot))
