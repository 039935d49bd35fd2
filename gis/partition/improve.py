"""Local improvement after the other passes: parts out of bounds and thin parts, one by one.

Runs after gis.partition.polish on either engine's result, and only where there is something
to fix: a parent whose parts are all within the bounds (or one building over the maximum) and
at least THIN (0.2) compact is returned as it is, before anything is built.

1. Bounds, along chains of neighbours (`chains`): a part short of (or over) the bounds gets
   (or gives) households along a path of up to CHAIN_PARTS neighbouring parts, from the far
   end towards it, CHAINS paths at most, shortest first. At each pair of the path one boundary
   building moves with its land (its share of its part's Voronoi diagram of the buildings,
   `_move`); failing that, next to the part, one boundary building of each is exchanged
   (Kernighan-Lin-like, `_swap`); failing that, the pair is merged and divided again by one
   straight line through the gaps between footprints (the best of DRAWN lines, one per
   angle, ReCom-like, `_redraw`). The far part of the pair ends within the bounds and the
   near one holds what the next step needs; a step that no sharing of the pair's buildings
   can meet (their households' subset sums, `_reachable`) ends the chain before any of it.
   A chain is kept only when every part on it ends within the bounds and no changed part
   falls below the lower of FLOOR and its pair's former Polsby-Popper; otherwise its parts
   are restored.
2. Compactness, for each part under THIN (thinnest first):
   - its concavities are filled (`fill_in`): a morphological closing of the part (grow by d,
     shrink by d, the best d of CLOSE_M) takes the empty land of its neighbours that the
     closing covers, their footprints staying theirs;
   - its empty thin arms go to the neighbour beside them (gis.partition.slivers);
   - it is merged with each neighbour in turn and the pair divided again by the best of DRAWN
     straight lines (`recombine_pair`), or else one boundary building with its land moves
     between the two, either way (`trade`): buildings may change sides as long as the pair's
     households out of bounds do not grow.
   Each change is kept only when every part it touches stays one polygon holding its
   footprints whole and the lowest Polsby-Popper among them rises, so the minimum never falls.

Area only changes hands between neighbouring parts, and each overlay's result is checked to
keep the area it had, so the parts still tile the parent; footprints are checked whole on
their side (reshape `_whole`), so no building is split. An overlay GEOS cannot compute
(nearly touching edges) counts as a failed try; one outside those tries leaves the division
as the other passes gave it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shapely
from shapely.errors import GEOSException
from shapely.geometry.base import BaseGeometry

from gis.partition.cells import single_polygon
from gis.partition.diagnose import THIN_PP, lone_building
from gis.partition.polish import PART_VIOLATION, arithmetic_of, rebuild
from gis.partition.quality import metric_scale, polsby_popper
from gis.partition.reshape import (
    AREA_NOISE,
    GAIN,
    Footprints,
    _draw,
    _neighbours,
    _one,
    _whole,
    without_footprints,
)
from gis.partition.result import SplitResult
from gis.partition.slivers import clean_slivers
from gis.partition.whole import keep_whole

THIN = THIN_PP  # parts under this Polsby-Popper are worked on (issue 17's bar, 0.2)
FLOOR = 0.3  # a chain's redrawn parts keep at least this Polsby-Popper (or what they had)
DRAWN = 8  # straight lines drawn per pair (the widest gap of each of the best angles)
CLOSE_M = (4.0, 10.0, 20.0)  # closing radii tried on a thin part, metres
CHAIN_PARTS = 4  # parts on a chain, the one out of bounds included
CHAINS = 12  # chains tried per part out of bounds (shortest first)
ROUNDS = 2


def _deviation(count: float, lo: float, hi: float) -> float:
    return max(lo - count, count - hi, 0.0)


def needs_work(counts, pps, held: list[np.ndarray], lo: int, hi: int, feasible: bool) -> bool:
    """Whether a division has a part under THIN, or (when the arithmetic allows the bounds)
    a part out of bounds that is not one building over the maximum."""
    if min(pps, default=1.0) < THIN:
        return True
    return feasible and any(not lo <= c <= hi and not lone_building(h, hi)
                            for c, h in zip(counts, held, strict=True))


def _candidates(fp: Footprints, idx: np.ndarray, ok: Callable[[np.ndarray, np.ndarray],
                np.ndarray], drawn: int) -> list[tuple[int, float, np.ndarray]]:
    """Straight lines between the pair's buildings whose sides' households (prefix ca, rest
    cb) pass `ok`: (angle, position, prefix mask), the widest gap of each angle, widest
    first, at most `drawn`."""
    rp = fp.rep_proj[idx]
    order = np.argsort(rp, axis=0, kind="stable")
    rs = np.take_along_axis(rp, order, 0)
    lo_s = np.take_along_axis(fp.lo_proj[idx], order, 0)
    hi_s = np.take_along_axis(fp.hi_proj[idx], order, 0)
    reach = np.maximum.accumulate(hi_s, axis=0)[:-1]
    start = np.minimum.accumulate(lo_s[::-1], axis=0)[::-1][1:]
    gap = start - reach
    t = np.where(gap > 0, (reach + start) / 2, (rs[:-1] + rs[1:]) / 2)
    h = fp.households[idx]
    ca = np.cumsum(h[order], axis=0)[:-1]
    good = (rs[1:] > rs[:-1]) & ok(ca, int(h.sum()) - ca)
    out = []
    for jj in range(good.shape[1]):
        rows = np.flatnonzero(good[:, jj])
        if len(rows):
            r = int(rows[np.argmax(gap[rows, jj])])
            out.append((float(gap[r, jj]), jj, r))
    out.sort(reverse=True)
    lines, seen = [], set()
    for _, jj, r in out:
        side = np.zeros(len(idx), bool)
        side[order[: r + 1, jj]] = True
        key = min(side.tobytes(), (~side).tobytes())
        if key not in seen:
            seen.add(key)
            lines.append((jj, float(t[r, jj]), side))
        if len(lines) >= drawn:
            break
    return lines


def _redraw(i: int, j: int, parts: list[BaseGeometry], assignment: np.ndarray,
            fp: Footprints, scale: tuple[float, float],
            ok: Callable[[np.ndarray, np.ndarray], np.ndarray],
            accept: Callable[[np.ndarray, np.ndarray], bool], drawn: int = DRAWN) -> bool:
    """Merge parts i and j and divide the union again by the straight line, among those whose
    sides' households pass `ok` (side of i, side of j), with the highest lower Polsby-Popper
    that `accept` takes (new counts, new PPs); in place, whether it changed."""
    union = _one(shapely.union(parts[i], parts[j]))
    if union is None or abs(union.area - parts[i].area - parts[j].area) > AREA_NOISE * union.area:
        return False
    idx = np.flatnonzero((assignment == i) | (assignment == j))
    if len(idx) < 2:
        return False
    mine = assignment[idx] == i
    h = fp.households[idx]
    best = None
    for a_is_i in (True, False):
        test = (lambda ca, cb: ok(ca, cb)) if a_is_i else (lambda ca, cb: ok(cb, ca))
        for jj, t, side in _candidates(fp, idx, test, drawn):
            try:
                drawn_pair = _draw(union, fp, idx, side, jj, t)
            except GEOSException:
                continue
            if drawn_pair is None:
                continue
            gi, gj = drawn_pair if a_is_i else drawn_pair[::-1]
            new_mine = side if a_is_i else ~side
            pp = polsby_popper([gi, gj], scale)
            counts = np.array([h[new_mine].sum(), h[~new_mine].sum()])
            if not accept(counts, pp):
                continue
            key = (float(pp.min()), float(pp.sum()))
            if best is None or key > best[0]:
                best = (key, gi, gj, new_mine)
    if best is None:
        return False
    _, gi, gj, new_mine = best
    before = np.where(mine, parts[i], parts[j])
    if not _whole(fp.foot[idx], before, np.where(new_mine, gi, gj)):
        return False
    parts[i], parts[j] = gi, gj
    assignment[idx[new_mine]] = i
    assignment[idx[~new_mine]] = j
    return True


def _pieces(src: int, parts: list[BaseGeometry], assignment: np.ndarray, fp: Footprints
            ) -> dict[int, BaseGeometry]:
    """The land each building of part `src` would take with it: its share of the part's
    Voronoi diagram of the buildings' representative points, with its own footprint and
    without the others' footprints (those whose envelopes meet it: the rest cannot)."""
    idx = np.flatnonzero(assignment == src)
    if len(idx) < 2:
        return {}
    part = parts[src]
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(fp.rep[idx]),
                                                       extend_to=part))
    tree = shapely.STRtree(cells)
    own = tree.query(shapely.points(fp.rep[idx]), predicate="intersects")
    cell_of = dict(zip(own[0].tolist(), own[1].tolist(), strict=True))
    feet = fp.foot[idx]
    near_feet = shapely.STRtree(feet)
    out = {}
    for n, b in enumerate(idx.tolist()):
        if n not in cell_of:
            continue
        piece = shapely.intersection(shapely.union(cells[cell_of[n]], fp.foot[b]), part)
        near = near_feet.query(piece)  # a part may hold hundreds: their envelopes first
        out[b] = without_footprints(piece, feet[near[near != n]])
    return out


def _move(src: int, dst: int, parts: list[BaseGeometry], assignment: np.ndarray,
          fp: Footprints, scale: tuple[float, float], ok: Callable[[int, int], bool],
          floor: float) -> bool:
    """Move the one building of part `src`, with its land, to neighbour `dst` that leaves the
    counts `ok` (dst, src), both parts one polygon and the lower Polsby-Popper highest (at
    least `floor`); in place, whether one moved."""
    counts = _counts(assignment, fp, len(parts))
    best = None
    try:
        pieces = _pieces(src, parts, assignment, fp)
    except GEOSException:
        return False
    for b, piece in pieces.items():
        x = int(fp.households[b])
        if not ok(counts[dst] + x, counts[src] - x) or piece.is_empty:
            continue
        try:
            if not shapely.intersects(piece, parts[dst]):
                continue
            gd = _one(shapely.union(parts[dst], piece))
            gs = _one(shapely.difference(parts[src], piece))
        except GEOSException:
            continue
        key = _pair_key(parts[dst], parts[src], gd, gs, scale)
        if key is not None and key[0] >= floor and (best is None or key > best[0]):
            best = (key, b, gd, gs)
    if best is None:
        return False
    _, b, gd, gs = best
    idx = np.flatnonzero((assignment == src) | (assignment == dst))
    was = np.where(assignment[idx] == src, parts[src], parts[dst])
    now_dst = (assignment[idx] == dst) | (idx == b)
    if not _whole(fp.foot[idx], was, np.where(now_dst, gd, gs)):
        return False
    parts[dst], parts[src] = gd, gs
    assignment[b] = dst
    return True


def _pair_key(a: BaseGeometry, b: BaseGeometry, new_a: BaseGeometry | None,
              new_b: BaseGeometry | None, scale: tuple[float, float]
              ) -> tuple[float, float] | None:
    """How good a redrawn pair is (its lower, then summed Polsby-Popper), or None when a side
    is not one polygon or the overlay lost or doubled area."""
    if new_a is None or new_b is None:
        return None
    total = a.area + b.area
    if abs(new_a.area + new_b.area - total) > AREA_NOISE * total:
        return None
    pp = polsby_popper([new_a, new_b], scale)
    return float(pp.min()), float(pp.sum())


def _swap(i: int, j: int, parts: list[BaseGeometry], assignment: np.ndarray, fp: Footprints,
          scale: tuple[float, float], ok: Callable[[int, int], bool], floor: float) -> bool:
    """Exchange one boundary building of part i, with its land, for one of part j when the
    counts are `ok` (i, j) afterwards, both parts stay one polygon and the lower
    Polsby-Popper is highest (at least `floor`); in place, whether two moved."""
    try:
        mine, theirs = _pieces(i, parts, assignment, fp), _pieces(j, parts, assignment, fp)
    except GEOSException:
        return False
    counts = _counts(assignment, fp, len(parts))
    h = fp.households
    mine = {b: g for b, g in mine.items() if shapely.intersects(g, parts[j])}
    theirs = {c: g for c, g in theirs.items() if shapely.intersects(g, parts[i])}
    best = None
    for b, gb in mine.items():
        for c, gc in theirs.items():
            if not ok(int(counts[i] - h[b] + h[c]), int(counts[j] - h[c] + h[b])):
                continue
            try:
                gi = _one(shapely.union(shapely.difference(parts[i], gb), gc))
                gj = _one(shapely.union(shapely.difference(parts[j], gc), gb))
            except GEOSException:
                continue
            key = _pair_key(parts[i], parts[j], gi, gj, scale)
            if key is not None and key[0] >= floor and (best is None or key > best[0]):
                best = (key, b, c, gi, gj)
    if best is None:
        return False
    _, b, c, gi, gj = best
    idx = np.flatnonzero((assignment == i) | (assignment == j))
    was = np.where(assignment[idx] == i, parts[i], parts[j])
    now_i = ((assignment[idx] == i) & (idx != b)) | (idx == c)
    if not _whole(fp.foot[idx], was, np.where(now_i, gi, gj)):
        return False
    parts[i], parts[j] = gi, gj
    assignment[b], assignment[c] = j, i
    return True


def _adjacency(parts: list[BaseGeometry]) -> list[set[int]]:
    near: list[set[int]] = [set() for _ in parts]
    for a, b in _neighbours(parts):
        near[a].add(b)
        near[b].add(a)
    return near


def _counts(assignment: np.ndarray, fp: Footprints, n: int) -> np.ndarray:
    return np.bincount(assignment, weights=fp.households, minlength=n).astype(np.int64)


def _paths(start: int, near: list[set[int]], lone: np.ndarray, length: int) -> list[list[int]]:
    """Simple paths of parts from `start` over parts that are not lone towers, shortest
    first, up to `length` parts."""
    out, frontier = [], [[start]]
    for _ in range(length - 1):
        grown = []
        for path in frontier:
            for k in sorted(near[path[-1]]):
                if k not in path and not lone[k]:
                    grown.append([*path, k])
        out += grown
        frontier = grown
    return out


def _subset_sums(households: np.ndarray) -> np.ndarray:
    """Every total a subset of `households` can hold (0 included)."""
    reach = np.zeros(int(households.sum()) + 1, dtype=bool)
    reach[0] = True
    for h in households.tolist():
        if h:
            reach[h:] = reach[h:] | reach[:-h]
    return np.flatnonzero(reach)


def _reachable(ok: Callable, near_held: np.ndarray, far_held: np.ndarray) -> bool:
    """Whether some exchange between a pair can satisfy `ok(near total, far total)`: a move,
    a swap and a redrawn line all hand a subset of one part's buildings to the other and a
    subset of the other's back, so the near part's total can change by any difference of a
    far subset's households and a near subset's, and by nothing else."""
    change = np.unique(_subset_sums(far_held)[:, None] - _subset_sums(near_held)[None, :])
    cn, cf = int(near_held.sum()), int(far_held.sum())
    return bool(np.any(ok(cn + change, cf - change)))


def _chain(path: list[int], parts, assignment, fp, scale, lo, hi) -> bool:
    """Move households along `path` (path[0] out of bounds) from its far end; see the module
    docstring. In place; whether every part on it ends within the bounds."""
    counts = _counts(assignment, fp, len(parts))
    short = counts[path[0]] < lo
    pp = polsby_popper(parts, scale)
    for m in range(len(path) - 1, 0, -1):
        near, far = path[m - 1], path[m]
        counts = _counts(assignment, fp, len(parts))
        if m == 1:
            def ok(cn, cf):
                return (cn >= lo) & (cn <= hi) & (cf >= lo) & (cf <= hi)
        else:  # the near part gathers (or sheds) what its own near neighbour needs
            gap = lo - counts[path[0]] if short else counts[path[0]] - hi

            def ok(cn, cf, gap=gap):
                room = (cn >= lo + gap) if short else (cn <= hi - gap)
                return room & (cf >= lo) & (cf <= hi)
        if not _reachable(ok, fp.households[assignment == near],
                          fp.households[assignment == far]):
            return False  # no exchange of buildings between the pair can do it
        floor = min(FLOOR, float(min(pp[near], pp[far])))

        def accept(_counts, new_pp, floor=floor):
            return bool(new_pp.min() >= floor)

        if short:  # a building of the far part goes to the near one
            moved = _move(far, near, parts, assignment, fp, scale,
                          lambda cn, cf, ok=ok: bool(ok(cn, cf)), floor)
        else:
            moved = _move(near, far, parts, assignment, fp, scale,
                          lambda cf, cn, ok=ok: bool(ok(cn, cf)), floor)
        if not moved and m == 1:
            moved = _swap(near, far, parts, assignment, fp, scale,
                          lambda cn, cf, ok=ok: bool(ok(cn, cf)), floor)
        if not moved and not _redraw(near, far, parts, assignment, fp, scale, ok, accept):
            return False
        pp[near], pp[far] = polsby_popper([parts[near], parts[far]], scale)
    counts = _counts(assignment, fp, len(parts))
    return bool(all(lo <= counts[p] <= hi for p in path))


def chains(parts: list[BaseGeometry], assignment: np.ndarray, fp: Footprints,
           scale: tuple[float, float], lo: int, hi: int, lone: np.ndarray) -> list[BaseGeometry]:
    """Parts after bringing parts out of bounds into them along chains of neighbours, the
    part furthest out first (a chain takes its neighbours' slack, which a part nearer the
    bounds may find elsewhere; in the order of their numbers, which the engine's ties decide,
    a Bund community kept a grid 23 households short or none by 0.05 mm of its input)."""
    parts = list(parts)
    near = _adjacency(parts)
    first = _counts(assignment, fp, len(parts))
    order = np.argsort(-np.maximum(lo - first, first - hi), kind="stable")
    for start in order.tolist():
        counts = _counts(assignment, fp, len(parts))
        if lone[start] or lo <= counts[start] <= hi:
            continue
        for path in _paths(start, near, lone, CHAIN_PARTS)[:CHAINS]:
            if not all(lo <= counts[p] <= hi for p in path[1:]):
                continue
            saved_parts, saved = list(parts), assignment.copy()
            if _chain(path, parts, assignment, fp, scale, lo, hi):
                near = _adjacency(parts)
                break
            parts[:] = saved_parts
            assignment[:] = saved
    return parts


def fill_in(i: int, parts: list[BaseGeometry], assignment: np.ndarray, fp: Footprints,
            scale: tuple[float, float], near: set[int]) -> bool:
    """Fill part i's concavities with its neighbours' empty land (see the module docstring);
    in place, whether it changed."""
    unit = 1.0 / max(scale)
    old = dict(zip((i, *near), polsby_popper([parts[k] for k in (i, *near)], scale),
                   strict=True))
    best = None
    for d in CLOSE_M:
        try:
            got = _fill(i, d * unit, parts, assignment, fp, scale, near, old)
        except GEOSException:  # an overlay of nearly touching edges
            got = None
        if got is not None and (best is None or got[0] > best[0]):
            best = got
    if best is None:
        return False
    for k, g in best[1].items():
        parts[k] = g
    return True


def _fill(i: int, r: float, parts: list[BaseGeometry], assignment: np.ndarray,
          fp: Footprints, scale: tuple[float, float], near: set[int], old: dict[int, float]
          ) -> tuple[float, dict[int, BaseGeometry]] | None:
    """One closing of part i by radius r (see `fill_in`): the lowest Polsby-Popper of the
    parts it changes and their new shapes, or None when it is not kept."""
    part = parts[i]
    closed = shapely.buffer(shapely.buffer(part, r, quad_segs=4), -r, quad_segs=4)
    gain = shapely.difference(closed, part)
    if gain.is_empty:
        return None
    new, taken = {}, []
    for k in near:
        piece = shapely.intersection(gain, parts[k])
        if piece.is_empty or shapely.area(piece) <= 0:
            continue
        piece = without_footprints(piece, fp.foot[assignment == k])
        piece = shapely.union_all([g for g in shapely.get_parts(piece)
                                   if g.geom_type == "Polygon" and g.area > 0])
        if piece.is_empty:
            continue
        rest = _one(shapely.difference(parts[k], piece))
        if rest is None:
            return None
        new[k] = rest
        taken.append(piece)
    if not taken:
        return None
    grown = _one(shapely.union_all([part, *taken]))
    if grown is None:
        return None
    keys = [i, *new]
    before = sum(parts[k].area for k in keys)
    after = grown.area + sum(g.area for g in new.values())
    if abs(after - before) > AREA_NOISE * before:
        return None
    pp = polsby_popper([grown, *new.values()], scale)
    if pp.min() <= min(old[k] for k in keys) + GAIN:
        return None
    idx = np.flatnonzero(np.isin(assignment, keys))
    was = np.asarray(parts, dtype=object)[assignment[idx]]
    now_of = {i: grown, **new}
    now = np.asarray([now_of[int(a)] for a in assignment[idx]], dtype=object)
    if not _whole(fp.foot[idx], was, now):
        return None
    return float(pp.min()), now_of


def recombine_pair(i: int, j: int, parts: list[BaseGeometry], assignment: np.ndarray,
                   fp: Footprints, scale: tuple[float, float], lo: int, hi: int) -> bool:
    """Merge thin part i with neighbour j and divide the pair again by the best straight line
    when the lower Polsby-Popper rises and the households out of bounds do not grow."""
    counts = _counts(assignment, fp, len(parts))
    dev = _deviation(counts[i], lo, hi) + _deviation(counts[j], lo, hi)
    old = float(polsby_popper([parts[i], parts[j]], scale).min())

    def ok(ci, cj):
        return (np.maximum(np.maximum(lo - ci, ci - hi), 0)
                + np.maximum(np.maximum(lo - cj, cj - hi), 0)) <= dev

    def accept(_counts, pp):
        return bool(pp.min() > old + GAIN)

    return _redraw(i, j, parts, assignment, fp, scale, ok, accept)


def trade(i: int, j: int, parts: list[BaseGeometry], assignment: np.ndarray,
          fp: Footprints, scale: tuple[float, float], lo: int, hi: int) -> bool:
    """Move one boundary building, with its land, between thin part i and neighbour j (either
    way) when the lower Polsby-Popper of the two rises and their households out of bounds do
    not grow; in place, whether one moved."""
    counts = _counts(assignment, fp, len(parts))
    dev = _deviation(counts[i], lo, hi) + _deviation(counts[j], lo, hi)
    floor = float(polsby_popper([parts[i], parts[j]], scale).min()) + GAIN

    def ok(c_dst: int, c_src: int) -> bool:
        return _deviation(c_dst, lo, hi) + _deviation(c_src, lo, hi) <= dev

    return (_move(i, j, parts, assignment, fp, scale, ok, floor)
            or _move(j, i, parts, assignment, fp, scale, ok, floor))


def compact(parts: list[BaseGeometry], assignment: np.ndarray, fp: Footprints,
            scale: tuple[float, float], lo: int, hi: int) -> list[BaseGeometry]:
    """Parts after raising the thinnest (see the module docstring, 2)."""
    parts = list(parts)
    for _ in range(ROUNDS):
        pp = polsby_popper(parts, scale)
        thin = [int(i) for i in np.argsort(pp) if pp[i] < THIN]
        if not thin:
            break
        changed = False
        for i in thin:
            near = _adjacency(parts)[i]
            if near and fill_in(i, parts, assignment, fp, scale, near):
                changed = True
        parts = clean_slivers(parts, assignment, fp.foot, scale)
        pp = polsby_popper(parts, scale)
        for i in [k for k in thin if pp[k] < THIN]:
            pps = polsby_popper(parts, scale)
            for j in sorted(_adjacency(parts)[i], key=lambda k: pps[k]):
                if recombine_pair(i, j, parts, assignment, fp, scale, lo, hi) or trade(
                        i, j, parts, assignment, fp, scale, lo, hi):
                    changed = True
                    break
        if not changed:
            break
    return parts


def improve(parts: list[BaseGeometry], assignment: np.ndarray, fp: Footprints,
            scale: tuple[float, float], lo: int, hi: int, feasible: bool, chained: bool = True
            ) -> list[BaseGeometry]:
    """Parts after the chains (when `feasible` and `chained`) and the compactness moves;
    `assignment` changes in place."""
    parts = list(parts)
    if len(parts) < 2:
        return parts
    if feasible and chained:
        held = [fp.households[assignment == k] for k in range(len(parts))]
        lone = np.array([lone_building(x, hi) for x in held])
        parts = chains(parts, assignment, fp, scale, lo, hi, lone)
    return compact(parts, assignment, fp, scale, lo, hi)


def improved(parent: BaseGeometry, buildings, households, result: SplitResult, lo: int, hi: int,
             geographic: bool = True, chained: bool = True) -> SplitResult:
    """`result` after the passes of the module docstring, or `result` itself when no part is
    out of bounds or under THIN (nothing is built then). Without `chained` the chains (1) are
    left out: for a division whose engine searched such chains on its own (the graph engine's
    gis.partition.assign.ChainRepair), see gis.partition.engines.UNIT_CHAINS_ENOUGH."""
    h = np.asarray(households, dtype=np.int64).reshape(-1)
    assignment = np.asarray(result.assignment, dtype=np.int64).copy()
    held = [h[assignment == k] for k in range(len(result.parts))]
    arithmetic = arithmetic_of(result.violations)
    if len(result.parts) < 2 or not needs_work(result.households, result.polsby_popper, held,
                                               lo, hi, arithmetic is None):
        return result
    parent = single_polygon(parent)
    scale = metric_scale(parent, geographic)
    foot = np.asarray(list(buildings), dtype=object)
    rep = shapely.get_coordinates(shapely.point_on_surface(foot))
    fp = Footprints.of(foot, rep, h, scale)
    try:
        parts = improve(list(result.parts), assignment, fp, scale, lo, hi, arithmetic is None,
                        chained)
        parts, assignment, split = keep_whole(parent, parts, assignment, foot, h, scale)
    except GEOSException:  # a pass not guarded above: the division as the other passes left it
        return result
    violations = [v for v in result.violations if not v.startswith(PART_VIOLATION)] + split
    return rebuild(parent, parts, assignment, h, result, violations, lo, hi, geographic,
                   arithmetic)
