"""How far the micro-grids still out of bounds are from any division that puts them in.

The real bench counts the micro-grids out of bounds that could be in bounds (no building over
the maximum in them, and household arithmetic that allows a grouping). Its diagnosis says why
the split left each out (`walled`, `no_trade_*`, `corridor`); this bench asks whether any
division of the same units could do better. Every grid of the real sets (bench/real_city.py;
the communities divided into grids as the split job does it) is divided into micro-grids as
the split job does it; for each grid with such a part, its unit graph (the split's own:
gis.partition.cellgraph, each unit a building or buildings whose footprints overlap with the
land nearest to them, whole) is searched exhaustively for divisions into connected parts in
which every part without a tower holds 30-50 households and a tower's part holds one tower
and whatever else it takes. Per grid it prints the engine's parts out, the households it put
beside towers, and the fewest households beside towers of any such division: `none` where
there is no such division at all (only redrawing the land a unit holds could bring the part
in), `unknown` where the search ran out of its CPU budget and so did a constraint solver
given as long (OR-Tools CP-SAT, `fewest_beside_solved`, asked only there). The search splits
what is left to divide into its connected pieces, remembers each piece's answer and branches
first on the unit with the fewest neighbours, so a grid of a few dozen units mostly takes
seconds; on the real grids where it does not, the solver settled the answer in seconds. The
bound holds for the unit graph only: the split's passes redraw the land between parts, and
its last candidate frees the land round every building, so the split may do what no division
of the unit graph does (on a Monaco grid the split's parts in bounds include two that are not
connected on its unit graph).

The last line holds, per city, the grids with such parts, how many have no such division,
how many have one only with more households beside towers than the engine put there (the
split's rule keeps a group of half the minimum or more out of a tower's part), and those
grids' fewest households beside towers against the engine's.

    .venv/bin/python bench/out_bound.py [--quick] [--cities monaco,shanghai,wuhan]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.growth_profile import city_level_jobs  # noqa: E402
from bench.real_city import city_parser  # noqa: E402
from bench.tail_bench import feasible_out  # noqa: E402
from gis.partition.cellgraph import cell_graph  # noqa: E402
from gis.partition.inputs import split_inputs_of  # noqa: E402
from importers.split_job import _split_one  # noqa: E402

SECONDS = 60.0  # CPU per grid's search (--quick: 10)


class OutOfTime(Exception):
    """The search's CPU budget ran out."""


def fewest_beside(households: np.ndarray, a: np.ndarray, b: np.ndarray, lo: int, hi: int,
                  seconds: float = SECONDS) -> tuple[str, int | None]:
    """Over every division of the graph (units of `households`, edges a-b) into connected
    parts, each holding one unit over `hi` (a tower) at most and each without one lo..hi
    households (units of no households go anywhere): ('found', the fewest households beside
    towers), ('none', None) where there is no such division, or ('unknown', None) where
    `seconds` of CPU ran out."""
    h = np.asarray(households, dtype=np.int64)
    n = len(h)
    near = _neighbour_masks(a, b, n)
    tower = [int(v) > hi for v in h.tolist()]
    hh = h.tolist()
    deadline = time.process_time() + seconds
    memo: dict[int, float] = {}

    def groups(u: int, mask: int):
        """Connected sets holding u within `mask` (each once) that may be a part, with the
        households they put beside a tower: one tower and anything else, or no tower and
        lo..hi households. A set over `hi` without a tower grows on only where `mask` holds
        a tower it may still reach."""
        reach_tower = any(tower[v] for v in _members(mask))

        def grow(chosen: int, total: int, towers: int, allowed: int, frontier: int):
            if towers:
                yield chosen, total - max(hh[v] for v in _members(chosen) if tower[v])
            elif lo <= total <= hi:
                yield chosen, 0
            for v in _members(frontier & allowed):
                more = towers + tower[v]
                if more > 1 or (not more and total + hh[v] > hi and not reach_tower):
                    continue  # no part holds it: later branches may still take v
                allowed &= ~(1 << v)  # later branches leave v out: every set once
                yield from grow(chosen | 1 << v, total + hh[v], more, allowed,
                                (frontier | near[v]) & mask & ~(chosen | 1 << v))
        yield from grow(1 << u, hh[u], int(tower[u]), mask & ~(1 << u), near[u] & mask)

    def solve(piece: int) -> float:
        """The fewest households beside towers dividing one connected piece (inf: none)."""
        if piece in memo:
            return memo[piece]
        if time.process_time() > deadline:
            raise OutOfTime
        held = [u for u in _members(piece) if hh[u] > 0]
        if not held:
            return 0.0  # land and empty buildings join a neighbouring part
        towers = sum(tower[u] for u in held)
        total = sum(hh[u] for u in held)
        best = float("inf")
        if towers or total >= lo:
            first = min(held, key=lambda u: (bin(near[u] & piece).count("1"), u))  # the most
            for chosen, beside in groups(first, piece):  # hemmed in first: it fails soonest
                rest = sum(solve(p) for p in _pieces(near, piece & ~chosen))
                best = min(best, beside + rest)
        memo[piece] = best
        return best

    try:
        best = sum(solve(p) for p in _pieces(near, (1 << n) - 1))
    except OutOfTime:
        return "unknown", None
    return ("none", None) if best == float("inf") else ("found", int(best))


def fewest_beside_solved(households: np.ndarray, a: np.ndarray, b: np.ndarray, lo: int,
                         hi: int, seconds: float = SECONDS) -> tuple[str, int | None]:
    """`fewest_beside`'s answer by a constraint solver (OR-Tools CP-SAT, `solved_division`),
    for the graphs the search leaves unknown: ('unknown', None) where `seconds` of wall time
    run out undecided."""
    verdict, beside, _ = solved_division(households, a, b, lo, hi, seconds=seconds)
    return verdict, beside


def solved_division(households: np.ndarray, a: np.ndarray, b: np.ndarray, lo: int, hi: int,
                    lengths: np.ndarray | None = None, seconds: float = SECONDS
                    ) -> tuple[str, int | None, np.ndarray | None]:
    """The division of `fewest_beside`'s question with the fewest households beside towers
    by a constraint solver (OR-Tools CP-SAT, two workers): the verdict, those households and
    each unit's part (None unless 'found'). Each tower has a part of its own; up to one part
    per `lo` households of the rest, plus one per connected piece of the graph (a piece of
    empty units only), holds none or lo..hi of them; every part is connected (a flow from one
    root unit reaches each of its units). With `lengths` (each edge's), among divisions with
    as few households beside towers the one cutting the least length of edges between parts
    (the most compact on the unit graph, as a proxy) is asked for."""
    from ortools.sat.python import cp_model

    h = [int(v) for v in np.asarray(households).tolist()]
    n = len(h)
    edges = list(zip(np.asarray(a).tolist(), np.asarray(b).tolist(), strict=True))
    arcs = edges + [(j, i) for i, j in edges]
    towers = [u for u in range(n) if h[u] > hi]
    pieces = len(_pieces(_neighbour_masks(a, b, n), (1 << n) - 1))
    parts = len(towers) + sum(v for v in h if v <= hi) // lo + pieces
    m = cp_model.CpModel()
    x = [[m.new_bool_var(f"x{u}_{p}") for p in range(parts)] for u in range(n)]
    for u in range(n):
        m.add_exactly_one(x[u])
    for p, t in enumerate(towers):
        m.add(x[t][p] == 1)
        for other in towers:
            if other != t:
                m.add(x[other][p] == 0)
    for p in range(len(towers), parts):
        for t in towers:
            m.add(x[t][p] == 0)
        held = sum(h[u] * x[u][p] for u in range(n))
        some = m.new_bool_var(f"some{p}")  # none, or lo..hi households
        m.add(held >= lo).only_enforce_if(some)
        m.add(held <= hi).only_enforce_if(some)
        m.add(held == 0).only_enforce_if(~some)
    for p in range(parts):  # connected: one root sends one unit of flow to each member
        root = [m.new_bool_var(f"r{u}_{p}") for u in range(n)]
        used = m.new_bool_var(f"used{p}")
        m.add_max_equality(used, [x[u][p] for u in range(n)])
        m.add(sum(root) == used)
        flow = {arc: m.new_int_var(0, n, f"f{arc}_{p}") for arc in arcs}
        for (i, j), f in flow.items():
            m.add(f <= n * x[i][p])
            m.add(f <= n * x[j][p])
        for u in range(n):
            m.add_implication(root[u], x[u][p])
            supply = m.new_int_var(0, n, f"s{u}_{p}")
            m.add(supply <= n * root[u])
            m.add(supply + sum(flow[i, j] for i, j in arcs if j == u)
                  - sum(flow[i, j] for i, j in arcs if i == u) == x[u][p])
    beside = sum(h[u] * x[u][p] for p, t in enumerate(towers) for u in range(n) if u != t)
    objective = beside
    if lengths is not None:  # decimetres cut, under one household beside a tower
        cut = []
        for e, (i, j) in enumerate(edges):
            z = m.new_bool_var(f"cut{e}")
            for p in range(parts):
                m.add(z >= x[i][p] - x[j][p])
            cut.append(int(round(10 * float(lengths[e]))) * z)
        objective = (sum(int(round(10 * float(w))) for w in lengths) + 1) * beside + sum(cut)
    m.minimize(objective)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.num_workers = 2
    status = solver.solve(m)
    if status == cp_model.INFEASIBLE:
        return "none", None, None
    if status != cp_model.OPTIMAL:
        return "unknown", None, None
    label = np.array([next(p for p in range(parts) if solver.value(x[u][p])) for u in range(n)])
    return "found", int(solver.value(beside)), label


def _neighbour_masks(a: np.ndarray, b: np.ndarray, n: int) -> list[int]:
    """Each of n units' neighbours (edges a-b) as a bit mask."""
    near = [0] * n
    for i, j in zip(np.asarray(a).tolist(), np.asarray(b).tolist(), strict=True):
        near[i] |= 1 << j
        near[j] |= 1 << i
    return near


def _members(mask: int) -> list[int]:
    """The units of a bit mask, ascending."""
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


def _pieces(near: list[int], mask: int) -> list[int]:
    """The connected pieces (bit masks) of the units in `mask`, neighbours `near`."""
    out = []
    while mask:
        piece = frontier = mask & -mask
        while frontier:
            grown = 0
            for u in _members(frontier):
                grown |= near[u]
            frontier = grown & mask & ~piece
            piece |= frontier
        out.append(piece)
        mask &= ~piece
    return out


def engine_beside(job: tuple, result: tuple) -> int:
    """Households the split put beside towers (in a tower's part, besides the tower)."""
    h = np.asarray(job[2], dtype=np.int64)
    assignment = np.asarray(result[1], dtype=np.int64)
    beside = 0
    for k in range(len(result[2])):
        held = h[assignment == k]
        if len(held) and held.max() > job[5]:
            beside += int(held.sum() - held.max())
    return beside


def bound(job: tuple, seconds: float) -> tuple[int, tuple[str, int | None]]:
    """The split job's unit graph size and `fewest_beside` over it."""
    parent = shapely.from_wkb(job[0])
    feet = list(shapely.from_wkb(np.asarray(job[1], dtype=object)))
    got = split_inputs_of(parent, feet, np.asarray(job[2]), job[4], job[5], True)
    g = cell_graph(got.local, got.feet, got.households)
    verdict = fewest_beside(g.households, g.edge_a, g.edge_b, got.lo, got.hi, seconds)
    if verdict[0] == "unknown":
        verdict = fewest_beside_solved(g.households, g.edge_a, g.edge_b, got.lo, got.hi,
                                       seconds)
    return g.n, verdict


def city_bounds(name: str, jobs: list[tuple], seconds: float) -> str:
    """Each grid with parts out that could be in bounds, one line each; the city's summary."""
    rows = []
    for i, job in enumerate(jobs):
        result = _split_one(job)
        if not feasible_out(job, result):
            continue
        lo, hi = job[4], job[5]
        h = np.asarray(job[2], dtype=np.int64)
        out = [c for k, c in enumerate(result[2])
               if not lo <= c <= hi and h[np.asarray(result[1]) == k].max(initial=0) <= hi]
        units, (verdict, fewest) = bound(job, seconds)
        mine = engine_beside(job, result)
        print(f"{name} grid {i}: units={units} out={out} engine_beside={mine} "
              f"bound={verdict} fewest_beside={fewest if fewest is not None else '-'}",
              flush=True)
        rows.append((verdict, fewest, mine))
    found = [(f, m) for v, f, m in rows if v == "found"]
    return (f"{name}: grids_out={len(rows)} "
            f"none={sum(v == 'none' for v, _, _ in rows)} "
            f"only_beside={sum(f > m for f, m in found)} "
            f"unknown={sum(v == 'unknown' for v, _, _ in rows)} "
            f"fewest_beside={','.join(str(f) for f, _ in found) or '-'} "
            f"engine_beside={','.join(str(m) for _, m in found) or '-'}")


def run_cities(doc: str, per_city: Callable[[str, list[tuple], float], str], title: str
               ) -> None:
    """A micro-grid bench of the real cities with a time budget a grid (`--quick`: 10 s, else
    SECONDS): `per_city`'s summary of each city, after `title`, on the last line."""
    ap = city_parser(doc)
    ap.add_argument("--quick", action="store_true",
                    help=f"a budget of 10 s a grid instead of {SECONDS:.0f}")
    args = ap.parse_args()
    seconds = 10.0 if args.quick else SECONDS
    summary = [per_city(name, jobs, seconds)
               for name, _, jobs in city_level_jobs(args.cities, ["micro_grid"])]
    print(f"{title}: " + " | ".join(summary))


def main() -> None:
    run_cities(__doc__, city_bounds, "out_bound (micro-grids with parts out that could be in "
               "bounds; the fewest households beside towers of any division of the unit graph "
               "with every other part in bounds)")


if __name__ == "__main__":
    main()
