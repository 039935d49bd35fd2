"""The straight cuts' scoring on real communities: side_stats against clipping every edge by
every cut.

The straight cuts (gis.partition.engine) score every candidate line of a region at once with
gis.partition.cuts.side_stats: each side's area, perimeter and extents. It used to clip every
edge of the region by every cut (`side_stats_dense`, the peer here); from SORTED_FROM pairs of
an edge and a cut it now projects the edges once per direction, sums the edges wholly on a
side from prefix sums and clips only the pairs of an edge and a cut that reaches it
(`side_stats_sorted`). Here the real communities of
bench/real_city.py are divided into grids as the split job does it, every call the engine
makes to side_stats is recorded, and both ways are timed on the same calls in one process,
alternately, REPEATS times (time.process_time, the median); likewise the calls while the
grids so made are divided into micro-grids (the straight cuts divide clusters there, in the
re-split). Per city and level it prints the calls (and how many side_stats sorts), the
median edges and cuts of a call, the CPU per call of each way and their ratio, and the largest
difference between the two (relative to the figure, at least 1 m or 1 m²); a run whose
difference exceeds TOLERANCE prints no ratio. For the grid level it also divides every
community into grids both ways, with side_stats as it is and with the edges never sorted,
back to back in alternating order (bench/tail_bench.py's with_and_without), and prints the CPU per
community each way, their ratio (none where a division differs) and the divisions that
differ.

    .venv/bin/python bench/cut_bench.py [--quick] [--cities monaco,shanghai,wuhan]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.growth_profile import micro_jobs  # noqa: E402
from bench.real_bench import LEVELS, communities, make_jobs  # noqa: E402
from bench.real_city import LOADERS, city_parser  # noqa: E402
from bench.tail_bench import with_and_without  # noqa: E402
from gis.partition import cuts, engines  # noqa: E402
from importers.split_job import _split_one  # noqa: E402

REPEATS = 5
TOLERANCE = 1e-6


def recorded_calls(jobs: list[tuple]) -> list[tuple]:
    """The side_stats calls of the straight cuts while `jobs` are split (as the split job
    does it)."""
    calls: list[tuple] = []
    scored = cuts.side_stats

    def record(p0, p1, theta, t):
        calls.append((p0, p1, theta, t))
        return scored(p0, p1, theta, t)

    cuts.side_stats = record
    try:
        for job in jobs:
            _split_one(job)
    finally:
        cuts.side_stats = scored
    return calls


def timed(fn, calls: list[tuple]) -> float:
    """CPU seconds of `fn` over every call."""
    start = time.process_time()
    for call in calls:
        fn(*call)
    return time.process_time() - start


def largest_difference(calls: list[tuple]) -> float:
    worst = 0.0
    for call in calls:
        a, b = cuts.side_stats_dense(*call), cuts.side_stats(*call)
        worst = max(worst, float(np.max(np.abs(a - b) / np.maximum(np.abs(a), 1.0))))
    return worst


def bench_calls(name: str, calls: list[tuple]) -> str:
    """Both ways timed on the same calls, alternately; one line of figures."""
    if not calls:
        return f"{name}: calls=0"
    dense, sorted_ = [], []
    for _ in range(REPEATS):  # alternately, so the machine's drift falls on both
        dense.append(timed(cuts.side_stats_dense, calls))
        sorted_.append(timed(cuts.side_stats, calls))
    dense_ms = 1000 * float(np.median(dense)) / len(calls)
    ours_ms = 1000 * float(np.median(sorted_)) / len(calls)
    diff = largest_difference(calls)
    edges = int(np.median([len(c[0]) for c in calls]))
    lines = int(np.median([len(c[3]) for c in calls]))
    large = sum(len(c[0]) * len(c[3]) >= cuts.SORTED_FROM for c in calls)
    ratio = f"{dense_ms / ours_ms:.2f}" if diff <= TOLERANCE else "n/a (results differ)"
    return (f"{name}: calls={len(calls)} sorted={large} edges={edges} cuts={lines} "
            f"dense_ms={dense_ms:.2f} side_stats_ms={ours_ms:.2f} dense/side_stats={ratio} "
            f"max_rel_diff={diff:.1e}")


def grid_level_ab(jobs: list[tuple]) -> str:
    """Every community of `jobs` divided into grids with side_stats as it is and with the
    edges never sorted (SORTED_FROM out of reach), back to back in alternating order
    (tail_bench.with_and_without): the CPU per community each way, their ratio (none where a
    division differs) and the divisions that differ."""
    f = with_and_without(jobs, cuts, "SORTED_FROM", sys.maxsize)
    dense, ours = f["off"]["mean_ms"], f["on"]["mean_ms"]
    ratio = "n/a" if f["changed"] else f"{f['ratio']:.2f}"
    return (f"grid_level: communities={len(jobs)} mean_ms={dense:.1f}/{ours:.1f} "
            f"dense/side_stats={ratio} changed={f['changed']}")


def bench_city(city: str, every: int) -> list[str]:
    """The grid level's calls (every `every`th community) with the grid level divided both
    ways, and the micro-grid level's calls (every `every`th grid of the division the split
    job makes)."""
    data = LOADERS[city]()
    parents, blds = communities(data)
    grid_jobs = make_jobs(parents, blds, data, *LEVELS["grid"], None, "grid")[::every]
    out = [bench_calls(f"{city}/grid", recorded_calls(grid_jobs)) + " "
           + grid_level_ab(grid_jobs)]
    micro = recorded_calls(micro_jobs(data, engines.DEFAULT, every))
    out.append(bench_calls(f"{city}/micro_grid", micro))
    return out


def main() -> None:
    ap = city_parser(__doc__)
    ap.add_argument("--quick", action="store_true", help="every 2nd community and grid")
    args = ap.parse_args()
    every = 2 if args.quick else 1
    lines = []
    for city in args.cities:
        for line in bench_city(city, every):
            lines.append(line)
            print(line, flush=True)
    print("cut_bench (clipping every edge by every cut / side_stats): "
          + " | ".join(lines))


if __name__ == "__main__":
    main()
