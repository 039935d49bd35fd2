"""Where the graph engine's CPU goes on the real grids: CPU ms per grid of each stage.

The real cities of bench/real_city.py are divided into grids (300-500 households) by the graph
engine as the split job runs it (splitter("graph"): the graph engine, and the growth engine
with its passes where parts stay out of bounds or thin); then every grid is divided into
micro-grids (30-50) in this process while each stage is timed with time.process_time. Stages
nest (the unit graph holds the Voronoi diagram, the assignment its sweeps, chains, regrouping
and moves; `passes` the polish and improvement passes over the graph engine's division, and
over the one with the land round the towers free, where graph_first weighs them; `fallback`
the growth engine run where neither comes out clean; `resplit` the re-split of parts all left
out of bounds; `grouped` the divisions drawn from groupings of the households weighed where
parts are still out after it, their passes counted in `passes` too).
The last line holds, per city, the CPU per grid in all, the graph engine's own share of it
(`engine_ms`), the shares of its stages, how many grids fell back, and how many grids the
engine settled alone (no pass run after it: `engine_alone_grids`, their CPU per grid
`engine_alone_ms`) against the CPU per grid of the others (`others_ms`) and their share of the
whole (`others_cpu`), and the CPU spent inside GEOS (bench/geos_clock.py): per grid
(`geos_ms`), as a share of the whole (`geos_share`), its calls per grid (`geos_calls`), and per
grid of either kind (`engine_alone_geos_ms`, `others_geos_ms`). What is not GEOS is the Python
and numpy that drive it: a compiled or batched core saves that share, fewer or smaller
overlays the other. With `--sites` the split's functions whose GEOS calls cost most are
listed per city (finding each call's caller adds to the CPU the line reports). With
`--points` each grid's footprints are replaced by their points on surface
(bench/footprint_bench.py's `points` way: the same households, places, streets and bounds),
to show what the footprints cost each stage.

    .venv/bin/python bench/graph_profile.py [--quick] [--cities monaco,shanghai,wuhan] [--every N]
        [--points] [--sites]
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.footprint_bench import points_job  # noqa: E402
from bench.geos_clock import geos_clock  # noqa: E402
from bench.growth_profile import (  # noqa: E402
    instrument,
    micro_jobs,
    print_stages,
    quality_fields,
)
from bench.real_city import LOADERS, city_parser  # noqa: E402
from gis.partition import assign, cellgraph, engines, graph, regroup  # noqa: E402
from importers.split_job import _split_one  # noqa: E402

CANDIDATES = {
    graph: ("divisions", "unit_graphs", "cell_graph", "_assigned", "with_free_land",
            "outlines", "smooth", "_clipped", "finish"),
    cellgraph: ("footprint_units", "_units", "sample_points_many", "_clipped_cells",
                "_clipped_regions", "_twins", "_gather_strays", "unit_edges"),
    cellgraph.CellGraph: ("polygons",),
    assign.Assigner: ("_sweeps", "improve"),
    assign.ChainRepair: ("run",),
    regroup: ("regroup",),
    engines: ("_compacted",),
}
STAGES = {owner: tuple(n for n in names if hasattr(owner, n))
          for owner, names in CANDIDATES.items()}
SPLIT_CODE = str(Path(graph.__file__).parent)  # GEOS time booked to the split's functions
SITES_SHOWN = 12


def fallback_counter(spent: Counter) -> None:
    """Time (and count) the growth engine run where the graph engine's division needs it
    (engines.FALLBACK), the re-split of parts still out of bounds after it (whose own runs of
    the straight cuts are counted in `resplit`, not in `fallback`) and the divisions drawn
    from groupings of the households weighed last (engines._grouped_or, passes included)."""
    for attribute, label in (("FALLBACK", "fallback"), ("resplit_result", "resplit"),
                             ("_grouped_or", "grouped")):
        setattr(engines, attribute, _timed(getattr(engines, attribute), spent, label))


def _timed(inner, spent: Counter, label: str):
    """`inner`, its CPU added to spent[label] and its runs counted in spent[label_grids]."""

    def timed(*args, **kwargs):
        t0 = time.process_time()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[label] += time.process_time() - t0
            spent[f"{label}_grids"] += 1

    return timed


def print_geos_sites(name: str, grids: int, by_site: Counter) -> None:
    """The split's functions whose GEOS calls cost most, in ms per grid."""
    print(f"{name}: GEOS CPU by calling function (ms per grid)")
    for site, seconds in by_site.most_common(SITES_SHOWN):
        print(f"  {site:40s} {1000 * seconds / grids:5.1f}")


def share(spent: Counter, label: str, total: float) -> str:
    return f"{100 * spent[label] / total:.0f}%"


def main() -> None:
    ap = city_parser(__doc__)
    ap.add_argument("--every", type=int, default=1, help="divide every Nth grid only")
    ap.add_argument("--quick", action="store_true", help="every 3rd grid (--every 3)")
    ap.add_argument("--points", action="store_true",
                    help="each footprint replaced by its point on surface")
    ap.add_argument("--sites", action="store_true",
                    help="also print the split's functions whose GEOS calls cost most (finding "
                         "the caller of each call adds to the CPU measured)")
    args = ap.parse_args()
    if args.quick:
        args.every = max(args.every, 3)
    spent: Counter = Counter()
    instrument(spent, STAGES, ((cellgraph.shapely, "voronoi_polygons",
                                "shapely.voronoi_polygons"),))
    fallback_counter(spent)
    totals = []
    for name in args.cities:
        jobs = micro_jobs(LOADERS[name](), "graph", args.every)
        if args.points:
            jobs = [points_job(job) for job in jobs]
        spent.clear()  # the grid level counted too: only the micro-grid level is shown
        out, alone = [], []  # alone: the CPU of each grid the engine settled by itself
        alone_geos = 0.0  # (no time spent in the passes, engines._compacted, for it)
        with geos_clock(sites=SPLIT_CODE if args.sites else None) as geos:
            t0 = time.process_time()
            for job in jobs:
                passes, t1, g1 = spent["engines._compacted"], time.process_time(), geos.seconds
                out.append(_split_one(job))
                if spent["engines._compacted"] == passes:
                    alone.append(time.process_time() - t1)
                    alone_geos += geos.seconds - g1
            total = time.process_time() - t0
        rest = len(jobs) - len(alone)
        rest_ms = 1000 * (total - sum(alone)) / rest if rest else 0.0
        rest_geos_ms = 1000 * (geos.seconds - alone_geos) / rest if rest else 0.0
        fell = spent.pop("fallback_grids", 0)
        resplit = spent.pop("resplit_grids", 0)
        grouped = spent.pop("grouped_grids", 0)
        if args.sites:
            print_geos_sites(name, len(jobs), geos.by_site)
        print_stages(name, len(jobs), total, spent,
                     f"; {int(fell)} fell back to the growth engine, {int(resplit)} re-split,"
                     f" {int(grouped)} weighed grouped divisions")
        # the first unit graph is built before the division (graph.unit_graphs, a batch of
        # one here), the free land's within it (graph.cell_graph)
        cells = spent["graph.unit_graphs"] + spent["graph.cell_graph"]
        engine_ms = 1000 * (spent["graph.divisions"] + spent["graph.unit_graphs"]) / len(jobs)
        assigned = spent["graph._assigned"]
        totals.append(
            f"{name}: grids={len(jobs)} cpu_ms_per_grid={1000 * total / len(jobs):.1f}"
            f" engine_ms={engine_ms:.1f} cells={100 * cells / total:.0f}%"
            f" assign={100 * assigned / total:.0f}%"
            f" polygons={share(spent, 'CellGraph.polygons', total)}"
            f" outlines={share(spent, 'graph.outlines', total)}"
            f" finish={share(spent, 'graph.finish', total)}"
            f" passes={share(spent, 'engines._compacted', total)}"
            f" fallback={share(spent, 'fallback', total)} fallback_grids={int(fell)}"
            f" resplit={share(spent, 'resplit', total)} resplit_grids={int(resplit)}"
            f" grouped={share(spent, 'grouped', total)} grouped_grids={int(grouped)}"
            f" engine_alone_grids={len(alone)}"
            f" engine_alone_ms={1000 * sum(alone) / max(len(alone), 1):.1f}"
            f" others_ms={rest_ms:.1f} others_cpu={100 * (total - sum(alone)) / total:.0f}%"
            f" geos_ms={1000 * geos.seconds / len(jobs):.1f}"
            f" geos_share={100 * geos.seconds / total:.0f}%"
            f" geos_calls={geos.calls / len(jobs):.0f}"
            f" engine_alone_geos_ms={1000 * alone_geos / max(len(alone), 1):.1f}"
            f" others_geos_ms={rest_geos_ms:.1f} "
            + quality_fields(out))
    print(f"graph_profile{' (points)' if args.points else ''}: " + " | ".join(totals))


if __name__ == "__main__":
    main()
