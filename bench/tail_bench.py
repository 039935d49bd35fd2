"""What each late stage of the graph engine's split buys and what it costs, on the real grids.

graph_first (gis.partition.engines) settles most grids with the graph engine alone; where parts
stay out of bounds or thin it runs a tail of stages, each costlier than the engine: the
re-split of clusters round the parts still out (`resplit`, RESPLIT_LAST), the growth engine's
division (`fallback`, FALLBACK) and the divisions drawn from groupings of the households
(`grouped`, GROUPED) and, last, the division with the land round every building free
(`free_land`, FREE_LAND_LAST) and the re-split's near misses put in place round the parts
still out (`near_misses`, NEAR_MISSES_LAST), and the boundaries pulled taut round the
footprints at the end of every division (`taut`, engines.TAUT: both levels) with, at the
grid level, the points where the boundaries meet moved between pulls (`junctions`,
engines.JUNCTIONS); and one setting of the passes, the boundary beside a tower drawn at
several angles (`tower_lines`,
reshape.KEEP_DRAWN; off: the widest gap's line alone); and rules that spare the tail work
(`whole_spare_only`, engines.SPARE_WHOLE_ONLY: the division with the land round the towers
free is polished only where its footprints are whole;
`fallback_if_vain`, engines.FALLBACK_IF_VAIN: the growth engine's division is weighed only
where the re-split changed nothing; `unit_chains_enough`, engines.UNIT_CHAINS_ENOUGH: the graph
engine's micro-grids go through the improvement passes without their chains;
`fallback_beside_only`, engines.FALLBACK_BESIDE_ONLY: where towers stand and no grouping of the
others fits the bounds, the growth engine's division is weighed only where households sit
beside a tower; `fallback_micro_only`, engines.FALLBACK_MICRO_ONLY: it is not weighed at the
grid level, measured with `--level grid`), for which `off/on` above 1 is what the rule saves;
and one choice of the re-split, the straight cuts as the first engine a cluster is divided by
(`cluster_cuts`, engines.GRAPH_SUBSPLITS; off: the graph engine's division with its passes
in their place, the groupings' division after it as before).
Here every grid of the real cities of bench/real_city.py (the communities divided into grids
as the split job does it) is divided into micro-grids twice per stage, with the stage and
without it, the two runs of a grid back to back in alternating order in one process, so the
machine's drift falls on both alike (with `--level grid`: every community divided into grids
instead, the grid level's stages only). Per city and stage it prints the CPU per grid (or
community) with and without the stage (time.process_time; the median over them and the mean,
whose ratio `off/on` is what switching the stage off would save), the grids whose division
changes, what the stage costs on them and on the others, whose division it leaves as it was
(`changed_ms`, `vain_ms`: the CPU with it minus that without it, summed over those grids and
divided by all the set's grids, so the two add up to the difference of the means), and the
feasible parts out of bounds (as the real bench counts them: parents whose
household arithmetic allows the bounds, parts without a building over the maximum), the mean
and the lowest Polsby-Popper with and without it.

    .venv/bin/python bench/tail_bench.py [--quick] [--cities monaco,shanghai,wuhan]
        [--stages resplit,fallback,grouped,free_land,near_misses,taut,tower_lines,
                  whole_spare_only, cluster_cuts,
                  fallback_if_vain,unit_chains_enough,fallback_beside_only]
        [--every N] [--level micro_grid|grid (then --stages fallback_micro_only,taut,junctions)]
        [--stages tail: resplit, fallback, grouped, free_land and near_misses off together]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.growth_profile import micro_jobs  # noqa: E402
from bench.real_bench import LEVELS, communities, make_jobs, timed_split  # noqa: E402
from bench.real_city import LOADERS, city_parser  # noqa: E402
from gis.partition import engines, graph, reshape  # noqa: E402
from gis.partition.feasible import packing  # noqa: E402

# the re-split's engines with the graph engine in the straight cuts' place (`cluster_cuts` off)
GRAPH_FOR_CUTS = (engines.cluster_split(graph.split), *engines.GRAPH_SUBSPLITS[1:])
# a stage, the module and setting that switch it off, and the value that does
STAGES = {"resplit": (engines, "RESPLIT_LAST", False), "fallback": (engines, "FALLBACK", None),
          "grouped": (engines, "GROUPED", None), "tower_lines": (reshape, "KEEP_DRAWN", 1),
          "whole_spare_only": (engines, "SPARE_WHOLE_ONLY", False),
          "fallback_if_vain": (engines, "FALLBACK_IF_VAIN", False),
          "unit_chains_enough": (engines, "UNIT_CHAINS_ENOUGH", False),
          "fallback_beside_only": (engines, "FALLBACK_BESIDE_ONLY", False),
          "fallback_micro_only": (engines, "FALLBACK_MICRO_ONLY", False),
          "free_land": (engines, "FREE_LAND_LAST", False),
          "near_misses": (engines, "NEAR_MISSES_LAST", False), "taut": (engines, "TAUT", False),
          "junctions": (engines, "JUNCTIONS", False),
          "cluster_cuts": (engines, "GRAPH_SUBSPLITS", GRAPH_FOR_CUTS)}
# stages switched off together: `tail`, every stage that runs only where parts stay out of
# bounds, leaving the graph engine's division with its passes and the taut step (what the
# split costs where the engine settles every grid)
TOGETHER = {"tail": ("resplit", "fallback", "grouped", "free_land", "near_misses")}
# the stages each level runs by default (fallback_micro_only changes nothing at the micro level)
LEVEL_STAGES = {"micro_grid": [s for s in STAGES
                               if s not in ("fallback_micro_only", "junctions")],
                "grid": ["fallback_micro_only", "taut", "junctions"]}


def feasible_out(job: tuple, result: tuple) -> int:
    """Parts of one parent out of bounds that could be in bounds (the real bench's measure:
    none where the parent's arithmetic allows no grouping, none holding a tower)."""
    lo, hi = job[4], job[5]
    households = np.asarray(job[2], dtype=np.int64)
    if packing(households, lo, hi).feasible is False:
        return 0
    assignment = np.asarray(result[1], dtype=np.int64)
    out = 0
    for k, count in enumerate(result[2]):
        held = households[assignment == k]
        if len(held) and int(held.max()) > hi:
            continue
        out += not lo <= count <= hi
    return out


def with_and_without(jobs: list[tuple], module, setting: str, off,
                     also: tuple[tuple, ...] = ()) -> dict:
    """Every job divided with the stage and without it (see the module docstring); `also`:
    more (module, setting, off) switched with it."""
    switches = ((module, setting, off), *also)
    on_values = [getattr(m, name) for m, name, _ in switches]
    cpu = {True: [], False: []}
    results = {True: [], False: []}
    try:
        for i, job in enumerate(jobs):
            for on in ((True, False) if i % 2 == 0 else (False, True)):
                for (m, name, off_value), on_value in zip(switches, on_values, strict=True):
                    setattr(m, name, on_value if on else off_value)
                result, seconds = timed_split(job)
                cpu[on].append(seconds)
                results[on].append(result)
    finally:
        for (m, name, _), on_value in zip(switches, on_values, strict=True):
            setattr(m, name, on_value)
    changed = np.array([a[0] != b[0] or a[1] != b[1]
                        for a, b in zip(results[True], results[False], strict=True)], bool)
    extra = np.asarray(cpu[True]) - np.asarray(cpu[False])  # what the stage cost each job
    figures = {"changed": int(changed.sum()),
               "changed_ms": 1000 * float(extra[changed].sum()) / len(jobs),
               "vain_ms": 1000 * float(extra[~changed].sum()) / len(jobs)}
    for on, label in ((True, "on"), (False, "off")):
        pps = np.concatenate([r[3] for r in results[on]])
        figures[label] = {
            "median_ms": 1000 * float(np.median(cpu[on])),
            "mean_ms": 1000 * float(np.mean(cpu[on])),
            "out": sum(feasible_out(j, r) for j, r in zip(jobs, results[on], strict=True)),
            "pp_mean": float(pps.mean()), "pp_min": float(pps.min())}
    figures["ratio"] = figures["off"]["mean_ms"] / figures["on"]["mean_ms"]
    return figures


def field(stage: str, f: dict) -> str:
    on, off = f["on"], f["off"]
    return (f"{stage}: mean_ms={on['mean_ms']:.1f}/{off['mean_ms']:.1f} off/on={f['ratio']:.2f}"
            f" median_ms={on['median_ms']:.1f}/{off['median_ms']:.1f} changed={f['changed']}"
            f" changed_ms={f['changed_ms']:.1f} vain_ms={f['vain_ms']:.1f}"
            f" out={on['out']}/{off['out']} pp_mean={on['pp_mean']:.3f}/{off['pp_mean']:.3f}"
            f" pp_min={on['pp_min']:.3f}/{off['pp_min']:.3f}")


def main() -> None:
    ap = city_parser(__doc__)
    ap.add_argument("--stages", help="default: the level's (LEVEL_STAGES)")
    ap.add_argument("--level", choices=list(LEVEL_STAGES), default="micro_grid",
                    help="grid: communities divided into grids instead")
    ap.add_argument("--every", type=int, default=1, help="divide every Nth grid only")
    ap.add_argument("--quick", action="store_true", help="every 2nd grid (--every 2)")
    args = ap.parse_args()
    if args.quick:
        args.every = max(args.every, 2)
    stages = args.stages.split(",") if args.stages else LEVEL_STAGES[args.level]
    unknown = sorted(set(stages) - set(STAGES) - set(TOGETHER))
    if unknown:
        ap.error(f"unknown stage {', '.join(unknown)}; "
                 f"choose from {', '.join([*STAGES, *TOGETHER])}")
    summary = []
    unit = "communities" if args.level == "grid" else "grids"
    for name in args.cities:
        data = LOADERS[name]()
        if args.level == "grid":
            jobs = make_jobs(*communities(data), data, *LEVELS["grid"], "graph",
                             "grid")[::args.every]
        else:
            jobs = micro_jobs(data, "graph", args.every)
        fields = []
        for stage in stages:
            first, *more = [STAGES[s] for s in TOGETHER.get(stage, (stage,))]
            figures = with_and_without(jobs, *first, also=tuple(more))
            fields.append(field(stage, figures))
            print(f"{name} ({len(jobs)} {unit}) {fields[-1]}", flush=True)
        summary.append(f"{name}: {unit}={len(jobs)} " + " ".join(fields))
    level = "" if args.level == "micro_grid" else ", communities into grids"
    print(f"tail_bench (with/without each stage{level}): " + " | ".join(summary))


if __name__ == "__main__":
    main()
