"""What the buildings' footprints cost the split: the same parents divided with footprints, with
each building at a point, and as uniform land.

Issue 17 asks for mean Polsby-Popper >= 0.60 and minimum >= 0.20 on the real sets, and for the
CPU to be explained where it is spent. This bench separates what the parents' outlines allow
from what the footprints, which are never split, cost. Every parent of the real sets
(bench/real_city.py: the communities divided into grids as the split job does it, then those
grids into micro-grids) is divided three ways by the same engine, with the same streets:

- `footprints`: the split's own job;
- `points`: each footprint replaced by its point on surface, with the same households and
  bounds. Parts then hold the same buildings' households at the same places, but no outline
  has to go round a footprint;
- `land`: the parent alone, a lattice of LAND_PER points of one household each for every part
  the footprints' division made, with bounds LAND_SLACK either side of the mean share. This
  is what the parent's outline allows.

The three runs of a parent go back to back in one process (the footprints' first, as the
land's part count comes from it; then the points' and the land's in alternating order), so
the machine's drift falls on all alike. Per city and level it prints the parts, the parts'
mean and lowest Polsby-Popper, the parts out of bounds that could be in bounds (as the real
bench counts them), the CPU per parent (time.process_time, mean), and the ratio of the points'
CPU and mean to the footprints'. Then `carved`: the points' division with the footprints
carved in (each footprint, as far as it lies in the parent, given whole to its building's
part and cut from the others), its parts' mean and lowest Polsby-Popper and how many came
apart: what redrawing the points' division round the footprints would give, without the
engine's cells built round them. None of these is a bound: the same engine divides all
three. They show where the bars are lost, not what a better engine could reach.

    .venv/bin/python bench/footprint_bench.py [--quick] [--cities monaco,shanghai,wuhan]
        [--levels grid,micro_grid]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.growth_profile import city_level_jobs, level_names  # noqa: E402
from bench.real_bench import timed_split  # noqa: E402
from bench.real_city import city_parser  # noqa: E402
from bench.tail_bench import feasible_out  # noqa: E402
from gis.partition.quality import metric_scale, polsby_popper  # noqa: E402

LAND_PER = 40  # lattice points per part of the footprints' division
LAND_SLACK = 0.1  # the land's bounds: the mean share of points per part, +-10 %
WAYS = ("footprints", "points", "land")


def points_job(job: tuple) -> tuple:
    """`job` with each footprint replaced by its point on surface (households, streets,
    bounds and engine unchanged)."""
    feet = shapely.from_wkb(np.asarray(job[1], dtype=object))
    return (job[0], [p.wkb for p in shapely.point_on_surface(feet)], *job[2:])


def land_job(job: tuple, parts: int) -> tuple:
    """The parent of `job` as uniform land: a lattice of LAND_PER points per part (square
    cells in metres), one household each, bounds LAND_SLACK either side of the mean share."""
    parent = shapely.from_wkb(job[0])
    kx, ky = metric_scale(parent)
    step = float(np.sqrt(parent.area * kx * ky / (parts * LAND_PER)))
    minx, miny, maxx, maxy = parent.bounds
    x, y = np.meshgrid(np.arange(minx + step / kx / 2, maxx, step / kx),
                       np.arange(miny + step / ky / 2, maxy, step / ky))
    lattice = shapely.points(x.ravel(), y.ravel())
    shapely.prepare(parent)
    lattice = lattice[shapely.contains(parent, lattice)]
    share = len(lattice) / parts
    lo, hi = int(share * (1 - LAND_SLACK)), int(np.ceil(share * (1 + LAND_SLACK)))
    return (job[0], [p.wkb for p in lattice], [1] * len(lattice), job[3], lo, hi, *job[6:])


def carved(job: tuple, result: tuple) -> tuple[np.ndarray, int]:
    """The parts of `result` (a division of `points_job(job)`) with the footprints of `job`
    carved in (module docstring): their Polsby-Popper, and how many are not one polygon."""
    parent = shapely.from_wkb(job[0])
    feet = shapely.intersection(shapely.from_wkb(np.asarray(job[1], dtype=object)), parent)
    part = np.asarray(result[1], dtype=np.int64)
    parts = []
    for k, wkb in enumerate(result[0]):
        rest = shapely.difference(shapely.from_wkb(wkb), shapely.union_all(feet[part != k]))
        parts.append(shapely.union(rest, shapely.union_all(feet[part == k])))
    apart = sum(p.geom_type != "Polygon" for p in parts)
    return polsby_popper(parts, metric_scale(parent)), apart


def compared(jobs: list[tuple]) -> dict[str, dict]:
    """Every job divided the three ways, back to back in rotating order (module docstring):
    per way its parts, Polsby-Popper mean and minimum, parts out and CPU per parent."""
    cpu: dict[str, list[float]] = {w: [] for w in WAYS}
    pps: dict[str, list[float]] = {w: [] for w in WAYS}
    out = dict.fromkeys(WAYS, 0)
    carved_pps: list[float] = []
    apart = 0
    for i, job in enumerate(jobs):
        own, seconds = timed_split(job)
        runs = {"footprints": (job, own, seconds)}
        for way in np.roll(WAYS[1:], i % 2).tolist():
            other = points_job(job) if way == "points" else land_job(job, len(own[3]))
            # a parent too small for one lattice point (or without buildings) counts as is
            runs[way] = (other, *timed_split(other)) if len(other[1]) else runs["footprints"]
        for way, (used, result, spent) in runs.items():
            cpu[way].append(spent)
            pps[way].extend(result[3])
            out[way] += feasible_out(used, result)
        pp, came_apart = carved(job, runs["points"][1])
        carved_pps.extend(pp.tolist())
        apart += came_apart
    figures = {w: {"parts": len(pps[w]), "pp_mean": float(np.mean(pps[w])),
                   "pp_min": float(np.min(pps[w])), "out": out[w],
                   "cpu_ms": 1000 * float(np.mean(cpu[w]))} for w in WAYS}
    figures["carved"] = {"pp_mean": float(np.mean(carved_pps)),
                         "pp_min": float(np.min(carved_pps)), "apart": apart}
    return figures


def fields(figures: dict[str, dict]) -> str:
    """One city and level's figures: each as footprints/points/land, then the ratios."""
    def three(key: str, fmt: str) -> str:
        return "/".join(format(figures[w][key], fmt) for w in WAYS)

    f, p, c = figures["footprints"], figures["points"], figures["carved"]
    return (f"parts={three('parts', 'd')} pp_mean={three('pp_mean', '.3f')} "
            f"pp_min={three('pp_min', '.3f')} out={three('out', 'd')} "
            f"cpu_ms={three('cpu_ms', '.1f')} "
            f"points/footprints: pp_mean={p['pp_mean'] / f['pp_mean']:.2f} "
            f"cpu={p['cpu_ms'] / f['cpu_ms']:.2f} "
            f"carved: pp_mean={c['pp_mean']:.3f} pp_min={c['pp_min']:.3f} apart={c['apart']}")


def main() -> None:
    ap = city_parser(__doc__)
    ap.add_argument("--levels", type=level_names, default="grid,micro_grid")
    ap.add_argument("--quick", action="store_true", help="every 2nd grid at the micro level")
    args = ap.parse_args()
    summary = []
    for name, level, jobs in city_level_jobs(args.cities, args.levels, 2 if args.quick else 1):
        line = f"{name}/{level}: parents={len(jobs)} {fields(compared(jobs))}"
        print(line, flush=True)
        summary.append(line)
    print("footprint_bench (footprints/points/land): " + " | ".join(summary))


if __name__ == "__main__":
    main()
