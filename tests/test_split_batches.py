"""The split job's batches: parents divided together give what each gets alone
(importers.split_job._split_batch, gis.partition.engines.splitter_many)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from gis.partition import engines, taut
from gis.partition.cellgraph import multipoints_of
from gis.partition.engines import splitter, splitter_many
from importers.split_job import _split_batch, _split_one, batches


def job(grid: tuple, engine: str = "graph", level: str = "micro_grid", lo: int = 30,
        hi: int = 50) -> tuple:
    """A split job (WKB, as the split job makes them) of a test grid (parent, buildings,
    households[, streets])."""
    parent, buildings, households, *streets = grid
    return (parent.wkb, [b.wkb for b in buildings], [int(h) for h in households],
            [s.wkb for s in (streets[0] if streets else [])], lo, hi, 0, engine, level)


def test_real_grids_divided_in_one_batch_come_out_as_they_do_alone(
        monaco_grid_202, bund_grid_106, wuhan_grid_1, monaco_grid_1, wuhan_community_4,
        monkeypatch):
    """Real grids of the three cities (one where the re-split's near misses bring a part in,
    one whose households no grouping fits), with the straight cuts' division of one of them
    and a community into grids in the same batch: every result - parts, assignment,
    households, Polsby-Popper, violations, notes and reasons - is the one the grid gets
    alone, in the jobs' order; the taut step runs once over the graph engine's four
    micro-grid splits and once for the straight cuts', while the community's grids, whose
    junctions move between pulls, are pulled one by one."""
    jobs = [job(monaco_grid_202), job(bund_grid_106), job(wuhan_grid_1, engine="cuts"),
            job(monaco_grid_1), job(wuhan_community_4, level="grid", lo=300, hi=500),
            job(wuhan_grid_1)]
    alone = [_split_one(j) for j in jobs]
    sizes = []

    def counted(pulls):
        sizes.append(len(pulls))
        return many(pulls)

    many = taut.pulled_taut_many
    monkeypatch.setattr(taut, "pulled_taut_many", counted)
    together = _split_batch(jobs)
    assert sizes == [4, 1]
    assert together == alone
    assert len({tuple(r[0]) for r in together}) == len(jobs)  # six different divisions


def test_the_batch_pulls_every_grid_taut_as_alone_and_leaves_switched_off_steps_off(
        monaco_grid_202, wuhan_grid_12, monkeypatch):
    """`splitter_many` pulls the boundaries taut over the batch (the parts move from the
    untautened division's, as alone) and, with the taut step switched off, gives the
    division without it, as `splitter` does then."""
    tasks = [dict(zip(("parent", "buildings", "households"), grid, strict=True))
             for grid in (monaco_grid_202, wuhan_grid_12)]
    many = splitter_many()(tasks)
    for task, got in zip(tasks, many, strict=True):
        want = splitter()(**task)
        assert [p.wkb for p in got.parts] == [p.wkb for p in want.parts]
        assert got.violations == want.violations and got.part_reasons == want.part_reasons
    monkeypatch.setattr(engines, "TAUT", False)
    loose = splitter_many()(tasks)
    assert [p.wkb for p in loose[0].parts] != [p.wkb for p in many[0].parts]
    assert [p.wkb for p in loose[0].parts] == [p.wkb for p in splitter()(**tasks[0]).parts]


def test_batches_keep_the_jobs_order_and_size():
    assert batches(list(range(7)), 3) == [[0, 1, 2], [3, 4, 5], [6]]
    assert batches([], 3) == []


def test_an_unknown_engine_in_a_batch_is_refused_as_alone(monaco_grid_202):
    with pytest.raises(ValueError, match="unknown split engine 'metis'"):
        _split_batch([job(monaco_grid_202), job(monaco_grid_202, engine="metis")])
    assert _split_batch([]) == []


def test_unit_graphs_built_together_are_the_ones_built_alone(monaco_grid_202, wuhan_grid_12,
                                                             monaco_grid_69):
    """`cell_graphs` of real grids, a grid of one building and a grid of two overlapping
    footprints (one unit) in one go: every graph - units, areas, perimeters, households,
    representative points, shared edges and pieces - is the one `cell_graph` builds alone,
    though the parents' local frames lie on top of one another."""
    from shapely.geometry import box

    from gis.partition.cellgraph import cell_graph, cell_graphs
    from gis.partition.inputs import split_inputs_of

    cases = []
    for parent, buildings, households in (monaco_grid_202, wuhan_grid_12, monaco_grid_69):
        got = split_inputs_of(parent, buildings, households, 30, 50, True)
        cases.append((got.local, got.feet, got.households))
    cases.append((box(0, 0, 100, 100), np.asarray([box(10, 10, 20, 20)], dtype=object),
                  np.array([40])))
    cases.append((box(0, 0, 100, 100), np.asarray([box(10, 10, 30, 30), box(20, 20, 40, 40)],
                                                  dtype=object), np.array([20, 25])))
    together = cell_graphs(*map(list, zip(*cases, strict=True)))
    for case, got in zip(cases, together, strict=True):
        alone = cell_graph(*case)
        for field in ("unit_of", "area", "perimeter", "households", "xy", "edge_a", "edge_b",
                      "edge_len", "point_unit"):
            assert np.array_equal(getattr(got, field), getattr(alone, field)), field
        assert [p.wkb for p in got.point_cells] == [p.wkb for p in alone.point_cells]
    assert together[0].n > 10 and together[3].n == 1 and together[4].n == 1
    assert len(together[0].edge_a) > together[0].n  # a real graph, not the parent alone


@given(st.lists(st.lists(st.tuples(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6)), min_size=1,
                         max_size=12), min_size=1, max_size=6))
@settings(max_examples=60, deadline=None)
def test_multipoints_read_from_wkb_are_the_ones_shapely_builds(groups):
    """The unit graphs' Voronoi sites, one MultiPoint per parent written as WKB in numpy
    (cellgraph.multipoints_of), are byte for byte shapely.multipoints of the same points:
    every coordinate, in order, in its own parent's geometry."""
    xy = np.asarray([p for g in groups for p in g], dtype=float)
    where = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
    ours = multipoints_of(xy, where, len(groups))
    theirs = shapely.multipoints(xy, indices=where)
    assert len(ours) == len(groups)
    assert shapely.to_wkb(ours).tolist() == shapely.to_wkb(theirs).tolist()
