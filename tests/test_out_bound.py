"""bench/out_bound.py's exhaustive search and its constraint solver: the fewest households beside
towers over every division of a unit graph with every part without a tower in bounds."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.out_bound import fewest_beside, fewest_beside_solved


def _search(households: list[int], edges: list[tuple[int, int]], search=fewest_beside
            ) -> tuple[str, int | None]:
    a = np.array([e[0] for e in edges], dtype=np.int64)
    b = np.array([e[1] for e in edges], dtype=np.int64)
    return search(np.array(households), a, b, 30, 50)


def _partitions(items: list[int]):
    if not items:
        yield []
        return
    for rest in _partitions(items[1:]):
        for i in range(len(rest)):
            yield rest[:i] + [[items[0], *rest[i]]] + rest[i + 1:]
        yield [[items[0]], *rest]


def _connected(group: list[int], near: list[set[int]]) -> bool:
    seen, todo = {group[0]}, [group[0]]
    while todo:
        for v in near[todo.pop()] & set(group) - seen:
            seen.add(v)
            todo.append(v)
    return len(seen) == len(group)


def _brute(households: list[int], edges: list[tuple[int, int]]) -> tuple[str, int | None]:
    """Every set partition tried: the answer fewest_beside must give."""
    near = [set() for _ in households]
    for i, j in edges:
        near[i].add(j)
        near[j].add(i)
    best = None
    for division in _partitions(list(range(len(households)))):
        beside = 0
        for group in division:
            held = [households[u] for u in group]
            towers = [c for c in held if c > 50]
            if not _connected(group, near) or len(towers) > 1:
                break
            if towers:
                beside += sum(held) - towers[0]
            elif sum(held) and not 30 <= sum(held) <= 50:
                break
        else:
            best = beside if best is None else min(best, beside)
    return ("none", None) if best is None else ("found", best)


def test_a_slab_whose_only_neighbour_is_larger_has_no_division_in_bounds():
    """28 households beside a building of 46 only: 28 alone or 74 together."""
    assert _search([28, 46, 10, 20], [(0, 1), (1, 2), (2, 3)]) == ("none", None)


def test_a_group_walled_in_by_a_tower_comes_in_only_beside_it():
    """19 between a tower of 69 and the grid's edge: in bounds only inside the tower's part;
    and a path of 20, 20 and a tower of 60 needs nobody beside it."""
    assert _search([19, 69, 40], [(0, 1), (1, 2)]) == ("found", 19)
    assert _search([20, 20, 60], [(0, 1), (1, 2)]) == ("found", 0)


def test_a_set_over_the_maximum_may_still_reach_a_tower():
    """28 + 35 is over 50 without a tower, but with the tower of 80 beyond it it is one
    tower's part holding 63 households beside it."""
    assert _search([28, 35, 80], [(0, 1), (1, 2)]) == ("found", 63)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([0, 3, 10, 15, 20, 28, 35, 46, 60, 80]), min_size=2,
                max_size=7).flatmap(lambda households: st.tuples(
                    st.just(households),
                    st.sets(st.tuples(st.integers(0, len(households) - 1),
                                      st.integers(0, len(households) - 1)), max_size=8))))
def test_the_search_gives_what_trying_every_division_gives(case):
    """Random unit graphs (a path, plus random edges) of up to seven units: the search's
    answer and the solver's are the one every set partition gives."""
    households, extra = case
    edges = sorted({(i, i + 1) for i in range(len(households) - 1)}
                   | {(min(i, j), max(i, j)) for i, j in extra if i != j})
    assert _search(households, edges) == _brute(households, edges)
    assert _search(households, edges, fewest_beside_solved) == _brute(households, edges)


def test_the_solver_settles_a_graph_the_search_runs_out_of_time_on():
    """A path of 21 units of 4-27 households with a tower of 61 at one end and two shortcuts:
    the search, given no CPU, gives up; the solver finds the fewest households beside the
    tower that let every other part be in bounds (94), as the search does given the time."""
    households = [61, 19, 6, 19, 24, 24, 22, 6, 4, 11, 13, 6, 7, 22, 13, 7, 27, 27, 24, 9, 9]
    edges = [(i, i + 1) for i in range(len(households) - 1)] + [(1, 7), (7, 20), (8, 14)]
    a = np.array([e[0] for e in edges])
    b = np.array([e[1] for e in edges])
    assert fewest_beside(np.array(households), a, b, 30, 50, seconds=-1.0) == ("unknown", None)
    assert fewest_beside_solved(np.array(households), a, b, 30, 50) == ("found", 94)
    assert fewest_beside(np.array(households), a, b, 30, 50) == ("found", 94)


def test_the_division_with_households_beside_towers_brings_a_real_grid_in(bund_grid_106):
    """bench/beside_bench.py on a real Bund grid whose part of 20 households the split leaves
    out: the solver's division, drawn and pulled taut as the split draws its own, has every
    part without a tower in bounds, the households it needs beside the towers, every building
    whole and the grid tiled, and no part under 0.2."""
    from bench.beside_bench import as_job_result, beside_division
    from bench.out_bound import engine_beside
    from bench.tail_bench import feasible_out
    from tests.test_partition_growth import check_division

    grid, buildings, households, _ = bund_grid_106
    job = (grid.wkb, [b.wkb for b in buildings], list(map(int, households)), [], 30, 50, 0,
           "graph")
    division = beside_division(job, seconds=60.0)
    check_division(grid, buildings, households, division)
    result = as_job_result(division)
    assert feasible_out(job, result) == 0
    assert engine_beside(job, result) == 47
    assert min(division.polsby_popper) >= 0.2
