"""Assignment of units to parts on a unit graph (gis.partition.cellgraph), without geometry.

A group of units has area sum(area) and perimeter sum(perimeter) - 2 * (shared length inside),
so its Polsby-Popper is known in numpy. The search has two steps:

1. Recursive bisection: a set of units that must become k parts is cut by a straight sweep
   (units ordered along one of ANGLES directions, a prefix against the rest) into k1 and k - k1
   parts whose households fit k1*lo..k1*hi and k2*lo..k2*hi; of the sweeps that fit, the one
   whose two sides are most compact (the lower Polsby-Popper first, then the mean) and both
   connected is taken. When none fits, the sweep nearest to fitting is taken. Ties go to the
   sweep whose sides' parts hold the nearest to the middle of the bounds on average, then to
   the first: the same two sides reached from several directions, or a side that fits k1 or
   k1 + 1 parts, score alike but for the last bits of a float, and a choice made on those bits
   turned the other way when the input moved by 0.05 mm (bench/noise_bench.py).
2. Local improvement: a unit on a part's edge moves to the neighbouring part when that lowers
   the households outside the bounds or, with both parts in bounds, raises the sum of the
   logarithms of the parts' Polsby-Popper (so the least compact part gains most), and the part
   it leaves stays connected; every move is scored at once in numpy, the best one is made, and
   this repeats (at most MOVES_PER_UNIT moves per unit).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from gis.partition.cellgraph import CellGraph
from gis.partition.quality import pp_of
from gis.partition.subsets import missed

ANGLES = 12
KEY_DIGITS = 9  # a sweep's score is compared to this many decimals (see the module docstring)
MOVES_PER_UNIT = 3
TOP_SWEEPS = 6
MAX_CHECKS = 60
FLOOR_PP = 0.3
FLOOR_WEIGHT = 4.0
CHAIN_PARTS = 4
BORDER_UNITS = 4
MAX_TRIES = 400
ROUNDS = 3
# the local moves leave a tower's part out of their count of households out of bounds (as
# quality does: it is out whatever it holds), so a house joins a tower's part where that brings
# a part in bounds, and none leaves one to put a part out (False: counted, for comparison)
TOWERS_UNCOUNTED = True
REACH_STEPS = 8  # land units crossed at most to reach a unit (ChainRepair.reach)


class Quality(NamedTuple):
    """An assignment's quality (`Assigner.quality`), compared field by field: lower is
    better."""

    miss: int  # households out of bounds, over the parts that are not lone towers
    lowest: float  # minus the lowest Polsby-Popper


class Assigner:
    """Units' parts for one unit graph and household bounds lo..hi."""

    def __init__(self, g: CellGraph, lo: int, hi: int):
        self.g, self.lo, self.hi = g, lo, hi
        self.near, self.near_len = g.neighbours()
        self.n = g.n
        self.part = np.full(self.n, -1, dtype=np.int64)
        # the same neighbours as Python lists, for the walks below (a walk over numpy arrays
        # converts them and indexes numpy scalars at every step)
        self.near_lists: list[list[int]] = [v.tolist() for v in self.near]

    # -- connectivity -------------------------------------------------------------------------
    def connected(self, members: np.ndarray) -> bool:
        """True when the units `members` form one connected group."""
        if len(members) <= 1:
            return True
        inside = set(members.tolist())
        first = int(members[0])
        seen = {first}
        stack = [first]
        near = self.near_lists
        while stack:
            for v in near[stack.pop()]:
                if v in inside and v not in seen:
                    seen.add(v)
                    stack.append(v)
        return len(seen) == len(members)

    def components(self, members: np.ndarray) -> list[np.ndarray]:
        """The connected groups of `members`."""
        unvisited = set(members.tolist())
        near = self.near_lists
        out = []
        for s in members.tolist():
            if s not in unvisited:
                continue
            unvisited.discard(s)
            stack, comp = [s], [s]
            while stack:
                for v in near[stack.pop()]:
                    if v in unvisited:
                        unvisited.discard(v)
                        stack.append(v)
                        comp.append(v)
            out.append(np.asarray(sorted(comp), dtype=np.int64))
        return out

    # -- bisection ----------------------------------------------------------------------------
    def _sweeps(self, members: np.ndarray, k: int) -> list[tuple]:
        """The MAX_CHECKS best sweeps of `members` at ANGLES directions, for k1 = 1..k-1
        parts on the first side, best first (ties: see the module docstring): (households
        missed, -score, t, k1, order), a prefix of t + 1 units of `order` forming the first
        side."""
        g, lo, hi = self.g, self.lo, self.hi
        m = len(members)
        theta = np.pi * np.arange(ANGLES) / ANGLES
        proj = np.cos(theta)[:, None] * g.xy[members, 0] + np.sin(theta)[:, None] * g.xy[
            members, 1]
        order = np.argsort(proj, axis=1, kind="stable")  # (angles, m) positions in members
        local = np.full(self.n, -1, dtype=np.int64)
        local[members] = np.arange(m)
        ea, eb = local[g.edge_a], local[g.edge_b]
        both = (ea >= 0) & (eb >= 0)
        ea, eb, w = ea[both], eb[both], g.edge_len[both]
        rank = np.empty_like(order)
        rows = np.arange(ANGLES)[:, None]
        rank[rows, order] = np.arange(m)[None, :]
        ra, rb = rank[:, ea], rank[:, eb]
        offset = (rows * m)
        weights = np.tile(w, ANGLES)
        top = np.bincount((np.maximum(ra, rb) + offset).ravel(), weights=weights,
                          minlength=ANGLES * m).reshape(ANGLES, m)
        bottom = np.bincount((np.minimum(ra, rb) + offset).ravel(), weights=weights,
                             minlength=ANGLES * m).reshape(ANGLES, m)
        inner_a = np.cumsum(top, axis=1)[:, :-1]
        inner_b = np.cumsum(bottom[:, ::-1], axis=1)[:, ::-1][:, 1:]
        sel = members[order]
        area_a = np.cumsum(g.area[sel], axis=1)[:, :-1]
        per_a = np.cumsum(g.perimeter[sel], axis=1)[:, :-1]
        hh_a = np.cumsum(g.households[sel], axis=1)[:, :-1]
        total_a, total_p = area_a[0, -1] + g.area[sel[0, -1]], per_a[0, -1] + g.perimeter[
            sel[0, -1]]
        total_h = hh_a[0, -1] + g.households[sel[0, -1]]
        pp_a = pp_of(area_a, per_a - 2 * inner_a)
        pp_b = pp_of(total_a - area_a, (total_p - per_a) - 2 * inner_b)
        hh_b = total_h - hh_a
        score = np.minimum(pp_a, pp_b) + 0.5 * (pp_a + pp_b)
        k1 = np.arange(1, k)[:, None, None]
        k2 = k - k1
        miss = (np.maximum(0, k1 * lo - hh_a) + np.maximum(0, hh_a - k1 * hi)
                + np.maximum(0, k2 * lo - hh_b) + np.maximum(0, hh_b - k2 * hi))
        key = np.round((miss * 1e3 - score[None]).ravel(), KEY_DIGITS)
        take = min(MAX_CHECKS, len(key))
        edge = np.partition(key, take - 1)[take - 1]
        pool = np.flatnonzero(key <= edge)  # the ties at the edge too, whichever partition held
        split, rest = np.divmod(pool, ANGLES * (m - 1))
        angle, t = np.divmod(rest, m - 1)
        middle = 0.5 * (lo + hi)  # the tie-break, for the pool only
        balance = (np.abs(hh_a[angle, t] / (split + 1) - middle)
                   + np.abs(hh_b[angle, t] / (k - split - 1) - middle))
        best = np.lexsort((balance, key[pool]))[:take]
        top, split, angle, t = pool[best], split[best], angle[best], t[best]
        return list(zip(miss.ravel()[top].astype(float).tolist(), (-score[angle, t]).tolist(),
                        t.tolist(), (split + 1).tolist(), order[angle], strict=True))

    def _mended(self, side_a: np.ndarray, side_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Two sides made connected where they can be: the smaller pieces of a side that
        falls apart go to the other side."""
        h = self.g.households
        for _ in range(3):
            moved = False
            for first in (True, False):
                side, other = (side_a, side_b) if first else (side_b, side_a)
                comps = self.components(side)
                if len(comps) < 2:
                    continue
                keep = max(comps, key=lambda c: (int(h[c].sum()), len(c)))
                extra = np.concatenate([c for c in comps if c is not keep])
                side, other = keep, np.sort(np.concatenate([other, extra]))
                side_a, side_b = (side, other) if first else (other, side)
                moved = True
            if not moved:
                break
        return side_a, side_b

    def two_sides(self, members: np.ndarray, k: int
                  ) -> tuple[np.ndarray, np.ndarray, int, bool]:
        """The best sweep of `members` (2 units at least) that is to become k parts: its
        two sides (sorted), the parts k1 of the first and whether both sides are connected
        (when no sweep that fits leaves them so, the best one is mended, `_mended`)."""
        candidates = self._sweeps(members, k)
        for _, _, t, k1, order in candidates:
            side_a, side_b = members[order[:t + 1]], members[order[t + 1:]]
            if self.connected(side_a) and self.connected(side_b):
                return np.sort(side_a), np.sort(side_b), k1, True
        _, _, t, k1, order = candidates[0]
        side_a, side_b = self._mended(members[order[:t + 1]], members[order[t + 1:]])
        return np.sort(side_a), np.sort(side_b), k1, False

    def bisect(self, members: np.ndarray, k: int, first_part: int) -> int:
        """Divide `members` into k parts numbered from `first_part`; the next free number."""
        if k <= 1 or len(members) <= 1:
            self.part[members] = first_part
            return first_part + 1
        side_a, side_b, k1, _ = self.two_sides(members, k)
        nxt = self.bisect(side_a, k1, first_part)
        return self.bisect(side_b, k - k1, nxt)

    def part_sums(self) -> tuple[np.ndarray, np.ndarray]:
        """Households and Polsby-Popper of each part (numbered 0..max)."""
        hh, area, per = self.g.sums(self.part, int(self.part.max()) + 1)
        return hh, pp_of(area, per)

    def neighbour_parts(self, p: int) -> list[int]:
        """The parts beside part p."""
        members = np.flatnonzero(self.part == p)
        if not len(members):
            return []
        vs = np.concatenate([self.near[u] for u in members.tolist()])
        return sorted(set(self.part[vs].tolist()) - {p})

    def quality(self, fixed: np.ndarray) -> Quality:
        """Households out of bounds over the parts that are not lone towers, and minus the
        lowest Polsby-Popper: lower is better, compared in that order."""
        hh, pp = self.part_sums()
        tower = np.zeros(len(hh), bool)
        tower[self.part[fixed]] = True
        return Quality(int(missed(hh[~tower], self.lo, self.hi).sum()),
                       -float(pp.min(initial=1.0)))

    # -- local improvement --------------------------------------------------------------------
    def improve(self, fixed: np.ndarray) -> None:
        """Move units between neighbouring parts (see the module docstring); `fixed` units
        (lone towers) never move."""
        g, lo, hi = self.g, self.lo, self.hi
        k = int(self.part.max()) + 1
        if k < 2 or not len(g.edge_a):
            return
        part = self.part
        link = np.zeros((self.n, k))
        np.add.at(link, (g.edge_a, part[g.edge_b]), g.edge_len)
        np.add.at(link, (g.edge_b, part[g.edge_a]), g.edge_len)
        hh, area, per = g.sums(part, k)
        size = np.bincount(part, minlength=k)
        movable = ~fixed
        counted = np.ones(k)  # a tower's part is out of bounds whatever it holds (quality)
        if TOWERS_UNCOUNTED:
            counted[part[fixed]] = 0.0
        tabu: set[tuple[int, int]] = set()
        for _ in range(MOVES_PER_UNIT * self.n):
            u_idx, q_idx = np.nonzero(link > 0)
            src = part[u_idx]
            ok = (q_idx != src) & movable[u_idx] & (size[src] > 1)
            u_idx, q_idx, src = u_idx[ok], q_idx[ok], src[ok]
            if not len(u_idx):
                return
            a_u, p_u, h_u = g.area[u_idx], g.perimeter[u_idx], g.households[u_idx]
            new_ap, new_pp_ = area[src] - a_u, per[src] - p_u + 2 * link[u_idx, src]
            new_aq, new_pq = area[q_idx] + a_u, per[q_idx] + p_u - 2 * link[u_idx, q_idx]
            hp, hq = hh[src] - h_u, hh[q_idx] + h_u
            cp, cq = counted[src], counted[q_idx]
            miss_before = cp * missed(hh[src], lo, hi) + cq * missed(hh[q_idx], lo, hi)
            miss_after = cp * missed(hp, lo, hi) + cq * missed(hq, lo, hi)
            pp_before = _worth(pp_of(area[src], per[src])) + _worth(pp_of(area[q_idx], per[q_idx]))
            pp_after = _worth(pp_of(new_ap, new_pp_)) + _worth(pp_of(new_aq, new_pq))
            fewer = miss_after < miss_before
            # households go into a tower's part only to bring a part in bounds, not for shape
            allowed = (miss_after <= miss_before) & (fewer | (cq > 0) | (h_u == 0))
            gain = np.where(fewer, 1e3 * (miss_before - miss_after), 0.0)
            gain = gain + np.where(allowed, pp_after - pp_before, -np.inf)
            order = np.argsort(-gain, kind="stable")
            moved = False
            for c in order[:32].tolist():
                if gain[c] <= 1e-9:
                    break
                u, p, q = int(u_idx[c]), int(src[c]), int(q_idx[c])
                if (u, q) in tabu:
                    continue
                rest = np.flatnonzero(part == p)
                rest = rest[rest != u]
                if not self.connected(rest):
                    tabu.add((u, q))
                    continue
                part[u] = q
                area[p], per[p], hh[p] = new_ap[c], new_pp_[c], hp[c]
                area[q], per[q], hh[q] = new_aq[c], new_pq[c], hq[c]
                size[p] -= 1
                size[q] += 1
                vs, w = self.near[u], self.near_len[u]
                link[vs, p] -= w
                link[vs, q] += w
                tabu.add((u, p))
                moved = True
                break
            if not moved:
                return


def _worth(pp: np.ndarray) -> np.ndarray:
    """What a part's Polsby-Popper is worth to the local moves: its value, and a steep
    penalty under FLOOR_PP (so the thinnest part gains first)."""
    return pp - FLOOR_WEIGHT * np.maximum(0.0, FLOOR_PP - pp)


class ChainRepair:
    """Parts out of bounds brought in by chains of single moves (a part over the maximum gives
    a unit to a neighbour, which may give one on, up to CHAIN_PARTS parts; a part under the
    minimum takes one the same way), each part on the chain in bounds and connected after it."""

    def __init__(self, a: Assigner, fixed: np.ndarray):
        self.a, self.fixed = a, fixed
        self.g = a.g
        self.tries = 0

    def _hh(self) -> np.ndarray:
        return self.a.part_sums()[0].astype(np.int64)

    def _border(self, c: int, q: int) -> list[int]:
        """Units of part c beside part q, the longest shared edge first."""
        part, near, near_len = self.a.part, self.a.near, self.a.near_len
        out = []
        for u in np.flatnonzero(part == c).tolist():
            if self.fixed[u]:
                continue
            beside = part[near[u]] == q
            if beside.any():
                out.append((-float(near_len[u][beside].sum()), u))
        return [u for _, u in sorted(out)[:BORDER_UNITS]]

    def _ok(self, c: int, gain: int | None, lose: int | None, hh: np.ndarray, delta: int) -> bool:
        lo, hi = self.a.lo, self.a.hi
        if not lo <= hh[c] + delta <= hi:
            return False
        members = set(np.flatnonzero(self.a.part == c).tolist())
        if gain is not None:
            members.add(gain)
        if lose is not None:
            members.discard(lose)
        return bool(members) and self.a.connected(np.fromiter(members, dtype=np.int64))

    def _connected_without(self, c: int, u: int) -> bool:
        members = np.flatnonzero(self.a.part == c)
        return self.a.connected(members[members != u])

    def push(self, c: int, received: int | None, path: list[int], hh: np.ndarray
             ) -> list[tuple[int, int]] | None:
        """Moves (unit, new part) taking households out of part c (which received unit
        `received`, or is the part over the maximum when None)."""
        h = self.g.households
        h_in = int(h[received]) if received is not None else 0
        for q in self.a.neighbour_parts(c):
            if q in path:
                continue
            for u in self._border(c, q):
                self.tries += 1
                if self.tries > MAX_TRIES:
                    return None
                if u == received:
                    continue
                if received is None:  # the part over the maximum: no longer over
                    if hh[c] - h[u] > self.a.hi or not self._connected_without(c, u):
                        continue
                elif not self._ok(c, received, u, hh, h_in - int(h[u])):
                    continue
                if self._ok(q, u, None, hh, int(h[u])):
                    return [(u, q)]
                if len(path) < CHAIN_PARTS:
                    rest = self.push(q, u, [*path, q], hh)
                    if rest:
                        return [(u, q), *rest]
        return None

    def pull(self, c: int, gave: int | None, path: list[int], hh: np.ndarray
             ) -> list[tuple[int, int]] | None:
        """Moves bringing households into part c (which gave unit `gave`, or is the part
        under the minimum when None)."""
        h = self.g.households
        h_out = int(h[gave]) if gave is not None else 0
        for q in self.a.neighbour_parts(c):
            if q in path:
                continue
            for u in self._border(q, c):
                self.tries += 1
                if self.tries > MAX_TRIES:
                    return None
                if gave is None:  # the part under the minimum: no longer under
                    if hh[c] + h[u] > self.a.hi:
                        continue
                elif not self._ok(c, u, gave, hh, int(h[u]) - h_out):
                    continue
                if self._ok(q, None, u, hh, -int(h[u])):
                    return [(u, c)]
                if len(path) < CHAIN_PARTS:
                    rest = self.pull(q, u, [*path, q], hh)
                    if rest:
                        return [(u, c), *rest]
        return None

    def reach(self, c: int, hh: np.ndarray) -> list[tuple[int, int]] | None:
        """Moves bringing a unit into part c (under the minimum) across land of no
        households (the free land round towers, empty lots): the nearest unit whose part stays
        in bounds and connected without it, with the land on the way, when every part the
        land is taken from stays connected."""
        a, g = self.a, self.g
        lo, hi = a.lo, a.hi
        part, h = a.part, g.households
        start = np.flatnonzero(part == c)
        came = {int(u): -1 for u in start.tolist()}
        frontier = [int(u) for u in start.tolist()]
        for _ in range(REACH_STEPS):
            nxt = []
            for v in frontier:
                for u in a.near_lists[v]:
                    if u in came or self.fixed[u]:
                        continue
                    came[u] = v
                    if h[u] == 0:
                        nxt.append(u)
                        continue
                    q = int(part[u])
                    if not lo <= hh[c] + h[u] <= hi or not lo <= hh[q] - h[u] <= hi:
                        continue
                    path = [u]
                    while came[path[-1]] >= 0 and part[came[path[-1]]] != c:
                        path.append(came[path[-1]])
                    if self._takes_ok(path):
                        return [(w, c) for w in path]
            frontier = nxt
            if not frontier:
                return None
        return None

    def _takes_ok(self, taken: list[int]) -> bool:
        """Whether every part losing some of `taken` stays connected (and not empty)."""
        part = self.a.part
        for q in set(part[taken].tolist()):
            members = np.flatnonzero(part == q)
            rest = members[~np.isin(members, taken)]
            if not len(rest) or not self.a.connected(rest):
                return False
        return True

    def run(self) -> None:
        """Repair every part out of bounds that a chain can bring in."""
        lo, hi = self.a.lo, self.a.hi
        for _ in range(ROUNDS):
            hh = self._hh()
            lone = set(self.a.part[self.fixed].tolist())
            bad = [c for c in range(len(hh)) if c not in lone and not lo <= hh[c] <= hi]
            if not bad:
                return
            changed = False
            for c in bad:
                hh = self._hh()
                if lo <= hh[c] <= hi:
                    continue
                self.tries = 0
                moves = (self.push(c, None, [c], hh) if hh[c] > hi
                         else self.pull(c, None, [c], hh) or self.reach(c, hh))
                if moves:
                    for u, q in moves:
                        self.a.part[u] = q
                    changed = True
            if not changed:
                return
