"""Re-splitting a few neighbouring parts together: the last pass for parts still out of bounds.

The passes before it move one building at a time (or one line per pair), so a part whose every
neighbour would leave the bounds by any single move stays out (a part of 29 households, 14 +
15, beside single buildings of 30). Here such a part is taken together with one, two or three
neighbouring parts (connected sets of up to CLUSTER parts holding it, no lone tower among
them, fewer parts first, then the longer edges shared inside the set), those whose buildings
can be grouped within the bounds at all (gis.partition.feasible), TRIES sets at most, and the
union of the set is divided again from scratch by each engine given in turn (the polished
engines, without this pass, their passes run only on a division already in bounds:
gis.partition.engines.SUBSPLITS; the straight cuts first; graph_first gives the straight cuts
and the divisions drawn from groupings of the cluster's households, gis.partition.groupings),
into as many parts as the engine chooses (an engine may draw none). The first division kept
replaces the set's parts; it is kept when:

- every new part is within the bounds (or one building over the maximum), one polygon, and
  holds its footprints whole;
- the new parts' areas add up to the set's (they tile the same union, whose outline the parts
  outside the set share unchanged), and
- its lowest Polsby-Popper is at least the lower of FLOOR (0.2, issue 17's bar) and the set's
  own lowest: bounds come first, but not at the price of a sliver, so the minimum over a
  division may fall, never below FLOOR.

Only parents with a part out of bounds and arithmetic that allows the bounds are touched; the
others are returned before anything is built. A parent gets SPLITS divisions by an engine at
most (CPU: a set of three or four parts is divided in 50-500 ms; the caller may give fewer).

A division that missed only the floor is a near miss: within the bounds, tiling the set, but
with a part a little under the floor. Where the caller asks (`near`), each set's near misses
are kept, by the set's buildings and outline. `near_misses_taken` weighs them last, only round
the parts still out of bounds once every other division was weighed (graph_first): a near
miss pulled taut with the points where its boundaries meet moved (gis.partition.junctions, as
the split draws the grids; on the set alone, whose outline stays) that reaches FLOOR with
every footprint whole goes in. The split's last step pulls every boundary taut anyway, but a
near miss taken in the re-split itself would stop the divisions weighed after it, and those
are often more compact.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import shapely
from shapely.errors import GEOSException
from shapely.geometry.base import BaseGeometry

from gis.partition.cells import single_polygon
from gis.partition.diagnose import lone_building, lone_parts
from gis.partition.feasible import packing
from gis.partition.junctions import moved_junctions
from gis.partition.polish import PART_VIOLATION, arithmetic_of, rebuild
from gis.partition.quality import metric_scale, polsby_popper
from gis.partition.reshape import AREA_NOISE, _one, _whole, shared_edges
from gis.partition.result import SplitResult

CLUSTER = 4  # parts in a cluster, the one out of bounds included
TRIES = 8  # clusters divided again per part out of bounds
SPLITS = 8  # divisions by an engine per parent, at most (CPU: most parents need one or two)
FLOOR = 0.2  # the new parts' lowest Polsby-Popper, or the cluster's own when that was lower

Split = Callable[..., SplitResult | None]


def _out(counts: np.ndarray, lone: np.ndarray, lo: int, hi: int) -> list[int]:
    return [k for k, c in enumerate(counts) if not lone[k] and not lo <= c <= hi]


def _shared(parts: list[BaseGeometry]) -> dict[tuple[int, int], float]:
    """Length of the edge each pair of neighbouring parts shares (in degrees; only compared)."""
    return {(a, b): length for a, b, length in shared_edges(parts)}


def clusters(k: int, shared: dict[tuple[int, int], float], lone: np.ndarray,
             size: int = CLUSTER) -> list[tuple[int, ...]]:
    """Connected sets of 2..size parts holding part k and no lone tower: fewer parts first,
    then the longer edges shared inside the set (a compact cluster) first."""
    near: dict[int, set[int]] = {}
    for a, b in shared:
        if not lone[a] and not lone[b]:
            near.setdefault(a, set()).add(b)
            near.setdefault(b, set()).add(a)
    found: set[frozenset[int]] = set()
    frontier = [frozenset([k])]
    for _ in range(size - 1):
        grown = set()
        for group in frontier:
            for j in set().union(*(near.get(g, set()) for g in group)) - group:
                grown.add(group | {j})
        found |= grown
        frontier = list(grown)

    def inside(group: frozenset[int]) -> float:
        return sum(length for (a, b), length in shared.items() if a in group and b in group)

    ranked = sorted(found, key=lambda g: (len(g), -inside(g), sorted(g)))
    return [(k, *sorted(g - {k})) for g in ranked]


def _deviation(counts: np.ndarray, groups: list[np.ndarray], lo: int, hi: int) -> int:
    """Households out of bounds over parts of `counts` (parts one building over hi: none)."""
    return int(sum(max(lo - c, c - hi, 0) for c, g in zip(counts, groups, strict=True)
                   if not lone_building(g, hi)))


def misses_bounds(result: SplitResult, households: np.ndarray, lo: int, hi: int) -> bool:
    """Whether a part of `result` (not one building over the maximum) is out of bounds: the
    re-split keeps no such division of a cluster."""
    sub = np.asarray(result.assignment, dtype=np.int64)
    counts = np.bincount(sub, weights=households, minlength=len(result.parts))
    return _deviation(counts, [households[sub == n] for n in range(len(result.parts))],
                      lo, hi) > 0


Division = tuple[list[BaseGeometry], np.ndarray]  # parts, the cluster's buildings' parts
# a division that missed only the floor: the cluster's union, the division, the cluster's
# footprints and the parts that held them before (`_near_miss` weighs it when asked)
NearMiss = tuple[BaseGeometry, list[BaseGeometry], np.ndarray, np.ndarray, np.ndarray]


def _divide(union: BaseGeometry, cluster: tuple[int, ...], parts: list[BaseGeometry],
            assignment: np.ndarray, foot: np.ndarray, h: np.ndarray, scale, lo: int, hi: int,
            splits: Sequence[Split], barriers, geographic: bool, budget: list[int],
            near: bool = False) -> tuple[Division | None, list[NearMiss]]:
    """The first kept division of the cluster's union (see the module docstring), by the
    engines in turn while `budget` (divisions left for the parent) lasts: its parts and the
    assignment of the cluster's buildings (over their indices, in order); and, with `near`,
    the divisions drawn before it that missed only the floor."""
    idx = np.flatnonzero(np.isin(assignment, cluster))
    held = h[idx]
    floor = min(FLOOR, float(polsby_popper([parts[c] for c in cluster], scale).min()))
    before = np.asarray(parts, dtype=object)[assignment[idx]]
    area = sum(parts[c].area for c in cluster)
    missed: list[NearMiss] = []
    for split in splits:
        if budget[0] <= 0:
            return None, missed
        budget[0] -= 1
        try:
            got = split(union, list(foot[idx]), held, barriers=barriers, min_households=lo,
                        max_households=hi, geographic=geographic)
        except (GEOSException, ValueError):
            continue
        if got is None:  # the engine drew no division (groupings.grouped_split)
            continue
        new, sub = list(got.parts), np.asarray(got.assignment, dtype=np.int64)
        if len(new) < 1 or any(p.geom_type != "Polygon" for p in new):
            continue
        if misses_bounds(got, held, lo, hi):
            continue
        if abs(sum(p.area for p in new) - area) > AREA_NOISE * area * 10:
            continue
        if polsby_popper(new, scale).min() < floor:
            if near:
                missed.append((union, new, sub, foot[idx], before))
            continue
        if _whole(foot[idx], before, np.asarray(new, dtype=object)[sub]):
            return (new, sub), missed
    return None, missed


def _near_miss(miss: NearMiss, scale) -> Division | None:
    """A near miss's division with its boundaries pulled taut and their meeting points moved
    (gis.partition.junctions, on the cluster alone: its outline stays), where it then
    reaches FLOOR with every footprint whole; else None."""
    union, new, sub, foot, before = miss
    moved, changed = moved_junctions(union, new, sub, foot, scale)
    if not changed or polsby_popper(moved, scale).min() < FLOOR:
        return None
    if not _whole(foot, before, np.asarray(moved, dtype=object)[sub]):
        return None
    return moved, sub


def _targets(parts, assignment, h, lo, hi, done: set[int], lone: np.ndarray) -> list[int]:
    """Parts out of bounds (not lone towers' parts, `lone`) not tried yet."""
    counts = np.bincount(assignment, weights=h, minlength=len(parts))
    return [k for k in _out(counts, lone, lo, hi) if id(parts[k]) not in done]


def _cluster(parts: list[BaseGeometry], cluster: tuple[int, ...], idx: np.ndarray
             ) -> tuple[BaseGeometry, bytes] | None:
    """The union of the cluster's parts (one polygon, their areas adding up) and the
    cluster's key (its buildings `idx` and its outline: the same key, the same cluster);
    None where the union is not one polygon."""
    try:
        union = _one(shapely.union_all([parts[c] for c in cluster]))
    except GEOSException:
        return None
    area = sum(parts[c].area for c in cluster)
    if union is None or abs(union.area - area) > AREA_NOISE * area:
        return None
    return union, idx.tobytes() + shapely.to_wkb(union)


def resplit(parts: list[BaseGeometry], assignment: np.ndarray, foot: np.ndarray,
            h: np.ndarray, scale, lo: int, hi: int, splits: Sequence[Split], barriers=(),
            geographic: bool = True, divisions: int = SPLITS, vain: set[bytes] | None = None,
            near: dict[bytes, list[NearMiss]] | None = None
            ) -> tuple[list[BaseGeometry], np.ndarray, bool]:
    """Parts and assignment after dividing clusters around each part out of bounds again
    (see the module docstring), and whether any was; `divisions` by an engine at most.
    `vain` holds the clusters (their buildings and outline) divided in vain already for this
    parent, by an earlier call too: the engines are deterministic, so none is divided again.
    `near` (where given) gets each cluster's near misses, by its key (`near_misses_taken`)."""
    vain = set() if vain is None else vain
    parts, assignment, changed = list(parts), assignment.copy(), False
    done: set[int] = set()
    budget = [divisions]
    for _ in range(2 * len(parts)):
        if budget[0] <= 0:
            break
        lone = lone_parts(len(parts), assignment, h, hi)
        todo = _targets(parts, assignment, h, lo, hi, done, lone)
        if not todo:
            break
        k = todo[0]
        done.add(id(parts[k]))
        shared = _shared(parts)
        tried = 0
        for cluster in clusters(k, shared, lone):
            if tried >= TRIES:
                break
            idx = np.flatnonzero(np.isin(assignment, cluster))
            if packing(h[idx], lo, hi).feasible is False:
                continue
            tried += 1
            found = _cluster(parts, cluster, idx)
            if found is None or found[1] in vain:
                continue
            union, key = found
            left = budget[0]
            got, missed = _divide(union, cluster, parts, assignment, foot, h, scale, lo, hi,
                                  splits, barriers, geographic, budget, near is not None)
            if missed and near is not None:
                near.setdefault(key, missed)
            if got is None:
                if left - budget[0] == len(splits):  # every engine tried, none kept
                    vain.add(key)
                continue
            parts, assignment = _replaced(parts, assignment, cluster, idx, got)
            changed = True
            break
    return parts, assignment, changed


def _replaced(parts: list[BaseGeometry], assignment: np.ndarray, cluster: tuple[int, ...],
              idx: np.ndarray, division: Division) -> tuple[list[BaseGeometry], np.ndarray]:
    """Parts and assignment with the cluster's parts replaced by `division` of its buildings
    `idx` (the other parts first, in their order, then the new ones)."""
    new, sub = division
    keep = [p for p in range(len(parts)) if p not in cluster]
    remap = np.full(len(parts), -1, dtype=np.int64)
    remap[keep] = np.arange(len(keep))
    assignment = remap[assignment]
    assignment[idx] = sub + len(keep)
    return [parts[p] for p in keep] + new, assignment


def resplit_result(parent: BaseGeometry, buildings, households, result: SplitResult, lo: int,
                   hi: int, splits: Sequence[Split], barriers=(), geographic: bool = True,
                   divisions: int = SPLITS, vain: set[bytes] | None = None,
                   near: dict[bytes, list[NearMiss]] | None = None) -> SplitResult:
    """`result` after `resplit` (`divisions` by an engine at most; `vain`: clusters divided
    in vain already; `near`: the near misses drawn, kept), or `result` itself, the same
    object, when no part is out of bounds (or the arithmetic makes the bounds impossible) or
    no cluster was divided again (gis.partition.engines.graph_first tells the two apart by
    identity)."""
    h = np.asarray(households, dtype=np.int64).reshape(-1)
    assignment = np.asarray(result.assignment, dtype=np.int64)
    arithmetic = arithmetic_of(result.violations)
    if len(h) < 2:
        return result
    lone = lone_parts(len(result.parts), assignment, h, hi)
    if arithmetic or not _out(np.asarray(result.households), lone, lo, hi):
        return result
    parent = single_polygon(parent)
    scale = metric_scale(parent, geographic)
    foot = np.asarray(list(buildings), dtype=object)
    parts, new, changed = resplit(list(result.parts), assignment, foot, h, scale, lo, hi, splits,
                                  barriers, geographic, divisions, vain, near)
    if not changed:
        return result
    violations = [v for v in result.violations if not v.startswith(PART_VIOLATION)]
    return rebuild(parent, parts, new, h, result, violations, lo, hi, geographic, arithmetic)


def near_misses_taken(parent: BaseGeometry, households, result: SplitResult, lo: int, hi: int,
                      near: dict[bytes, list[NearMiss]], geographic: bool = True
                      ) -> SplitResult:
    """`result` with the near misses of `near` (drawn by `resplit` for this parent) put in
    place round its parts out of bounds: for each such part, its clusters in `clusters`
    order, the first whose key holds one that reaches FLOOR pulled taut (`_near_miss`; the
    same buildings, the same outline: no engine is run here); `result` itself where none
    applies."""
    h = np.asarray(households, dtype=np.int64).reshape(-1)
    assignment = np.asarray(result.assignment, dtype=np.int64)
    arithmetic = arithmetic_of(result.violations)
    if not near or arithmetic or len(h) < 2:
        return result
    parts, changed, done = list(result.parts), False, set()
    parent = single_polygon(parent)
    scale = metric_scale(parent, geographic)
    for _ in range(len(parts)):
        lone = lone_parts(len(parts), assignment, h, hi)
        todo = _targets(parts, assignment, h, lo, hi, done, lone)
        if not todo:
            break
        done.add(id(parts[todo[0]]))
        for cluster in clusters(todo[0], _shared(parts), lone):
            idx = np.flatnonzero(np.isin(assignment, cluster))
            found = _cluster(parts, cluster, idx)
            misses = near.get(found[1], []) if found is not None else []
            division = next(filter(None, (_near_miss(m, scale) for m in misses)), None)
            if division is not None:
                parts, assignment = _replaced(parts, assignment, cluster, idx, division)
                changed = True
                break
    if not changed:
        return result
    violations = [v for v in result.violations if not v.startswith(PART_VIOLATION)]
    return rebuild(parent, parts, assignment, h, result, violations, lo, hi, geographic,
                   arithmetic)
