"""Whether a parent's buildings can be grouped into parts within the bounds at all.

The household arithmetic alone (geometry ignored): buildings over the maximum are parts of
their own; the others must go into k parts of lo..hi households each, for some k. The total
alone (choose_parts) is not enough: 40 + 40 + 25 households fit 2 or 3 parts by their sum, yet
no grouping does. `packing` decides it exactly by a depth-first search over the buildings,
largest first, each placed into a part (parts of equal load are tried once, the least loaded
first, which finds a balanced grouping at once when one exists), pruned by the room left above
the minimum and below the maximum, with failed states remembered. Buildings of a few households
make any count that fits the total work, so the search is short (a greedy grouping, each
building into the least loaded part, is tried first); it stops after MAX_NODES steps, or
declines parents of over MAX_DEPTH buildings the greedy grouping missed, and then answers None
(undecided), which callers count as feasible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

MAX_NODES = 20_000
MAX_DEPTH = 400  # buildings searched in depth (more: the greedy grouping or undecided)
CACHED = 4096  # verdicts remembered (sets of counts)


@dataclass(frozen=True)
class Packing:
    """The verdict: feasible (True, False, or None when undecided), the part count of a
    grouping found, and why not when there is none."""

    feasible: bool | None
    k: int
    reason: str | None = None


def _greedy(items: list[int], k: int, lo: int, hi: int) -> bool:
    """Each building (largest first) into the least loaded part it fits: a grouping found?"""
    loads = np.zeros(k, dtype=np.int64)
    for x in items:
        b = int(np.argmin(loads))
        if loads[b] + x > hi:
            return False
        loads[b] += x
    return bool((loads >= lo).all())


def _fits(items: list[int], k: int, lo: int, hi: int, budget: list[int]) -> bool | None:
    """Whether `items` (descending) go into exactly k parts of lo..hi; None past the budget."""
    if _greedy(items, k, lo, hi):
        return True
    if len(items) > MAX_DEPTH:
        return None
    loads = [0] * k
    suffix = np.concatenate([np.cumsum(items[::-1])[::-1], [0]]).tolist()
    failed: set[tuple[int, tuple[int, ...]]] = set()

    def place(i: int) -> bool | None:
        if i == len(items):
            return all(load >= lo for load in loads)
        key = (i, tuple(sorted(loads)))
        if key in failed:
            return False
        budget[0] -= 1
        if budget[0] < 0:
            return None
        rest = suffix[i + 1]
        tried: set[int] = set()
        undecided = False
        for b in sorted(range(k), key=lambda b: loads[b]):
            load = loads[b]
            if load in tried or load + items[i] > hi:
                continue
            tried.add(load)
            loads[b] += items[i]
            need = sum(max(0, lo - x) for x in loads)
            if need <= rest:
                got = place(i + 1)
                if got:
                    loads[b] -= items[i]
                    return True
                undecided |= got is None
            loads[b] -= items[i]
        if undecided:
            return None
        failed.add(key)
        return False

    return place(0)


def packing(households, lo: int, hi: int, max_nodes: int = MAX_NODES) -> Packing:
    """Whether buildings of `households` can be grouped into parts of lo..hi households (each
    building over hi a part of its own); see the module docstring. The verdict depends only
    on the counts, so it is remembered for the last CACHED sets of counts asked (a split asks
    about the same parent and clusters again from several passes)."""
    h = np.asarray(households, dtype=np.int64).reshape(-1)
    over = h > hi
    items = tuple(sorted((int(x) for x in h[~over] if x > 0), reverse=True))
    return _packing(items, int(over.sum()), lo, hi, max_nodes)


@lru_cache(maxsize=CACHED)
def _packing(items: tuple[int, ...], towers: int, lo: int, hi: int, max_nodes: int) -> Packing:
    """`packing` of the counts within the maximum (descending) beside `towers` buildings over
    it."""
    items = list(items)
    total = sum(items)
    if total == 0:
        return Packing(True, max(towers, 1))
    kmin, kmax = math.ceil(total / hi), total // lo
    if kmin > kmax:
        if total < lo:
            return Packing(False, towers + 1, f"only {total} households besides buildings over "
                           f"the maximum, below the minimum {lo}")
        return Packing(False, towers + kmin, f"{total} households cannot be divided into "
                       f"parts of {lo}-{hi}")
    budget = [max_nodes]
    undecided = False
    mid = total / ((lo + hi) / 2)
    for k in sorted(range(kmin, kmax + 1), key=lambda k: (abs(k - mid), -k)):
        got = _fits(items, k, lo, hi, budget)
        if got:
            return Packing(True, towers + k)
        undecided |= got is None
        if budget[0] < 0:
            break
    if undecided:
        return Packing(None, towers + round(min(max(mid, kmin), kmax)))
    largest = ", ".join(str(x) for x in items[:4])
    return Packing(False, towers + kmin, f"no grouping of these buildings' households "
                   f"(largest {largest}; {total} in all) gives parts of {lo}-{hi}")
