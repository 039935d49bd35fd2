"""Where the growth engine's CPU goes on the real grids: CPU ms per grid of each stage.

The real cities of bench/real_city.py are divided into grids (300-500 households) by the growth
engine, as bench/split_bench.py --real does; then every grid is divided into micro-grids
(30-50) in this process while each stage of gis.partition.growth, cells, moves and smooth is
timed with time.process_time (stages nest: building the cells holds the faces' stages, _assign
holds seeding, growth and the local search; the unions of faces are the cells' and the parts'
polygons; polish is the passes after the engine, gis.partition.polish). The last line holds
the total per city.

    .venv/bin/python bench/growth_profile.py [--cities monaco,shanghai] [--cells faces]
                                             [--lengths exact] [--every N] [--seed S]
                                             [--set NAME=VALUE ...]

--cells faces builds the cells from faces (gis.partition.cells FACES, gis.partition.faces)
instead of overlays per cell (the default, `overlays`); the last line then also gives the
micro-grids' households in bounds and Polsby-Popper mean and minimum, to weigh the two.
--lengths exact measures the overlay cells' shared edges at T-junctions by projection
(gis.partition.cells EXACT_LENGTHS) instead of overlays of their outlines (the default).
improve is the local improvement pass after polish (gis.partition.improve). --every N divides
every Nth grid only (a quicker sample), --seed S divides them with seed S (default 0), and
--set NAME=VALUE sets a constant of gis.partition.cells (e.g. SPACING_M=6) for the micro-grid
level only (the grids stay the default division's, so the same grids are compared).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.real_bench import LEVELS, children, communities, divide, make_jobs  # noqa: E402
from bench.real_city import LOADERS, city_names, names_of  # noqa: E402
from gis.partition import cells, engines, faces, growth, moves, smooth  # noqa: E402
from importers.split_job import _split_one  # noqa: E402

STAGES = {
    growth: ("building_cells", "with_free_land", "_assign", "_seeds", "_grow", "improve",
             "smooth", "finish"),
    cells: ("footprint_units", "sample_points", "_simplified", "_own_footprints",
            "_gather_strays", "_adjacency", "union_of"),
    faces: ("region_edges", "plane_faces", "shared_edges", "face_labels", "gather_strays",
            "union_by_label"),
    moves: ("balance", "chains", "compact"),
    engines: ("polish", "improved"),
    smooth: ("_restore", "_spill"),
}


def instrument(spent: Counter, stages: dict | None = None, geos: tuple = ()) -> None:
    """Wrap every stage of `stages` (module or class -> function names; STAGES by default)
    and the GEOS calls `geos` ((module, name, label)) so that their CPU seconds add up in
    `spent` (stages that nest count in both)."""
    def wrap(owner, name: str, label: str) -> None:
        inner = getattr(owner, name)

        def timed(*args, **kwargs):
            t0 = time.process_time()
            try:
                return inner(*args, **kwargs)
            finally:
                spent[label] += time.process_time() - t0

        setattr(owner, name, timed)

    for owner, names in (STAGES if stages is None else stages).items():
        short = getattr(owner, "__name__", "").rsplit(".", 1)[-1]
        for name in names:
            wrap(owner, name, f"{short}.{name}")
    for owner, name, label in geos or ((cells.shapely, "voronoi_polygons",
                                         "shapely.voronoi_polygons"),
                                        (smooth.shapely, "coverage_simplify",
                                         "shapely.coverage_simplify")):
        wrap(owner, name, label)


def micro_jobs(data, engine: str, every: int = 1, seed: int = 0) -> list[tuple]:
    """The micro-grid split jobs of a city: its communities divided into grids by `engine`
    (as the split job runs it), then every `every`th grid, with seed `seed`."""
    parents, blds = communities(data)
    results = divide(data, parents, blds, "grid", 1, 1, engine)[0]
    grids, gblds = children(parents, blds, results)
    jobs = make_jobs(grids, gblds, data, *LEVELS["micro_grid"], engine)[::every]
    return [(*job[:6], seed, *job[7:]) for job in jobs]


def level_jobs(data, level: str, every: int = 1) -> list[tuple]:
    """The graph engine's split jobs of one level of a city: its communities into grids
    (`grid`), or those grids, every `every`th, into micro-grids (`micro_grid`)."""
    if level == "grid":
        return make_jobs(*communities(data), data, *LEVELS["grid"], "graph", "grid")
    return micro_jobs(data, "graph", every)


level_names = names_of(LEVELS, "levels")  # --levels: grid, micro_grid


def city_level_jobs(cities: list[str], levels: list[str], every: int = 1
                    ) -> Iterator[tuple[str, str, list[tuple]]]:
    """(city, level, that level's graph engine jobs: `level_jobs`) for each city, loaded
    once, and each level in turn."""
    for name in cities:
        data = LOADERS[name]()
        for level in levels:
            yield name, level, level_jobs(data, level, every)


def print_stages(name: str, grids: int, total: float, spent: Counter, note: str = "") -> None:
    """One city's CPU per grid and its stages' shares."""
    print(f"{name}: {grids} grids, {1000 * total / grids:.1f} CPU ms per grid "
          f"(shapely {shapely.__version__}, GEOS {shapely.geos_version_string}){note}")
    for label, seconds in spent.most_common():
        print(f"  {label:32s} {1000 * seconds / grids:7.1f} ms/grid "
              f"{100 * seconds / total:5.1f} %")


def quality_fields(out: list[tuple]) -> str:
    """The micro-grids' count, share within 30-50 (every part) and Polsby-Popper mean and
    minimum, as the last line gives them."""
    lo, hi = LEVELS["micro_grid"]
    counts = np.concatenate([r[2] for r in out])
    pps = np.concatenate([r[3] for r in out])
    return (f"parts={len(counts)} within={100 * np.mean((counts >= lo) & (counts <= hi)):.1f}%"
            f" pp_mean={pps.mean():.3f} pp_min={pps.min():.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cities", type=city_names, default="monaco,shanghai")
    ap.add_argument("--cells", choices=("overlays", "faces"), default="overlays")
    ap.add_argument("--lengths", choices=("overlays", "exact"), default="overlays")
    ap.add_argument("--every", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    args = ap.parse_args()
    cells.FACES = args.cells == "faces"
    cells.EXACT_LENGTHS = args.lengths == "exact"
    totals = []
    spent: Counter = Counter()
    instrument(spent)
    overrides = [(k, type(getattr(cells, k))(v)) for k, v in (a.split("=", 1) for a in args.set)]
    defaults = [(k, getattr(cells, k)) for k, _ in overrides]
    for name in args.cities:
        for key, value in defaults:  # the grids are the default division's
            setattr(cells, key, value)
        jobs = micro_jobs(LOADERS[name](), "growth", args.every, args.seed)
        for key, value in overrides:
            setattr(cells, key, value)
        spent.clear()  # the grid level counted too: only the micro-grid level is shown
        t0 = time.process_time()
        out = [_split_one(job) for job in jobs]
        total = time.process_time() - t0
        print_stages(name, len(jobs), total, spent)
        unions = spent["cells.union_of"] + spent["faces.union_by_label"]
        totals.append(f"{name}: grids={len(jobs)} cpu_ms_per_grid={1000 * total / len(jobs):.1f}"
                      f" cells={100 * spent['growth.building_cells'] / total:.0f}%"
                      f" search={100 * spent['growth._assign'] / total:.0f}%"
                      f" smooth={100 * spent['growth.smooth'] / total:.0f}%"
                      f" unions={100 * unions / total:.0f}%"
                      f" polish={100 * spent['engines.polish'] / total:.0f}%"
                      f" improve={100 * spent['engines.improved'] / total:.0f}%"
                      f" cells_from={args.cells} lengths={args.lengths} "
                      + quality_fields(out))
    print("growth_profile: " + " | ".join(totals))


if __name__ == "__main__":
    main()
