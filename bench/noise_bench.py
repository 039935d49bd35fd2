"""How far the split's figures move when its input moves by less than a millimetre.

The real bench's figures (bench/real_bench.py) come from one run on one copy of each set. The
split is a search: where two divisions score almost alike, a change far below any survey's
precision can make it take the other, and every choice after that one differs too. So a
difference between two runs, or two rounds, means something only when it is larger than what
such a change alone does. This bench measures that floor. Every parent of the real sets
(bench/real_city.py; the communities divided into grids as the split job does it, then those
grids into micro-grids) is divided as given and in NOISY more copies, each with every
coordinate (parent, footprints, streets) rounded to DIGITS decimal degrees on a lattice
shifted by a different fraction of its step: each point moves by at most half of 1e-9
degrees, about 0.05 mm, which is what a file written with nine decimals does to it. A parent
whose rounded copy is not a valid polygon (or a footprint that is not) keeps its own
geometry in that copy (`kept` counts them).

Per city and level it prints the share of parents whose division changed (median over the
copies), and the median, lowest and highest over all runs of: the parts out of bounds that
could be in bounds (as the real bench counts them), the parts' mean and lowest Polsby-Popper,
and the CPU per parent (time.process_time, mean; the copies run in rotating order, so the
machine's drift falls on all alike).

    .venv/bin/python bench/noise_bench.py [--quick] [--copies N] [--cities monaco,shanghai,wuhan]
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

DIGITS = 9  # decimal degrees kept: a step of 1e-9 degrees, about 0.1 mm
NOISY = 4  # rounded copies besides the set as given (--quick: 2)


def rounded(wkbs: list[bytes], shift: float) -> tuple[list[bytes], bool]:
    """The geometries of `wkbs` with every coordinate rounded to DIGITS decimals on a lattice
    shifted by `shift` degrees, and whether all of them stayed valid (else: as given)."""
    if not wkbs:
        return wkbs, True
    geoms = shapely.from_wkb(np.asarray(wkbs, dtype=object))
    moved = shapely.transform(geoms, lambda xy: np.round(xy + shift, DIGITS) - shift)
    areal = np.isin(shapely.get_type_id(geoms), (3, 6))  # (multi)polygons must stay valid
    if not shapely.is_valid(moved[areal]).all():
        return wkbs, False
    return [g.wkb for g in moved], True


def noisy_job(job: tuple, shift: float) -> tuple[tuple, bool]:
    """`job` with its parent, footprints and streets rounded (`rounded`), and whether the
    rounded copy is used (False: the job as given)."""
    parent, parent_ok = rounded([job[0]], shift)
    feet, feet_ok = rounded(job[1], shift)
    streets, _ = rounded(job[3], shift)
    if not (parent_ok and feet_ok):
        return job, False
    return (parent[0], feet, job[2], streets, *job[4:]), True


def spread(jobs: list[tuple], copies: int) -> dict:
    """Every job divided as given and in `copies` rounded copies (module docstring)."""
    shifts = [0.0] + [(k + 0.5) / copies * 10.0 ** -DIGITS for k in range(copies)]
    runs = [{"assign": [], "pps": [], "out": 0, "cpu": [], "kept": 0} for _ in shifts]
    for i, job in enumerate(jobs):
        for c in np.roll(np.arange(len(shifts)), i % len(shifts)).tolist():
            used, noisy = (job, True) if c == 0 else noisy_job(job, shifts[c])
            result, seconds = timed_split(used)
            run = runs[c]
            run["assign"].append(result[1])
            run["pps"].extend(result[3])
            run["out"] += feasible_out(used, result)
            run["cpu"].append(seconds)
            run["kept"] += not noisy
    given = runs[0]["assign"]
    changed = [100.0 * np.mean([a != b for a, b in zip(run["assign"], given, strict=True)])
               for run in runs[1:]]
    return {"parents": len(jobs), "changed": float(np.median(changed)),
            "out": [run["out"] for run in runs],
            "pp_mean": [float(np.mean(run["pps"])) for run in runs],
            "pp_min": [float(np.min(run["pps"])) for run in runs],
            "cpu_ms": [1000.0 * float(np.mean(run["cpu"])) for run in runs],
            "kept": sum(run["kept"] for run in runs[1:])}


def fields(figures: dict) -> str:
    """One city and level: changed share, then each figure as median (lowest-highest), the
    set as given first."""
    def three(key: str, fmt: str) -> str:
        values = figures[key]
        return (f"{format(values[0], fmt)}/{format(float(np.median(values)), fmt)}"
                f"({format(min(values), fmt)}-{format(max(values), fmt)})")

    return (f"parents={figures['parents']} changed={figures['changed']:.0f}% "
            f"out={three('out', 'g')} pp_mean={three('pp_mean', '.4f')} "
            f"pp_min={three('pp_min', '.3f')} cpu_ms={three('cpu_ms', '.1f')} "
            f"kept={figures['kept']}")


def main() -> None:
    ap = city_parser(__doc__)
    ap.add_argument("--levels", type=level_names, default="grid,micro_grid")
    ap.add_argument("--copies", type=int, default=None,
                    help=f"rounded copies besides the set as given (default {NOISY}, "
                         "--quick 2)")
    ap.add_argument("--quick", action="store_true",
                    help="two copies, every 2nd grid at the micro level")
    args = ap.parse_args()
    copies = args.copies if args.copies is not None else (2 if args.quick else NOISY)
    if copies < 1:
        ap.error("--copies must be at least 1")
    summary = []
    for name, level, jobs in city_level_jobs(args.cities, args.levels, 2 if args.quick else 1):
        line = f"{name}/{level}: {fields(spread(jobs, copies))}"
        print(line, flush=True)
        summary.append(line)
    print(f"noise_bench (as given/median(lowest-highest) over the set and {copies} copies "
          f"rounded to {DIGITS} decimals): " + " | ".join(summary))


if __name__ == "__main__":
    main()
