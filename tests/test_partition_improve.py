"""The local improvement after the passes (gis.partition.improve): a part out of bounds gets
households along a chain of neighbours, a ragged part takes back the empty land in its
concavities, and on random and real grids every division stays an exact tiling of single
polygons with whole footprints, with no more households out of bounds and a minimum
Polsby-Popper that never falls."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from bench.real_city import load_shanghai
from gis.partition import engine, growth
from gis.partition.engines import SUBSPLITS, splitter
from gis.partition.improve import FLOOR, _reachable, chains, fill_in, improved, needs_work
from gis.partition.polish import polish
from gis.partition.quality import metric_scale, polsby_popper
from gis.partition.reshape import Footprints
from gis.partition.resplit import FLOOR as RESPLIT_FLOOR
from gis.partition.resplit import resplit_result
from gis.partition.result import finish
from gis.partition.taut import tautened
from tests import test_partition_polish
from tests.test_partition_growth import check_division
from tests.test_partition_polish import out_of_bounds
from tests.test_partition_real import irregular_layouts


def parts_out(result, households, lo=30, hi=50) -> int:
    """Parts out of bounds that are not one building over the maximum."""
    hh = np.asarray(households)
    return sum(1 for k, c in enumerate(result.households)
               if not lo <= c <= hi and not (hh[result.assignment == k] > hi).any())

# the real grids fixture shared with the polish tests
real_grids = test_partition_polish.real_grids

LON, LAT = 7.42, 43.73
D = 1e-5  # ~1 m
RAW = {"cuts": engine.split, "growth": growth.split}


def footprints(buildings, households, scale) -> Footprints:
    foot = np.asarray(buildings, dtype=object)
    rep = shapely.get_coordinates(shapely.point_on_surface(foot))
    return Footprints.of(foot, rep, households, scale)


def division(parent, parts, assignment, buildings, households):
    """A SplitResult of the given parts (for check_division)."""
    rep = shapely.get_coordinates(shapely.point_on_surface(np.asarray(buildings)))
    return finish(parent, parts, np.asarray(assignment), rep, np.asarray(households), [], [],
                  metric_scale(parent), 30, 50, False)


def _short_row() -> tuple:
    """Three parts in a row, 25 | 15 + 20 | 10 + 20 + 15 households: the parent, buildings,
    households, parts and assignment."""
    parent = box(LON, LAT, LON + 180 * D, LAT + 30 * D)
    xs = [5, 35, 65, 95, 125, 155]
    buildings = [box(LON + x * D, LAT + 8 * D, LON + (x + 14) * D, LAT + 22 * D) for x in xs]
    parts = [box(LON, LAT, LON + 30 * D, LAT + 30 * D),
             box(LON + 30 * D, LAT, LON + 90 * D, LAT + 30 * D),
             box(LON + 90 * D, LAT, LON + 180 * D, LAT + 30 * D)]
    return (parent, buildings, np.array([25, 15, 20, 10, 20, 15]), parts,
            np.array([0, 1, 1, 2, 2, 2]))


def test_a_short_part_gets_households_along_a_chain_of_neighbours():
    """Three parts in a row, 25 | 15 + 20 | 10 + 20 + 15 households: the short part's only
    neighbour cannot give it any building and stay within 30-50, so households must come from
    the far part through the middle one (10 to the middle, then 15 to the short part)."""
    parent, buildings, households, parts, assignment = _short_row()
    scale = metric_scale(parent)
    fp = footprints(buildings, households, scale)
    done = chains(parts, assignment, fp, scale, 30, 50, np.zeros(3, bool))
    counts = np.bincount(assignment, weights=households, minlength=3)
    assert counts.tolist() == [40, 30, 35]
    check_division(parent, buildings, households,
                   division(parent, done, assignment, buildings, households))
    assert polsby_popper(done, scale).min() >= FLOOR


def test_the_chains_are_left_out_when_the_caller_says_its_engine_searched_them():
    """The same row through the whole pass: with its chains the short part is brought in
    (40 | 30 | 35); without them (`chained=False`, as graph_first asks for the graph engine's
    micro-grids, whose unit graph the engine searched for chains already) it stays short."""
    parent, buildings, households, parts, assignment = _short_row()
    before = division(parent, parts, assignment, buildings, households)
    chained = improved(parent, buildings, households, before, 30, 50)
    assert chained.households == [40, 30, 35]
    check_division(parent, buildings, households, chained)
    unchained = improved(parent, buildings, households, before, 30, 50, chained=False)
    assert unchained.households[0] == 25 and parts_out(unchained, households) == 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 30), max_size=6), st.lists(st.integers(0, 30), max_size=6),
       st.integers(20, 45), st.integers(0, 10))
def test_a_chain_step_is_tried_only_when_some_exchange_of_buildings_can_meet_it(
        near, far, lo, spread):
    """A chain step is skipped, before any geometry, when no way of sharing the pair's
    buildings between them meets the step's household test; it is tried whenever one does
    (checked against every assignment of the pair's buildings to the two parts)."""
    hi = lo + spread
    near_held, far_held = np.asarray(near, dtype=np.int64), np.asarray(far, dtype=np.int64)

    def ok(cn, cf):
        return (cn >= lo) & (cn <= hi) & (cf >= lo) & (cf <= hi)

    both = np.r_[near_held, far_held]
    total = int(both.sum())
    some = any(bool(ok(int(both[list(side)].sum()), total - int(both[list(side)].sum())))
               for n in range(len(both) + 1) for side in combinations(range(len(both)), n))
    assert _reachable(ok, near_held, far_held) == some


def test_a_ragged_part_takes_back_the_empty_land_of_its_concavity():
    """Part A's middle is a deep empty notch held by its neighbour B: the closing gives the
    notch back to A (no building moves), so both parts end near-rectangles."""
    parent = box(LON, LAT, LON + 100 * D, LAT + 60 * D)
    buildings = [box(LON + 5 * D, LAT + 5 * D, LON + 15 * D, LAT + 20 * D),
                 box(LON + 5 * D, LAT + 40 * D, LON + 15 * D, LAT + 55 * D),
                 box(LON + 70 * D, LAT + 20 * D, LON + 90 * D, LAT + 40 * D)]
    households = np.array([20, 20, 40])
    notch = box(LON + 20 * D, LAT + 22 * D, LON + 50 * D, LAT + 38 * D)
    a = box(LON, LAT, LON + 50 * D, LAT + 60 * D).difference(notch)
    b = parent.difference(a)
    assignment = np.array([0, 0, 1])
    scale = metric_scale(parent)
    parts = [a, b]
    before = polsby_popper(parts, scale)
    assert fill_in(0, parts, assignment, footprints(buildings, households, scale), scale, {1})
    after = polsby_popper(parts, scale)
    assert after.min() > before.min() + 0.1 and after[0] > 0.7
    assert assignment.tolist() == [0, 0, 1]
    check_division(parent, buildings, households,
                   division(parent, parts, assignment, buildings, households))


def test_a_division_with_nothing_to_fix_is_returned_as_it_is():
    parent = box(LON, LAT, LON + 60 * D, LAT + 30 * D)
    buildings = [box(LON + 5 * D, LAT + 5 * D, LON + 25 * D, LAT + 25 * D),
                 box(LON + 35 * D, LAT + 5 * D, LON + 55 * D, LAT + 25 * D)]
    result = division(parent, [box(LON, LAT, LON + 30 * D, LAT + 30 * D),
                               box(LON + 30 * D, LAT, LON + 60 * D, LAT + 30 * D)],
                      [0, 1], buildings, [40, 40])
    assert not needs_work(result.households, result.polsby_popper,
                          [np.array([40]), np.array([40])], 30, 50, True)
    assert improved(parent, buildings, [40, 40], result, 30, 50) is result


@pytest.mark.parametrize("name", ["cuts", "growth"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layout=irregular_layouts(), seed=st.integers(0, 2))
def test_improve_keeps_the_division_valid_and_never_worse(name, layout, seed):
    parent, buildings, households = layout
    raw = RAW[name](parent, buildings, households, seed=seed)
    polished = polish(parent, buildings, households, raw, 30, 50)
    done = improved(parent, buildings, households, polished, 30, 50)
    check_division(parent, buildings, households, done)
    assert out_of_bounds(done, households, 30, 50) <= out_of_bounds(polished, households, 30,
                                                                      50)
    assert min(done.polsby_popper) >= min(polished.polsby_popper) - 1e-9
    assert done.violations == polished.violations or not any(
        "lies across" in v for v in done.violations)


@pytest.mark.parametrize("name", ["cuts", "growth"])
def test_real_grids_improved_stay_valid_and_never_worse(real_grids, name):
    for parent, buildings, households in real_grids:
        raw = RAW[name](parent, buildings, households)
        polished = polish(parent, buildings, households, raw, 30, 50)
        done = splitter(name)(parent, buildings, households)
        check_division(parent, buildings, households, done)
        assert out_of_bounds(done, households, 30, 50) <= out_of_bounds(polished, households,
                                                                          30, 50)
        assert parts_out(done, households) <= parts_out(polished, households)
        # the re-split puts bounds first, down to resplit.FLOOR (gis.partition.resplit)
        assert min(done.polsby_popper) >= min(min(polished.polsby_popper), RESPLIT_FLOOR) - 1e-9


def test_the_thinnest_real_micro_grid_of_a_bund_grid_gets_more_compact(bund_grid_108):
    parent, buildings, households = bund_grid_108
    raw = growth.split(parent, buildings, households)
    polished = polish(parent, buildings, households, raw, 30, 50)
    done = improved(parent, buildings, households, polished, 30, 50)
    check_division(parent, buildings, households, done)
    assert min(polished.polsby_popper) < 0.15  # the part wrapping round the tower
    assert min(done.polsby_popper) > min(polished.polsby_popper) + 0.03
    assert sorted(done.households) == sorted(polished.households)


@pytest.fixture(scope="module")
def bund_grid_108():
    """A real grid of the Bund (11 buildings, 410 households, a 100-household L-shaped tower)
    as the real-city bench's growth split of its community drew it, with the buildings whose
    representative point lies in it."""
    from tests.test_partition_growth import DATA

    grid = shapely.from_wkt((DATA / "shanghai_grid_108.wkt").read_text())
    data = load_shanghai()
    inside = shapely.contains(grid, shapely.point_on_surface(data.buildings))
    return grid, list(data.buildings[inside]), data.households[inside]


def test_polished_result_is_what_the_engines_return(real_grids):
    """The engine chooser runs the improvement after the polish passes, then the re-split,
    and pulls the boundaries taut last."""
    parent, buildings, households = real_grids[0]
    raw = growth.split(parent, buildings, households)
    polished = polish(parent, buildings, households, raw, 30, 50)
    expected = tautened(parent, buildings, np.asarray(households), resplit_result(
        parent, buildings, households, improved(parent, buildings, households, polished, 30, 50),
        30, 50, SUBSPLITS), 30, 50)
    got = splitter("growth")(parent, buildings, households)
    assert got.households == expected.households
    assert np.allclose(got.polsby_popper, expected.polsby_popper)
    assert got.violations == expected.violations
