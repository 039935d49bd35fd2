"""What putting households beside towers would give, on the grids whose parts stay out.

Every micro-grid the split leaves out of bounds on the real sets (bench/real_city.py) could be
in bounds on the split's unit graph only with households in a tower's part (bench/out_bound.py:
37-119 per grid). Whether the split should do that is the owner's decision; this bench shows
what it would cost. For each grid with such a part, the constraint solver of bench/out_bound.py
(`solved_division`) finds the division of the unit graph with the fewest households beside
towers and, among those, the least length of edges cut between parts (a compact one on the
graph); it is drawn as the split draws its own (gis.partition.graph.drawn: coverage unions of
the units' regions, outlines through the gaps, every footprint whole) and its boundaries
pulled taut as the split's last step does. Per grid it prints, for the split's division and
the drawn one: the parts out that could be in bounds, the households beside towers and the
lowest Polsby-Popper, and whether the drawn one is broken (a footprint across parts or a part
in pieces). The last line holds, per city, the grids, the parts out, the households beside
towers and the lowest Polsby-Popper of those grids, the split's / the drawn one's.

    .venv/bin/python bench/beside_bench.py [--quick] [--cities monaco,shanghai,wuhan]

--quick gives the solver 10 s a grid instead of 60.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.out_bound import engine_beside, run_cities, solved_division  # noqa: E402
from bench.tail_bench import feasible_out  # noqa: E402
from gis.partition import engines  # noqa: E402
from gis.partition.assign import Assigner  # noqa: E402
from gis.partition.cellgraph import cell_graph  # noqa: E402
from gis.partition.graph import drawn  # noqa: E402
from gis.partition.inputs import split_inputs_of  # noqa: E402
from gis.partition.result import SplitResult  # noqa: E402
from importers.split_job import _split_one  # noqa: E402


def beside_division(job: tuple, seconds: float) -> SplitResult | None:
    """The grid of `job` divided as the solver's division with the fewest households beside
    towers (the most compact of those on the unit graph), drawn and pulled taut as the split
    does; None where the solver finds none in `seconds`."""
    parent = shapely.from_wkb(job[0])
    feet = list(shapely.from_wkb(np.asarray(job[1], dtype=object)))
    households = np.asarray(job[2], dtype=np.int64)
    lo, hi = job[4], job[5]
    got = split_inputs_of(parent, feet, households, lo, hi, True)
    g = cell_graph(got.local, got.feet, got.households)
    verdict, _, label = solved_division(g.households, g.edge_a, g.edge_b, got.lo, got.hi,
                                        g.edge_len, seconds)
    if verdict != "found":
        return None
    assigner = Assigner(g, got.lo, got.hi)
    assigner.part = np.asarray(label, dtype=np.int64)
    division = drawn(got, g, assigner)
    pulled = engines._taut_last(lambda *args, **kwargs: division)
    return pulled(parent, feet, households, min_households=lo, max_households=hi)


def as_job_result(result: SplitResult) -> tuple:
    """A SplitResult in the split job's result form (parts, assignment, households, PP)."""
    return ([p.wkb for p in result.parts], result.assignment.tolist(), result.households,
            result.polsby_popper)


def city_line(name: str, jobs: list[tuple], seconds: float) -> str:
    """Each grid with parts out that could be in bounds, one line each; the city's summary."""
    split_rows, drawn_rows = [], []
    for i, job in enumerate(jobs):
        result = _split_one(job)
        if not feasible_out(job, result):
            continue
        division = beside_division(job, seconds)
        mine = (feasible_out(job, result), engine_beside(job, result), min(result[3]))
        if division is None:
            print(f"{name} grid {i}: split out={mine[0]} beside={mine[1]} pp_min={mine[2]:.3f}"
                  f" | drawn: none found", flush=True)
            continue
        theirs_job = as_job_result(division)
        theirs = (feasible_out(job, theirs_job), engine_beside(job, theirs_job),
                  min(division.polsby_popper))
        print(f"{name} grid {i}: split out={mine[0]} beside={mine[1]} pp_min={mine[2]:.3f} | "
              f"drawn out={theirs[0]} beside={theirs[1]} pp_min={theirs[2]:.3f} "
              f"broken={bool(division.broken)}", flush=True)
        split_rows.append(mine)
        drawn_rows.append((*theirs, bool(division.broken)))
    if not split_rows:
        return f"{name}: grids=0"
    return (f"{name}: grids={len(split_rows)} "
            f"out={sum(r[0] for r in split_rows)}/{sum(r[0] for r in drawn_rows)} "
            f"beside={sum(r[1] for r in split_rows)}/{sum(r[1] for r in drawn_rows)} "
            f"pp_min={min(r[2] for r in split_rows):.3f}/{min(r[2] for r in drawn_rows):.3f} "
            f"under_0.2={sum(r[2] < 0.2 for r in split_rows)}/"
            f"{sum(r[2] < 0.2 for r in drawn_rows)} "
            f"broken={sum(r[3] for r in drawn_rows)}")


def main() -> None:
    run_cities(__doc__, city_line, "beside_bench (grids with parts out that could be in "
               "bounds; the split's / the division with the fewest households beside towers, "
               "drawn)")


if __name__ == "__main__":
    main()
