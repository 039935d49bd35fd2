"""Neighbouring parts divided again in pairs on the unit graph (gis.partition.pairs)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from gis.partition import engines, graph, pairs
from gis.partition.assign import Assigner, _worth
from gis.partition.cellgraph import CellGraph, cell_graph
from gis.partition.inputs import local_frame
from gis.partition.quality import pp_of
from gis.partition.subsets import missed
from tests.test_partition_real import irregular_layouts


def _state(a: Assigner, fixed: np.ndarray) -> tuple[int, float, np.ndarray]:
    """Households out of bounds (towers' parts left out), the parts' worth, their sizes."""
    k = int(a.part.max()) + 1
    hh, area, per = a.g.sums(a.part, k)
    tower = np.zeros(k, bool)
    tower[a.part[fixed]] = True
    worth = float(_worth(pp_of(area, per)[~tower]).sum())
    return int(missed(hh[~tower], a.lo, a.hi).sum()), worth, np.bincount(a.part, minlength=k)


def _grown(a: Assigner, units: np.ndarray, k: int, first: int, rng) -> int:
    """`units` (connected) divided into k ragged connected parts numbered from `first`,
    grown from random seeds one random neighbour at a time; the next free number."""
    seeds = rng.choice(units, size=min(k, len(units)), replace=False)
    a.part[seeds] = first + np.arange(len(seeds))
    inside = set(units.tolist())
    while (a.part[units] < 0).any():
        edge = [(u, v) for u in units.tolist() if a.part[u] >= 0
                for v in a.near_lists[u] if v in inside and a.part[v] < 0]
        u, v = edge[int(rng.integers(len(edge)))]
        a.part[v] = a.part[u]
    return first + len(seeds)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(irregular_layouts(), st.integers(2, 5), st.booleans(), st.booleans(),
       st.integers(0, 2 ** 16))
def test_pairs_divided_again_stay_connected_and_never_lose_bounds_or_worth(layout, k, tower,
                                                                          ragged, seed):
    """Whatever the division before it (ragged parts grown from random seeds, or the
    search's own sweeps and moves), the pairs pass keeps every part connected and non-empty,
    the towers' parts as they were, never puts more households out of bounds and never makes
    the parts worth less."""
    parent, buildings, households = layout
    assume(len(buildings) >= 3)
    _, there, _ = local_frame(parent, True)
    h = np.asarray(households)
    if tower:
        h = h.copy()
        h[0] = 99  # over any maximum below: a lone tower
    g = cell_graph(there(parent), there(np.asarray(buildings, object)), h)
    assume(g.n >= k + 1)
    lo = max(1, int(g.households.sum()) // (k + 1))
    hi = max(lo, int(g.households.sum()) // max(k - 1, 1))
    hi = min(hi, 98)
    a = Assigner(g, lo, hi)
    fixed = g.households > hi
    lone = np.flatnonzero(fixed)
    a.part[lone] = np.arange(len(lone))
    rest = np.setdiff1d(np.arange(g.n), lone)
    nxt = len(lone)
    rng = np.random.default_rng(seed)
    for comp in a.components(rest):
        nxt = (_grown(a, comp, k, nxt, rng) if ragged
               else a.bisect(comp, max(1, min(k, len(comp))), nxt))
    if not ragged:
        a.improve(fixed)
    towers_before = a.part[fixed].copy()
    miss, worth, sizes = _state(a, fixed)
    changed = pairs.redivide_pairs(a, fixed)
    miss2, worth2, sizes2 = _state(a, fixed)
    assert (a.part[fixed] == towers_before).all()
    assert len(sizes2) == len(sizes) and (sizes2 > 0).all()
    for p in range(len(sizes2)):
        assert a.connected(np.flatnonzero(a.part == p)), p
    assert miss2 <= miss
    if miss2 == miss:
        assert worth2 >= worth - 1e-9
    if not changed:
        assert (miss2, worth2) == (miss, worth)


def _spiral_corridor(n: int) -> CellGraph:
    """n units of 10 households on a square spiral, each joined only to the next one (a
    corridor winding round itself): unit squares sharing one metre of edge."""
    steps = [(1, 0), (0, 1), (-1, 0), (0, -1)]
    xy, turn, run = [(0.0, 0.0)], 0, 1
    while len(xy) < n:
        for _ in range(2):
            dx, dy = steps[turn % 4]
            for _ in range(run):
                xy.append((xy[-1][0] + dx, xy[-1][1] + dy))
            turn += 1
        run += 1
    xy = np.asarray(xy[:n])
    path = np.arange(n - 1)
    return CellGraph(np.arange(n), np.ones(n), np.full(n, 4.0), np.full(n, 10), xy, path,
                     path + 1, np.ones(n - 1), np.arange(n), np.zeros(n, dtype=object))


def test_a_pair_no_sweep_divides_into_connected_sides_is_left_as_it_was():
    """Two parts along a spiral corridor, one its inner half and one its outer half: every
    straight sweep cuts several turns, so none leaves both sides connected, and the pair is
    not divided again (the search's mending of the best sweep is no sweep: only a fresh
    straight cut is tried here)."""
    g = _spiral_corridor(30)
    a = Assigner(g, 130, 170)
    a.part[:] = np.repeat([0, 1], 15)
    before = a.part.copy()
    members = np.arange(g.n)
    assert not a.two_sides(members, 2)[3]  # no sweep keeps both sides connected
    assert not pairs._bisected(a, members, 0, 1)
    assert (a.part == before).all()
    assert pairs.redivide_pairs(a, np.zeros(g.n, bool)) == 0
    assert (a.part == before).all()


def _rows_of_houses() -> tuple:
    """A block of 8 x 4 houses of 10 households each, 10 m apart, in metres."""
    parent = box(0, 0, 80, 40)
    feet = [box(10 * i + 2, 10 * j + 2, 10 * i + 8, 10 * j + 8)
            for i in range(8) for j in range(4)]
    return parent, np.asarray(feet, dtype=object), np.full(len(feet), 10)


def test_two_l_shaped_parts_become_the_block_s_two_square_halves():
    """Two parts of 160 households each, L-shaped and hooked into each other, become the
    block's west and east halves: both more compact than either L was, still in bounds."""
    parent, feet, h = _rows_of_houses()
    g = cell_graph(parent, feet, h)
    a = Assigner(g, 150, 170)
    x, y = g.xy[:, 0], g.xy[:, 1]
    west_and_top = (x < 20) | ((y > 20) & (x < 60))  # 8 + 8 houses
    a.part[:] = np.where(west_and_top, 0, 1)
    hh, pp = a.part_sums()
    assert hh.tolist() == [160, 160]
    fixed = np.zeros(g.n, bool)
    assert pairs.redivide_pairs(a, fixed) >= 1
    hh2, pp2 = a.part_sums()
    assert hh2.tolist() == [160, 160]
    assert pp2.min() > pp.max()
    sides = {tuple(sorted(set((x[a.part == p] > 40).tolist()))) for p in (0, 1)}
    assert sides == {(False,), (True,)}  # one part all west of the middle, one all east


def test_only_the_grid_level_divides_pairs_again(monkeypatch):
    """Micro-grids are divided without the pairs pass (a fifth more CPU for little); the
    grid level, divided once per community, runs it."""
    calls = []
    real = graph.redivide_pairs

    def counted(a, fixed):
        calls.append(a.lo)
        return real(a, fixed)

    monkeypatch.setattr(graph, "redivide_pairs", counted)
    parent, feet, h = _rows_of_houses()
    engines.splitter("graph")(parent, list(feet), h.tolist(), min_households=30,
                              max_households=50, geographic=False)
    assert calls == []
    result = engines.splitter("graph", level="grid")(parent, list(feet), h.tolist(),
                                                     min_households=100, max_households=170,
                                                     geographic=False)
    assert calls and all(lo == 100 for lo in calls)
    assert all(100 <= c <= 170 for c in result.households)
    monkeypatch.setattr(graph, "PAIRS", False)
    calls.clear()
    engines.splitter("graph", level="grid")(parent, list(feet), h.tolist(),
                                            min_households=100, max_households=170,
                                            geographic=False)
    assert calls == []
