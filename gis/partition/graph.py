"""The `graph` split engine: assignment first on the unit graph, polygons once at the end.

The parent and footprints go into a local metric frame; one unit graph is built
(gis.partition.cellgraph: one Voronoi diagram of samples of the footprints, its cells' shared
edges matched in numpy). Units over the maximum are lone parts. The other units are divided
per connected group (a group cut off by lone towers is divided on its own; one under half the
minimum joins the tower beside it) by recursive straight sweeps and local moves
(gis.partition.assign), with no geometry: areas, perimeters and households are sums. Then the
parts' polygons are made once (coverage unions of the samples' cells), their shared edges are
smoothed and every footprint made whole in its part (gis.partition.outline), and the result
is checked like every engine's (gis.partition.result.finish: footprints whole, contiguity,
bounds, reasons).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis.partition.assign import Assigner, ChainRepair
from gis.partition.cellgraph import CellGraph, cell_graph, cell_graphs
from gis.partition.cells import polygonal_all
from gis.partition.engine import choose_parts
from gis.partition.feasible import packing
from gis.partition.inputs import Inputs, split_inputs_of
from gis.partition.outline import outlines
from gis.partition.pairs import redivide_pairs
from gis.partition.regroup import regroup
from gis.partition.result import SplitResult, finish
from gis.partition.streets import along_streets, street_lines
from gis.partition.towerland import with_free_land

SMOOTH = True
STREETS = True  # boundaries along the barriers (streets) cost the search less
DELTAS = (0, 1, -1)
CRUMB = 1e-9  # share of a part's area that making it valid may drop (ulp-sized pieces)
# the land round towers free, or one part more (ONE_MORE), is kept only with no part thinner
MIN_PP = 0.2
SHED = True  # a group walled in by towers may give a unit or two to a tower's part (_shed)
SHED_TRIED = 8  # the units beside towers (fewest households first) tried, singly and in pairs
ONE_MORE = True  # the grid level also tries one part more per group, kept where more compact
# the grid level also divides neighbouring parts again in pairs after the search
# (gis.partition.pairs): on the real sets the grids' mean Polsby-Popper 0.01 higher on Monaco
# (bench/one_more_bench.py --setting PAIRS); not for micro-grids, whose CPU it would raise by a
# fifth for less
PAIRS = True


def _clipped(feet: np.ndarray, local: BaseGeometry) -> np.ndarray:
    """Footprints within the parent (overlays only for those crossing its outline)."""
    shapely.prepare(local)
    out = np.asarray(feet, dtype=object).copy()
    crossing = ~shapely.contains(local, out)
    if crossing.any():
        out[crossing] = polygonal_all(shapely.intersection(out[crossing], local))
    return out


def _repaired(parts: np.ndarray) -> list | None:
    """`parts` with those made invalid by the scaling back (edges crossing by an ulp) made
    valid again, each still one polygon (crumbs of no area dropped); None when one is not."""
    bad = np.flatnonzero(~shapely.is_valid(parts))
    for i in bad.tolist():
        pieces = [p for p in shapely.get_parts(shapely.make_valid(parts[i]))
                  if p.geom_type == "Polygon" and p.area > 0]
        if not pieces:
            return None
        largest = max(pieces, key=lambda p: p.area)
        if sum(p.area for p in pieces) - largest.area > CRUMB * largest.area:
            return None
        parts[i] = largest
    return list(parts)


def _divide(a: Assigner, lone: np.ndarray, lo: int, hi: int, delta: int = 0
            ) -> tuple[int, list[str]]:
    """Parts for every unit of `a`'s graph: lone towers first, then each connected group of
    the others (in the number of parts the arithmetic suggests, plus `delta` where the bounds
    still allow it); the number of parts and why the bounds cannot be met, if so. A group cut
    off by towers and too small for a part joins the tower beside it only when that leaves
    fewer households out of bounds than the group alone would be short (under half the
    minimum): a building of 28 households is its own part, 2 short, not 28 more in a tower's.
    A group that no grouping divides within the bounds gives the towers beside it the fewest
    households that let the rest be (`_shed`)."""
    g = a.g
    reasons: list[str] = []
    nxt = 0
    for u in lone.tolist():
        a.part[u] = nxt
        nxt += 1
    others = np.setdiff1d(np.arange(g.n), lone)
    todo = a.components(others) if len(others) else []
    while todo:
        comp = todo.pop(0)
        hh = int(g.households[comp].sum())
        if 2 * hh < lo and len(lone):
            lone_units = set(lone.tolist())
            towers = [int(a.part[v]) for u in comp.tolist() for v in a.near_lists[u]
                      if a.part[v] >= 0 and v in lone_units]
            if towers:
                a.part[comp] = max(set(towers), key=towers.count)
                continue
        shed = _shed(a, comp, lone, lo, hi) if SHED and len(lone) else None
        if shed:
            joined, rest = shed
            for u, tower in joined.items():
                a.part[u] = a.part[tower]
            todo[:0] = rest
            continue
        k, reason = choose_parts(hh, 0, lo, hi)
        if reason:
            reasons.append(reason)
        elif delta and math.ceil(hh / hi) <= k + delta <= hh // lo:
            k += delta
        nxt = a.bisect(comp, k, nxt)
    return nxt, reasons


def _shed(a: Assigner, comp: np.ndarray, lone: np.ndarray, lo: int, hi: int
          ) -> tuple[dict[int, int], list[np.ndarray]] | None:
    """Where no grouping divides the households of `comp` (a connected group of units cut
    off by towers) into parts of lo..hi but one would once one or two of its units beside a
    tower joined that tower's part: those units (the fewest households), each with the
    tower it joins (the one it shares the longest edge with), and the connected groups of
    the units left; None where none do. Each
    group left must hold a part's minimum at least: a whole group joins a tower only under
    _divide's own rule. A tower's part is out of bounds anyway, and division_rank puts fewer
    parts out of bounds before fewer households beside towers: on a real Monaco grid, 4 + 23
    + 22 + 25 households walled in by towers give 4 and 22 to the towers beside them, and
    23 + 25 make one part in bounds."""
    h = a.g.households
    if packing(h[comp], lo, hi).feasible is not False:
        return None
    towers = set(lone.tolist())
    beside: dict[int, int] = {}
    for u in comp.tolist():
        joined = [(float(w), int(v)) for v, w in zip(a.near_lists[u], a.near_len[u].tolist(),
                                                     strict=True) if v in towers]
        if joined:
            beside[u] = max(joined)[1]
    order = sorted(beside, key=lambda u: (int(h[u]), u))[:SHED_TRIED]
    trials = [(u,) for u in order] + list(itertools.combinations(order, 2))
    trials.sort(key=lambda s: (int(h[list(s)].sum()), len(s)))
    for units in trials:
        rest = a.components(np.setdiff1d(comp, units))
        if rest and all(int(h[c].sum()) >= lo and packing(h[c], lo, hi).feasible is not False
                        for c in rest):
            return {u: beside[u] for u in units}, rest
    return None


def _assigned(g: CellGraph, lo: int, hi: int, retries: bool = True,
              one_more: bool = False, pairs: bool = False) -> Assigner:
    """The best division found: by the suggested part counts, then (with `retries`) one part
    more or fewer per group while parts stay out of bounds (fewest households out of bounds,
    then the highest lowest Polsby-Popper). With `one_more`, where that leaves no household
    out of bounds, also the division with one part more per group, kept where it is more
    compact on the unit graph (`_compactness`). With `pairs`, the neighbouring parts of the
    division kept are divided again in pairs where that is worth more (gis.partition.pairs;
    only that one's: before the choice, twice the CPU for a fraction more)."""
    lone = np.flatnonzero(g.households > hi)
    fixed = np.zeros(g.n, bool)
    fixed[lone] = True
    best = None
    for delta in DELTAS if retries else DELTAS[:1]:
        a = _assignment(g, lo, hi, lone, fixed, delta)
        key = a.quality(fixed)
        if best is None or key < best[0]:
            best = (key, a)
        if key.miss == 0:
            break
    chosen = best[1]
    if one_more and not best[0].miss:
        more = _assignment(g, lo, hi, lone, fixed, 1)
        if _compactness(more, fixed) < _compactness(best[1], fixed):
            chosen = more
    if pairs and redivide_pairs(chosen, fixed):
        chosen.improve(fixed)  # the local moves once more along the new boundaries
    return chosen


def _assignment(g: CellGraph, lo: int, hi: int, lone: np.ndarray, fixed: np.ndarray,
                delta: int) -> Assigner:
    """Units' parts by `_divide` (`delta` parts more per group), the chain repairs, the
    regrouping and the local moves."""
    a = Assigner(g, lo, hi)
    _divide(a, lone, lo, hi, delta)
    ChainRepair(a, fixed).run()
    regroup(a, fixed)
    a.improve(fixed)
    ChainRepair(a, fixed).run()
    return a


def _compactness(a: Assigner, fixed: np.ndarray) -> tuple[int, bool, float]:
    """Rank of an assignment on the unit graph, lower better: households out of bounds, a
    part under MIN_PP, minus the mean Polsby-Popper of the parts that hold no lone tower."""
    miss, lowest = a.quality(fixed)
    _, pp = a.part_sums()
    tower = np.zeros(len(pp), bool)
    tower[a.part[fixed]] = True
    free = pp[~tower] if (~tower).any() else pp
    return miss, -lowest < MIN_PP, -float(free.mean())


def split(parent: BaseGeometry, buildings, households, *, barriers=(), min_households: int = 30,
          max_households: int = 50, seed: int = 0, geographic: bool = True) -> SplitResult:
    """Divide `parent` into parts of min..max households (see the module docstring).

    Same arguments and result as gis.partition.engine.split; `barriers` (streets) make
    boundaries along them cheaper for the search (gis.partition.streets); `seed` is accepted
    for that reason only (the search is deterministic).
    """
    return divisions(parent, buildings, households, barriers=barriers,
                     min_households=min_households, max_households=max_households,
                     geographic=geographic, spare=False)[0]


def _streets(got: Inputs, barriers) -> np.ndarray:
    """The barriers as street lines in the local frame (none with STREETS off): the searches'
    boundaries along them cost less (gis.partition.streets)."""
    return street_lines(barriers, got.there) if STREETS else np.zeros(0, dtype=object)


def divisions(parent: BaseGeometry, buildings, households, *, barriers=(),
              min_households: int = 30, max_households: int = 50, geographic: bool = True,
              spare: bool = True, retries: bool = True, land_too: bool = False,
              one_more: bool = False, pairs: bool = False,
              prepared: tuple[Inputs, CellGraph] | None = None
              ) -> tuple[SplitResult, SplitResult | None]:
    """`split`'s division, and (with `spare`) the one with the land round the towers free when
    that one has fewer households out of bounds but a part under MIN_PP on the unit graph, so
    `split` did not take it (None otherwise): local passes may make it compact
    (gis.partition.engines graph_first). With `land_too`, where towers stand and `split`'s
    division leaves no households out of bounds, the one with their land free is drawn too
    (also None when it leaves some out): a tower's part then holds only the land round it
    that the other parts do not take, which may make them compact where its Voronoi region
    reached far (graph_first weighs it at the grid level). Without `retries` no part count
    but the suggested one is tried (graph_first's passes and fallback do that work better,
    for less); with `one_more` (graph_first at the grid level, ONE_MORE) one part more per
    group is tried too where the suggested count leaves no household out of bounds, and kept
    where more compact (`_assigned`); with `pairs` (graph_first at the grid level, PAIRS)
    neighbouring parts are divided again in pairs where that is worth more. `prepared`: the
    checked inputs and the unit graph, built already for these arguments (`unit_graphs`)."""
    if prepared is None:
        got = split_inputs_of(parent, buildings, households, min_households, max_households,
                              geographic)
        if isinstance(got, SplitResult):
            return got, None
        cells = cell_graph(got.local, got.feet, got.households)
    else:
        got, cells = prepared
    lo, hi = got.lo, got.hi
    towers = got.households > hi
    streets = _streets(got, barriers)
    g = along_streets(cells, streets)
    a = _assigned(g, lo, hi, retries, one_more, pairs)
    left = None
    miss, thin = a.quality(g.households > hi)
    if towers.any() and (miss > 0 or land_too):  # try the land round towers free
        g2 = with_free_land(got.local, got.feet, got.households, towers, cell_graph)
        g2 = along_streets(g2, streets) if g2 is not None else None
        a2 = _assigned(g2, lo, hi, retries, one_more, pairs) if g2 is not None else None
        if a2 is not None:
            miss2, thin2 = a2.quality(g2.households > hi)
            if miss == 0:
                left = (g2, a2) if miss2 == 0 else None
            elif miss2 < miss and -thin2 >= min(-thin, MIN_PP):
                g, a = g2, a2
            elif miss2 < miss and spare:
                left = (g2, a2)
    return drawn(got, g, a), (drawn(got, *left) if left else None)


def unit_graphs(tasks: list[tuple]) -> list[tuple[Inputs, CellGraph] | None]:
    """For each parent's (parent, buildings, households, min_households, max_households,
    geographic), the checked inputs and the unit graph `divisions` builds for it (its
    `prepared`), the graphs of all of them built in one go (gis.partition.cellgraph
    .cell_graphs); None where the parent has no buildings."""
    inputs = [split_inputs_of(*task) for task in tasks]
    built = [k for k, got in enumerate(inputs) if not isinstance(got, SplitResult)]
    graphs = cell_graphs([inputs[k].local for k in built], [inputs[k].feet for k in built],
                         [inputs[k].households for k in built])
    out: list[tuple[Inputs, CellGraph] | None] = [None] * len(tasks)
    for k, g in zip(built, graphs, strict=True):
        out[k] = (inputs[k], g)
    return out


def free_land_division(parent: BaseGeometry, buildings, households, *, barriers=(),
                       min_households: int = 30, max_households: int = 50,
                       geographic: bool = True) -> SplitResult | None:
    """The division with the land round every building that holds households free: the units
    of gis.partition.towerland (land any part may take, in four pieces round each building)
    round all of them, not only round towers, and the search with its retries as `split` runs
    it. A unit's land goes whole to its part, so where a part is walled in by one large
    building's land (a slab of 28 households whose only neighbour is a building of 46) no
    division of the unit graph puts it in bounds; with the land free a part may reach round
    that building. Dearer than `split` (five units a building): graph_first weighs it last,
    where parts stay out of bounds. None where the parent has no buildings or no land is
    left."""
    got = split_inputs_of(parent, buildings, households, min_households, max_households,
                          geographic)
    if isinstance(got, SplitResult):
        return None
    g = with_free_land(got.local, got.feet, got.households, got.households > 0, cell_graph)
    if g is None:
        return None
    g = along_streets(g, _streets(got, barriers))
    return drawn(got, g, _assigned(g, got.lo, got.hi))


def drawn(got: Inputs, g: CellGraph, a: Assigner) -> SplitResult:
    """The division of assignment `a` on unit graph `g`: polygons, smoothed edges, footprints
    whole, checked (gis.partition.result.finish)."""
    feet, back, lo, hi = got.feet, got.back, got.lo, got.hi
    k = int(a.part.max()) + 1
    used = np.unique(a.part)
    renumber = np.full(k, -1)
    renumber[used] = np.arange(len(used))
    unit_part = renumber[a.part]
    geoms = g.polygons(unit_part, len(used))
    unsmoothed = geoms
    assigned = assignment = unit_part[g.unit_of[:len(feet)]]
    if SMOOTH and len(used) > 1:
        geoms, assignment = outlines(geoms, _clipped(feet, got.local), assigned)
    parts = _repaired(np.asarray(back(geoms), dtype=object))  # smoothed edges may cross by
    if parts is None:  # an ulp once scaled back to degrees
        parts, assignment = list(back(unsmoothed)), assigned
    return finish(got.parent, parts, assignment, got.rep, got.households,
                  list(got.violations), list(got.notes), got.scale, lo, hi,
                  got.reason is not None, got.reason, list(got.foot))
