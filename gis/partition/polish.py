"""The passes after either engine: exact feasibility, bounds, then compactness.

1. The parent's household arithmetic is decided exactly (gis.partition.feasible): when no
   grouping of its buildings gives parts within the bounds, the split says so (a violation and
   the `arithmetic` reason on its out-of-bounds parts) instead of counting it as a miss.
2. Each part out of bounds is redivided with a neighbour by one straight line whose two sides
   are both within the bounds (gis.partition.reshape `rebalance`).
3. Every shared boundary is redrawn as a straight line through the gaps between the two parts'
   footprints while the lower Polsby-Popper of the pair rises (reshape `straighten`).

Only pairs of parts change, each pair keeps the area it covered and every footprint whole on
its own side, so the parts still tile the parent and no building is split. Step 3 never lowers
the minimum Polsby-Popper (each redraw raises the lower of its pair's two); step 2 puts bounds
first and may lower it, but never below 0.2 or the pair's own lower value, whichever is less
(reshape.BALANCE_FLOOR). The result is
checked once more for footprints whole in their parts (gis.partition.whole).
"""

from __future__ import annotations

import numpy as np
import shapely

from gis.partition.cells import single_polygon
from gis.partition.diagnose import lone_building, lone_parts, part_reasons
from gis.partition.feasible import packing
from gis.partition.quality import metric_scale, polsby_popper
from gis.partition.reshape import COMPACT, Footprints, rebalance, straighten
from gis.partition.result import SplitResult
from gis.partition.whole import keep_whole

PART_VIOLATION = "part "  # violations about one part are recomputed here
ARITHMETIC_WORDS = ("cannot be divided", "below the minimum", "no grouping of")


def polish(parent, buildings, households, result: SplitResult, lo: int, hi: int,
           geographic: bool = True) -> SplitResult:
    """`result` after the passes of the module docstring."""
    h = np.asarray(households, dtype=np.int64).reshape(-1)
    parent = single_polygon(parent)
    verdict = packing(h, lo, hi)
    violations = [v for v in result.violations if not v.startswith(PART_VIOLATION)]
    arithmetic = arithmetic_of(violations)
    if verdict.feasible is False and not arithmetic:
        arithmetic = verdict.reason
        violations.append(arithmetic)
    parts, assignment = list(result.parts), np.asarray(result.assignment, dtype=np.int64).copy()
    if len(parts) < 2 or len(h) < 2:
        return result if not arithmetic else rebuild(parent, parts, assignment, h, result,
                                                     violations, lo, hi, geographic,
                                                     arithmetic)
    scale = metric_scale(parent, geographic)
    foot = np.asarray(list(buildings), dtype=object)
    lone = lone_parts(len(parts), assignment, h, hi)
    counts = np.bincount(assignment, weights=h, minlength=len(parts))
    settled = ((verdict.feasible is False or all(lone | ((lo <= counts) & (counts <= hi))))
               and min(polsby_popper(parts, scale)) >= COMPACT)
    if not settled:  # else nothing to rebalance and no pair to redraw: skip both
        rep = shapely.get_coordinates(shapely.point_on_surface(foot))
        fp = Footprints.of(foot, rep, h, scale)
        if verdict.feasible is not False:
            parts = rebalance(parts, assignment, fp, scale, lo, hi, lone)
        parts = straighten(parts, assignment, fp, scale, mode="free", lo=lo, hi=hi)
    parts, assignment, split = keep_whole(parent, parts, assignment, foot, h, scale)
    violations.extend(split)
    return rebuild(parent, parts, assignment, h, result, violations, lo, hi, geographic,
                   arithmetic)


def arithmetic_of(violations: list[str]) -> str | None:
    """The violation saying the parent's household arithmetic makes the bounds impossible."""
    said = [v for v in violations if any(w in v for w in ARITHMETIC_WORDS)]
    return said[0] if said else None


def rebuild(parent, parts, assignment, h, result, violations, lo, hi, geographic,
            arithmetic) -> SplitResult:
    """The SplitResult of `parts` and `assignment`: per-part violations, tiling error,
    Polsby-Popper and the reasons of parts out of bounds or thin."""
    scale = metric_scale(parent, geographic)
    counts = np.bincount(assignment, weights=h, minlength=len(parts)).astype(np.int64)
    for i, (part, count) in enumerate(zip(parts, counts, strict=True)):
        if part.geom_type != "Polygon":
            violations.append(f"part {i + 1} is not contiguous")
        held = h[assignment == i]
        if not lo <= count <= hi and not lone_building(held, hi) and not arithmetic:
            violations.append(f"part {i + 1} holds {count} households, outside {lo}-{hi}")
    area = parent.area
    error = abs(float(shapely.area(np.asarray(parts, object)).sum()) - area) / area if area else 0
    pp = [float(x) for x in polsby_popper(parts, scale)]
    reasons = part_reasons(parent, parts, assignment, h, [int(c) for c in counts], pp, lo, hi,
                           scale, arithmetic)
    return SplitResult(parts, assignment, [int(c) for c in counts], pp, violations,
                       list(result.notes), error, reasons)
