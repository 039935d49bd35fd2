"""Balanced power diagrams as the graph engine's first division, against its straight sweeps.

Issue 17 names balanced power diagrams (Cohen-Addad, Klein, Young 2018: cells of a power
diagram, convex, each holding its share of the population) among the ways known to give compact
districts. Here they are tried where the graph engine (gis.partition.graph) makes its first
division of a connected group of units into k parts, the recursive straight sweeps
(Assigner.bisect), before the same repairs and local moves:

- sites start at the area centroids of the sweeps' k parts; every unit goes to the site of
  least power distance |x - c|^2 - w; a part's weight rises while it holds fewer households
  than the group's mean and falls while it holds more (a step that shrinks each round), until
  every part is within the bounds (or ITERS rounds); the sites then move to their parts' area
  centroids (a Lloyd step) and it starts again, LLOYD times; the division with the fewest
  households out of bounds is kept. Units are indivisible, so the bounds are what it aims at,
  not exact shares. A part's pieces cut off from its largest one join the neighbouring part
  they share the longest edge with (a convex cell clipped by a winding parent falls apart);
- `power`: the power diagram's division where it ranks better on the unit graph than the
  sweeps' (contiguous first, then fewer households out of bounds, the lowest Polsby-Popper up
  to 0.3, the mean), else the sweeps'; then the search goes on as it does;
- `both`: the search run twice, from each first division, and the more compact result kept
  (graph._compactness: fewer households out of bounds, no part under 0.2, the higher mean).

Every parent of the real sets (bench/real_city.py: the communities divided into grids as the
split job does it, then those grids into micro-grids) is divided with the sweeps alone and with
each way, the two runs of a parent back to back in alternating order in one process, so the
machine's drift falls on both alike. Per city, level and way it prints the CPU per parent
(time.process_time, mean; `power/sweeps` their ratio), the parents whose division changed, the
parts out of bounds that could be in bounds (as the real bench counts them) and the parts' mean
and lowest Polsby-Popper, sweeps first. Nothing here is used by the split itself.

    .venv/bin/python bench/power_bench.py [--quick] [--cities monaco,shanghai,wuhan]
        [--modes power,both] [--levels grid,micro_grid]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.growth_profile import city_level_jobs, level_names  # noqa: E402
from bench.real_city import city_parser  # noqa: E402
from bench.tail_bench import with_and_without  # noqa: E402
from gis.partition import graph  # noqa: E402
from gis.partition.assign import Assigner  # noqa: E402
from gis.partition.quality import pp_of  # noqa: E402
from gis.partition.subsets import missed  # noqa: E402

ITERS = 60  # weight rounds per set of sites
LLOYD = 8  # sets of sites (each moved to the last division's area centroids)
SHRINK = 0.93  # the weights' step, per round
REPAIR_ROUNDS = 5  # rounds of joining cut-off pieces to a neighbour
PP_CAP = 0.3  # the lowest Polsby-Popper counts up to this when two first divisions are ranked


def _centroids(label: np.ndarray, xy: np.ndarray, area: np.ndarray, k: int,
               before: np.ndarray) -> np.ndarray:
    """The area centroid of each of k parts (units labelled `label`), `before`'s point for a
    part holding no area."""
    mass = np.bincount(label, weights=area, minlength=k)
    held = mass > 0
    centre = np.c_[np.bincount(label, weights=area * xy[:, 0], minlength=k),
                   np.bincount(label, weights=area * xy[:, 1], minlength=k)]
    return np.where(held[:, None], centre / np.where(held, mass, 1.0)[:, None], before)


def power_labels(xy: np.ndarray, h: np.ndarray, area: np.ndarray, sites: np.ndarray,
                 lo: int, hi: int) -> np.ndarray:
    """Each unit's part (0..k-1) in the balanced power diagram of `sites` (see the module
    docstring): units at `xy` with households `h` and areas `area`, bounds lo..hi."""
    k = len(sites)
    target = float(h.sum()) / k
    span = float(np.ptp(xy[:, 0]) ** 2 + np.ptp(xy[:, 1]) ** 2) or 1.0
    best: tuple[float, np.ndarray] | None = None
    for _ in range(LLOYD):
        weight = np.zeros(k)
        dist = ((xy[:, None, :] - sites[None, :, :]) ** 2).sum(-1)
        step = span / k
        for _ in range(ITERS):
            label = np.argmin(dist - weight[None, :], axis=1)
            load = np.bincount(label, weights=h, minlength=k)
            if ((load >= lo) & (load <= hi)).all():
                break
            weight += step * (target - load) / target
            step *= SHRINK
        miss = float(missed(load, lo, hi).sum())
        if best is None or miss < best[0]:
            best = (miss, label.copy())
        sites = _centroids(label, xy, area, k, sites)
    return best[1]


def _joined(a: Assigner, members: np.ndarray, first: int, k: int) -> None:
    """Each part's pieces cut off from its largest (households, then units) given to the
    neighbouring part of the same group they share the longest edge with."""
    h = a.g.households
    for _ in range(REPAIR_ROUNDS):
        moved = False
        for p in range(first, first + k):
            pieces = a.components(members[a.part[members] == p])
            if len(pieces) < 2:
                continue
            keep = max(pieces, key=lambda c: (int(h[c].sum()), len(c)))
            for piece in pieces:
                if piece is keep:
                    continue
                votes: dict[int, float] = {}
                for u in piece.tolist():
                    for v, w in zip(a.near_lists[u], a.near_len[u].tolist(), strict=True):
                        q = int(a.part[v])
                        if q != p and first <= q < first + k:
                            votes[q] = votes.get(q, 0.0) + w
                if votes:
                    a.part[piece] = max(votes, key=votes.get)
                    moved = True
        if not moved:
            return


def _rank(a: Assigner, members: np.ndarray, first: int, k: int) -> tuple:
    """A first division of `members` ranked on the unit graph, lower better (module
    docstring)."""
    g = a.g
    label = np.full(g.n, k, dtype=np.int64)
    label[members] = a.part[members] - first
    hh, area, per = g.sums(label, k + 1)
    hh, area, per = hh[:k], area[:k], per[:k]
    pp = pp_of(area, per)
    miss = float(missed(hh, a.lo, a.hi).sum())
    broken = any(len(a.components(members[a.part[members] == first + p])) != 1
                 for p in range(k))
    return broken, miss, -float(np.minimum(pp, PP_CAP).min()), -float(pp.mean())


class PowerAssigner(Assigner):
    """An Assigner whose first division of a group (the top call of `bisect`) is the
    balanced power diagram's where that ranks better than the sweeps' (`_rank`)."""

    _nested = False

    def bisect(self, members: np.ndarray, k: int, first_part: int) -> int:
        if self._nested or k <= 1 or len(members) <= k:
            return super().bisect(members, k, first_part)
        self._nested = True
        try:
            nxt = super().bisect(members, k, first_part)
        finally:
            self._nested = False
        sweeps = self.part[members].copy()
        label = sweeps - first_part
        g = self.g
        xy, area = g.xy[members], g.area[members]
        sites = _centroids(label, xy, area, k, np.zeros((k, 2)))
        ranked = _rank(self, members, first_part, k)
        self.part[members] = first_part + power_labels(
            xy, g.households[members].astype(float), area, sites, self.lo, self.hi)
        _joined(self, members, first_part, k)
        if (len(np.unique(self.part[members])) < k
                or _rank(self, members, first_part, k) >= ranked):
            self.part[members] = sweeps
        return nxt


_SEARCH = graph._assignment


def both_searched(g, lo: int, hi: int, lone: np.ndarray, fixed: np.ndarray,
                  delta: int) -> Assigner:
    """graph._assignment from the sweeps' first division and from the power diagram's (where
    it ranks better), the more compact kept (graph._compactness)."""
    sweeps = _SEARCH(g, lo, hi, lone, fixed, delta)
    graph.Assigner = PowerAssigner
    try:
        power = _SEARCH(g, lo, hi, lone, fixed, delta)
    finally:
        graph.Assigner = Assigner
    return power if graph._compactness(power, fixed) < graph._compactness(sweeps, fixed) else sweeps


MODES = {"power": ("Assigner", PowerAssigner), "both": ("_assignment", both_searched)}


def compared(jobs: list[tuple], mode: str) -> dict:
    """Every job divided with the sweeps and with `mode`, back to back (module docstring):
    tail_bench's measure, the sweeps its `on` side and `mode` its `off`."""
    setting, value = MODES[mode]
    return with_and_without(jobs, graph, setting, value)


def field(mode: str, f: dict) -> str:
    """One way's figures, the sweeps' first."""
    a, b = f["on"], f["off"]
    return (f"{mode}: mean_ms={a['mean_ms']:.1f}/{b['mean_ms']:.1f} "
            f"power/sweeps={f['ratio']:.2f} "
            f"changed={f['changed']} out={a['out']}/{b['out']} "
            f"pp_mean={a['pp_mean']:.4f}/{b['pp_mean']:.4f} "
            f"pp_min={a['pp_min']:.3f}/{b['pp_min']:.3f}")


def main() -> None:
    ap = city_parser(__doc__)
    ap.add_argument("--modes", default="power,both")
    ap.add_argument("--levels", type=level_names, default="grid,micro_grid")
    ap.add_argument("--quick", action="store_true", help="every 2nd grid at the micro level")
    args = ap.parse_args()
    modes = args.modes.split(",")
    bad = sorted(set(modes) - set(MODES))
    if bad:
        ap.error(f"unknown mode {', '.join(bad)}; modes: {', '.join(MODES)}")
    summary = []
    for name, level, jobs in city_level_jobs(args.cities, args.levels, 2 if args.quick else 1):
        fields = [field(mode, compared(jobs, mode)) for mode in modes]
        line = f"{name}/{level}: parents={len(jobs)} " + " ".join(fields)
        print(line, flush=True)
        summary.append(line)
    print("power_bench (sweeps/power diagram first): " + " | ".join(summary))


if __name__ == "__main__":
    main()
