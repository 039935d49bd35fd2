"""Recombination after the first division: merge neighbouring parts and divide them again.

A part out of bounds, or thin (Polsby-Popper below THIN), is merged with a neighbour it shares
an edge with (then with two neighbours, then with up to MAX_GROUP - 1 of them) and the union is
divided again by the engine's straight cuts into as many parts as its households allow (as
ReCom does for districting plans). The new division is kept only when every new part is one
polygon holding a building and, against the old parts it replaces, the households out of
bounds fall, or stay and the minimum Polsby-Popper rises (a part of one building over the
maximum counts as in bounds). The union is divided exactly, so the parts still tile the parent,
and the cuts go around footprints, so none is split.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis.partition.diagnose import lone_building
from gis.partition.quality import polsby_popper

THIN = 0.25
MAX_ROUNDS = 3
MAX_GROUP = 6  # parts merged at most: the part and its five longest-bordering neighbours
Resplit = Callable[[BaseGeometry, np.ndarray, int], list[tuple[BaseGeometry, np.ndarray]] | None]


def _deviation(held: list[np.ndarray], lo: int, hi: int) -> int:
    """Households out of bounds over parts holding buildings `held` (a part that is one
    building over the maximum, with buildings of no households, counts as in bounds)."""
    out = 0
    for h in held:
        count = int(h.sum())
        if lone_building(h, hi):
            continue
        out += max(lo - count, count - hi, 0)
    return out


def _neighbours(i: int, parts: list[BaseGeometry], tree: shapely.STRtree) -> list[int]:
    """Parts sharing an edge (not just a point) with part i, longest shared edge first."""
    out = []
    for j in tree.query(parts[i], predicate="intersects"):
        j = int(j)
        if j == i:
            continue
        shared = shapely.length(shapely.intersection(parts[i].boundary, parts[j].boundary))
        if shared > 0:
            out.append((-shared, j))
    return [j for _, j in sorted(out)]


def _part_counts(held: np.ndarray, lo: int, hi: int, now: int) -> list[int]:
    """Part counts that could hold buildings of `held` households within lo..hi (a building
    over the maximum a part of its own), `now` first."""
    over = held > hi
    normal, towers = int(held[~over].sum()), int(over.sum())
    ks = [k + towers for k in range(max(1, -(-normal // hi)), normal // lo + 1)]
    if normal == 0:
        ks = [max(towers, 1)]
    return sorted(ks, key=lambda k: (abs(k - now), -k))


def recombine(parts: list[BaseGeometry], assignment: np.ndarray, households: np.ndarray,
              lo: int, hi: int, scale: tuple[float, float], resplit: Resplit
              ) -> tuple[list[BaseGeometry], np.ndarray]:
    """Parts and assignment after recombination (see the module docstring)."""
    parts = list(parts)
    assignment = np.asarray(assignment).copy()
    for _ in range(MAX_ROUNDS):
        changed = False
        counts = np.bincount(assignment, weights=households, minlength=len(parts)).astype(int)
        pp = polsby_popper(parts, scale)
        lone = np.array([lone_building(households[assignment == i], hi)
                         for i in range(len(parts))])
        bad = [(-max(lo - c, c - hi, 0), p, i) for i, (c, p) in enumerate(zip(counts, pp,
                                                                               strict=True))
               if not lone[i] and (not lo <= c <= hi or p < THIN)]
        done: set[int] = set()
        for _, _, i in sorted(bad):
            if i in done:
                continue
            group = _improve(i, parts, assignment, households, counts, pp, lone | done_mask(
                done, len(lone)), lo, hi, scale, resplit)
            if group is not None:
                done.update(group)
                changed = True
        if not changed:
            break
        keep = [i for i, p in enumerate(parts) if p is not None]
        renumber = np.full(len(parts), -1)
        renumber[keep] = np.arange(len(keep))
        parts, assignment = [parts[i] for i in keep], renumber[assignment]
    return parts, assignment


def done_mask(done: set[int], n: int) -> np.ndarray:
    mask = np.zeros(n, bool)
    mask[[d for d in done if d < n]] = True
    return mask


def _improve(i, parts, assignment, households, counts, pp, lone, lo, hi, scale, resplit):
    """Merge part i with one or two neighbours and divide again; the parts changed, or None."""
    live = [p if p is not None else shapely.Polygon() for p in parts]
    tree = shapely.STRtree(live)
    near = [j for j in _neighbours(i, live, tree) if j < len(lone) and not lone[j]]
    groups = [(i, j) for j in near] + [(i, *pair) for pair in combinations(near[:4], 2)]
    groups += [(i, *near[:m]) for m in range(3, min(len(near), MAX_GROUP - 1) + 1)]
    for group in groups:
        members = np.flatnonzero(np.isin(assignment, group))
        old = [households[assignment == g] for g in group]
        merged = shapely.union_all([parts[g] for g in group])
        if merged.geom_type != "Polygon":
            continue
        for k in _part_counts(households[members], lo, hi, len(group)):
            leaves = resplit(merged, members, k)
            if leaves is None:
                continue
            new = [households[idx] for _, idx in leaves]
            geoms = [g for g, _ in leaves]
            before = (_deviation(old, lo, hi), -float(pp[list(group)].min()))
            after = (_deviation(new, lo, hi), -float(polsby_popper(geoms, scale).min()))
            if after >= before:
                continue
            slots = list(group) + [len(parts) + n for n in range(max(0, k - len(group)))]
            parts.extend([None] * max(0, k - len(group)))
            for slot, (geom, idx) in zip(slots, leaves, strict=False):
                parts[slot] = geom
                assignment[idx] = slot
            for slot in slots[k:]:
                parts[slot] = None
            return slots
    return None
