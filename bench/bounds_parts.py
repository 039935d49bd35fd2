"""Which feasible micro-grids are still out of bounds, and why the improvement pass left them:
the real-city split (bench/real_bench.py, both levels, one run) and, for every micro-grid
outside 30-50 households in a grid whose arithmetic allows the bounds (not one building over
the maximum), its grid, part, households, its neighbours' households and a reason:

- `towers`: at least half of its neighbours are single buildings over the maximum;
- `no_move`: no single building of the part or of a neighbour, moved across their shared
  edge, brings it within the bounds with the neighbour staying within them (households only,
  geometry ignored): a chain or a regrouping of three or more parts is needed;
- `geometry`: such a move exists in the households, but every one breaks a part in two, or
  leaves a part under the passes' Polsby-Popper floor (or takes a building not on the
  shared edge).

The last line sums up.

    .venv/bin/python bench/bounds_parts.py [--engine cuts|growth] [--city monaco|shanghai]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.real_bench import LEVELS, divide_city  # noqa: E402
from bench.real_city import LOADERS  # noqa: E402
from gis.partition.diagnose import lone_building  # noqa: E402
from gis.partition.feasible import packing  # noqa: E402


def neighbours(parts, k: int) -> list[int]:
    """Parts sharing an edge with part k."""
    return [j for j in range(len(parts)) if j != k and shapely.length(
        shapely.intersection(parts[k].boundary, parts[j].boundary)) > 0]


def one_move(count: int, held_k: np.ndarray, count_j: int, held_j: np.ndarray, lo: int,
             hi: int) -> bool:
    """Whether one building moved between part k and neighbour j puts both within lo..hi."""
    give = [x for x in held_k.tolist() if lo <= count - x <= hi and lo <= count_j + x <= hi]
    take = [x for x in held_j.tolist() if lo <= count + x <= hi and lo <= count_j - x <= hi]
    return bool(give or take)


def reason(k: int, parts, counts, held, near: list[int], lo: int, hi: int) -> str:
    """Why part k is left out of bounds (see the module docstring)."""
    lone = [lone_building(held[j], hi) for j in near]
    if near and 2 * sum(lone) >= len(near):
        return "towers"
    if not any(one_move(counts[k], held[k], counts[j], held[j], lo, hi)
               for j, tower in zip(near, lone, strict=True) if not tower):
        return "no_move"
    return "geometry"


def listing(grids, gblds, results, households, lo: int, hi: int) -> list[tuple]:
    """(grid, part, households, neighbours' households, reason) of every feasible part out of
    bounds."""
    rows = []
    for g, (grid, idx, (res, _)) in enumerate(zip(grids, gblds, results, strict=True)):
        hh = households[idx]
        assignment = np.asarray(res[1], dtype=np.int64)
        counts = [int(c) for c in res[2]]
        if packing(hh, lo, hi).feasible is False:
            continue
        parts = shapely.from_wkb(np.asarray(res[0], dtype=object))
        held = [hh[assignment == k] for k in range(len(parts))]
        for k, count in enumerate(counts):
            if lo <= count <= hi or (held[k] > hi).any():
                continue
            near = neighbours(parts, k)
            rows.append((g, k + 1, count, [counts[j] for j in near],
                         reason(k, parts, counts, held, near, lo, hi), len(held[k]),
                         int(held[k].max()) if len(held[k]) else 0, grid))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", choices=["cuts", "growth"], default="growth")
    ap.add_argument("--city", choices=sorted(LOADERS), default="monaco")
    ap.add_argument("--processes", type=int, default=2)
    args = ap.parse_args()
    data = LOADERS[args.city]()
    grids, gblds, results = divide_city(data, args.engine, args.processes)
    rows = listing(grids, gblds, results, data.households, *LEVELS["micro_grid"])
    print("grid part households buildings largest neighbours reason")
    for g, k, count, near, why, nb, big, _ in rows:
        print(f"{g} {k} {count} {nb} {big} {','.join(map(str, near))} {why}")
    why = Counter(r[4] for r in rows)
    print(f"bounds_parts: city={args.city} engine={args.engine} out_of_bounds={len(rows)} "
          f"grids={len({r[0] for r in rows})} " + " ".join(f"{k}={why[k]}" for k in
                                                          ("towers", "no_move", "geometry")))


if __name__ == "__main__":
    main()
