"""Households grouped first, land drawn after: divisions of a small parent for graph_first.

The graph engine and the passes after it divide by geometry first (sweeps, then moves of one
unit at a time), so where the only groupings of the households that fit the bounds interleave
(buildings of 22, 6, 26 and 35 households in a row: 22 + 26 and 6 + 35), no sweep finds them,
and where a building's cell holds all the land round it, nothing can pass it. Here, for a
parent of at most MAX_BUILDINGS buildings within the maximum, every grouping of those
buildings into parts within the bounds is listed (`groupings`, LIMIT at most), the most
compact first (least spread round each group's centre), and the first TRIED are drawn on the
unit graph with the land round every building free (gis.partition.towerland): each group's
buildings are joined by the shortest chains of free land, the rest of the land goes to the
nearest part, and the local moves of gis.partition.assign make the parts compact without
leaving the bounds. The KEPT divisions with no part out of bounds and the highest lowest
Polsby-Popper are returned, made into polygons like the graph engine's, for the unit graph of
each sampling of SPACINGS in turn. `grouped_split` gives the first whole one as an engine
would: graph_first's re-split divides the clusters round a part out of bounds with it, so
grids too large to be listed whole get it cluster by cluster.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from copy import copy
from functools import partial

import numpy as np
from shapely.geometry.base import BaseGeometry

from gis.partition.assign import Assigner
from gis.partition.cellgraph import CellGraph, cell_graph
from gis.partition.feasible import packing
from gis.partition.graph import drawn as drawn_division
from gis.partition.inputs import split_inputs_of
from gis.partition.result import SplitResult
from gis.partition.streets import along_streets, street_lines
from gis.partition.towerland import with_free_land

MAX_BUILDINGS = 14  # buildings within the maximum (more: too many groupings to list)
LIMIT = 2000  # groupings listed at most
TRIED = 40  # groupings drawn on the unit graph (the most compact first)
KEPT = 3  # divisions returned per unit graph, best first
IMPROVED = 8  # groupings, the best as drawn, made compact by the local moves
# the footprints' outlines sampled every 8 m (the graph engine's), then every 2 m: with the
# land round every building free, the coarse samples let a land cell reach into a footprint
# (a chain through it is cut when the footprint is made whole), the fine ones do not, but on
# the real sets each brought parts in bounds the other did not
SPACINGS = (8.0, 2.0)


def groupings(units: list[int], households: np.ndarray, lo: int, hi: int,
              limit: int = LIMIT) -> list[list[tuple[int, ...]]]:
    """The ways (at most `limit`) to group `units` into parts of lo..hi households: each a
    list of groups of units. The largest unit left opens each group, so no grouping is
    listed twice; a group's other members are chosen largest first, pruned by the room left
    under `hi`."""
    found: list[list[tuple[int, ...]]] = []
    size = {u: int(households[u]) for u in units}  # plain ints: the search is all Python
    order = sorted(units, key=lambda u: -size[u])

    def members(pool: list[int], start: int, room: int, need: int, chosen: list[int]):
        if need <= 0:
            yield tuple(chosen)
        for i in range(start, len(pool)):
            if size[pool[i]] <= room:
                yield from members(pool, i + 1, room - size[pool[i]], need - size[pool[i]],
                                   [*chosen, pool[i]])

    def extend(rest: list[int], groups: list[tuple[int, ...]]) -> None:
        if not rest:
            found.append(groups)
            return
        total = sum(size[u] for u in rest)
        if -(-total // hi) > total // lo:
            return
        first, others = rest[0], rest[1:]
        opened = size[first]
        for more in members(others, 0, hi - opened, lo - opened, []):
            if len(found) >= limit:
                return
            taken = set(more)
            extend([u for u in others if u not in taken], [*groups, (first, *more)])

    extend(order, [])
    return found


def _spreads(listed: list[list[tuple[int, ...]]], xy: np.ndarray) -> list[float]:
    """Each grouping's sum of squared distances of each group's units from the group's
    centre (a group's own sum measured once however many groupings hold it)."""
    own: dict[tuple[int, ...], float] = {}
    for grouping in listed:
        for g in grouping:
            if g not in own:
                at = xy[list(g)]
                own[g] = float(((at - at.mean(axis=0)) ** 2).sum())
    return [sum(own[g] for g in grouping) for grouping in listed]


def _joined(a: Assigner, part: np.ndarray, p: int) -> bool | None:
    """Join one more piece of part p to the rest by the shortest chain of free units (part
    -1) of `a`'s graph: True when one was joined, False when p is connected already, None
    when no chain."""
    pieces = a.components(np.flatnonzero(part == p))
    if len(pieces) == 1:
        return False
    came: dict[int, int | None] = dict.fromkeys(pieces[0].tolist())
    queue = deque(came)
    while queue:
        u = queue.popleft()
        for v in a.near_lists[u]:
            if v in came or part[v] not in (-1, p):
                continue
            came[v] = u
            if part[v] == p:
                step = came[v]
                while step is not None and part[step] != p:
                    part[step] = p
                    step = came[step]
                return True
            queue.append(v)
    return None


def realised(a: Assigner, grouping: list[tuple[int, ...]], towers: list[int]
             ) -> np.ndarray | None:
    """Each unit of `a`'s graph given its part for `grouping` (towers first, a part each), or
    None when a group's buildings cannot be joined by free land: chains first, then the rest
    of the land to the part nearest it (in steps over the graph)."""
    part = np.full(a.n, -1, dtype=np.int64)
    part[towers] = np.arange(len(towers))
    for k, group in enumerate(grouping):
        part[list(group)] = len(towers) + k
    for p in range(len(towers), len(towers) + len(grouping)):
        while (joined := _joined(a, part, p)) is not False:
            if joined is None:
                return None
    queue = deque(np.flatnonzero(part >= len(towers)).tolist())
    while queue:
        u = queue.popleft()
        for v in a.near_lists[u]:
            if part[v] < 0:
                part[v] = part[u]
                queue.append(v)
    for u in np.flatnonzero(part < 0).tolist():  # land reached through towers only
        beside = [int(part[v]) for v in a.near_lists[u] if part[v] >= 0]
        if not beside:
            return None
        part[u] = beside[0]
    return part


def grouped_divisions(parent: BaseGeometry, buildings, households, *, barriers=(),
                      min_households: int = 30, max_households: int = 50,
                      geographic: bool = True) -> Iterator[SplitResult]:
    """The divisions of `parent` drawn from groupings of its households (see the module
    docstring), best first on each unit graph of SPACINGS in turn, made as they are asked
    for; none when it has more than MAX_BUILDINGS buildings within the maximum or no grouping
    fits the bounds."""
    got = split_inputs_of(parent, buildings, households, min_households, max_households,
                          geographic)
    if isinstance(got, SplitResult):
        return
    h, lo, hi = got.households, got.lo, got.hi
    if len(h) < 2 or (h <= hi).sum() > MAX_BUILDINGS or packing(h, lo, hi).feasible is False:
        return
    streets = street_lines(barriers, got.there)
    for spacing in SPACINGS:
        g = with_free_land(got.local, got.feet, h, np.ones(len(h), bool),
                           partial(cell_graph, spacing=spacing))
        if g is not None:
            g = along_streets(g, streets)
            for a in _drawn_groupings(g, lo, hi):
                yield drawn_division(got, g, a)


def grouped_split(parent: BaseGeometry, buildings, households, *, barriers=(),
                  min_households: int = 30, max_households: int = 50, seed: int = 0,
                  geographic: bool = True) -> SplitResult | None:
    """The first of `grouped_divisions` whose parts are single polygons holding their
    footprints whole (the most compact drawn), or None; `seed` is accepted so that it takes
    an engine's arguments (gis.partition.resplit divides clusters with it)."""
    for division in grouped_divisions(parent, buildings, households, barriers=barriers,
                                      min_households=min_households,
                                      max_households=max_households, geographic=geographic):
        if not division.broken:
            return division
    return None


def _drawn_groupings(g: CellGraph, lo: int, hi: int) -> list[Assigner]:
    """The KEPT best assignments of unit graph `g` drawn from the TRIED most compact
    groupings with no part out of bounds, the highest lowest Polsby-Popper first (the local
    moves run on the IMPROVED best as drawn)."""
    towers = np.flatnonzero(g.households > hi).tolist()
    small = [u for u in range(g.n) if 0 < g.households[u] <= hi]
    listed = groupings(small, g.households, lo, hi)
    spread = _spreads(listed, g.xy)
    listed = [listed[i] for i in sorted(range(len(listed)), key=spread.__getitem__)]
    fixed = np.zeros(g.n, bool)
    fixed[towers] = True
    base = Assigner(g, lo, hi)  # its neighbour lists are shared by every copy below
    drawn = []
    for grouping in listed[:TRIED]:
        part = realised(base, grouping, towers)
        if part is not None:
            a = copy(base)
            a.part = part
            drawn.append((a.quality(fixed), len(drawn), a))
    drawn.sort(key=lambda d: d[:2])
    found = []
    for _, order, a in drawn[:IMPROVED]:
        a.improve(fixed)
        quality = a.quality(fixed)
        if quality.miss == 0:
            found.append((quality, order, a))
    found.sort(key=lambda d: d[:2])
    return [a for _, _, a in found[:KEPT]]
