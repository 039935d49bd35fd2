"""Local search over an assignment of building cells to parts (gis.partition.growth).

A part is a set of cells; its area is the sum of theirs and its perimeter the sum of theirs
less twice every edge two of its cells share, so moving one boundary cell to a neighbouring
part updates both parts' exact Polsby-Popper in time proportional to the cell's neighbours,
without touching any geometry. A move is allowed when the cell shares an edge with the
receiving part, the giving part keeps another cell and stays connected, and neither part
moves away from its bounds. Two phases: `balance` makes the moves that bring the parts
nearer their bounds (the sum of their distances to lo..hi falls), best compactness first,
then `chains` of such moves through up to CHAIN_DEPTH neighbouring parts (a part under the
minimum takes a cell from a neighbour, which takes one from its own neighbour, ...);
`compact` makes the moves that raise the smaller Polsby-Popper of the two parts, or keep it and
raise their sum, pass after pass until none is left, then those that raise their sum while no
part falls below the smallest Polsby-Popper of all (so the minimum holds and the mean rises).
Parts in `fixed` (lone buildings above the maximum) neither give nor take cells holding
buildings, only land (cells of no building).
"""

from __future__ import annotations

import numpy as np

from gis.partition.cells import Cells
from gis.partition.quality import pp_value

MAX_PASSES = 12
MAX_BALANCE_MOVES_PER_UNIT = 4
EPS = 1e-9
CHAIN_DEPTH = 3
CHAIN_BUDGET = 400


def deviation(count: int, lo: int, hi: int) -> int:
    """How far `count` lies outside lo..hi (0 inside)."""
    return max(lo - count, count - hi, 0)


class Parts:
    """An assignment of cells to parts with each part's households, area and perimeter."""

    def __init__(self, cells: Cells, part: np.ndarray, lo: int, hi: int,
                 fixed: set[int] | None = None):
        self.lo, self.hi = lo, hi
        self.fixed = fixed or set()
        self.adj = cells.adj
        self.h = [int(x) for x in cells.households]
        self.a = [float(x) for x in cells.area]
        self.p = [float(x) for x in cells.perimeter]
        self.part = [int(x) for x in part]
        self.land = {u for u, m in enumerate(cells.members) if len(m) == 0}
        k = max(self.part) + 1 if self.part else 0
        self.members: list[set[int]] = [set() for _ in range(k)]
        self.hh = [0] * k
        self.area = [0.0] * k
        self.perim = [0.0] * k
        self._links: list[dict[int, float] | None] = [None] * len(self.part)
        for u, j in enumerate(self.part):
            self.members[j].add(u)
            self.hh[j] += self.h[u]
            self.area[j] += self.a[u]
            self.perim[j] += self.p[u] - sum(w for v, w in self.adj[u].items()
                                             if self.part[v] == j)
        self.may_give = [self.part[u] not in self.fixed or u in self.land
                         for u in range(len(self.part))]
        self.deviation = sum(deviation(c, lo, hi) for j, c in enumerate(self.hh)
                             if j not in self.fixed)

    @property
    def k(self) -> int:
        return len(self.members)

    def pp(self, j: int) -> float:
        return pp_value(self.area[j], self.perim[j])

    def links(self, u: int) -> dict[int, float]:
        """Length of the edge cell u shares with each part (its own included); kept until u
        or a neighbour moves (read only)."""
        out = self._links[u]
        if out is None:
            out = {}
            part = self.part
            for v, w in self.adj[u].items():
                j = part[v]
                out[j] = out.get(j, 0.0) + w
            self._links[u] = out
        return out

    def after(self, u: int, dst: int, links: dict[int, float]) -> tuple[float, float]:
        """Polsby-Popper of u's part and of `dst` if u moved to `dst`."""
        src = self.part[u]
        pa = self.perim[src] - self.p[u] + 2.0 * links.get(src, 0.0)
        pb = self.perim[dst] + self.p[u] - 2.0 * links.get(dst, 0.0)
        return (pp_value(self.area[src] - self.a[u], pa), pp_value(self.area[dst] + self.a[u], pb))

    def stays_connected(self, u: int) -> bool:
        """Whether u's part without u is still one connected set (and not empty)."""
        part, adj = self.part, self.adj
        src = part[u]
        rest = self.members[src]
        if len(rest) <= 1:
            return False
        start = next((v for v in adj[u] if part[v] == src), None)
        if start is None:
            return False
        seen = {u, start}
        stack = [start]
        while stack:
            for v in adj[stack.pop()]:
                if v not in seen and part[v] == src:
                    seen.add(v)
                    stack.append(v)
        return len(seen) == len(rest)

    def move(self, u: int, dst: int, links: dict[int, float]) -> None:
        src = self.part[u]
        lo, hi, hh, h = self.lo, self.hi, self.hh, self.h[u]
        counted = [j for j in (src, dst) if j not in self.fixed]
        for j in counted:
            self.deviation -= max(lo - hh[j], hh[j] - hi, 0)
        self.perim[src] += -self.p[u] + 2.0 * links.get(src, 0.0)
        self.perim[dst] += self.p[u] - 2.0 * links.get(dst, 0.0)
        self.area[src] -= self.a[u]
        self.area[dst] += self.a[u]
        hh[src] -= h
        hh[dst] += h
        for j in counted:
            self.deviation += max(lo - hh[j], hh[j] - hi, 0)
        self.members[src].discard(u)
        self.members[dst].add(u)
        self.part[u] = dst
        self.may_give[u] = dst not in self.fixed or u in self.land
        cache = self._links
        cache[u] = None
        for v in self.adj[u]:
            cache[v] = None

    def there_and_back(self, u: int, dst: int, links: dict[int, float]) -> None:
        """What moving u to `dst` and back leaves behind: the rounding of the parts'
        perimeters and areas and the order of their cell sets (so that a move weighed
        without being made leaves the search exactly as making and undoing it would)."""
        src = self.part[u]
        ls, ld = 2.0 * links.get(src, 0.0), 2.0 * links.get(dst, 0.0)
        self.perim[src] += -self.p[u] + ls
        self.perim[dst] += self.p[u] - ld
        self.area[src] -= self.a[u]
        self.area[dst] += self.a[u]
        self.members[src].discard(u)
        self.members[dst].add(u)
        self.perim[dst] += -self.p[u] + ld
        self.perim[src] += self.p[u] - ls
        self.area[dst] -= self.a[u]
        self.area[src] += self.a[u]
        self.members[dst].discard(u)
        self.members[src].add(u)

    def boundary(self, among=None) -> list[int]:
        """Cells (of parts that may give them) with a neighbour in another part, in order;
        only those in `among` (sorted) when given."""
        part, give, links = self.part, self.may_give, self.links
        return [u for u in (range(len(part)) if among is None else among)
                if give[u] and (len(links(u)) > 1 or part[u] not in links(u))]

    def total_deviation(self) -> int:
        return self.deviation


def balance(state: Parts) -> None:
    """Moves that bring parts nearer their bounds, the best (most deviation removed, then the
    most compact pair) first, until none is left."""
    lo, hi = state.lo, state.hi
    for _ in range(MAX_BALANCE_MOVES_PER_UNIT * max(len(state.part), 1)):
        if state.total_deviation() == 0:
            return
        best = None
        hh = state.hh
        out = [j for j in range(state.k) if j not in state.fixed
               and (hh[j] < lo or hh[j] > hi)]
        near = sorted({v for j in out for x in state.members[j] for v in (x, *state.adj[x])})
        for u in state.boundary(near):  # a move between two parts in bounds gains nothing
            src, h = state.part[u], state.h[u]
            if h == 0:
                continue
            links = state.links(u)
            for dst in links:
                if dst == src or dst in state.fixed:
                    continue
                gain = (deviation(hh[src], lo, hi) + deviation(hh[dst], lo, hi)
                        - deviation(hh[src] - h, lo, hi)
                        - deviation(hh[dst] + h, lo, hi))
                if gain <= 0:
                    continue
                key = (gain, min(state.after(u, dst, links)))
                if (best is None or key > best[0]) and state.stays_connected(u):
                    best = (key, u, dst, links)
        if best is None:
            return
        _, u, dst, links = best
        state.move(u, dst, links)


def _needy(state: Parts, j: int) -> list[tuple[int, int]]:
    """Moves (cell, to part) that bring part j nearer its bounds: a neighbour's cell into j
    when j is under, one of j's cells out to a neighbour when over."""
    lo, hi = state.lo, state.hi
    out: list[tuple[int, int]] = []
    if state.hh[j] < lo:
        for u in {v for x in state.members[j] for v in state.adj[x]}:
            src = state.part[u]
            if src != j and src not in state.fixed and state.h[u] > 0:
                out.append((u, j))
    elif state.hh[j] > hi:
        for u in state.members[j]:
            if state.h[u] > 0:
                out.extend((u, d) for d in state.links(u) if d != j and d not in state.fixed)
    return out


def _chain(state: Parts, j: int, depth: int, start: int, budget: list[int]) -> bool:
    """Moves along a chain of neighbouring parts (up to `depth`) that end with less total
    deviation than `start`: part j takes (or gives) a cell, the neighbour that then misses
    its bounds does the same, and so on; undone when no chain helps."""
    lo, hi, hh = state.lo, state.hi, state.hh
    for u, dst in _needy(state, j):
        if budget[0] <= 0:
            return False
        budget[0] -= 1
        src, h = state.part[u], state.h[u]
        if not state.stays_connected(u):
            continue
        left, right = deviation(hh[src] - h, lo, hi), deviation(hh[dst] + h, lo, hi)
        if (state.deviation + left + right - deviation(hh[src], lo, hi)
                - deviation(hh[dst], lo, hi)) < start:
            state.move(u, dst, state.links(u))
            return True
        if depth > 1 and (left if dst == j else right) > 0:  # the part that now misses
            state.move(u, dst, state.links(u))
            if _chain(state, src if dst == j else dst, depth - 1, start, budget):
                return True
            state.move(u, src, state.links(u))
        else:
            state.there_and_back(u, dst, state.links(u))
    return False


def chains(state: Parts) -> None:
    """Chains of moves (see `_chain`) while they lower the total deviation."""
    budget = [CHAIN_BUDGET]
    while budget[0] > 0:
        start = state.total_deviation()
        if start == 0:
            return
        out = [j for j in range(state.k) if j not in state.fixed
               and deviation(state.hh[j], state.lo, state.hi) > 0]
        if not any(_chain(state, j, CHAIN_DEPTH, start, budget) for j in out):
            return


def compact(state: Parts, floor: float | None = None) -> int:
    """Moves that raise the pair's smaller Polsby-Popper (or keep it and raise their sum),
    within bounds, pass after pass; returns the number of moves. With `floor`, moves that
    raise the pair's sum instead, as long as neither part falls below `floor`."""
    lo, hi = state.lo, state.hi
    moves = 0
    for _ in range(MAX_PASSES):
        moved = 0
        for u in state.boundary():
            src, h = state.part[u], state.h[u]
            land = u in state.land
            if src in state.fixed and not land:
                continue
            links = state.links(u)
            if len(links) == 1:
                continue
            if deviation(state.hh[src] - h, lo, hi) > deviation(state.hh[src], lo, hi):
                continue
            old_src = state.pp(src)
            best = None
            for dst in links:
                if dst == src or (dst in state.fixed and not land):
                    continue
                if deviation(state.hh[dst] + h, lo, hi) > deviation(state.hh[dst], lo, hi):
                    continue
                old_dst = state.pp(dst)
                new_src, new_dst = state.after(u, dst, links)
                old_min, new_min = min(old_src, old_dst), min(new_src, new_dst)
                gain = (new_min - old_min, new_src + new_dst - old_src - old_dst)
                if floor is None:
                    if new_min < old_min - EPS or (gain[0] <= EPS and gain[1] <= EPS):
                        continue
                else:
                    if new_min < min(old_min, floor) - EPS or gain[1] <= EPS:
                        continue
                    gain = (gain[1], gain[0])
                if best is None or gain > best[0]:
                    best = (gain, dst)
            if best is not None and state.stays_connected(u):
                state.move(u, best[1], links)
                moved += 1
        moves += moved
        if not moved:
            break
    return moves


def improve(state: Parts) -> None:
    """Balance, then compactness, then balance again (see the module docstring)."""
    balance(state)
    chains(state)
    compact(state)
    compact(state, floor=min(state.pp(j) for j in range(state.k)))
    balance(state)
