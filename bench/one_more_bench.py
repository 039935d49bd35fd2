"""What a grid-level setting of the graph engine buys and costs, through both levels.

At the grid level (communities into grids) the graph engine also draws the division with one
part more per group where the suggested count leaves no household out of bounds, and keeps it
where it is more compact on the unit graph (gis.partition.graph.ONE_MORE, the default
--setting), and divides neighbouring grids again in pairs after its search where that is
worth more (gis.partition.graph.PAIRS, gis.partition.pairs). Either changes the grids
themselves, so the micro-grid split runs on other grids: the tail bench's per-grid pairs
cannot measure it. Here each real city of bench/real_city.py is divided whole, both levels
(communities into grids, then every grid into micro-grids), with the setting off and on,
alternately (off then on, then on then off, ...) in one process, so the machine's drift
falls on both alike. Per city it prints, off/on: the grids, their mean and lowest
Polsby-Popper; the micro-grids, the feasible ones out of bounds (as the real bench counts
them), their mean and lowest Polsby-Popper; the CPU per grid of each level
(time.process_time, the median over runs: the grid level's per grid made, the micro level's
per grid divided) and of a district of 1,529 such grids, both levels, in seconds; `off/on`
is the district's ratio (above 1: the setting saves CPU).

    .venv/bin/python bench/one_more_bench.py [--quick] [--cities monaco,shanghai,wuhan]
        [--runs N] [--setting ONE_MORE|PAIRS]

The last line starts with the setting's name in lower case ("one_more (off/on): ...").
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.real_bench import (  # noqa: E402
    DISTRICT_GRIDS,
    LEVELS,
    children,
    communities,
    make_jobs,
    run_jobs,
)
from bench.real_city import LOADERS, city_parser  # noqa: E402
from bench.tail_bench import feasible_out  # noqa: E402
from gis.partition import graph  # noqa: E402

SETTINGS = ("ONE_MORE", "PAIRS")  # grid-level switches of gis.partition.graph, on by default


def both_levels(data, on: bool, setting: str = "ONE_MORE") -> dict:
    """The city divided whole with `setting` `on`, in this process: quality and CPU of both
    levels (each part's Polsby-Popper as the split gives it, like the tail bench)."""
    setattr(graph, setting, on)
    try:
        parents, blds = communities(data)
        grid_timed = run_jobs(make_jobs(parents, blds, data, *LEVELS["grid"], None, "grid"), 1)
        grids, gblds = children(parents, blds, grid_timed)
        micro_jobs = make_jobs(grids, gblds, data, *LEVELS["micro_grid"], None)
        micro_timed = run_jobs(micro_jobs, 1)
    finally:
        setattr(graph, setting, True)
    micro_results = [r for r, _ in micro_timed]
    micro_pp = np.concatenate([r[3] for r in micro_results])
    return {"grids": len(grids), "grid_pp": np.concatenate([r[3] for r, _ in grid_timed]),
            "micro": len(micro_pp),
            "out": sum(feasible_out(j, r) for j, r in zip(micro_jobs, micro_results,
                                                            strict=True)),
            "micro_pp": micro_pp,
            "grid_ms": 1000.0 * sum(c for _, c in grid_timed) / len(grids),
            "micro_ms": 1000.0 * sum(c for _, c in micro_timed) / len(grids)}


def bench_city(data, runs: int, setting: str = "ONE_MORE") -> str:
    """`setting` off and on, `runs` times each, alternately; one summary field per city."""
    seen: dict[bool, list[dict]] = {False: [], True: []}
    for run in range(runs):
        for on in ((False, True) if run % 2 == 0 else (True, False)):
            seen[on].append(both_levels(data, on, setting))
    figures = {}
    for on, got in seen.items():
        last = got[-1]
        grid_ms = float(np.median([g["grid_ms"] for g in got]))
        micro_ms = float(np.median([g["micro_ms"] for g in got]))
        figures[on] = dict(last, grid_ms=grid_ms, micro_ms=micro_ms,
                           district_s=DISTRICT_GRIDS * (grid_ms + micro_ms) / 1000.0)
    off, on = figures[False], figures[True]

    def pair(key: str, fmt: str) -> str:
        return f"{format(off[key], fmt)}/{format(on[key], fmt)}"

    return (f"{data.name}: grids={off['grids']}/{on['grids']} "
            f"grid_pp={off['grid_pp'].mean():.3f}/{on['grid_pp'].mean():.3f} "
            f"grid_pp_min={off['grid_pp'].min():.3f}/{on['grid_pp'].min():.3f} "
            f"micro={off['micro']}/{on['micro']} out={off['out']}/{on['out']} "
            f"pp_mean={off['micro_pp'].mean():.3f}/{on['micro_pp'].mean():.3f} "
            f"pp_min={off['micro_pp'].min():.3f}/{on['micro_pp'].min():.3f} "
            f"grid_cpu_ms_per_grid={pair('grid_ms', '.1f')} "
            f"cpu_ms_per_grid={pair('micro_ms', '.1f')} "
            f"district_cpu_s={pair('district_s', '.1f')} "
            f"off/on={off['district_s'] / on['district_s']:.2f}")


def main() -> None:
    ap = city_parser(__doc__)
    ap.add_argument("--quick", action="store_true", help="one run of each setting (< 5 min)")
    ap.add_argument("--runs", type=int, default=None,
                    help="runs of each setting (default 3, 1 with --quick)")
    ap.add_argument("--setting", choices=SETTINGS, default="ONE_MORE",
                    help="the grid-level setting of gis.partition.graph turned off and on")
    args = ap.parse_args()
    runs = args.runs or (1 if args.quick else 3)
    lines = []
    for name in args.cities:
        line = bench_city(LOADERS[name](), runs, args.setting)
        print(line, flush=True)
        lines.append(line)
    print(f"{args.setting.lower()} (off/on): " + " | ".join(lines))


if __name__ == "__main__":
    main()
