"""The taut step's sweeps grid by grid, or every grid of a set at once, and the split job's
batches: what batching buys.

The split's CPU goes to tens of thousands of small numpy and GEOS calls a grid (README, "where
that CPU goes"), each with a fixed cost that one call over many grids would share. This bench
measures that on one stage: the sweeps of the split's last step, which pull the parts' shared
boundaries taut round the footprints (gis.partition.taut.swept). Every grid of the real sets
(bench/real_city.py: the communities divided into grids as the split job does it; every
`--every`th, 5 with `--quick`) is divided into micro-grids once, and the division its last
pull started from is kept (parts, outline, footprints). Then the runs of shared edges are
swept grid by grid, and for all the set's grids in one go (`run_parent`, `part_parent`: each
run weighed against its own grid's outline, parts and footprints only), `--rounds` times in
turn (3 with `--quick`), each side building its own trees. It prints per city the grids and
runs, whether every run came out the same both ways (`same`), each side's CPU per grid (the
median over rounds, time.process_time) and their ratio (none unless the same).

Then the whole micro-grid split as the split job runs it, in batches of split_job.BATCH grids
whose last step (the boundaries pulled taut, gis.partition.taut.tautened_many) runs over the
batch at once (`_split_batch`), against the same grids split one by one (`_split_one`), batch
by batch in alternating order, `--rounds` times: whether every grid's result (parts, their
households, Polsby-Popper and reasons) is the same both ways (`split_same`), each way's CPU
per grid (median over rounds) and their ratio (none unless the same).

    .venv/bin/python bench/batch_bench.py [--quick] [--every N] [--rounds N]
        [--cities monaco,shanghai,wuhan]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.growth_profile import city_level_jobs  # noqa: E402
from bench.real_city import city_parser  # noqa: E402
from bench.replay_bench import recorded  # noqa: E402
from gis.partition import taut  # noqa: E402
from importers.split_job import BATCH, _split_batch, _split_one, batches  # noqa: E402


def last_pulls(jobs: list[tuple]) -> list[taut.Pull]:
    """Per job, the division the split's last step pulls taut (what it gives
    taut.pulled_taut_many, one job at a time), where it has runs of shared edges."""
    pulls = []
    for job in jobs:
        calls = recorded("gis.partition.taut", "pulled_taut_many", [job])
        pulls += [pull for pull in (calls[-1][0][0] if calls else []) if pull is not None]
    return pulls


def one_by_one(pulls: list[taut.Pull]) -> list[list[np.ndarray]]:
    """Each grid's runs swept on their own, as the split does it for one grid."""
    return [taut.swept_alone(pull) for pull in pulls]


def all_at_once(pulls: list[taut.Pull]) -> list[list[np.ndarray]]:
    """Every grid's runs swept in one go, each against its own grid only."""
    return taut.swept_together(pulls)


def same(a: list[list[np.ndarray]], b: list[list[np.ndarray]]) -> bool:
    return len(a) == len(b) and all(
        len(x) == len(y) and all(np.array_equal(p, q) for p, q in zip(x, y, strict=True))
        for x, y in zip(a, b, strict=True))


def split_both_ways(jobs: list[tuple], rounds: int) -> tuple[bool, float, float]:
    """Whether the split job's batches give every job the result it gets alone, and the CPU
    seconds a job each way (medians over `rounds`; batch by batch, the order alternating)."""
    alike, spent = True, {False: [], True: []}
    for r in range(rounds):
        total = {False: 0.0, True: 0.0}
        for i, batch in enumerate(batches(jobs)):
            out = {}
            for batched in ((False, True) if (i + r) % 2 == 0 else (True, False)):
                t = time.process_time()
                out[batched] = _split_batch(batch) if batched else [_split_one(j) for j in batch]
                total[batched] += time.process_time() - t
            alike &= out[False] == out[True]
        for batched in total:
            spent[batched].append(total[batched] / max(len(jobs), 1))
    return alike, float(np.median(spent[False])), float(np.median(spent[True]))


def main() -> None:
    ap = city_parser(__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--every", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=None)
    args = ap.parse_args()
    every = args.every or (5 if args.quick else 1)
    rounds = args.rounds or (3 if args.quick else 5)
    line = []
    for city, _, jobs in city_level_jobs(args.cities, ["micro_grid"], every):
        pulls = last_pulls(jobs)
        spent: dict = {one_by_one: [], all_at_once: []}
        results: dict = {}
        for r in range(rounds):
            for way in ((one_by_one, all_at_once) if r % 2 == 0 else (all_at_once, one_by_one)):
                t = time.process_time()
                results[way] = way(pulls)
                spent[way].append(time.process_time() - t)
        alike = same(results[one_by_one], results[all_at_once])
        each, batch = (1000 * float(np.median(spent[w])) / max(len(pulls), 1)
                       for w in (one_by_one, all_at_once))
        ratio = f" one_by_one/at_once={each / batch:.2f}" if alike and batch > 0 else ""
        split_same, alone, batched = split_both_ways(jobs, rounds)
        split_ratio = (f" split_one_by_one/batched={alone / batched:.2f}"
                       if split_same and batched > 0 else "")
        line.append(f"{city}: grids={len(pulls)} runs={sum(len(p.runs) for p in pulls)} "
                    f"same={alike} one_by_one_ms_per_grid={each:.2f} "
                    f"at_once_ms_per_grid={batch:.2f}{ratio} split_grids={len(jobs)} "
                    f"split_same={split_same} split_one_by_one_ms_per_grid={1000 * alone:.1f} "
                    f"split_batched_ms_per_grid={1000 * batched:.1f}{split_ratio}")
        print(line[-1], flush=True)
    print(f"batch_bench (the taut step's sweeps, and the split in batches of {BATCH}, "
          f"{rounds} rounds): " + " | ".join(line))


if __name__ == "__main__":
    main()
