"""Where the growth engine's CPU goes on the real grids: CPU ms per grid of each stage.

The real cities of bench/real_city.py are divided into grids (300-500 households) by the growth
engine, as bench/split_bench.py --real does; then every grid is divided into micro-grids
(30-50) in this process while each stage of gis.partition.growth, cells, moves and smooth is
timed with time.process_time (stages nest: building the cells holds its overlays, _assign
holds seeding, growth and the local search). The last line holds the total per city.

    .venv/bin/python bench/growth_profile.py [--cities monaco,shanghai]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.real_bench import LEVELS, children, divide, make_jobs  # noqa: E402
from bench.real_city import LOADERS  # noqa: E402
from gis.partition import cells, growth, moves, smooth  # noqa: E402
from importers.split_job import _split_one  # noqa: E402

STAGES = {
    growth: ("building_cells", "with_free_land", "_assign", "_seeds", "_grow", "improve",
             "union_of", "smooth", "finish"),
    cells: ("_units", "_samples", "_union_by", "_simplified", "_own_footprints",
            "_gather_strays", "_adjacency"),
    moves: ("balance", "chains", "compact"),
    smooth: ("_restore", "_spill"),
}


def instrument(spent: Counter) -> None:
    """Wrap every stage (and GEOS's Voronoi) so that its CPU seconds add up in `spent`."""
    def wrap(owner, name: str, label: str) -> None:
        inner = getattr(owner, name)

        def timed(*args, **kwargs):
            t0 = time.process_time()
            try:
                return inner(*args, **kwargs)
            finally:
                spent[label] += time.process_time() - t0

        setattr(owner, name, timed)

    for module, names in STAGES.items():
        for name in names:
            wrap(module, name, f"{module.__name__.rsplit('.', 1)[-1]}.{name}")
    wrap(cells.shapely, "voronoi_polygons", "shapely.voronoi_polygons")
    wrap(smooth.shapely, "coverage_simplify", "shapely.coverage_simplify")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cities", default="monaco,shanghai")
    args = ap.parse_args()
    totals = []
    spent: Counter = Counter()
    instrument(spent)
    for name in args.cities.split(","):
        data = LOADERS[name]()
        parents = [g for g, _ in data.communities]
        blds = [idx for _, idx in data.communities]
        results, _ = divide(data, parents, blds, "grid", 1, 1, "growth")
        grids, gblds = children(parents, blds, results)
        jobs = make_jobs(grids, gblds, data, *LEVELS["micro_grid"], "growth")
        spent.clear()  # the grid level counted too: only the micro-grid level is shown
        t0 = time.process_time()
        for job in jobs:
            _split_one(job)
        total = time.process_time() - t0
        print(f"{name}: {len(jobs)} grids, {1000 * total / len(jobs):.1f} CPU ms per grid "
              f"(shapely {shapely.__version__}, GEOS {shapely.geos_version_string})")
        for label, seconds in spent.most_common():
            print(f"  {label:28s} {1000 * seconds / len(jobs):7.1f} ms/grid "
                  f"{100 * seconds / total:5.1f} %")
        totals.append(f"{name}: grids={len(jobs)} cpu_ms_per_grid={1000 * total / len(jobs):.1f}"
                      f" cells={100 * spent['growth.building_cells'] / total:.0f}%"
                      f" search={100 * spent['growth._assign'] / total:.0f}%"
                      f" smooth={100 * spent['growth.smooth'] / total:.0f}%"
                      f" unions={100 * spent['growth.union_of'] / total:.0f}%")
    print("growth_profile: " + " | ".join(totals))


if __name__ == "__main__":
    main()
