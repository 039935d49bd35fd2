"""The passes' screen of straight lines across a pair of parts: clipped, or in closed form.

Where a pair of neighbouring parts holds one under 0.2, the split's passes screen straight
lines across the pair's union before drawing the best few (gis.partition.reshape): at each of
24 directions, positions across the gap between the two parts' buildings, each scored by the
lower Polsby-Popper of the union's two sides. Until 2026-12-03 each position was two clips of
the union (shapely.clip_by_rect); now all are measured at once in closed form from the
union's rings (gis.partition.halves).

This bench takes every pair of neighbouring micro-grids of the real sets (bench/real_city.py:
the communities divided into grids and the grids into micro-grids as the split job does it;
every `--every`th grid, 5 with `--quick`), in metres from the union's first vertex, and screens
each pair's union both ways at the same positions: at each direction, 32 spread evenly across
the union's extent. Where the two disagree (one polygon on each side or not, or Polsby-Popper
beyond 1e-9 relative and 1e-12 absolute), exact overlays (shapely.intersection) decide:
`mismatches` counts the positions where the closed form is wrong, `clip_wrong` those where the
clips are (their output is not checked). It prints per city the pairs (`invalid`: those left
out because a turn of their union is not a valid polygon, which no overlay can be trusted on),
the positions, both counts, the median CPU per pair of each screen and the ratio of their
totals (none where the closed form was wrong). Same unions, same positions, one process, no
cache on either side.

    .venv/bin/python bench/halves_bench.py [--quick] [--every N] [--cities monaco,shanghai,wuhan]
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.growth_profile import city_level_jobs  # noqa: E402
from bench.real_city import city_parser  # noqa: E402
from gis.partition.halves import lower_pp  # noqa: E402
from gis.partition.quality import (
    metric_scale,  # noqa: E402
    pp_value,  # noqa: E402
)
from gis.partition.reshape import ANGLES, _turn, shared_edges  # noqa: E402
from importers.split_job import _split_one  # noqa: E402

POSITIONS = 32  # positions screened per direction (the passes: 16 on either side of a pair)
RTOL = 1e-9
ATOL = 1e-12  # a side of no area (a hairline spike of the union): Polsby-Popper about 0 either way


def turns() -> np.ndarray:
    """The rotations taking each direction's normal to the x axis, as the passes turn."""
    return np.stack([_turn(jj) for jj in range(ANGLES)])


def positions(rings: list[np.ndarray]) -> np.ndarray:
    """(directions, POSITIONS): spread evenly across the exterior ring's extent along each
    direction's normal (the ring turned by `turns`), ends left out."""
    x = rings[0][..., 0]
    lo, hi = x.min(axis=1), x.max(axis=1)
    steps = (np.arange(POSITIONS) + 0.5) / POSITIONS
    return lo[:, None] + steps * (hi - lo)[:, None]


def clipped(union: shapely.Polygon, turn: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """The peer, as the passes screened before: the lower Polsby-Popper of `union` turned by
    `turn` and clipped on either side of x = t at each position (NaN where either side is not
    one polygon)."""
    turned = shapely.transform(union, lambda xy: xy @ turn)
    x0, y0, x1, y1 = turned.bounds
    out = np.full(len(ts), np.nan)
    for k, t in enumerate(ts.tolist()):
        try:
            cut = [shapely.clip_by_rect(turned, x0 - 1, y0 - 1, t, y1 + 1),
                   shapely.clip_by_rect(turned, t, y0 - 1, x1 + 1, y1 + 1)]
        except shapely.errors.GEOSException:
            continue
        out[k] = lower_of(cut)
    return out


def lower_of(cut: list) -> float:
    """The lower Polsby-Popper of a polygon's two sides `cut`, NaN unless each is one
    polygon."""
    if all(g.geom_type == "Polygon" and not g.is_empty for g in cut):
        return min(pp_value(g.area, g.length) for g in cut)
    return math.nan


def pair_unions(jobs: list[tuple]) -> list[shapely.Polygon]:
    """The union, in metres from its first vertex, of every pair of neighbouring micro-grids
    the split makes of `jobs`' grids that is one polygon."""
    unions = []
    for job in jobs:
        parts = list(shapely.from_wkb(np.asarray(_split_one(job)[0], dtype=object)))
        scale = np.asarray(metric_scale(shapely.from_wkb(job[0])))
        for i, j, _ in shared_edges(parts):
            union = shapely.union(parts[i], parts[j])
            if union.geom_type == "Polygon":
                origin = shapely.get_coordinates(union.exterior)[0]
                unions.append(shapely.transform(union, lambda xy, s=scale, o=origin:
                                                (xy - o) * s))
    return unions


def overlaid(turned: shapely.Polygon, t: float) -> float:
    """The arbiter where the two screens disagree: `turned`'s sides of x = t by exact
    overlays (shapely.intersection, which checks its input and output), as `clipped`."""
    x0, y0, x1, y1 = turned.bounds
    cut = [shapely.intersection(turned, shapely.box(x0 - 1, y0 - 1, t, y1 + 1)),
           shapely.intersection(turned, shapely.box(t, y0 - 1, x1 + 1, y1 + 1))]
    return lower_of(cut)


def _agree(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Where two screens agree: both NaN, or within RTOL (or ATOL)."""
    both = ~np.isnan(a) & ~np.isnan(b)
    close = np.zeros(a.shape, bool)
    close[both] = np.isclose(a[both], b[both], rtol=RTOL, atol=ATOL)
    return (np.isnan(a) & np.isnan(b)) | close


def compare(unions: list[shapely.Polygon]) -> dict:
    """Both screens of every union at the same positions: the positions, those where the
    closed form disagrees with exact overlays (`mismatches`), those where the clips do while
    the closed form does not (`clip_wrong`: shapely.clip_by_rect's output is not checked and
    may join two pieces of a side into one polygon), the unions whose turned polygon is not
    valid (left out: no overlay of it can be trusted), and the CPU seconds per union of
    each screen."""
    rotations = turns()
    clip_s, closed_s = [], []
    found = {"pairs": 0, "positions": 0, "mismatches": 0, "clip_wrong": 0, "invalid": 0}
    for union in unions:
        turned = [shapely.transform(union, lambda xy, m=turn: xy @ m) for turn in rotations]
        if not all(shapely.is_valid(turned)):
            found["invalid"] += 1
            continue
        t0 = time.process_time()
        rings = [shapely.get_coordinates(r) for r in (union.exterior, *union.interiors)]
        stacked = [np.stack([ring @ turn for turn in rotations]) for ring in rings]
        ts = positions(stacked)
        closed = lower_pp(stacked, ts)
        t1 = time.process_time()
        clip = np.stack([clipped(union, turn, row) for turn, row in zip(rotations, ts,
                                                                         strict=True)])
        t2 = time.process_time()
        closed_s.append(t1 - t0)
        clip_s.append(t2 - t1)
        for d, k in np.argwhere(~_agree(closed, clip)).tolist():
            exact = np.asarray([overlaid(turned[d], float(ts[d, k]))])
            wrong = "clip_wrong" if _agree(closed[d, k:k + 1], exact)[0] else "mismatches"
            found[wrong] += 1
        found["pairs"] += 1
        found["positions"] += closed.size
    return {**found, "clip": np.asarray(clip_s), "closed": np.asarray(closed_s)}


def summary(name: str, found: dict) -> str:
    """One city's figures for the last line."""
    clip, closed = found["clip"], found["closed"]
    line = (f"{name}: pairs={found['pairs']} invalid={found['invalid']} "
            f"positions={found['positions']} mismatches={found['mismatches']} "
            f"clip_wrong={found['clip_wrong']} clip_ms_per_pair={1000 * np.median(clip):.2f} "
            f"closed_ms_per_pair={1000 * np.median(closed):.2f}")
    if found["mismatches"] or not found["pairs"]:
        return line + " clip/closed=none"
    return line + f" clip/closed={clip.sum() / closed.sum():.1f}"


def main() -> None:
    ap = city_parser(__doc__)
    ap.add_argument("--every", type=int, default=1, help="every Nth grid (default: all)")
    ap.add_argument("--quick", action="store_true", help="every 5th grid")
    args = ap.parse_args()
    every = 5 if args.quick else args.every
    lines = [summary(name, compare(pair_unions(jobs)))
             for name, _, jobs in city_level_jobs(args.cities, ["micro_grid"], every)]
    print("halves_bench (a pair's union screened at 24 directions x 32 positions: clipped "
          "vs closed form, medians per pair): " + " | ".join(lines))


if __name__ == "__main__":
    main()
