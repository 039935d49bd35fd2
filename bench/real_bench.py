"""The split bench on real cities (bench/real_city.py): communities -> grids of 300-500
households, then grids -> micro-grids of 30-50, by the engine, with METIS (same part counts)
and, when spopt is installed, PySAL max-p (threshold = the minimum) as baselines.

Per data set and level it prints: parts; grids whose household arithmetic makes the bounds
impossible (counted apart, with the reason: decided exactly per parent by
gis.partition.feasible.packing, whether ANY grouping of its buildings' households gives parts
within the bounds, geometry ignored; parents it leaves undecided are counted feasible) and
parts that are one building over the maximum;
the share of the other (feasible) parts within bounds; the households put in a part with a
building over the maximum beside it, in parents whose arithmetic allows the bounds (last
line: beside_towers; such parts are not counted as feasible, so a short part joined to a
tower would leave the in-bounds share and show here); contiguity; exact tiling; buildings kept
whole; Polsby-Popper mean, 10th percentile and minimum; parts thinner than PP 0.2 and how
many of them lie in parents themselves under 0.2 (last line: thin=parts/in thin parents); the
feasible parts out of bounds and how many of them the engine left so because the only
division it found with fewer had a corridor under PP 0.2 (last line: out=parts/corridor) or
the parts it reaches without crossing a tower's part hold buildings that no grouping divides
within the bounds (last line: walled; gis.partition.diagnose `walled`) or no single building
moving between it and a neighbouring part brings it in (last line: no_trade; diagnose
`no_trade_under`, `no_trade_over`: the sizes of the buildings round it hold it out); the
share of the boundaries between parts (the parent's outline left out) within STREET_M of a
street or footpath of the extract (last line: grid_streets, streets); CPU
seconds per grid (time.process_time in the worker, median over runs; the workers divide the
grids in the split job's batches, whose last step runs over a batch at once, so a batch's CPU
is shared equally among its grids: split_job.BATCH grids at most and eight batches a worker at
least, so 18 a batch on Monaco's 303 grids, 9 on the Bund's 148 and 1 on Wuhan's 25, where a
district's 1,529 take 32; the last line's
cpu_ms_per_grid is the micro-grid split's, grid_cpu_ms_per_grid the communities' split into
grids, per grid made: a district needs both; micro_per_grid is the micro-grids a grid became
and cpu_ms_per_micro the micro-grid split's CPU per micro-grid made, which a set's towers do
not lower: a tower is a part of its own, so a set with many has fewer micro-grids a grid and
costs less per grid). The last line also gives the grids' thin ones
(grid_thin=grids under PP 0.2/of them in communities under 0.2) with the communities' own
mean and lowest Polsby-Popper (community_pp: a grid tiles part of its community, so a
community of long strips leaves only strips), and district_s: the wall seconds of both
levels' splits on the bench's processes, per grid, times the mission's district of 1,529
grids, plus the seconds each level took to start its workers, once (the issue's "a real
1,529-grid district in <= 30 s on 2 cores": a district starts its workers once for hundreds
of grids, so that start is not projected per grid; the splits' wall still reads high on a
small set, whose costliest grids may fall on one worker), and mission_district_s: the same
with the micro-grid split's wall projected per micro-grid made onto the mission district's
6,854 micro-grids (4.5 a grid) instead of per grid: district_s assumes the district's grids
are divided as finely as the set's (Monaco's into 7.5 micro-grids, the Bund's into 3.8).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import shapely

from gis.partition import polsby_popper
from gis.partition.diagnose import THIN_PP
from gis.partition.feasible import packing
from gis.partition.quality import metric_scale, to_metric
from importers.split_job import _split_batch, _split_one, batch_size, batches

LEVELS = {"grid": (300, 500), "micro_grid": (30, 50)}
DISTRICT_GRIDS = 1529  # the real district of the mission: 203 communities, 1,529 grids
DISTRICT_MICRO_GRIDS = 6854  # ... and 6,854 micro-grids (4.5 a grid)


def timed_split(job: tuple) -> tuple:
    """Split one parent and measure the CPU seconds it took in this process."""
    t0 = time.process_time()
    out = _split_one(job)
    return out, time.process_time() - t0


def timed_batch(jobs: list[tuple]) -> list[tuple]:
    """Split a batch of parents as the split job's workers do (split_job._split_batch: their
    last step run over all of them at once) and measure the CPU seconds it took in this
    process, shared equally among them: (result, seconds) per job."""
    t0 = time.process_time()
    out = _split_batch(jobs)
    share = (time.process_time() - t0) / max(len(jobs), 1)
    return [(result, share) for result in out]


def run_jobs(jobs: list[tuple], processes: int) -> list[tuple]:
    return run_jobs_timed(jobs, processes)[0]


def _worker_pid(_: int) -> int:
    return os.getpid()


def run_jobs_timed(jobs: list[tuple], processes: int) -> tuple[list[tuple], float, float]:
    """`timed_batch` over the jobs in the split job's batches (split_job.batch_size) on
    `processes` worker processes (in this one when 1); the results, the wall seconds to
    start the workers and those of the splits themselves."""
    started = time.perf_counter()
    parts = batches(jobs, batch_size(len(jobs), processes))
    if processes <= 1:
        results = [r for batch in parts for r in timed_batch(batch)]
        return results, 0.0, time.perf_counter() - started
    with ProcessPoolExecutor(processes) as pool:
        list(pool.map(_worker_pid, range(processes)))  # every worker up before the splits
        up = time.perf_counter()
        results = [r for batch in pool.map(timed_batch, parts) for r in batch]
        done = time.perf_counter()
    return results, up - started, done - up


def communities(data) -> tuple[list, list[np.ndarray]]:
    """A city's communities as parents of the grid-level split: their polygons and the
    indices of the buildings each holds."""
    return [g for g, _ in data.communities], [idx for _, idx in data.communities]


def make_jobs(parents: list, blds: list[np.ndarray], data, lo: int, hi: int,
              engine: str | None = None, level: str = "micro_grid") -> list[tuple]:
    """Split jobs (WKB) for each parent with its buildings and the streets crossing it, as
    the split job makes them for `level`."""
    tree = shapely.STRtree(data.streets)
    jobs = []
    for geom, idx in zip(parents, blds, strict=True):
        near = data.streets[tree.query(geom, predicate="intersects")]
        jobs.append((geom.wkb, [b.wkb for b in data.buildings[idx]],
                     [int(h) for h in data.households[idx]], [r.wkb for r in near], lo, hi, 0,
                     engine, level))
    return jobs


def children(parents, blds, results) -> tuple[list, list[np.ndarray]]:
    """The parts of every parent and the building indices each part holds."""
    geoms, idxs = [], []
    for idx, (res, _) in zip(blds, results, strict=True):
        assignment = np.asarray(res[1], dtype=np.int64)
        for k, wkb in enumerate(res[0]):
            geoms.append(shapely.from_wkb(wkb))
            idxs.append(idx[assignment == k])
    return geoms, idxs


def divide_city(data, engine: str, processes: int) -> tuple[list, list[np.ndarray], list]:
    """The city's communities divided into grids, then the grids into micro-grids, by
    `engine`: (grids, the building indices of each grid, the micro-grid split results)."""
    parents, blds = communities(data)
    results = run_jobs(make_jobs(parents, blds, data, *LEVELS["grid"], engine, "grid"),
                       processes)
    grids, gblds = children(parents, blds, results)
    return grids, gblds, run_jobs(make_jobs(grids, gblds, data, *LEVELS["micro_grid"], engine),
                                  processes)


def reason_key(reason: str | None) -> str:
    """A short name for why a parent's households cannot meet the bounds."""
    text = reason or ""
    if "below" in text:
        return "below the minimum"
    return "no grouping" if "grouping" in text else "not divisible"


STREET_M = 10.0  # a boundary this near a street runs along it


def street_lengths(parent, parts, streets, tree) -> tuple[float, float]:
    """Metres of boundary between `parts` (the parent's outline left out) and how many of
    them lie within STREET_M of one of `streets` (lon/lat lines, indexed by `tree`)."""
    if len(parts) < 2:
        return 0.0, 0.0
    scale = metric_scale(parent)
    inner = shapely.difference(shapely.union_all(shapely.boundary(parts)),
                               shapely.buffer(shapely.boundary(parent), 1e-7))
    inner = to_metric(inner, scale)
    near = streets[tree.query(parent, predicate="intersects")]
    if not len(near):
        return float(inner.length), 0.0
    zone = shapely.buffer(to_metric(shapely.union_all(near), scale), STREET_M)
    return float(inner.length), float(shapely.intersection(inner, zone).length)


def evaluate(parents, blds, results, data, lo: int, hi: int) -> dict:
    """Quality figures of one level's division (see the module docstring)."""
    pps, in_bounds, feasible_parts, lone, contiguous, split_blds = [], 0, 0, 0, 0, 0
    area_err, reasons, impossible_parts, undecided = 0.0, Counter(), 0, 0
    parts_total, thin_parts, thin_in_thin, corridor, beside, walled = 0, 0, 0, 0, 0, 0
    no_trade = 0
    tree, inner_m, street_m, parent_pps = shapely.STRtree(data.streets), 0.0, 0.0, []
    for parent, idx, (res, _) in zip(parents, blds, results, strict=True):
        parts = shapely.from_wkb(np.asarray(res[0], dtype=object))
        hh_b = data.households[idx]
        scale = metric_scale(parent)
        part_pp = polsby_popper(parts, scale)
        pps += list(part_pp)
        parent_pps.append(float(polsby_popper([parent], scale)[0]))
        thin = int((part_pp < THIN_PP).sum())
        thin_parts += thin
        if thin and parent_pps[-1] < THIN_PP:
            thin_in_thin += thin
        parts_total += len(parts)
        inner, along = street_lengths(parent, parts, data.streets, tree)
        inner_m, street_m = inner_m + inner, street_m + along
        contiguous += int(sum(p.geom_type == "Polygon" for p in parts))
        total = float(shapely.area(parts).sum())
        union = shapely.area(shapely.union_all(parts))
        area_err = max(area_err, abs(total - parent.area) / parent.area,
                       abs(total - union) / parent.area)
        assignment = np.asarray(res[1], dtype=np.int64)
        if len(idx):
            foot = data.buildings[idx]
            inside = shapely.area(shapely.intersection(foot, parts[assignment]))
            within = shapely.area(shapely.intersection(foot, parent))  # OSM footprints may
            split_blds += int((inside < within - 1e-3 * shapely.area(foot)).sum())  # cross it
        verdict = packing(hh_b, lo, hi)
        counts = np.asarray(res[2])
        if verdict.feasible is False:
            impossible_parts += len(parts)
            reasons[reason_key(verdict.reason)] += 1
            continue
        undecided += verdict.feasible is None
        for k, count in enumerate(counts):
            held = hh_b[assignment == k]
            if (held > hi).any():  # not feasible: a building in it is over the maximum
                lone += 1
                beside += int(held.sum() - held.max())
                continue
            feasible_parts += 1
            in_bounds += int(lo <= count <= hi)
            corridor += any(r["code"] == "corridor" for r in res[6][k])
            walled += any(r["code"] == "walled" for r in res[6][k])
            no_trade += any(r["code"].startswith("no_trade") for r in res[6][k])
    pps = np.asarray(pps)
    cpu = np.array([c for _, c in results])
    return {"parents": len(parents), "parts": parts_total, "feasible": feasible_parts,
            "in_bounds": 100.0 * in_bounds / max(feasible_parts, 1), "lone": lone,
            "out": feasible_parts - in_bounds, "corridor": corridor, "beside": beside,
            "walled": walled, "no_trade": no_trade,
            "impossible_grids": sum(reasons.values()), "impossible_parts": impossible_parts,
            "reasons": dict(reasons), "undecided": undecided,
            "contiguous": 100.0 * contiguous / max(parts_total, 1),
            "area_error": area_err, "split_buildings": split_blds,
            "pp_mean": float(pps.mean()), "pp_p10": float(np.percentile(pps, 10)),
            "pp_min": float(pps.min()), "cpu_ms": 1000.0 * float(cpu.mean()),
            "parent_pp_mean": float(np.mean(parent_pps)), "parent_pp_min": min(parent_pps),
            "cpu_total": float(cpu.sum()), "thin": thin_parts, "thin_in_thin": thin_in_thin,
            "streets": 100.0 * street_m / max(inner_m, 1e-9)}


def line(name: str, level: str, s: dict) -> str:
    return (f"{name}/{level}: parents={s['parents']} parts={s['parts']} "
            f"feasible_in_bounds={s['in_bounds']:.1f}% (of {s['feasible']}; apart: "
            f"{s['lone']} lone buildings over max, {s['impossible_grids']} parents with "
            f"impossible arithmetic {s['reasons']} holding {s['impossible_parts']} parts; "
            f"{s['undecided']} parents undecided, counted feasible) "
            f"contiguous={s['contiguous']:.1f}% area_error={s['area_error']:.1e} "
            f"split_buildings={s['split_buildings']} pp_mean={s['pp_mean']:.3f} "
            f"pp_p10={s['pp_p10']:.3f} pp_min={s['pp_min']:.3f} thin={s['thin']} (PP under "
            f"{THIN_PP}; {s['thin_in_thin']} of them in parents under {THIN_PP}) "
            f"cpu_ms_per_parent={s['cpu_ms']:.1f}")


def divide(data, parents, blds, level: str, runs: int, processes: int,
           engine: str | None = None):
    """Split every parent `runs` times; the results of the last run, the median CPU seconds
    a parent and the median wall seconds of a run's splits, its workers started (the start's
    own wall seconds, median, fourth: a district pays it once, not per parent)."""
    lo, hi = LEVELS[level]
    jobs = make_jobs(parents, blds, data, lo, hi, engine, level)
    per_run, walls, starts = [], [], []
    for _ in range(runs):
        results, start, wall = run_jobs_timed(jobs, processes)
        walls.append(wall)
        starts.append(start)
        per_run.append(float(np.mean([c for _, c in results])))
    return (results, float(np.median(per_run)), float(np.median(walls)),
            float(np.median(starts)))


def bench_city(data, runs: int, processes: int, engine: str | None = None) -> dict:
    """Both levels of one city; returns the figures per level."""
    figures = {}
    parents, blds = communities(data)
    results, _, grid_wall, grid_start = divide(data, parents, blds, "grid", 1, processes,
                                               engine)
    figures["grid"] = evaluate(parents, blds, results, data, *LEVELS["grid"])
    grids, gblds = children(parents, blds, results)
    results, cpu, micro_wall, micro_start = divide(data, grids, gblds, "micro_grid", runs,
                                                   processes, engine)
    figures["micro_grid"] = evaluate(grids, gblds, results, data, *LEVELS["micro_grid"])
    figures["micro_grid"]["cpu_ms"] = 1000.0 * cpu
    figures["district_s"] = (DISTRICT_GRIDS * (grid_wall + micro_wall) / max(len(grids), 1)
                             + grid_start + micro_start)
    micro_parts = max(figures["micro_grid"]["parts"], 1)
    figures["mission_district_s"] = (DISTRICT_GRIDS * grid_wall / max(len(grids), 1)
                                     + DISTRICT_MICRO_GRIDS * micro_wall / micro_parts
                                     + grid_start + micro_start)
    figures["grids"] = (grids, gblds, results)
    return figures


def baseline(kind: str, grids, gblds, results, data, sample: list[int]) -> dict:
    """METIS (the engine's part count per grid) or max-p on `sample` of the grids."""
    from bench.baselines import maxp_baseline, metis_baseline

    lo, hi = LEVELS["micro_grid"]
    pps, counts_ok, feasible, contiguous, parts_total, cpu = [], 0, 0, 0, 0, []
    done = []  # the grids the baseline divided (max-p may not finish one in MAXP_SECONDS)
    for i in sample:
        idx = gblds[i]
        if len(idx) == 0:
            continue
        hh = data.households[idx]
        t0 = time.process_time()
        if kind == "metis":
            parts, counts = metis_baseline(grids[i], data.buildings[idx], hh, lo, hi,
                                           k=len(results[i][0][0]))
        else:
            got = maxp_baseline(grids[i], data.buildings[idx], hh, lo, hi)
            if got is None:
                continue
            parts, counts = got
        cpu.append(time.process_time() - t0)
        done.append(i)
        parts = [p for p in parts if not p.is_empty]
        pps += list(polsby_popper(parts, metric_scale(grids[i])))
        parts_total += len(parts)
        contiguous += sum(p.geom_type == "Polygon" for p in parts)
        if packing(hh, lo, hi).feasible is False:
            continue
        reps = shapely.point_on_surface(data.buildings[idx])
        for part, count in zip(parts, counts, strict=False):
            tall = hh[shapely.contains(part, reps)] > hi
            if tall.any():
                continue
            feasible += 1
            counts_ok += int(lo <= count <= hi)
    pps = np.asarray(pps)
    return {"grids": len(sample), "done": done, "parts": parts_total,
            "in_bounds": 100.0 * counts_ok / max(feasible, 1),
            "contiguous": 100.0 * contiguous / max(parts_total, 1),
            "pp_mean": float(pps.mean()), "pp_p10": float(np.percentile(pps, 10)),
            "pp_min": float(pps.min()), "cpu_ms": 1000.0 * float(np.mean(cpu))}


def main_real(args) -> None:
    """`split_bench.py --real`: every city, both levels, baselines; the last line sums up."""
    from bench.baselines import MAXP_SECONDS, maxp_available
    from bench.real_city import LOADERS

    runs = args.runs or (1 if args.quick else 3)
    rng = np.random.default_rng(1)
    summary = []
    for name in args.cities:
        data = LOADERS[name]()
        print(data.describe())
        figures = bench_city(data, runs, args.processes, args.engine)
        for level in ("grid", "micro_grid"):
            print(line(name, level, figures[level]))
        grids, gblds, results = figures["grids"]
        n = len(grids)
        sample = sorted(rng.choice(n, size=min(n, 60 if args.quick else 200), replace=False))
        metis = baseline("metis", grids, gblds, results, data, sample)
        ours = evaluate([grids[i] for i in sample], [gblds[i] for i in sample],
                        [results[i] for i in sample], data, *LEVELS["micro_grid"])
        print(f"{name}/micro_grid baseline METIS ({len(sample)} grids, same part counts): "
              f"in_bounds={metis['in_bounds']:.1f}% contiguous={metis['contiguous']:.1f}% "
              f"pp_mean={metis['pp_mean']:.3f} pp_p10={metis['pp_p10']:.3f} "
              f"pp_min={metis['pp_min']:.3f} cpu_ms={metis['cpu_ms']:.1f}; ours on the same "
              f"grids in_bounds={ours['in_bounds']:.1f}% pp_mean={ours['pp_mean']:.3f}")
        maxp = "maxp=n/a"
        if not maxp_available():
            print(f"{name}/micro_grid baseline max-p: not run, spopt is not installed "
                  "(.venv/bin/pip install -e '.[baselines]')")
        else:
            several = [i for i in sample if (data.households[gblds[i]] > 0).sum() > 1]
            few = several[: 10 if args.quick else 40]  # a grid of one building has one part
            mp = baseline("maxp", grids, gblds, results, data, few)
            ran = mp["done"]
            mine = evaluate([grids[i] for i in ran], [gblds[i] for i in ran],
                            [results[i] for i in ran], data, *LEVELS["micro_grid"])
            print(f"{name}/micro_grid baseline max-p ({len(ran)} grids; {len(few) - len(ran)} "
                  f"more not finished in {MAXP_SECONDS:.0f} s; threshold "
                  f"{LEVELS['micro_grid'][0]}): in_bounds={mp['in_bounds']:.1f}% "
                  f"contiguous={mp['contiguous']:.1f}% pp_mean={mp['pp_mean']:.3f} "
                  f"pp_min={mp['pp_min']:.3f} cpu_ms={mp['cpu_ms']:.1f}; ours on the same "
                  f"grids in_bounds={mine['in_bounds']:.1f}% pp_mean={mine['pp_mean']:.3f} "
                  f"pp_min={mine['pp_min']:.3f}")
            maxp = (f"maxp_in_bounds={mp['in_bounds']:.1f}% maxp_pp={mp['pp_mean']:.3f} "
                    f"maxp_unfinished={len(few) - len(ran)}/{len(few)} "
                    f"ours_on_maxp_grids={mine['in_bounds']:.1f}%/{mine['pp_mean']:.3f}")
        g, m = figures["grid"], figures["micro_grid"]
        summary.append(
            f"{name}: grids={g['parts']} grid_in_bounds={g['in_bounds']:.1f}% "
            f"grid_pp={g['pp_mean']:.3f}/{g['pp_min']:.3f} "
            f"grid_thin={g['thin']}/{g['thin_in_thin']} "
            f"community_pp={g['parent_pp_mean']:.3f}/{g['parent_pp_min']:.3f} "
            f"grid_streets={g['streets']:.1f}% "
            f"grid_cpu_ms_per_grid={g['cpu_ms'] * g['parents'] / max(g['parts'], 1):.1f} "
            f"micro={m['parts']} "
            f"in_bounds={m['in_bounds']:.1f}% out={m['out']}/{m['corridor']} "
            f"walled={m['walled']} no_trade={m['no_trade']} "
            f"apart={m['lone']}+{m['impossible_parts']} beside_towers={m['beside']} "
            f"contiguous={m['contiguous']:.0f}% split_buildings={m['split_buildings']} "
            f"pp_mean={m['pp_mean']:.3f} pp_p10={m['pp_p10']:.3f} pp_min={m['pp_min']:.3f} "
            f"thin={m['thin']}/{m['thin_in_thin']} streets={m['streets']:.1f}% "
            f"cpu_ms_per_grid={m['cpu_ms']:.1f} micro_per_grid={m['parts'] / m['parents']:.1f} "
            f"cpu_ms_per_micro={m['cpu_ms'] * m['parents'] / max(m['parts'], 1):.2f} "
            f"district_s={figures['district_s']:.1f} "
            f"mission_district_s={figures['mission_district_s']:.1f} "
            f"metis_in_bounds={metis['in_bounds']:.1f}% "
            f"metis_pp={metis['pp_mean']:.3f} {maxp}")
    print("split_real: " + " | ".join(summary))
