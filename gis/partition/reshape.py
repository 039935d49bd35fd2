"""Redraw the boundary between two neighbouring parts as one straight line through the gaps.

Land without buildings counts no households, so the line between two parts can run anywhere
between their footprints. For a pair of parts sharing an edge whose union is one polygon, lines
at ANGLES directions are laid between the buildings' representative points (sorted along each
direction's normal, so every line splits the pair's buildings into a prefix and the rest):

- `keep` mode (compactness): only lines leaving each building in its part; the line runs
  through the middle of the widest gap between the two parts' footprints (their convex hulls'
  extents along the normal), or, when the footprints overlap along every direction, between
  the representative points, footprints that the line crosses staying whole on their own side;
- `balance` mode (bounds): any line whose two sides hold households within lo..hi (or fewer out
  of bounds than now), so buildings may change part.

The best few lines by gap width are drawn (in `keep` mode, where every line splits the
buildings alike, beside a tower the widest gap at each of the best KEEP_DRAWN directions; the
most compact pair wins): one side is the union cut by the half-plane, the other the rest of the
union, so the pair still tiles the same area; each footprint is then added to its own side and
taken from the other, so none is split. A redraw is kept only when both sides are one polygon
each holding its buildings and, in `keep` mode, the lower Polsby-Popper of the two rises (in
`balance` mode: fewer households out of bounds, then a higher lower Polsby-Popper). Parts other
than the pair never change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis.partition.cuts import halfplane
from gis.partition.halves import lower_pp
from gis.partition.quality import polsby_popper

ANGLES = 24
DRAWN = 2  # lines drawn per pair (best gaps first)
# in `keep` mode every line splits the buildings the same way: where one part is a tower (a
# building over the maximum) the widest gaps at this many directions are drawn (the widest
# alone left a tower's grid a wedge of land on the Wuhan set that a line at another angle gives
# its neighbour)
KEEP_DRAWN = 6
GAIN = 1e-4  # smallest rise in the lower Polsby-Popper that counts
WHOLE = 1e-6  # share of a footprint's area that may differ (overlay rounding)
AREA_NOISE = 1e-9  # share of a pair's area that may differ after an overlay
COMPACT = 0.5  # pairs whose parts are both at least this compact are left as they are
# a pair brought into bounds keeps its parts at least this compact (or as compact as the lower
# of the two was): bounds come first, but not at the price of a sliver
BALANCE_FLOOR = 0.2
SLIVER_STEPS = 16  # positions across the gap screened per direction for a pair with a sliver
SLIVER_DRAWN = 8  # of which the best are drawn


@dataclass
class Footprints:
    """The buildings of one parent: footprints, representative points, households, and each
    footprint's extent along every direction's normal."""

    foot: np.ndarray
    rep: np.ndarray
    households: np.ndarray
    axes: np.ndarray
    lo_proj: np.ndarray
    hi_proj: np.ndarray
    rep_proj: np.ndarray

    @classmethod
    def of(cls, foot, rep: np.ndarray, households, scale: tuple[float, float]) -> Footprints:
        foot = np.asarray(foot, dtype=object)
        theta = np.arange(ANGLES) * math.pi / ANGLES
        axes = np.vstack([scale[0] * np.cos(theta), scale[1] * np.sin(theta)])
        coords, owner = shapely.get_coordinates(shapely.convex_hull(foot), return_index=True)
        proj = coords @ axes
        n = len(foot)
        lo_proj = np.full((n, ANGLES), np.inf)
        hi_proj = np.full((n, ANGLES), -np.inf)
        np.minimum.at(lo_proj, owner, proj)
        np.maximum.at(hi_proj, owner, proj)
        return cls(foot, rep, np.asarray(households, dtype=np.int64), axes, lo_proj, hi_proj,
                   rep @ axes)


def _one(geom: BaseGeometry) -> BaseGeometry | None:
    """The one polygon of `geom` (lines and points left by set operations dropped), or None
    when it has several (a collection may hold a multipolygon: flattened twice)."""
    if geom.geom_type == "Polygon":  # most overlays give one: no flattening
        return geom if geom.area > 0 else None
    flat = shapely.get_parts(shapely.get_parts(geom))
    polys = [p for p in flat if p.geom_type == "Polygon" and p.area > 0]
    return polys[0] if len(polys) == 1 else None


def _tower_pair(households: np.ndarray, mine: np.ndarray, hi: float) -> bool:
    """Whether either part of a pair is one building over the maximum `hi` (`mine`: which of
    the pair's buildings, of `households`, are in the first)."""
    return any(len(side) == 1 and side[0] > hi for side in (households[mine],
                                                             households[~mine]))


def _lines(fp: Footprints, idx: np.ndarray, mine: np.ndarray, mode: str, lo: int, hi: int
           ) -> list[tuple[float, int, float, np.ndarray]]:
    """Candidate lines (gap, angle, t, side-A mask over idx), widest gaps first."""
    rp = fp.rep_proj[idx]
    order = np.argsort(rp, axis=0, kind="stable")
    rs = np.take_along_axis(rp, order, 0)
    lo_s = np.take_along_axis(fp.lo_proj[idx], order, 0)
    hi_s = np.take_along_axis(fp.hi_proj[idx], order, 0)
    reach = np.maximum.accumulate(hi_s, axis=0)[:-1]  # side A's furthest footprint
    start = np.minimum.accumulate(lo_s[::-1], axis=0)[::-1][1:]  # side B's nearest
    gap = start - reach
    t = np.where(gap > 0, (reach + start) / 2, (rs[:-1] + rs[1:]) / 2)
    ok = rs[1:] > rs[:-1]
    n = len(idx)
    if mode == "keep":
        inside = np.cumsum(mine[order], axis=0)[:-1]
        size = np.arange(1, n)[:, None]
        ok &= ((inside == size) & (size == mine.sum())) | ((inside == 0) & (
            n - size == mine.sum()))
    else:
        h = fp.households[idx]
        ca = np.cumsum(h[order], axis=0)[:-1]
        cb = int(h.sum()) - ca
        ok &= (ca >= lo) & (ca <= hi) & (cb >= lo) & (cb <= hi)
    r, j = np.nonzero(ok)
    if len(r) == 0:
        return []
    keyed = sorted(zip(-gap[r, j], j, r, strict=True))
    tower = mode == "keep" and _tower_pair(fp.households[idx], mine, hi)
    out, seen = [], set()
    for g, jj, rr in keyed:
        side = np.zeros(n, bool)
        side[order[: rr + 1, jj]] = True
        angle = jj if tower else -1  # beside a tower, the same split at each direction
        if (side.tobytes(), angle) in seen or ((~side).tobytes(), angle) in seen:
            continue
        seen.add((side.tobytes(), angle))
        out.append((-float(g), int(jj), float(t[rr, jj]), side))
        if len(out) >= (KEEP_DRAWN if tower else DRAWN):
            break
    return out


def _sliver_lines(fp: Footprints, idx: np.ndarray, mine: np.ndarray, union: BaseGeometry,
                  scale: tuple[float, float]) -> list[tuple[float, int, float, np.ndarray]]:
    """Lines leaving each building in its part for a pair holding a part under BALANCE_FLOOR,
    where the middle of the widest gap is seldom the best place: at every direction where the
    parts' buildings lie apart, SLIVER_STEPS positions across the gap between them (between
    their representative points where the footprints overlap along it). Each is screened by
    the lower Polsby-Popper of the union cut straight (footprints ignored), measured in closed
    form at every direction at once (gis.partition.halves); the SLIVER_DRAWN best come
    back (none where a part of the pair holds no building: no gap to screen)."""
    if mine.all() or not mine.any():
        return []
    jj, first, a, b = _apart(fp, idx, mine)
    if not len(jj):
        return []
    metric = shapely.transform(union, lambda xy: xy * np.asarray(scale))
    rings = [shapely.get_coordinates(r) for r in (metric.exterior, *metric.interiors)]
    turns = {j: _turn(j) for j in np.unique(jj).tolist()}
    turned = [np.stack([ring @ turns[j] for j in jj.tolist()]) for ring in rings]
    ts = a[:, None] + (np.arange(SLIVER_STEPS) + 0.5) / SLIVER_STEPS * (b - a)[:, None]
    pps = lower_pp(turned, ts)
    sides = (mine, ~mine)
    screened = [(pp, int(jj[row]), t, sides[0 if first[row] else 1])
                for row, (pp_row, t_row) in enumerate(zip(pps.tolist(), ts.tolist(),
                                                          strict=True))
                for pp, t in zip(pp_row, t_row, strict=True) if not math.isnan(pp)]
    screened.sort(key=lambda x: -x[0])
    return [(0.0, jj, t, side) for _, jj, t, side in screened[:SLIVER_DRAWN]]


def _turn(jj: int) -> np.ndarray:
    """The rotation taking direction jj's normal to the x axis (rows x, y times it)."""
    c, s = math.cos(jj * math.pi / ANGLES), math.sin(jj * math.pi / ANGLES)
    return np.array([[c, -s], [s, c]])


def _apart(fp: Footprints, idx: np.ndarray, mine: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The directions (jj) along whose normal one side of a pair (`mine` where `first`, else
    the rest) has all its buildings before the other's, each with the gap (start a, end b)
    between them: between their footprints where these lie apart too, else between their
    representative points; by direction, `mine` first."""
    rows = []
    for side in (mine, ~mine):
        reach, start = fp.hi_proj[idx[side]].max(axis=0), fp.lo_proj[idx[~side]].min(axis=0)
        last, first = fp.rep_proj[idx[side]].max(axis=0), fp.rep_proj[idx[~side]].min(axis=0)
        clear = start > reach
        rows.append((last < first, np.where(clear, reach, last), np.where(clear, start, first)))
    ok = np.stack([r[0] for r in rows], axis=1)  # (directions, sides)
    jj, k = np.nonzero(ok)
    a = np.stack([r[1] for r in rows], axis=1)[jj, k]
    b = np.stack([r[2] for r in rows], axis=1)[jj, k]
    return jj, k == 0, a, b


def _draw(union: BaseGeometry, fp: Footprints, idx: np.ndarray, side: np.ndarray, jj: int,
          t: float) -> tuple[BaseGeometry, BaseGeometry] | None:
    """The union divided by the line, footprints it crosses whole on their own side; None
    unless both sides are one polygon and together keep the union's area."""
    hp = halfplane(union, fp.axes[:, jj], t)
    crossing = (fp.lo_proj[idx, jj] < t) & (fp.hi_proj[idx, jj] > t)
    if crossing.any():
        mine_a = fp.foot[idx[side & crossing]]
        mine_b = fp.foot[idx[~side & crossing]]
        if len(mine_a):
            hp = shapely.union_all([hp, *mine_a])
        if len(mine_b):
            hp = shapely.difference(hp, shapely.union_all(mine_b))
    a = _one(shapely.intersection(union, hp))
    b = _one(shapely.difference(union, hp))
    if a is None or b is None:
        return None
    if abs(a.area + b.area - union.area) > AREA_NOISE * union.area:
        return None
    return a, b


def without_footprints(piece: BaseGeometry, feet: np.ndarray) -> BaseGeometry:
    """`piece` of land less the footprints `feet` that meet it (the rest cannot take anything
    off, and leaving them out keeps the overlay small)."""
    feet = feet[shapely.intersects(feet, piece)]
    return shapely.difference(piece, shapely.union_all(feet)) if len(feet) else piece


def _whole(feet: np.ndarray, before: np.ndarray, after: np.ndarray) -> bool:
    """Whether each footprint lies in its part `after` as fully as in its part `before`
    (overlays round vertices, and round holes they may drop a small footprint: every kept
    redraw is checked)."""
    held = shapely.area(shapely.intersection(feet, before))
    inside = shapely.area(shapely.intersection(feet, after))
    return bool((inside >= held - WHOLE * shapely.area(feet)).all())


def shared_edges(parts: list[BaseGeometry]) -> list[tuple[int, int, float]]:
    """Each pair of parts i < j sharing an edge of positive length, with that length (in the
    parts' units), i ascending: one tree query and one overlay call for all pairs."""
    geoms = np.asarray(parts, dtype=object)
    if len(geoms) < 2:
        return []
    a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    later = b > a
    a, b = a[later], b[later]
    outline = shapely.boundary(geoms)
    length = shapely.length(shapely.intersection(outline[a], outline[b]))
    touch = length > 0
    return list(zip(a[touch].tolist(), b[touch].tolist(), length[touch].tolist(), strict=True))


def _neighbours(parts: list[BaseGeometry]) -> list[tuple[int, int]]:
    return [(i, j) for i, j, _ in shared_edges(parts)]


def _deviation(count: int, lo: int, hi: int) -> int:
    return max(lo - count, count - hi, 0)


def _drawn(lines: list, union: BaseGeometry, fp: Footprints, idx: np.ndarray,
           mine: np.ndarray, mode: str, scale: tuple[float, float], old_pp: np.ndarray,
           before_dev: int) -> list[tuple]:
    """The redraws of `lines` that count (see the module docstring): (the lower
    Polsby-Popper of the two, geometries of parts i and j, the pair's buildings now in part
    i)."""
    found = []
    for _, jj, t, side in lines:
        drawn = _draw(union, fp, idx, side, jj, t)
        if drawn is None:
            continue
        if mode == "keep":
            a_is_i = bool(side[mine].all())
            geoms = drawn if a_is_i else drawn[::-1]
            new_mine = mine
        else:  # side A becomes whichever part keeps more of its own buildings there
            a_is_i = int((side & mine).sum()) + int((~side & ~mine).sum()) >= len(idx) / 2
            geoms = drawn if a_is_i else drawn[::-1]
            new_mine = side if a_is_i else ~side
        pp = polsby_popper(list(geoms), scale)
        if mode != "balance":
            if pp.min() <= old_pp.min() + GAIN:
                continue
        elif before_dev == 0 or pp.min() < min(old_pp.min(), BALANCE_FLOOR):
            continue  # both sides within bounds by construction
        found.append((float(pp.min()), geoms, new_mine))
    return found


def redraw_pair(i: int, j: int, parts: list[BaseGeometry], assignment: np.ndarray,
                fp: Footprints, scale: tuple[float, float], mode: str = "keep",
                lo: int = 0, hi: int = 0) -> bool:
    """Redraw the boundary of parts i and j in place (see the module docstring); whether it
    changed."""
    union = _one(shapely.union(parts[i], parts[j]))
    if union is None:
        return False
    idx = np.flatnonzero((assignment == i) | (assignment == j))
    if len(idx) < 2:
        return False
    mine = assignment[idx] == i
    if abs(union.area - parts[i].area - parts[j].area) > AREA_NOISE * union.area:
        return False  # the overlay lost or doubled some area: leave this pair as it is
    old_pp = polsby_popper([parts[i], parts[j]], scale)
    h = fp.households
    before_dev = (_deviation(int(h[assignment == i].sum()), lo, hi)
                  + _deviation(int(h[assignment == j].sum()), lo, hi))
    if mode == "free" and before_dev:
        mode = "keep"
    found = _drawn(_lines(fp, idx, mine, mode, lo, hi), union, fp, idx, mine, mode, scale,
                   old_pp, before_dev)
    lifted = max((low for low, _, _ in found), default=0.0)
    if mode != "balance" and old_pp.min() < BALANCE_FLOOR and lifted < BALANCE_FLOOR:
        closer = _sliver_lines(fp, idx, mine, union, scale)
        found += _drawn(closer, union, fp, idx, mine, mode, scale, old_pp, before_dev)
    feet = fp.foot[idx]
    before = np.where(mine, parts[i], parts[j])
    for _, (gi, gj), new_mine in sorted(found, key=lambda f: -f[0]):  # stable: first drawn
        if _whole(feet, before, np.where(new_mine, gi, gj)):
            break
    else:
        return False
    parts[i], parts[j] = gi, gj
    assignment[idx[new_mine]] = i
    assignment[idx[~new_mine]] = j
    return True


def straighten(parts: list[BaseGeometry], assignment: np.ndarray, fp: Footprints,
               scale: tuple[float, float], rounds: int = 1, mode: str = "keep",
               lo: float = -np.inf, hi: float = np.inf) -> list[BaseGeometry]:
    """Parts after redrawing shared boundaries as straight lines while the lower
    Polsby-Popper of each pair rises: `keep` leaves every building in its part, `free` lets
    buildings change part when both sides stay within lo..hi (pairs where either is out of
    bounds, or holds a building over hi, are left alone)."""
    parts = list(parts)
    for _ in range(rounds):
        pp = polsby_popper(parts, scale)
        pairs = sorted((p for p in _neighbours(parts) if min(pp[p[0]], pp[p[1]]) < COMPACT),
                       key=lambda p: min(pp[p[0]], pp[p[1]]))
        changed = False
        for i, j in pairs:
            if redraw_pair(i, j, parts, assignment, fp, scale, mode, lo, hi):
                changed = True
        if not changed:
            break
    return parts


def rebalance(parts: list[BaseGeometry], assignment: np.ndarray, fp: Footprints,
              scale: tuple[float, float], lo: int, hi: int, lone: np.ndarray
              ) -> list[BaseGeometry]:
    """Parts after redividing each out-of-bounds part with a neighbour by one straight line
    whose two sides are both within lo..hi (buildings may change part; `lone` marks parts
    that are one building over the maximum, left alone)."""
    parts = list(parts)
    counts = np.bincount(assignment, weights=fp.households, minlength=len(parts))
    bad = [i for i in range(len(parts)) if not lone[i] and not lo <= counts[i] <= hi]
    if not bad:
        return parts
    pairs = _neighbours(parts)
    for i in bad:
        counts = np.bincount(assignment, weights=fp.households, minlength=len(parts))
        if lo <= counts[i] <= hi:
            continue
        for a, b in pairs:
            if i not in (a, b) or lone[a] or lone[b]:
                continue
            if redraw_pair(a, b, parts, assignment, fp, scale, "balance", lo, hi):
                break
    return parts
