"""Split benchmark: a generated district of 1,529 grids of 300-500 households into micro-grids.

Prints wall time, % of parts within bounds, Polsby-Popper (mean, 10th percentile), household
deviation and peak memory for the engine, then the same figures for a METIS baseline (pymetis,
household-weighted, on Voronoi cells of the buildings, as DESIGN §4 describes, into as many parts
as the engine made for the same grid, PP in the same local metric frame) on a sample of the same
grids, and our/baseline ratios. The last line holds the figures.

    .venv/bin/python bench/split_bench.py [--quick] [--grids N] [--processes P]
    .venv/bin/python bench/split_bench.py --real [--quick] [--cities monaco,shanghai,wuhan]

--engine picks the engine as the split job runs it (gis.partition.engines): graph (the unit-graph
engine, gis.partition.graph, the default), cuts (the straight cuts, gis.partition.engine) or
growth (the assignment-first engine, gis.partition.growth). --cells faces builds the growth
engine's cells from faces (gis.partition.cells FACES) instead of overlays per cell (set before
the worker processes fork, so they inherit it); --lengths exact measures the overlay cells'
T-junction edges by projection (gis.partition.cells EXACT_LENGTHS). --no-passes times any engine
without the passes after it (gis.partition.engines PASSES), to see what the engine itself does;
--no-streets has the graph engine ignore the streets (gis.partition.graph STREETS).

With --real, the real cities of bench/real_city.py instead (see bench/real_bench.py).
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import time
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import Polygon, box

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.baselines import metis_baseline  # noqa: E402
from bench.real_city import city_names  # noqa: E402
from gis.partition import polsby_popper  # noqa: E402
from gis.partition.quality import metric_scale  # noqa: E402
from importers.split_job import run_splits  # noqa: E402

LON0, LAT0 = 116.30, 39.85
M = 1 / 111_000  # degrees per metre (roughly; the engine uses a proper local scale)


def make_grid(rng: np.random.Generator, col: int, row: int):
    """One block-shaped grid (~330 x 300 m, jittered corners) of slab estates, tower estates or
    low-rise blocks, buildings standing in rows and columns as in a residential compound."""
    w, h = 330 * M, 300 * M
    x0, y0 = LON0 + col * w * 1.3, LAT0 + row * h
    j = lambda: rng.uniform(-12, 12) * M  # noqa: E731
    parent = Polygon([(x0 + j(), y0 + j()), (x0 + w + j(), y0 + j()),
                      (x0 + w + j(), y0 + h + j()), (x0 + j(), y0 + h + j())])
    target = int(rng.integers(300, 501))
    buildings, households, total = [], [], 0
    kind = rng.choice(3, p=[0.4, 0.3, 0.3])  # slab estates, tower estates, low-rise blocks
    if kind == 0:
        bw, bh, hmin, hmax = rng.uniform(35, 60) * M, rng.uniform(10, 14) * M, 6, 17
        gap_x, gap_y = rng.uniform(8, 16) * M, rng.uniform(18, 30) * M
    elif kind == 1:
        bw = bh = rng.uniform(20, 30) * M
        hmin, hmax = 12, 25
        gap_x = gap_y = rng.uniform(15, 25) * M
    else:
        bw = bh = rng.uniform(12, 18) * M
        hmin, hmax = 3, 9
        gap_x = gap_y = rng.uniform(5, 10) * M
    y = y0 + 20 * M
    while total < target and y + bh < y0 + h - 20 * M:
        x = x0 + 18 * M
        while total < target and x + bw < x0 + w - 18 * M:
            dx, dy = rng.uniform(-2, 2, size=2) * M  # a compound's slabs stand in rows/columns
            foot = box(x + dx, y + dy, x + dx + bw, y + dy + bh)
            if parent.buffer(-3 * M).contains(foot):
                hh = int(min(rng.integers(hmin, hmax), target - total)) or 1
                buildings.append(foot)
                households.append(hh)
                total += hh
            x += bw + gap_x
        y += bh + gap_y
    roads = [shapely.LineString([(x0 - 5 * M, y0 + h / 2 + 5 * M), (x0 + w + 5 * M,
                                                                     y0 + h / 2 + 5 * M)])]
    return parent, buildings, households, roads


def make_district(n: int, seed: int = 7):
    rng = np.random.default_rng(seed)
    cols = int(math.ceil(math.sqrt(n)))
    return [make_grid(rng, i % cols, i // cols) for i in range(n)]


def summarize(pps, hhs, lo, hi):
    pps, hhs = np.asarray(pps), np.asarray(hhs)
    inside = (hhs >= lo) & (hhs <= hi)
    dev = np.maximum(np.maximum(lo - hhs, hhs - hi), 0)
    return {"in_bounds": 100.0 * inside.mean(), "pp_mean": float(pps.mean()),
            "pp_p10": float(np.percentile(pps, 10)), "max_dev": int(dev.max()),
            "parts": len(hhs)}


def cpu_seconds() -> float:
    """CPU seconds of this process and its reaped workers (user + system)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller baseline sample (< 5 min)")
    ap.add_argument("--grids", type=int, default=1529)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--baseline-sample", type=int, default=None)
    ap.add_argument("--real", action="store_true", help="the real cities (bench/real_city.py) "
                    "instead of the generated district")
    ap.add_argument("--cities", type=city_names, default="monaco,shanghai,wuhan",
                    help="with --real: which cities")
    ap.add_argument("--runs", type=int, default=None, help="with --real: runs of the micro-grid "
                    "split (the CPU figure is their median; default 3, 1 with --quick)")
    ap.add_argument("--engine", choices=["cuts", "growth", "graph"], default="graph",
                    help="the split engine (gis.partition.engines)")
    ap.add_argument("--cells", choices=["overlays", "faces"], default="overlays",
                    help="how the growth engine builds its cells (gis.partition.cells FACES)")
    ap.add_argument("--lengths", choices=["overlays", "exact"], default="overlays",
                    help="how cells' T-junction edges are measured (cells EXACT_LENGTHS)")
    ap.add_argument("--no-passes", action="store_true", help="the engine's own division, "
                    "without the polish, improvement and re-split passes (engines PASSES)")
    ap.add_argument("--no-streets", action="store_true", help="the graph engine ignores the "
                    "streets it is given (gis.partition.graph STREETS), for a like-for-like "
                    "comparison of its street-following")
    args = ap.parse_args()
    from gis.partition import cells, engines, graph

    engines.PASSES = not args.no_passes
    graph.STREETS = not args.no_streets

    cells.FACES = args.cells == "faces"
    cells.EXACT_LENGTHS = args.lengths == "exact"
    if args.real:
        from bench.real_bench import main_real

        main_real(args)
        return
    lo, hi = 30, 50
    sample_n = args.baseline_sample or (150 if args.quick else 500)

    t0 = time.perf_counter()
    district = make_district(args.grids)
    households = sum(sum(g[2]) for g in district)
    buildings = sum(len(g[1]) for g in district)
    print(f"district: {len(district)} grids, {buildings} buildings, {households} households "
          f"(generated in {time.perf_counter() - t0:.1f} s)")

    jobs = [(p.wkb, [b.wkb for b in bs], hh, [r.wkb for r in rd], lo, hi, 0, args.engine)
            for p, bs, hh, rd in district]
    t0, cpu0 = time.perf_counter(), cpu_seconds()
    results = run_splits(jobs, args.processes)
    seconds = time.perf_counter() - t0
    cpu = cpu_seconds() - cpu0
    pps, hhs, bad_grids = [], [], 0
    for res in results:
        pps += res[3]
        hhs += res[2]
        bad_grids += bool(res[4])
    ours = summarize(pps, hhs, lo, hi)
    print(f"engine: {seconds:.1f} s on {args.processes} processes "
          f"({1000 * seconds / len(district):.1f} ms/grid; {cpu:.1f} CPU s, "
          f"{cpu / args.processes:.1f} s per process if nothing else ran), "
          f"{ours['parts']} micro-grids, "
          f"in bounds {ours['in_bounds']:.2f}%, grids with violations {bad_grids}, "
          f"PP mean {ours['pp_mean']:.3f} p10 {ours['pp_p10']:.3f}, "
          f"max deviation {ours['max_dev']} households")

    rng = np.random.default_rng(1)
    sample = sorted(rng.choice(len(district), size=min(sample_n, len(district)), replace=False))
    t0 = time.perf_counter()
    bpps, bhhs, opps = [], [], []
    for i in sample:
        parent, bs, hh, _ = district[i]
        parts, counts = metis_baseline(parent, bs, hh, lo, hi, k=len(results[i][0]))
        bpps += list(polsby_popper(parts, metric_scale(parent)))
        bhhs += list(counts)
        opps += results[i][3]
    bsec = time.perf_counter() - t0
    base = summarize(bpps, bhhs, lo, hi)
    ours_sample = float(np.mean(opps))
    ratio = ours_sample / base["pp_mean"]
    print(f"baseline METIS on Voronoi cells ({len(sample)} grids): "
          f"{1000 * bsec / len(sample):.1f} ms/grid, in bounds {base['in_bounds']:.2f}%, "
          f"PP mean {base['pp_mean']:.3f} p10 {base['pp_p10']:.3f}, max deviation "
          f"{base['max_dev']}; ours on the same grids PP mean {ours_sample:.3f}")
    print(f"split: grids={len(district)} seconds={seconds:.1f} cpu_seconds={cpu:.1f} "
          f"in_bounds={ours['in_bounds']:.2f}% "
          f"pp_mean={ours['pp_mean']:.3f} pp_p10={ours['pp_p10']:.3f} "
          f"max_dev={ours['max_dev']} baseline_pp={base['pp_mean']:.3f} "
          f"baseline_in_bounds={base['in_bounds']:.1f}% pp_vs_baseline={ratio:.2f} "
          f"peak_mb={peak_mb():.0f}")


if __name__ == "__main__":
    main()
