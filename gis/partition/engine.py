"""Recursive straight-line bisection with household targets (DESIGN §4).

A region that must become k parts is cut by one straight line into k1 and k - k1 parts (any k1).
Candidate lines run at 24 angles (48 when none fits) and along barrier lines such as roads; a
line passes between two buildings' representative points, and the households on each side must
fit k1·min..k1·max and k2·min..k2·max. Every such line is scored in numpy (gis.partition.cuts) by
the mean Polsby-Popper its final parts can expect, less the footprint it crosses (there the cut
is notched around the footprint, so no footprint is split) and tight household margins, plus a
bonus along a barrier; the best one is applied with shapely: one side is the intersection of the
region with the half-plane, the other the difference, so the parts tile the parent exactly. When
a subtree misses the bounds the next lines are tried (backtracking within a budget; a set of
buildings and part count already searched in full is not searched again), then other part
counts, then a household-balance-first ranking, within a total budget of cuts. Only a few lines
per angle and part count are scored (evenly spaced through the gaps). Then three passes: parts
out of bounds or thin are merged with neighbours and divided again (gis.partition.recombine),
boundary buildings move between neighbours that miss the bounds (gis.partition.repair), and thin
empty arms go to the neighbour beside them (gis.partition.slivers). Buildings above the maximum
count as parts of their own; inputs that cannot meet the bounds are reported, and the best
division returned.
"""

from __future__ import annotations

import math
from itertools import chain, islice
from typing import NamedTuple

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from gis.partition.cells import single_polygon
from gis.partition.cuts import cut_scores, halfplane, line_frame, region_edges
from gis.partition.quality import metric_scale, polsby_popper
from gis.partition.recombine import recombine
from gis.partition.repair import absorb_empty, repair
from gis.partition.result import SLIVER, SplitResult, assign, finish, merge_stray
from gis.partition.slivers import clean_slivers

BASE_ANGLES = 24
RETRY_ANGLES = 48
BARRIER_BONUS = 0.01
MAX_BARRIER_DIRECTIONS = 6
NOTCH_WEIGHT = 1.0
MARGIN_WEIGHT = 0.3
MAX_RANKED = 16
TRIES = 4
KEEP_PER_GROUP = 8
K_TRY = 2
GOOD_PP = 0.66
BALANCE_WEIGHT = 1.0
K_MAX_TRIES = 4
LOOKAHEAD = 2
BUDGET_PER_BUILDING = 3
LAST_BUDGET_PER_BUILDING = 100
RESPLIT_BUDGET_PER_BUILDING = 2
SPECULATIVE_BUDGET_PER_BUILDING = 0  # no backtracking once a division meets the bounds
RESPLIT_CUTS_PER_BUILDING = 4
TOTAL_BUDGET_PER_BUILDING = 40
# the cuts a cluster of parts gets in gis.partition.resplit (split(..., cut_budget=)): on the
# real sets a cluster either divides within the bounds in the first few cuts per building or
# not at all (the same divisions with 5 as with 40, the failing searches 40 % cheaper)
CLUSTER_BUDGET_PER_BUILDING = 5


def _thin(mask: np.ndarray, keep: int) -> np.ndarray:
    """At most about `keep` of the valid positions of each (k1, angle) group, evenly spaced
    along the angle's normal and always with the first and the last: neighbouring lines through
    the gaps of one row of buildings score alike, and scoring them all is most of the time."""
    count = np.cumsum(mask, axis=1)
    total = count[:, -1:, :]
    stride = np.maximum(1, -(-total // keep))
    return mask & (((count - 1) % stride == 0) | (count == total))


def choose_parts(normal: int, oversize: int, lo: int, hi: int) -> tuple[int, str | None]:
    """Number of parts for `normal` households plus `oversize` lone buildings, and why not if
    the bounds cannot be met."""
    if normal == 0:
        return max(oversize, 1), None
    kmin, kmax = math.ceil(normal / hi), normal // lo
    if kmin <= kmax:
        k = min(max(round(normal / ((lo + hi) / 2)), kmin), kmax)
        return k + oversize, None
    if normal < lo and oversize == 0:
        return 1, f"only {normal} households, below the minimum {lo}"
    options = [k for k in (kmin, kmax) if k >= 1]
    k = min(options, key=lambda k: max(normal / k - hi, lo - normal / k))
    return k + oversize, (f"{normal} households cannot be divided into parts of {lo}-{hi}")


class _Cut(NamedTuple):
    """A line {p: axis·p = t} cutting a region of k parts into k1 (side A: the buildings at
    positions side_a of the region's index, below the line) and k - k1."""

    short: float
    score: float
    k1: int
    side_a: np.ndarray
    t: float
    axis: np.ndarray
    k: int
    cost: float


class _Region:
    __slots__ = ("geom", "idx", "k")

    def __init__(self, geom: BaseGeometry, idx: np.ndarray, k: int):
        self.geom, self.idx, self.k = geom, idx, k


class _Engine:
    """State of one split: building vertices, households, scale and barrier directions."""

    def __init__(self, parent, buildings, households, barriers, lo, hi, seed, geographic):
        self.parent = parent
        self.lo, self.hi = lo, hi
        self.kx, self.ky = metric_scale(parent, geographic)
        geoms = np.asarray(buildings, dtype=object)
        self.n = len(geoms)
        self.foot = geoms
        self.h = np.asarray(households, dtype=np.int64).reshape(-1)
        self.over = self.h > hi
        self.hn = np.where(self.over, 0, self.h)
        hulls = shapely.convex_hull(geoms)
        coords, owner = shapely.get_coordinates(hulls, return_index=True)
        counts = np.bincount(owner, minlength=self.n)
        self.vstart = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self.vcount = counts
        self.verts = coords
        reps = shapely.point_on_surface(geoms)
        self.rep = shapely.get_coordinates(reps)
        rng = np.random.default_rng(seed)
        self.offset = float(rng.uniform(0, math.pi / BASE_ANGLES))
        self.barriers = self._barrier_lines(barriers)
        self.na = RETRY_ANGLES
        self.theta = np.concatenate([self._angles(RETRY_ANGLES),
                                     np.array([a for a, _ in self.barriers])])
        self.axes = self._axes(self.theta)
        proj = self.verts @ self.axes
        self.fmn = np.minimum.reduceat(proj, self.vstart, axis=0)
        self.fmx = np.maximum.reduceat(proj, self.vstart, axis=0)
        self.prep = self.rep @ self.axes
        mids = np.array([m for _, m in self.barriers]).reshape(-1, 2)
        self.tb = np.einsum("ij,ji->i", mids, self.axes[:, RETRY_ANGLES:])
        step = RETRY_ANGLES // BASE_ANGLES
        bars = np.arange(RETRY_ANGLES, len(self.theta))
        self.base_cols = np.concatenate([np.arange(0, RETRY_ANGLES, step), bars])
        self.all_cols = np.arange(len(self.theta))
        self.budget = BUDGET_PER_BUILDING * self.n
        self.spent = 0
        self.balanced = False
        self.feasible: dict[tuple[int, bytes], bool] = {}
        self.failed: set[tuple[int, bytes]] = set()
        self.resplit_cap = RESPLIT_CUTS_PER_BUILDING * self.n

    def _barrier_lines(self, barriers) -> list[tuple[float, np.ndarray]]:
        """(normal angle, midpoint) of the longest fairly straight barrier pieces in the parent."""
        if barriers is None or len(barriers) == 0:
            return []
        inside = shapely.intersection(np.asarray(barriers, dtype=object), self.parent)
        pieces = []
        for geom in shapely.get_parts(inside):
            if geom.geom_type != "LineString" or geom.is_empty:
                continue
            xy = np.asarray(geom.coords) * [self.kx, self.ky]
            chord = xy[-1] - xy[0]
            length = float(np.hypot(*np.diff(xy, axis=0).T).sum())
            if length <= 0 or np.hypot(*chord) < 0.95 * length:
                continue
            angle = (math.atan2(chord[1], chord[0]) + math.pi / 2) % math.pi
            mid = np.asarray(geom.interpolate(0.5, normalized=True).coords[0])
            pieces.append((length, angle, mid))
        pieces.sort(key=lambda p: -p[0])
        return [(a, mid) for _, a, mid in pieces[:MAX_BARRIER_DIRECTIONS]]

    # -- geometry helpers ---------------------------------------------------------------
    def _axes(self, angles: np.ndarray) -> np.ndarray:
        """2 x m matrix: projection of a lon/lat point on each angle's normal, in metres."""
        return np.vstack([self.kx * np.cos(angles), self.ky * np.sin(angles)])

    def _halfplane(self, region: BaseGeometry, axis: np.ndarray, t: float) -> Polygon:
        """The half-plane {p: axis·p <= t}, clipped to a box around `region`."""
        return halfplane(region, axis, t)

    def _line(self, region: BaseGeometry, axis: np.ndarray, t: float) -> np.ndarray:
        _, d, p0, big = line_frame(region, axis, t)
        return np.array([p0 + d * big, p0 - d * big])

    def _metric_length(self, line_len: float, axis: np.ndarray) -> float:
        nhat = axis / np.hypot(*axis)
        d = np.array([-nhat[1], nhat[0]])
        return line_len * float(np.hypot(self.kx * d[0], self.ky * d[1]))

    # -- cut search ------------------------------------------------------------------------
    def _valid(self, idx: np.ndarray, k: int, cols: np.ndarray, strict: bool,
               k1s: list[int]) -> dict[str, np.ndarray]:
        """Every line through a gap between buildings (positions x angle columns x k1) whose
        sides can hold k1 and k - k1 parts (or, unless `strict`, the least short per column)."""
        mn = self.prep[idx][:, cols]
        order = np.argsort(mn, axis=0, kind="stable")
        mn_s = np.take_along_axis(mn, order, 0)
        gap = mn_s[1:] - mn_s[:-1]
        valid_base = gap > 0
        tcut = (mn_s[1:] + mn_s[:-1]) / 2
        bar = cols >= self.na
        if bar.any():
            tb = self.tb[cols[bar] - self.na]
            valid_base[:, bar] &= (mn_s[:-1, bar] < tb) & (tb < mn_s[1:, bar])
            tcut[:, bar] = tb
        hn, over = self.hn[idx], self.over[idx].astype(np.int64)
        nc = np.cumsum(hn[order], axis=0)[:-1]
        oc = np.cumsum(over[order], axis=0)[:-1]
        ntot, otot = int(hn.sum()), int(over.sum())
        n2 = ntot - nc
        lo, hi = self.lo, self.hi
        k1 = np.asarray(k1s, dtype=np.int64)[:, None, None]
        k1n, k2n = k1 - oc, (k - k1) - (otot - oc)
        short = np.maximum(np.maximum(k1n * lo - nc, nc - k1n * hi),
                           np.maximum(k2n * lo - n2, n2 - k2n * hi)).clip(0).astype(float)
        short += 1e6 * ((k1n < 0) | (k2n < 0) | ((k1n == 0) & (nc > 0)) | ((k2n == 0) & (n2 > 0)))
        if strict:
            mask = _thin(valid_base & (short == 0), KEEP_PER_GROUP)
        else:
            key = np.where(valid_base, short, np.inf)
            mask = np.isfinite(key) & (key == key.min(axis=1, keepdims=True))
        q, r, j = np.nonzero(mask)
        mean = ntot / max(k - otot, 1) if ntot else 1.0
        dev = np.abs(nc[r, j] - k1n[q, r, j] * mean) / max(mean, 1.0)
        return {"r": r, "j": j, "dev": dev, "k1": k1.reshape(-1)[q], "short": short[q, r, j],
                "k1n": k1n[q, r, j], "k2n": k2n[q, r, j], "nc1": nc[r, j],
                "nc2": n2[r, j], "t": tcut[r, j], "order": order, "cols": cols}

    def _cuts(self, region: _Region, cols: np.ndarray, strict: bool,
              k1s: list[int]) -> list[_Cut]:
        """Valid cuts of `region`, best first: least shortfall, then the highest expected mean
        Polsby-Popper of the final parts, less footprint notches and tight household margins,
        plus a bonus for following a barrier."""
        idx, k = region.idx, region.k
        c = self._valid(idx, k, cols, strict, k1s)
        if len(c["r"]) == 0:
            return []
        col = cols[c["j"]]
        cost = self._crossing(c["t"], self.fmn[idx][:, col], self.fmx[idx][:, col])
        p0, p1 = region_edges(region.geom, (self.kx, self.ky))
        k2 = k - c["k1"]
        score = cut_scores(p0, p1, self.theta[col], c["t"], c["k1"], k2)
        root = self._root(region)
        score -= NOTCH_WEIGHT * cost / root
        score -= MARGIN_WEIGHT * (self._penalty(c["k1n"], c["nc1"])
                                  + self._penalty(c["k2n"], c["nc2"]))
        score += BARRIER_BONUS * (col >= self.na)
        if self.balanced:
            score = score - BALANCE_WEIGHT * c["dev"]
        order, out, seen = c["order"], [], set()
        for i in np.lexsort((c["j"], c["r"], -np.round(score, 9), c["short"])):
            side_a = order[: c["r"][i] + 1, c["j"][i]]
            key = (int(c["k1"][i]), np.sort(side_a).tobytes())
            if key in seen:  # the same buildings on each side: only the best line counts
                continue
            seen.add(key)
            out.append(_Cut(float(c["short"][i]), float(score[i]), int(c["k1"][i]), side_a,
                            float(c["t"][i]), self.axes[:, col[i]], k, float(cost[i])))
            if len(out) == MAX_RANKED:
                break
        return out

    @staticmethod
    def _crossing(t: np.ndarray, fmn: np.ndarray, fmx: np.ndarray) -> np.ndarray:
        """For each cut t[c] with footprint extents fmn/fmx[:, c] on its normal: metres of
        footprint the line crosses, counted on the shorter side of each footprint."""
        depth = np.minimum(t[None, :] - fmn, fmx - t[None, :])
        return np.clip(depth, 0, None).sum(axis=0)

    def _penalty(self, parts: np.ndarray, households: np.ndarray) -> np.ndarray:
        """0 when a side's mean part size leaves room for later cuts, up to 1 at a bound."""
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = households / np.maximum(parts, 1)
        margin = np.minimum(mean - self.lo, self.hi - mean) / max(self.hi - self.lo, 1)
        return np.where(parts >= 2, np.maximum(0.0, 0.25 - margin) * 4.0, 0.0)

    def _apply(self, region: _Region, cand) -> tuple[_Region, _Region, bool]:
        k1 = cand.k1
        a_geom, b_geom, ia, ib = self._sides(region, cand, True)
        a_geom, b_geom, ok_a = self._tidy(a_geom, b_geom, ia)
        b_geom, a_geom, ok_b = self._tidy(b_geom, a_geom, ib)
        return (_Region(a_geom, ia, k1), _Region(b_geom, ib, region.k - k1), ok_a and ok_b)

    def _sides(self, region: _Region, cand: tuple, with_idx: bool = False):
        """The two sides of `region` cut by `cand` (and their building indices)."""
        side_a, t, axis = cand.side_a, cand.t, cand.axis
        hp = self._halfplane(region.geom, axis, t)
        mask = np.zeros(len(region.idx), bool)
        mask[side_a] = True
        ia, ib = region.idx[mask], region.idx[~mask]
        if cand.cost > 0:
            hp = self._notch(hp, axis, t, ia, ib)
        a_geom = shapely.intersection(region.geom, hp)
        b_geom = shapely.difference(region.geom, hp)
        return (a_geom, b_geom, ia, ib) if with_idx else (a_geom, b_geom)

    def _notch(self, hp, axis, t, ia, ib):
        """The half-plane widened around side-A footprints and narrowed around side-B ones that
        the line crosses, so no footprint is cut."""
        fa = [self.foot[i] for i in ia if self._crosses(i, axis, t)]
        fb = [self.foot[i] for i in ib if self._crosses(i, axis, t)]
        if fa:
            hp = shapely.union_all([hp, *fa])
        if fb:
            hp = shapely.difference(hp, shapely.union_all(fb))
        return hp

    def _crosses(self, i: int, axis: np.ndarray, t: float) -> bool:
        if self.vcount[i] < 3:
            return False
        proj = self.verts[self.vstart[i]: self.vstart[i] + self.vcount[i]] @ axis
        return bool(proj.min() < t < proj.max())

    def _tidy(self, mine, other, idx):
        """Give components of `mine` holding none of its buildings to `other`."""
        parts = shapely.get_parts(mine)
        if len(parts) <= 1:
            return mine, other, True
        xy = self.rep[idx]
        holders = [bool(shapely.contains_xy(p, xy[:, 0], xy[:, 1]).any()) for p in parts]
        if sum(holders) == 0:
            holders[int(np.argmax(shapely.area(parts)))] = True
        keep = [p for p, h in zip(parts, holders, strict=True) if h]
        give = [p for p, h in zip(parts, holders, strict=True) if not h]
        if give:
            other = shapely.union_all([other, *give])
        mine = keep[0] if len(keep) == 1 else MultiPolygon(keep)
        return mine, other, len(keep) == 1

    def divide(self, region: _Region) -> tuple[list[_Region], int]:
        """Leaves of `region` and the number of cuts that missed the bounds or contiguity.

        Tries the next-best line when a subtree fails (backtracking, within a budget)."""
        if region.k <= 1 or len(region.idx) < 2:
            return [region], 0
        if region.geom.is_empty or region.geom.area <= 0:
            return [region], 1  # the notches around footprints left this side no area
        forced, idx, k = 0, region.idx, region.k
        every = list(range(1, k))
        ranked = (self._cuts(region, self.base_cols, True, every)
                  or self._cuts(region, self.all_cols, True, every))
        if not ranked:
            ranked = self._cuts(region, self.all_cols, False, sorted({k // 2, k - k // 2}))
            forced = 1
        if not ranked:
            return [region], 1
        if not forced:  # lines leaving a side without any cut meeting the bounds go last
            viable = (c for c in ranked if self._splittable(idx, c))
            ranked = chain(viable, (c for c in ranked if not self._splittable(idx, c)))
        key = (k, idx.tobytes())
        tries = 1 if key in self.failed else TRIES  # searched in full before: no second time
        best: tuple[list[_Region], int] | None = None
        for cand in islice(ranked, tries):
            a, b, ok = self._apply(region, cand)
            self.budget -= 1
            self.spent += 1
            leaves_a, bad_a = self.divide(a)
            leaves_b, bad_b = self.divide(b)
            bad = bad_a + bad_b + forced + (0 if ok else 1)
            if best is None or bad < best[1]:
                best = (leaves_a + leaves_b, bad)
            if bad == 0 or self.budget <= 0:
                break
        if best[1]:
            self.failed.add(key)
        return best

    def resplit(self, geom: BaseGeometry, idx: np.ndarray, k: int
                ) -> list[tuple[BaseGeometry, np.ndarray]] | None:
        """`geom` holding buildings `idx` divided into k parts within the bounds, each one
        polygon, or None (shape-first ranking, then household balance first). All resplits of
        one split share a budget of RESPLIT_CUTS_PER_BUILDING cuts per building."""
        if self.spent >= self.resplit_cap or (k >= 2 and not self._any_cut(idx, k)):
            return None
        self.failed.clear()
        for balanced in (False, True):
            self.balanced = balanced
            self.budget = RESPLIT_BUDGET_PER_BUILDING * len(idx)
            leaves, bad = self.divide(_Region(geom, idx, k))
            if not bad and all(leaf.geom.geom_type == "Polygon" and len(leaf.idx)
                               for leaf in leaves):
                return [(leaf.geom, leaf.idx) for leaf in leaves]
        return None

    def _splittable(self, idx: np.ndarray, cand: _Cut) -> bool:
        """Whether a side of `cand` that must become two parts has a line meeting the bounds."""
        mask = np.zeros(len(idx), bool)
        mask[cand.side_a] = True
        for side, ks in ((idx[mask], cand.k1), (idx[~mask], cand.k - cand.k1)):
            if 2 <= ks <= LOOKAHEAD and len(side) > 1 and not self._any_cut(side, ks):
                return False
        return True

    def _any_cut(self, idx: np.ndarray, k: int) -> bool:
        """Whether some line through a gap divides buildings `idx` into sides meeting the
        bounds for k parts."""
        key = (k, idx.tobytes())
        if key not in self.feasible:
            every = list(range(1, k))
            self.feasible[key] = any(len(self._valid(idx, k, cols, True, every)["r"])
                                     for cols in (self.base_cols, self.all_cols))
        return self.feasible[key]

    def _root(self, region: _Region) -> float:
        return math.sqrt(max(region.geom.area * self.kx * self.ky, 1e-12))

    def _angles(self, m: int) -> np.ndarray:
        return self.offset + np.arange(m) * math.pi / m


def split_inputs(parent: BaseGeometry, buildings, households, min_households: int,
                 max_households: int) -> tuple[BaseGeometry, list, np.ndarray, int, int]:
    """The split's arguments checked and normalised (one engine or another): a one-part
    MultiPolygon as its Polygon, buildings as a list, households as int64; ValueError on bad
    input."""
    parent = single_polygon(parent)
    lo, hi = int(min_households), int(max_households)
    if not 0 < lo <= hi:
        raise ValueError(f"bounds must satisfy 0 < min <= max, got {lo}..{hi}")
    buildings = list(buildings)
    households = np.asarray(list(households), dtype=np.int64).reshape(-1)
    if len(buildings) != len(households):
        raise ValueError("one household count per building is needed")
    if (households < 0).any():
        raise ValueError("household counts must be >= 0")
    return parent, buildings, households, lo, hi


def split(parent: BaseGeometry, buildings, households, *, barriers=(), min_households: int = 30,
          max_households: int = 50, seed: int = 0, geographic: bool = True,
          cut_budget: int = TOTAL_BUDGET_PER_BUILDING) -> SplitResult:
    """Divide `parent` into parts of min..max households (see the module docstring).

    buildings: points or footprints (same coordinates as parent); households: one int each;
    barriers: lines (roads) that cuts prefer to follow. Coordinates are lon/lat unless
    `geographic` is False (then planar metres). `cut_budget`: the cuts tried per building
    while no division meets the bounds (all part counts and rankings together).
    """
    parent, buildings, households, lo, hi = split_inputs(parent, buildings, households,
                                                         min_households, max_households)
    violations: list[str] = []
    notes: list[str] = []
    if not buildings:
        empty = f"no buildings: 0 households, below the minimum {lo}"
        return finish(parent, [parent], np.zeros(0, int), np.zeros(0), households, [empty],
                      notes, metric_scale(parent, geographic), lo, hi, True, empty)
    eng = _Engine(parent, buildings, households, barriers, lo, hi, seed, geographic)
    normal, oversize = int(eng.hn.sum()), int(eng.over.sum())
    k, reason = choose_parts(normal, oversize, lo, hi)
    if reason:
        violations.append(reason)
    for hh in households[eng.over]:
        violations.append(f"a building of {hh} households exceeds the maximum {hi}; "
                          "it forms a part of its own")
    if parent.geom_type == "MultiPolygon":
        violations.append("the parent is not one polygon: its parts cannot all be contiguous")
    options = [k]
    if not reason and normal:
        options = [a + oversize for a in range(math.ceil(normal / hi), normal // lo + 1)]
    leaves, bad = _divide_best(eng, parent, k, options, cut_budget)
    if bad and not reason:
        notes.append(f"{bad} cut(s) could not meet the bounds between footprints")
    parts = merge_stray([leaf.geom for leaf in leaves], eng.rep, eng.h)
    parts = [p for p in parts if not p.is_empty and p.area > SLIVER * parent.area] or [parent]
    assignment = assign(parts, eng.rep)
    if len(parts) > 1:
        parts, assignment = absorb_empty(parts, assignment)
    if not reason and len(parts) > 1:
        eng.resplit_cap = eng.spent + RESPLIT_CUTS_PER_BUILDING * eng.n
        parts, assignment = recombine(parts, assignment, eng.h, lo, hi, (eng.kx, eng.ky),
                                      eng.resplit)
    if not reason:
        parts, assignment = repair(parts, assignment, eng.rep, eng.foot, eng.h, lo, hi,
                                   (eng.kx, eng.ky))
    if len(parts) > 1:
        parts = clean_slivers(parts, assignment, eng.foot, (eng.kx, eng.ky))
    return finish(parent, parts, assignment, eng.rep, households, violations, notes,
                  (eng.kx, eng.ky), lo, hi, reason is not None, reason, buildings)


def _divide_best(eng: _Engine, parent: BaseGeometry, k: int, options: list[int],
                 cut_budget: int) -> tuple[list[_Region], int]:
    """Divide `parent` into the part count among `options` nearest `k` and, when its mean
    Polsby-Popper is below GOOD_PP, into the next nearest (up to K_TRY counts, more parts
    first on ties: smaller parts fit between the buildings more freely); keep the
    division with the fewest missed cuts, then the highest mean Polsby-Popper. While every
    division misses the bounds, up to K_MAX_TRIES counts are tried, then the same counts with
    cuts ranked by household balance first (shape second), then the nearest count with a
    larger backtracking budget, all within `cut_budget` cuts per building. Once a
    division meets the bounds, the other counts are tried without backtracking."""
    every = np.arange(eng.n)
    order = sorted(options, key=lambda kk: (abs(kk - k), -kk))[:K_MAX_TRIES]
    best = None
    runs = ([(False, kk, BUDGET_PER_BUILDING) for kk in order]
            + [(True, kk, BUDGET_PER_BUILDING) for kk in order]
            + [(mode, order[0], LAST_BUDGET_PER_BUILDING) for mode in (False, True)])
    for tried, (balanced, kk, budget) in enumerate(runs):
        if best is not None and best[0] == 0 and (tried >= K_TRY or best[1] >= GOOD_PP):
            break
        left = cut_budget * eng.n - eng.spent
        if best is not None and left <= 0:
            break  # the local repair pass takes it from here
        eng.balanced = balanced
        eng.failed.clear()
        if best is not None and best[0] == 0:  # a division in bounds exists: a quick look only
            budget = min(budget, SPECULATIVE_BUDGET_PER_BUILDING)
        eng.budget = max(1, min(budget * eng.n, left))
        leaves, bad = eng.divide(_Region(parent, every, kk))
        pp = float(np.mean(polsby_popper([leaf.geom for leaf in leaves], (eng.kx, eng.ky))))
        if best is None or (bad, -pp) < (best[0], -best[1]):
            best = (bad, pp, leaves)
    return best[2], best[0]
