"""The split engines by name: `graph` (assignment on a unit graph, gis.partition.graph, the
default), `cuts` (recursive straight cuts, gis.partition.engine) and `growth` (parts grown over
building cells, gis.partition.growth). All take the same arguments and return a SplitResult;
`splitter` runs the chosen one (`graph` through graph_first below), then the passes of
gis.partition.polish (exact feasibility, bounds, straight boundaries through the gaps), then the
local improvement of gis.partition.improve (chains of neighbours for parts out of bounds, thin
parts filled in and recombined with a neighbour), then, for parts still out of bounds, the
re-split of a few neighbouring parts together by both engines (gis.partition.resplit) and, in
graph_first, the divisions drawn from groupings of the households (gis.partition.groupings)
and, last, the graph engine's division with the land round every building free; every
division ends with its boundaries pulled taut (gis.partition.taut). `splitter_many` does the
same for a batch of parents (the split job's way), building their unit graphs and pulling
their boundaries taut for all of them at once; `splitter` is a batch of one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import NamedTuple

import numpy as np

from gis.partition import engine, graph, groupings, growth
from gis.partition.cells import single_polygon
from gis.partition.diagnose import corridor_reason
from gis.partition.engine import split_inputs
from gis.partition.feasible import packing
from gis.partition.improve import THIN, improved
from gis.partition.junctions import moved_junctions
from gis.partition.polish import PART_VIOLATION, arithmetic_of, polish, rebuild
from gis.partition.quality import metric_scale
from gis.partition.resplit import NearMiss, misses_bounds, near_misses_taken, resplit_result
from gis.partition.result import SplitResult
from gis.partition.taut import tautened, tautened_many
from gis.partition.whole import told_whole

# the graph engine: on the real cities of bench/real_city.py it keeps about as many parts in
# bounds as the straight cuts, far fewer thin ones, for less than half the CPU (README, "The
# split")
DEFAULT = "graph"
RESPLIT_LAST = True  # graph_first re-splits round parts both engines left out of bounds
PASSES = True  # the passes after an engine (off: the engine's own division, for benchmarks)
# two rules of graph_first that spare work which changed no division of the real sets
# (bench/tail_bench.py measures them switched off): the division with the land round the
# towers free is polished only where its footprints are whole, and the growth engine's
# division is weighed only where the re-split changed nothing
SPARE_WHOLE_ONLY = True
FALLBACK_IF_VAIN = True
# and where towers stand and the household arithmetic allows no grouping of the others in bounds
# (gis.partition.feasible.packing), the growth engine's division is weighed only where the best
# division has households beside a tower (on a Wuhan grid it gave the 48 households the engine
# put in a tower's part parts of their own); elsewhere there it never brought a part in on the
# real sets and changed six of the Bund's grids a little (the set's mean Polsby-Popper 0.6276
# against 0.6270 without it, the rest alike), for a tenth of the Bund's CPU
FALLBACK_BESIDE_ONLY = True
# and at the grid level it is not weighed at all: on the real sets it never ranked better there
# (three of Monaco's communities, 0.5-1.7 s each), for a quarter of Monaco's grid-level CPU; the
# straight cuts of the whole community (WHOLE_CUTS) stay the grid level's last candidate
FALLBACK_MICRO_ONLY = True
# and one of its passes: at the micro level the graph engine's divisions go through the
# improvement passes without their chains of moves between neighbouring parts (the engine
# searched such chains on its unit graph already, gis.partition.assign.ChainRepair; on the real
# sets the passes' chains after it never brought a part in bounds: 300 tried on Monaco, none
# kept, for 8 % of its CPU, while at the grid level they brought two of the Bund's grids in)
UNIT_CHAINS_ENOUGH = True
# the last candidate at the micro level, where parts that could be in bounds stay out after all
# the rest: the graph engine's division with the land round every building free
# (graph.free_land_division), kept where it ranks better. It brought one of Monaco's grids in,
# a slab of 28 households whose only neighbour on the unit graph was a building of 46; the
# re-split's near misses, weighed after it, now bring that grid in too, and on the real sets it
# changes no division (0.5-1.9 ms a grid: bench/tail_bench.py's vain_ms), kept for sets where
# they fall short; at the grid level no grid stays out
FREE_LAND_LAST = True
# graph_first's last candidate where parts stay out of bounds: the re-split's near misses
# (gis.partition.resplit: a cluster's division within the bounds that missed only its floor
# and reaches 0.2 once its boundaries are pulled taut and their meeting points moved), put in
# place after every other division was weighed (taken in the re-split itself, one stopped the
# divisions weighed after it: a Monaco grid then kept a part of 0.207 where the growth
# engine's division had none under 0.5)
NEAR_MISSES_LAST = True
# every engine's division, at both levels, ends with its parts' shared boundaries pulled taut
# round the footprints (gis.partition.taut): on the real sets the parts' mean Polsby-Popper
# rises by 0.02-0.03 for a few milliseconds a parent (bench/tail_bench.py --stages taut)
TAUT = True
# at the grid level the taut step also moves the points where the boundaries meet (where three
# grids meet, towards their Fermat point; where two meet on the community's outline, along
# it) and pulls again (gis.partition.junctions): on the real sets the grids' mean
# Polsby-Popper rises by another 0.01-0.03 for about a third more CPU at the grid level
# (bench/tail_bench.py --level grid --stages taut,junctions). Not for micro-grids, whose mean
# is over the bar on every set while their CPU is not: there it cost several times the taut
# step (docs/split-rounds.md, "Where the boundaries meet")
JUNCTIONS = True
ENGINES: dict[str, Callable[..., SplitResult]] = {"cuts": engine.split, "growth": growth.split,
                                                  "graph": graph.split}


def _passes(split: Callable[..., SplitResult | None], resplit: bool,
            in_bounds_only: bool = False) -> Callable[..., SplitResult | None]:
    """`split` followed by the polish and improvement passes (and, with `resplit`, the
    re-split of clusters around parts still out of bounds, by every engine so polished). With
    `in_bounds_only` a division with a part out of bounds is returned before the passes: the
    re-split divides clusters so and keeps no such division, and on the real sets the passes
    never brought one of its divisions in bounds (they only made those already in compact)."""

    def run(parent, buildings, households, *, barriers=(), min_households: int = 30,
            max_households: int = 50, seed: int = 0, geographic: bool = True
            ) -> SplitResult | None:
        result = split(parent, buildings, households, barriers=barriers,
                       min_households=min_households, max_households=max_households,
                       seed=seed, geographic=geographic)
        if result is None or not PASSES:  # (groupings.grouped_split: none drawn)
            return result
        parent, buildings, households, lo, hi = split_inputs(
            parent, buildings, households, min_households, max_households)
        if in_bounds_only and misses_bounds(result, households, lo, hi):
            return result
        result = polish(parent, buildings, households, result, lo, hi, geographic)
        result = improved(parent, buildings, households, result, lo, hi, geographic)
        if not resplit:
            return result
        return resplit_result(parent, buildings, households, result, lo, hi, SUBSPLITS,
                              barriers, geographic)

    run.__doc__ = getattr(split, "func", split).__doc__  # a partial: the engine's own
    return run


def _tally(result: SplitResult, h: np.ndarray, lo: int, hi: int) -> tuple[list[int], int]:
    """(the parts out of bounds that hold no building over the maximum - those that could be
    in bounds, issue 17's measure -, the households beside a tower in its part)."""
    out, beside = [], 0
    for k, c in enumerate(result.households):
        held = h[result.assignment == k]
        if len(held) and int(held.max()) > hi:
            beside += int(held.sum() - held.max())
        elif not lo <= c <= hi:
            out.append(k)
    return out, beside


class Rank(NamedTuple):
    """A division's rank (`division_rank`), compared field by field: lower is better."""

    broken: bool  # not contiguous, or a footprint across parts
    thin: bool  # a part under THIN
    out: int  # parts out of bounds that could be in bounds
    lowest: float  # minus the lowest Polsby-Popper, up to THIN
    beside: int  # households joined to a tower in its part
    mean: float  # minus the mean Polsby-Popper


def division_rank(result: SplitResult, h: np.ndarray, lo: int, hi: int) -> Rank:
    """Lower is better: contiguous and whole first; then no part under THIN (bounds are not
    bought with a sliver, as in gis.partition.resplit); then fewer parts out of bounds that
    could be in bounds; then the lowest Polsby-Popper (up to THIN); then fewer households
    joined to a tower; then the higher mean Polsby-Popper."""
    pps = result.polsby_popper or [0.0]
    out, beside = _tally(result, h, lo, hi)
    return Rank(bool(result.broken), min(pps) < THIN, len(out), -min(min(pps), THIN), beside,
                -float(np.mean(pps)))


def _compacted(parent, buildings, h: np.ndarray, result: SplitResult, lo: int, hi: int,
               geographic: bool, chained: bool = True) -> SplitResult:
    """`result` after the polish and improvement passes (without the latter's chains unless
    `chained`; in graph_first: the graph engine's divisions, those drawn from groupings)."""
    result = polish(parent, buildings, h, result, lo, hi, geographic)
    return improved(parent, buildings, h, result, lo, hi, geographic, chained)


def _compacted_if_better(ranked: tuple[Rank, SplitResult], parent, buildings, h: np.ndarray,
                         lo: int, hi: int, geographic: bool) -> SplitResult:
    """The division of `ranked` (its rank, it) or, when that ranks better, the same after
    the polish and improvement passes (graph_first: a clean division of a community where
    towers stand)."""
    compact = _compacted(parent, buildings, h, ranked[1], lo, hi, geographic)
    return compact if division_rank(compact, h, lo, hi) < ranked[0] else ranked[1]


def graph_first(parent, buildings, households, *, barriers=(), min_households: int = 30,
                max_households: int = 50, seed: int = 0, geographic: bool = True,
                grid_level: bool = False, one_more: bool = True,
                prepared: tuple | None = None) -> SplitResult:
    """The graph engine's division (in the suggested part counts only: the candidates below
    try others where it matters, for less; at the grid level, unless `one_more` is False,
    also with one grid more per group, kept where more compact, graph.ONE_MORE, and the
    kept one's neighbouring grids divided again in pairs, graph.PAIRS) and, with
    `grid_level` (communities into grids:
    see splitter), where towers stand and it leaves none of the others out of bounds,
    the one with the land round the towers free (a tower's grid then holds only the land the
    other grids do not take: on the Bund's communities its Voronoi region reached far); there
    a clean division of a community where towers stand also goes through the polish and
    improvement passes, kept so where that ranks better (a community is divided once, into
    the grids all else is built on: on the Wuhan set a tower's grid kept a wedge of land the
    passes give its neighbour).
    Where the best leaves a part out of bounds that holds no building over the maximum (a
    tower's part with a few households cut off beside it is not one: no grouping puts its
    tower in bounds) or one under THIN, also that division after the polish and improvement
    passes (not the re-split; for micro-grids without the improvement's chains,
    UNIT_CHAINS_ENOUGH) and, when the graph engine found fewer households out of bounds
    with the land round the towers free but did not take that division for a part too thin on
    its unit graph, that division after the same passes (which often make it compact; not
    where a footprint lies across its parts, SPARE_WHOLE_ONLY: the passes redraw boundaries
    between parts holding their footprints whole and leave such a division as broken as it
    came, on the Bund after 0.3 s of CPU). Parts
    of the best by `division_rank` still out of bounds are re-split with their neighbours
    (gis.partition.resplit, RESPLIT_LAST; GRAPH_RESPLITS divisions, GRID_RESPLITS at the grid
    level); only where that is not clean either (every part that could be in bounds in
    bounds, none under THIN) and the re-split changed nothing (FALLBACK_IF_VAIN) is the
    growth engine's division with the same passes weighed (FALLBACK: it costs more than the
    rest together; re-split in turn when it ranks better; where the re-split brought parts
    in but not all, on the real sets the growth engine's division never ranked better, for
    0.1-0.6 s of CPU a grid; nor where towers stand, no grouping of the others fits the
    bounds and no household sits beside a tower, FALLBACK_BESIDE_ONLY; nor at the grid level,
    FALLBACK_MICRO_ONLY: `_weighs_fallback`). Where parts are still
    out of bounds and no building is over the maximum, the divisions drawn from groupings of
    the households are weighed (`_grouped_or`;
    where towers stand, the engine's shedding, graph.SHED, gives them the households a
    grouping cannot place: on the real sets that stage changed no grid with towers), and at
    the grid level the straight cuts' division of the whole parent last; at the micro level,
    where parts that could be in bounds stay out, the graph engine's division with the land
    round every building free last (`_free_land_or`, FREE_LAND_LAST). Where the household
    arithmetic leaves one part out of bounds at least (`_fewest_out`), a division with one
    out counts as clean. Where parts are still out after all of them, the re-split's near
    misses go in round them where that ranks better (`near_misses_taken`, NEAR_MISSES_LAST:
    a cluster's division within the bounds that missed only the floor, kept where pulling
    its boundaries taut and moving their meeting points brings it to 0.2).
    Those left out of bounds where another division had fewer (with a corridor under THIN)
    are told so (`corridor` reason). `prepared`: the checked inputs and the unit graph of
    these arguments, built already (graph.unit_graphs: the split job's batches)."""
    first, spare = graph.divisions(parent, buildings, households, barriers=barriers,
                                   min_households=min_households,
                                   max_households=max_households, geographic=geographic,
                                   spare=PASSES, retries=not PASSES, land_too=grid_level,
                                   one_more=grid_level and one_more and graph.ONE_MORE,
                                   pairs=grid_level and graph.PAIRS, prepared=prepared)
    if not PASSES:
        return first
    checked_parent, buildings, h, lo, hi = split_inputs(parent, buildings, households,
                                                       min_households, max_households)
    ranked = [(division_rank(first, h, lo, hi), first)]
    if grid_level and spare is not None:  # the grid level: the land round towers free
        ranked.append((division_rank(spare, h, lo, hi), spare))
        ranked.sort(key=lambda x: x[0])
    towers = bool((h > hi).any())
    fewest = 0 if _clean(ranked[0][0]) else _fewest_out(h, lo, hi)
    if _clean(ranked[0][0], fewest):
        if grid_level and towers:
            return _arithmetic_told(
                _compacted_if_better(ranked[0], checked_parent, buildings, h, lo, hi,
                                     geographic), checked_parent, h, lo, hi, geographic)
        return _arithmetic_told(ranked[0][1], checked_parent, h, lo, hi, geographic)
    for division in (first, spare):
        if division is None or (SPARE_WHOLE_ONLY and division is spare and spare.broken):
            continue
        division = _compacted(checked_parent, buildings, h, division, lo, hi, geographic,
                              chained=grid_level or not UNIT_CHAINS_ENOUGH)
        ranked.append((division_rank(division, h, lo, hi), division))
    ranked.sort(key=lambda x: x[0])
    vain: set[bytes] = set()
    near: dict[bytes, list[NearMiss]] | None = {} if NEAR_MISSES_LAST else None  # last
    divisions = GRID_RESPLITS if grid_level else GRAPH_RESPLITS
    start = ranked[0][1]
    best = _resplit_if_out(start, parent, buildings, h, lo, hi, barriers, geographic, fewest,
                           vain, divisions, near)
    rank = division_rank(best, h, lo, hi)
    if _weighs_fallback(rank, fewest, best is start, grid_level, towers, h, lo, hi):
        second = FALLBACK(parent, buildings, h, barriers=barriers, min_households=lo,
                          max_households=hi, seed=seed, geographic=geographic)
        ranked.append((division_rank(second, h, lo, hi), second))
        if ranked[-1][0] < rank:
            best = _resplit_if_out(second, parent, buildings, h, lo, hi, barriers, geographic,
                                   fewest, vain, divisions, near)
    out = _tally(best, h, lo, hi)[0]
    if len(out) > fewest and GROUPED is not None and not (graph.SHED and towers):
        best = _grouped_or(best, parent, checked_parent, buildings, h, lo, hi, barriers,
                           geographic, fewest)
        out = _tally(best, h, lo, hi)[0]
    if grid_level and len(out) > fewest:
        whole = WHOLE_CUTS(parent, buildings, h, barriers=barriers, min_households=lo,
                           max_households=hi, seed=seed, geographic=geographic)
        if division_rank(whole, h, lo, hi) < division_rank(best, h, lo, hi):
            best = whole
            out = _tally(best, h, lo, hi)[0]
    weighed = [rank for rank, _ in ranked]
    if FREE_LAND_LAST and not grid_level and len(out) > fewest \
            and packing(h, lo, hi).feasible is not False:
        best, free_rank = _free_land_or(best, parent, checked_parent, buildings, h, lo, hi,
                                        barriers, geographic)
        weighed += [free_rank] if free_rank is not None else []
        out = _tally(best, h, lo, hi)[0]
    if near and len(out) > fewest:
        taken = near_misses_taken(parent, h, best, lo, hi, near, geographic)
        if division_rank(taken, h, lo, hi) < division_rank(best, h, lo, hi):
            best = taken
            out = _tally(best, h, lo, hi)[0]
    fewer = [rank for rank in weighed if not rank.broken and rank.out < len(out)]
    if fewer:  # another division had fewer out of bounds, only with a corridor
        pp = min(fewer).lowest
        for k in out:
            best.part_reasons[k].append(corridor_reason(int(best.households[k]), -float(pp)))
    return _arithmetic_told(best, checked_parent, h, lo, hi, geographic)


def _arithmetic_told(result: SplitResult, parent, h: np.ndarray, lo: int, hi: int,
                     geographic: bool) -> SplitResult:
    """`result`, or where a part is out of bounds because the parent's household arithmetic
    allows no grouping within the bounds (gis.partition.feasible) and `result` does not say
    so (the graph engine's own division, kept unpolished, knows only the total's
    arithmetic), the same division telling it as the polish pass would: the `arithmetic`
    violation instead of one per part, and that reason on its parts out of bounds (with
    the `corridor` reasons graph_first gave them kept)."""
    if arithmetic_of(result.violations) or not misses_bounds(result, h, lo, hi):
        return result
    verdict = packing(h, lo, hi)
    if verdict.feasible is not False:
        return result
    parent = single_polygon(parent)
    violations = [v for v in result.violations if not v.startswith(PART_VIOLATION)]
    told = rebuild(parent, list(result.parts), np.asarray(result.assignment, dtype=np.int64),
                   h, result, [*violations, verdict.reason], lo, hi, geographic,
                   verdict.reason)
    for mine, before in zip(told.part_reasons, result.part_reasons, strict=True):
        mine.extend(r for r in before if r["code"] == "corridor")  # graph_first's own
    return told


def _weighs_fallback(rank: Rank, fewest: int, resplit_vain: bool, grid_level: bool,
                     towers: bool, h: np.ndarray, lo: int, hi: int) -> bool:
    """Whether graph_first weighs the growth engine's division (FALLBACK) after the re-split,
    the best division so far ranked `rank`: not where that is clean, nor at the grid level
    (FALLBACK_MICRO_ONLY), nor where the re-split brought parts in (FALLBACK_IF_VAIN), nor
    where towers stand, no grouping of the others fits the bounds and no household sits
    beside a tower (FALLBACK_BESIDE_ONLY)."""
    if FALLBACK is None or _clean(rank, fewest) or (FALLBACK_MICRO_ONLY and grid_level):
        return False
    if FALLBACK_IF_VAIN and not resplit_vain:
        return False
    return not (FALLBACK_BESIDE_ONLY and towers and not rank.beside
                and packing(h, lo, hi).feasible is False)


def _resplit_if_out(division: SplitResult, parent, buildings, h: np.ndarray, lo: int, hi: int,
                    barriers, geographic: bool, fewest: int, vain: set[bytes],
                    divisions: int, near: dict[bytes, list[NearMiss]] | None
                    ) -> SplitResult:
    """`division`, its parts out of bounds re-split with their neighbours (RESPLIT_LAST;
    `divisions` by an engine at most) where more are out than the `fewest` the household
    arithmetic allows (`vain`: the clusters divided in vain for this parent already, not
    divided again; `near`: the near misses drawn, kept, where NEAR_MISSES_LAST); `division`
    itself, the same object, where nothing changed."""
    if not RESPLIT_LAST or len(_tally(division, h, lo, hi)[0]) <= fewest:
        return division
    return resplit_result(parent, buildings, h, division, lo, hi, GRAPH_SUBSPLITS, barriers,
                          geographic, divisions, vain, near)


def _grouped_or(best: SplitResult, parent, checked_parent, buildings, h: np.ndarray, lo: int,
                hi: int, barriers, geographic: bool, fewest: int) -> SplitResult:
    """The best of `best` and the divisions drawn from groupings of the households (GROUPED,
    each after the polish and improvement passes, the first clean one ending the search; one
    under GROUPED_PP before the passes, not contiguous and whole, or drawn already is left
    out, and GROUPED_PASSED at most go through the passes)."""
    kept = (division_rank(best, h, lo, hi), best)
    seen: set[bytes] = set()
    for division in GROUPED(parent, buildings, h, barriers=barriers, min_households=lo,
                            max_households=hi, geographic=geographic):
        rank = division_rank(division, h, lo, hi)
        key = np.asarray(division.assignment, dtype=np.int64).tobytes()
        if rank.broken or -rank.lowest < GROUPED_PP or key in seen:
            continue
        if len(seen) >= GROUPED_PASSED:
            break
        seen.add(key)
        division = _compacted(checked_parent, buildings, h, division, lo, hi, geographic)
        rank = division_rank(division, h, lo, hi)
        if rank < kept[0]:
            kept = (rank, division)
        if _clean(rank, fewest):
            break
    return kept[1]


def _free_land_or(best: SplitResult, parent, checked_parent, buildings, h: np.ndarray, lo: int,
                  hi: int, barriers, geographic: bool) -> tuple[SplitResult, Rank | None]:
    """The better by `division_rank` of `best` and the division with the land round every
    building free (graph.free_land_division, FREE_LAND_LAST), the latter after the polish and
    improvement passes where it has fewer parts out of bounds and none under THIN (on the real
    sets the passes never made a thin one of it clean); and that division's rank (None where
    none was drawn)."""
    free = graph.free_land_division(parent, buildings, h, barriers=barriers, min_households=lo,
                                    max_households=hi, geographic=geographic)
    if free is None:
        return best, None
    rank, kept = division_rank(free, h, lo, hi), division_rank(best, h, lo, hi)
    if rank.out < kept.out and not rank.thin:
        compact = _compacted(checked_parent, buildings, h, free, lo, hi, geographic)
        compact_rank = division_rank(compact, h, lo, hi)
        if compact_rank < rank:
            free, rank = compact, compact_rank
    return (free if rank < kept else best), rank


def _fewest_out(h: np.ndarray, lo: int, hi: int) -> int:
    """The fewest parts out of bounds a division of buildings of `h` households can have, as
    far as the household arithmetic tells: 1 when no building is over the maximum and no
    grouping of the households fits the bounds (gis.partition.feasible.packing), else 0 (a
    building over the maximum can take in the households left over beside it)."""
    if (h > hi).any():
        return 0
    return int(packing(h, lo, hi).feasible is False)


def _clean(rank: Rank, fewest: int = 0) -> bool:
    """Whether a division so ranked is contiguous and whole, has no part under THIN and no
    more parts out of bounds than `fewest` (the fewest the arithmetic allows)."""
    return not rank.broken and not rank.thin and rank.out <= fewest


def polished(split: Callable[..., SplitResult]) -> Callable[..., SplitResult]:
    """`split` followed by the passes of gis.partition.polish (exact feasibility, bounds,
    straight boundaries through the gaps), gis.partition.improve and gis.partition.resplit."""
    return _passes(split, resplit=True)


def cluster_split(split: Callable[..., SplitResult | None]) -> Callable[..., SplitResult | None]:
    """`split` as the re-split divides a cluster by it (gis.partition.resplit): followed by the
    polish and improvement passes only where its division is in bounds, without the re-split."""
    return _passes(split, resplit=False, in_bounds_only=True)


# the divisions a cluster is re-split by: both engines with their passes (only for divisions
# in bounds), without the re-split; the straight cuts within a cluster's budget of cuts
SUBSPLITS = (cluster_split(partial(engine.split, cut_budget=engine.CLUSTER_BUDGET_PER_BUILDING)),
             cluster_split(growth.split))
# graph_first re-splits clusters by the straight cuts, then by the most compact division
# drawn from groupings of the cluster's households (where the cuts' is not kept: clusters of
# a grid too large for groupings.grouped_divisions as a whole), GRAPH_RESPLITS divisions per
# parent at most: on the real sets the growth engine's division of a cluster was never kept
# there, and every kept one came in the first four
GRAPH_SUBSPLITS = (SUBSPLITS[0], cluster_split(groupings.grouped_split))
GRAPH_RESPLITS = 4
# at the grid level (see splitter: a community is divided once, into the grids all else is
# built on): a Bund community whose outline was rounded by 1e-9 degrees needed more than
# eight to bring its last grid of 517 households in bounds, and three since the sweeps' near
# ties and the chains' order are settled (gis.partition.assign, improve.chains); the budget
# is spent only where grids stay out
GRID_RESPLITS = 16
# the growth engine's division graph_first weighs: with its passes, without the re-split
# (None: not weighed, as with GROUPED = None and RESPLIT_LAST = False below - bench/tail_bench.py
# measures what each stage buys and costs)
FALLBACK: Callable[..., SplitResult] | None = _passes(growth.split, resplit=False)
# the divisions drawn from groupings of the households that graph_first weighs where parts
# are still out of bounds after the re-split (gis.partition.groupings: the rare parents whose
# only groupings within the bounds interleave), with the passes; one whose lowest
# Polsby-Popper is under GROUPED_PP before them is left out (on the real sets every grid
# brought in bounds had a candidate of 0.159 or more that the passes lifted to 0.2; none
# under 0.1 reached it)
GROUPED: Callable[..., Iterator[SplitResult]] | None = groupings.grouped_divisions
GROUPED_PP = 0.15
GROUPED_PASSED = 2  # (on the real sets every one brought in bounds was the first or second)
# the straight cuts' division of a whole parent graph_first weighs last at the grid level (as
# a cluster's in the re-split: the cluster's budget of cuts, passes only when in bounds)
WHOLE_CUTS = SUBSPLITS[0]


def splitter(name: str | None = None, level: str = "micro_grid",
             fixed_count: bool = False) -> Callable[..., SplitResult]:
    """The split function of engine `name` (the default when None), polished, for parents
    of `level` ("micro_grid": grids into micro-grids; "grid": communities into grids). At the
    grid level the graph engine also weighs the division with the land round the towers free
    where it is clean already, one grid more per group (not with `fixed_count`: a planner's
    "split into N parts", whose bounds centre on N) and the straight cuts of the whole
    community where grids stay out of bounds: a community is divided once into its grids,
    which everything else is built on, a district has a seventh as many communities as grids,
    and on the real sets the straight cuts brought Monaco's last grid out of bounds in and the
    free land and the grid more made the grids more compact (README, "The split"); for
    micro-grids the same candidates cost several times the CPU for a part or two. The growth
    engine's division, weighed for micro-grids, is not at the grid level, where it never
    ranked better on the real sets (FALLBACK_MICRO_ONLY)."""
    return _taut_last(*_untautened(name, level, fixed_count))


def splitter_many(name: str | None = None, level: str = "micro_grid"
                  ) -> Callable[[list[dict]], list[SplitResult]]:
    """`splitter(name, level)` for many parents at once: given each parent's arguments as a
    dict (parent, buildings, households and the keywords), the same results in the same
    order, each parent divided on its own but two steps run over all of them at once: the
    graph engine's unit graphs (gis.partition.graph.unit_graphs) and the last step, the
    boundaries pulled taut (gis.partition.taut.tautened_many; not where the grid level moves
    the points where boundaries meet, JUNCTIONS). The split job's way: it shares those
    steps' fixed costs among its parents (bench/batch_bench.py)."""
    return _batched(*_untautened(name, level))


def _untautened(name: str | None, level: str, fixed_count: bool = False
                ) -> tuple[Callable[..., SplitResult], bool, bool]:
    """`splitter`'s split before its last step (the boundaries pulled taut), whether it
    divides at the grid level and whether it is the graph engine's (graph_first, which takes
    its unit graph built already)."""
    key = name or DEFAULT
    if key not in ENGINES:
        raise ValueError(f"unknown split engine {key!r}; choose one of {', '.join(ENGINES)}")
    if level not in ("micro_grid", "grid"):
        raise ValueError(f"unknown level {level!r}; choose micro_grid or grid")
    if key == "graph":
        if level == "grid":
            return partial(graph_first, grid_level=True, one_more=not fixed_count), True, True
        return graph_first, False, True
    return polished(ENGINES[key]), level == "grid", False


def _tell_whole(checked, buildings, h: np.ndarray, result: SplitResult,
                geographic: bool) -> None:
    """The buildings told across `result`'s parts as they lie now
    (gis.partition.whole.told_whole: earlier stages' words may name parts since redrawn)."""
    result.violations = told_whole(checked, result.parts, result.assignment, buildings, h,
                                   metric_scale(checked, geographic), result.violations)


def _taut_last(split: Callable[..., SplitResult], grid_level: bool = False,
               graph_engine: bool = False) -> Callable[..., SplitResult]:
    """`split` whose division ends with its parts' shared boundaries pulled taut round the
    footprints (gis.partition.taut; TAUT; with `grid_level` the points where they meet moved
    too, JUNCTIONS), the buildings told across parts as they lie then (`_tell_whole`): a
    batch of one parent (`_batched`)."""
    many = _batched(split, grid_level, graph_engine)

    def run(parent, buildings, households, *, barriers=(), min_households: int = 30,
            max_households: int = 50, seed: int = 0, geographic: bool = True) -> SplitResult:
        return many([{"parent": parent, "buildings": buildings, "households": households,
                      "barriers": barriers, "min_households": min_households,
                      "max_households": max_households, "seed": seed,
                      "geographic": geographic}])[0]

    run.__doc__ = getattr(split, "func", split).__doc__
    return run


def _batched(split: Callable[..., SplitResult], grid_level: bool = False,
             graph_engine: bool = False) -> Callable[[list[dict]], list[SplitResult]]:
    """`split` of many parents (their arguments as dicts), each division then pulled taut
    and its buildings told (`_taut_last`), with the graph engine's unit graphs built for all
    of them in one go and, where the pull is the plain one, their sweeps run at once."""

    def run_many(tasks: list[dict]) -> list[SplitResult]:
        tasks = [{"barriers": (), "min_households": 30, "max_households": 50, "seed": 0,
                  "geographic": True, **task} for task in tasks]
        keys = ("parent", "buildings", "households", "min_households", "max_households",
                "geographic")
        prepared = (graph.unit_graphs([tuple(task[k] for k in keys) for task in tasks])
                    if graph_engine else [None] * len(tasks))
        results = []
        for task, ready in zip(tasks, prepared, strict=True):
            kw = {"prepared": ready} if ready is not None else {}
            results.append(split(**task, **kw))
        if not PASSES:
            return results
        divided = []
        for task, result in zip(tasks, results, strict=True):
            checked, buildings, h, lo, hi = split_inputs(
                task["parent"], task["buildings"], task["households"],
                task["min_households"], task["max_households"])
            divided.append((checked, buildings, h, result, lo, hi, task["geographic"]))
        if TAUT and grid_level and JUNCTIONS:
            out = [tautened(*d, moved_junctions) for d in divided]
        elif TAUT:
            out = tautened_many(divided)
        else:
            out = results
        for (checked, buildings, h, _, _, _, geographic), result in zip(divided, out,
                                                                         strict=True):
            _tell_whole(checked, buildings, h, result, geographic)
        return out

    return run_many
