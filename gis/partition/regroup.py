"""Regrouping a few neighbouring parts from scratch on the unit graph, by trying every subset.

A part out of bounds (or thin) is merged with one or two neighbouring parts; when the merged set
has at most MAX_UNITS units, every subset of them is a candidate part: its households, area and
perimeter are sums (gis.partition.cellgraph), its connectedness is found for all subsets at once
(boolean matrix products). The division of the set into the same number of parts (or one more or
fewer when the arithmetic allows) that is within the bounds, connected, and has the highest
lowest Polsby-Popper (then the highest sum) replaces the parts, when it is better than them:
fewer households out of bounds, or as few and a higher lowest Polsby-Popper.
"""

from __future__ import annotations

import math

import numpy as np

from gis.partition.assign import Assigner, _miss, _pp

MAX_UNITS = 12
MAX_PARTS = 3
MAX_SETS = 16
THIN = 0.3  # a part under this Polsby-Popper is worth regrouping with its neighbours


class _Table:
    """Every subset (bit mask) of a few units: households, Polsby-Popper, and whether it is a
    connected group within the bounds."""

    def __init__(self, a: Assigner, units: np.ndarray):
        g = a.g
        m = len(units)
        self.units, self.m = units, m
        masks = np.arange(2 ** m)
        bits = ((masks[:, None] >> np.arange(m)[None, :]) & 1).astype(bool)
        local = np.full(g.n, -1, dtype=np.int64)
        local[units] = np.arange(m)
        ea, eb = local[g.edge_a], local[g.edge_b]
        both = (ea >= 0) & (eb >= 0)
        w = np.zeros((m, m))
        np.add.at(w, (ea[both], eb[both]), g.edge_len[both])
        w = w + w.T
        self.hh = bits.astype(float) @ g.households[units]
        fits = np.flatnonzero((self.hh >= a.lo) & (self.hh <= a.hi))
        f = bits[fits].astype(float)
        inner = ((f @ w) * f).sum(axis=1) / 2
        self.pp = np.zeros(len(masks))
        self.pp[fits] = _pp(f @ g.area[units], f @ g.perimeter[units] - 2 * inner)
        self.ok = np.zeros(len(masks), bool)
        self.ok[fits] = _connected(bits[fits], w > 0)
        self.ok[0] = False
        self.index = masks

    def best(self, rest: int, k: int) -> tuple[float, float, list[int]] | None:
        """The best division of the units in `rest` into k parts: (lowest PP, sum of PP,
        masks), or None."""
        if k == 1:
            return (float(self.pp[rest]), float(self.pp[rest]), [rest]) if self.ok[rest] else None
        low = rest & -rest
        idx = self.index
        cand = np.flatnonzero(self.ok & ((idx & ~rest) == 0) & ((idx & low) != 0))
        if k == 2:
            other = rest ^ cand
            fit = self.ok[other]
            if not fit.any():
                return None
            cand, other = cand[fit], other[fit]
            worst = np.minimum(self.pp[cand], self.pp[other])
            total = self.pp[cand] + self.pp[other]
            i = int(np.lexsort((-total, -worst))[0])
            return float(worst[i]), float(total[i]), [int(cand[i]), int(other[i])]
        best = None
        for c in cand[np.argsort(-self.pp[cand])][:CANDIDATES].tolist():
            sub = self.best(rest ^ c, k - 1)
            if sub is None:
                continue
            key = (min(sub[0], float(self.pp[c])), sub[1] + float(self.pp[c]))
            if best is None or key > best[:2]:
                best = (*key, [c, *sub[2]])
        return best


CANDIDATES = 40


def _connected(bits: np.ndarray, adjacent: np.ndarray) -> np.ndarray:
    """Whether the units of each row of `bits` form one connected group in `adjacent`."""
    first = np.argmax(bits, axis=1)
    reach = np.zeros_like(bits)
    reach[np.arange(len(bits)), first] = True
    reach &= bits
    step = adjacent.astype(np.int16)
    for _ in range(bits.shape[1]):
        grown = ((reach.astype(np.int16) @ step) > 0) & bits | reach
        if np.array_equal(grown, reach):
            break
        reach = grown
    return (reach == bits).all(axis=1)


def _part_state(a: Assigner) -> tuple[np.ndarray, np.ndarray]:
    g, part = a.g, a.part
    k = int(part.max()) + 1
    hh = np.bincount(part, weights=g.households, minlength=k)
    inner = np.bincount(part[g.edge_a], weights=g.edge_len * (part[g.edge_a] == part[g.edge_b]),
                        minlength=k)
    per = np.bincount(part, weights=g.perimeter, minlength=k) - 2 * inner
    return hh, _pp(np.bincount(part, weights=g.area, minlength=k), per)


def _neighbour_parts(a: Assigner, p: int) -> list[int]:
    members = np.flatnonzero(a.part == p)
    if not len(members):
        return []
    vs = np.concatenate([a.near[u] for u in members.tolist()])
    return sorted(set(a.part[vs].tolist()) - {p})


def _clusters(a: Assigner, p: int, tower: set[int]) -> list[tuple[int, ...]]:
    """Connected sets of 2..MAX_PARTS parts holding part p (no tower), smaller sets first, at
    most MAX_SETS."""
    near = {q: set(_neighbour_parts(a, q)) - tower for q in {p} | set(_neighbour_parts(a, p))
            if q not in tower}
    out: list[tuple[int, ...]] = []
    level = [(p,)]
    for _ in range(MAX_PARTS - 1):
        grown = set()
        for cluster in level:
            for q in cluster:
                if q not in near:
                    near[q] = set(_neighbour_parts(a, q)) - tower
                for r in near[q]:
                    if r not in cluster:
                        grown.add(tuple(sorted((*cluster, r))))
        level = sorted(grown)
        out.extend(level)
        if len(out) >= MAX_SETS:
            break
    return out[:MAX_SETS]


def _try(a: Assigner, parts: tuple[int, ...], hh: np.ndarray, pp: np.ndarray) -> bool:
    """Regroup `parts` when a better division of their units exists; whether it did."""
    units = np.flatnonzero(np.isin(a.part, parts))
    if len(units) > MAX_UNITS:
        return False
    total = int(hh[list(parts)].sum())
    before = (int(_miss(hh[list(parts)], a.lo, a.hi).sum()), float(pp[list(parts)].min()))
    ks = [k for k in (len(parts), len(parts) - 1, len(parts) + 1)
          if 1 <= k <= MAX_PARTS and math.ceil(total / a.hi) <= k <= total // a.lo]
    if not ks:
        return False
    table = _Table(a, units)
    best = None
    for k in ks:
        found = table.best(2 ** len(units) - 1, k)
        if found and (best is None or found[:2] > best[:2]):
            best = found
    if best is None or (before[0] == 0 and best[0] <= before[1]):
        return False
    free = list(parts) + [int(a.part.max()) + 1 + i for i in range(len(best[2]))]
    for j, mask in enumerate(best[2]):  # parts left without units are dropped at the end
        chosen = units[((mask >> np.arange(len(units))) & 1).astype(bool)]
        a.part[chosen] = free[j]
    return True


def regroup(a: Assigner, fixed: np.ndarray, rounds: int = 2) -> None:
    """Regroup every part out of bounds or thin with one or two neighbours (see the module
    docstring); lone towers (`fixed`) are never regrouped."""
    for _ in range(rounds):
        changed = False
        hh, pp = _part_state(a)
        tower = set(a.part[fixed].tolist())
        size = np.bincount(a.part, minlength=len(hh))
        bad = [p for p in range(len(hh)) if p not in tower and size[p]
               and (not a.lo <= hh[p] <= a.hi or pp[p] < THIN)]
        for p in sorted(bad, key=lambda p: pp[p]):
            hh, pp = _part_state(a)
            if not (a.part == p).any() or (a.lo <= hh[p] <= a.hi and pp[p] >= THIN):
                continue
            sets = _clusters(a, p, tower)
            for parts in sets:
                if _try(a, parts, hh, pp):
                    changed = True
                    break
        if not changed:
            break
    a.part[:] = np.unique(a.part, return_inverse=True)[1].reshape(-1)
