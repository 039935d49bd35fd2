"""Pairs of neighbouring parts divided again on the unit graph (a ReCom-like pass).

After the search (gis.partition.assign: sweeps, chains, local moves), two neighbouring parts
are put together and bisected afresh by the straight sweeps (Assigner.two_sides, as in
Assigner.bisect); the new pair is kept where it leaves no more households out of bounds and
is worth more to the local moves (assign._worth: the sum of the two parts' Polsby-Popper,
with a steep penalty under FLOOR_PP). Single moves stop where every unit on a boundary is
worth more where it is; a fresh cut of the pair can still turn a boundary that runs the long
way round. Pairs are taken least compact first; a part changed in a round waits for the next
one, a pair tried in vain is not tried again until one of its parts changes, and towers'
parts (fixed units) take no part. Only unit-graph sums are used: no geometry.
"""

from __future__ import annotations

import numpy as np

from gis.partition.assign import Assigner, _worth
from gis.partition.quality import pp_of
from gis.partition.subsets import missed

ROUNDS = 3  # rounds over the pairs at most (the last ones of the real sets changed little)
GAIN = 1e-6  # least gain of worth that counts, against float noise


def neighbouring_pairs(a: Assigner, tower: np.ndarray) -> list[tuple[int, int]]:
    """The pairs (p < q) of parts sharing an edge of the unit graph, neither a tower's part."""
    g = a.g
    pa, pb = a.part[g.edge_a], a.part[g.edge_b]
    between = pa != pb
    lo, hi = np.minimum(pa, pb)[between], np.maximum(pa, pb)[between]
    pairs = {(p, q) for p, q in zip(lo.tolist(), hi.tolist(), strict=True)
             if not tower[p] and not tower[q]}
    return sorted(pairs)


def _bisected(a: Assigner, members: np.ndarray, p: int, q: int) -> bool:
    """`members` (the units of parts p and q) bisected afresh by the sweeps into parts p and
    q; False, and nothing changed, where no sweep leaves both sides connected."""
    side_a, side_b, _, connected = a.two_sides(members, 2)
    if not connected:  # (a connected sweep's sides are a prefix and the rest: both non-empty)
        return False
    a.part[side_a], a.part[side_b] = p, q
    return True


def redivide_pairs(a: Assigner, fixed: np.ndarray, rounds: int = ROUNDS) -> int:
    """Neighbouring parts of `a` divided again where that is worth more (see the module
    docstring); `fixed` units (lone towers) keep their parts. The number of pairs changed."""
    g = a.g
    k = int(a.part.max()) + 1
    if k < 2 or not len(g.edge_a):
        return 0
    tower = np.zeros(k, bool)
    tower[a.part[fixed]] = True
    version = np.zeros(k, np.int64)  # bumped whenever a part changes
    vain: set[tuple[int, int, int, int]] = set()
    changed = 0
    for _ in range(rounds):
        hh, area, per = g.sums(a.part, k)
        pp = pp_of(area, per)  # kept up to date below as pairs change
        pairs = neighbouring_pairs(a, tower)
        pairs.sort(key=lambda pq: (min(pp[pq[0]], pp[pq[1]]), pq))
        touched: set[int] = set()
        for p, q in pairs:
            key = (p, q, int(version[p]), int(version[q]))
            if p in touched or q in touched or key in vain:
                continue
            members = np.flatnonzero((a.part == p) | (a.part == q))
            before = a.part[members].copy()
            if _bisected(a, members, p, q):
                hh2, area2, per2 = g.sums(a.part, k)
                pq = [p, q]
                miss_before = missed(hh[pq], a.lo, a.hi).sum()
                miss_after = missed(hh2[pq], a.lo, a.hi).sum()
                gain = _worth(pp_of(area2[pq], per2[pq])).sum() - _worth(pp[pq]).sum()
                if miss_after < miss_before or (miss_after == miss_before and gain > GAIN):
                    hh, pp = hh2, pp_of(area2, per2)
                    version[pq] += 1
                    touched |= {p, q}
                    changed += 1
                    continue
                a.part[members] = before
            vain.add(key)
        if not touched:
            break
    return changed
