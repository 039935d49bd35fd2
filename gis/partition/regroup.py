"""Regrouping a few neighbouring parts from scratch on the unit graph, by trying every subset.

A part out of bounds (or thin) is merged with a connected set of one or two parts round it;
when the merged set has at most MAX_UNITS units, every subset of them is a candidate part
(gis.partition.subsets). The division of the set into as many parts (or one more or fewer
when the arithmetic allows) that are within the bounds and connected, with the highest lowest
Polsby-Popper (then the highest sum), replaces the parts when it is better than them: fewer
households out of bounds, or as few and a higher lowest Polsby-Popper.
"""

from __future__ import annotations

import math

import numpy as np

from gis.partition.assign import Assigner
from gis.partition.subsets import SubsetTable, missed

MAX_UNITS = 12
MAX_PARTS = 3
MAX_SETS = 16
THIN = 0.3  # a part under this Polsby-Popper is worth regrouping with its neighbours


def _clusters(a: Assigner, p: int, tower: set[int]) -> list[tuple[int, ...]]:
    """Connected sets of 2..MAX_PARTS parts holding part p (no tower), smaller sets first, at
    most MAX_SETS."""
    near = {q: set(a.neighbour_parts(q)) - tower for q in {p} | set(a.neighbour_parts(p))
            if q not in tower}
    out: list[tuple[int, ...]] = []
    level = [(p,)]
    for _ in range(MAX_PARTS - 1):
        grown = set()
        for cluster in level:
            for q in cluster:
                if q not in near:
                    near[q] = set(a.neighbour_parts(q)) - tower
                for r in near[q]:
                    if r not in cluster:
                        grown.add(tuple(sorted((*cluster, r))))
        level = sorted(grown)
        out.extend(level)
        if len(out) >= MAX_SETS:
            break
    return out[:MAX_SETS]


def _try(a: Assigner, parts: tuple[int, ...], hh: np.ndarray, pp: np.ndarray,
         failed: set[bytes]) -> bool:
    """Regroup `parts` when a better division of their units exists; whether it did. Units
    divided among parts exactly as when they last failed are not searched again (`failed`:
    the same units in the same parts give the same answer)."""
    inside = np.zeros(int(a.part.max()) + 1, bool)
    inside[list(parts)] = True
    units = np.flatnonzero(inside[a.part])
    if len(units) > MAX_UNITS:
        return False
    seen = units.tobytes() + a.part[units].tobytes()
    if seen in failed:
        return False
    if _regrouped(a, parts, units, hh, pp):
        return True
    failed.add(seen)
    return False


def _regrouped(a: Assigner, parts: tuple[int, ...], units: np.ndarray, hh: np.ndarray,
               pp: np.ndarray) -> bool:
    """Regroup `parts` (holding `units`) when a better division of the units exists."""
    total = int(hh[list(parts)].sum())
    before = (int(missed(hh[list(parts)], a.lo, a.hi).sum()), float(pp[list(parts)].min()))
    ks = [k for k in (len(parts), len(parts) - 1, len(parts) + 1)
          if 1 <= k <= MAX_PARTS and math.ceil(total / a.hi) <= k <= total // a.lo]
    if not ks:
        return False
    table = SubsetTable(a.g, units, a.lo, a.hi)
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
    failed: set[bytes] = set()
    for _ in range(rounds):
        changed = False
        hh, pp = a.part_sums()
        tower = set(a.part[fixed].tolist())
        size = np.bincount(a.part, minlength=len(hh))
        bad = [p for p in range(len(hh)) if p not in tower and size[p]
               and (not a.lo <= hh[p] <= a.hi or pp[p] < THIN)]
        for p in sorted(bad, key=lambda p: pp[p]):
            hh, pp = a.part_sums()
            if not (a.part == p).any() or (a.lo <= hh[p] <= a.hi and pp[p] >= THIN):
                continue
            sets = _clusters(a, p, tower)
            for parts in sets:
                if _try(a, parts, hh, pp, failed):
                    changed = True
                    break
        if not changed:
            break
    a.part[:] = np.unique(a.part, return_inverse=True)[1].reshape(-1)
