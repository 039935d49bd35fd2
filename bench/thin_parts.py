"""Where the thinnest micro-grids come from: the real-city split (bench/real_bench.py, both
levels, one run) and, for every micro-grid under Polsby-Popper 0.2, its PP, the buildings and
households it holds, its grid's PP, the PP of its convex hull and its outline's vertices. A part
thin by shape (a row of buildings) has a thin hull too; a part thin by a ragged outline has a
compact hull. The last line sums up.

    .venv/bin/python bench/thin_parts.py [--engine cuts|growth] [--city monaco|shanghai]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.real_bench import divide_city  # noqa: E402
from bench.real_city import LOADERS  # noqa: E402
from gis.partition.diagnose import THIN_PP  # noqa: E402
from gis.partition.quality import metric_scale, polsby_popper  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", choices=["cuts", "growth"], default="growth")
    ap.add_argument("--city", choices=sorted(LOADERS), default="monaco")
    ap.add_argument("--processes", type=int, default=2)
    args = ap.parse_args()
    data = LOADERS[args.city]()
    grids, gblds, results = divide_city(data, args.engine, args.processes)
    rows = []
    for grid, idx, (res, _) in zip(grids, gblds, results, strict=True):
        parts = shapely.from_wkb(np.asarray(res[0], dtype=object))
        scale = metric_scale(grid)
        pp = polsby_popper(parts, scale)
        hull = polsby_popper(shapely.convex_hull(parts), scale)
        assignment = np.asarray(res[1], dtype=np.int64)
        grid_pp = float(polsby_popper([grid], scale)[0])
        for k in np.flatnonzero(pp < THIN_PP):
            rows.append((float(pp[k]), int((assignment == k).sum()),
                         int(data.households[idx][assignment == k].sum()), grid_pp,
                         float(hull[k]), len(shapely.get_coordinates(parts[k]))))
    rows.sort()
    print("pp buildings households grid_pp hull_pp vertices")
    for pp, nb, hh, gpp, hpp, nv in rows:
        print(f"{pp:.3f} {nb} {hh} {gpp:.3f} {hpp:.3f} {nv}")
    few = sum(nb <= 3 for _, nb, *_ in rows)
    ragged = sum(hpp >= 0.5 for *_, hpp, _ in rows)
    in_thin = sum(gpp < THIN_PP for _, _, _, gpp, _, _ in rows)
    hulls = np.median([r[4] for r in rows]) if rows else float("nan")
    print(f"thin_parts: city={args.city} engine={args.engine} thin={len(rows)} "
          f"pp_min={rows[0][0] if rows else float('nan'):.3f} of_2_3_buildings={few} "
          f"compact_hull={ragged} (hull PP >= 0.5) in_thin_grids={in_thin} "
          f"median_hull_pp={hulls:.3f}")


if __name__ == "__main__":
    main()
