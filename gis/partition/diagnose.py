"""Why a part of a split is out of bounds or thin, so a planner knows where to look.

Each flagged part gets one or more reasons: a code, its figures and an English sentence (pages
translate the code with its figures, see api/pages/i18n.py `why_*`). Out of bounds: the part is
one building over the maximum (`lone_building`), the parent's households cannot be divided into
parts within the bounds at all (`arithmetic`), or the cuts between footprints left it short or
long (`under`, `over`, with its largest building, which is never split), buildings over
the maximum around it leave it few neighbours to trade buildings with (`towers`), the
buildings of the parts it reaches without crossing such a building's part cannot be grouped
within the bounds, though the parent's can (`walled`: the towers' parts, as drawn, wall it
in), it is a
building over the maximum with a few households beside it (`beside_tower`), or the only
division found with it in bounds had a corridor thinner than THIN_PP (`corridor`, added by
gis.partition.engines). Thin
(Polsby-Popper below THIN_PP): the parent itself is narrow there (`narrow_parent`), the part
is a strip (`strip`, with the sides of its minimum rotated rectangle), or its edges wind
around footprints (`ragged`, low fill of that rectangle).
"""

from __future__ import annotations

import numpy as np
import shapely

from gis.partition.feasible import packing
from gis.partition.quality import polsby_popper, to_metric
from gis.partition.reshape import shared_edges

THIN_PP = 0.2
NARROW_PARENT_PP = 0.3
RAGGED_FILL = 0.6


def _reason(code: str, text: str, **figures) -> dict:
    return {"code": code, "text": text, **figures}


def lone_building(held: np.ndarray, hi: int) -> bool:
    """Whether a part holding buildings of `held` households is one building over the maximum
    (with, at most, buildings of no households beside it): a part of its own, not a miss."""
    return len(held) > 0 and int(held.max()) > hi and int(held.sum()) == int(held.max())


def lone_parts(count: int, assignment: np.ndarray, households: np.ndarray, hi: int
               ) -> np.ndarray:
    """`lone_building` for each of `count` parts, given each building's part (`assignment`)."""
    return np.array([lone_building(households[assignment == k], hi) for k in range(count)],
                    dtype=bool)


def bounds_reason(count: int, held: np.ndarray, lo: int, hi: int,
                  arithmetic: str | None) -> dict | None:
    """Why a part holding `count` households (buildings `held`) is outside lo..hi, or None."""
    if lo <= count <= hi:
        return None
    if lone_building(held, hi):
        return _reason("lone_building", f"one building of {count} households, over the "
                       f"maximum {hi} (buildings are never split)", households=int(count),
                       max=hi)
    if len(held) and int(held.max()) > hi:
        largest = int(held.max())
        return _reason("beside_tower", f"{count} households: a building of {largest}, over "
                       f"the maximum {hi} (buildings are never split), and {count - largest} "
                       "households beside it", households=int(count), largest=largest,
                       beside=int(count) - largest, max=hi)
    if arithmetic:
        return _reason("arithmetic", f"{count} households: {arithmetic}",
                       households=int(count), min=lo, max=hi)
    largest = int(held.max()) if len(held) else 0
    if count < lo:
        return _reason("under", f"{count} households, {lo - count} under the minimum {lo}: "
                       f"no cut between footprints gave it more (largest building "
                       f"{largest})", households=int(count), missing=lo - int(count),
                       min=lo, largest=largest)
    return _reason("over", f"{count} households, {count - hi} over the maximum {hi}: no cut "
                   f"between footprints gave it less (largest building {largest})",
                   households=int(count), extra=int(count) - hi, max=hi, largest=largest)


def corridor_reason(count: int, pp: float) -> dict:
    """The reason added to a part left out of bounds because the only division found with
    fewer parts out of bounds had a part thinner than THIN_PP (a corridor, mostly round a
    tower): compact parts were kept."""
    return _reason("corridor", f"{count} households: a division with fewer parts out of "
                   f"bounds was found, but only with a part of PP {pp:.2f} (a corridor, under "
                   f"{THIN_PP}); the compact one was kept", households=int(count),
                   pp=round(pp, 3), floor=THIN_PP)


def shape_reason(part, pp: float, parent_pp: float, scale: tuple[float, float]) -> dict | None:
    """Why a part is thin (Polsby-Popper below THIN_PP), or None."""
    if pp >= THIN_PP:
        return None
    metric = to_metric(part, scale)
    rect = shapely.minimum_rotated_rectangle(metric)
    xy = np.asarray(rect.exterior.coords) if rect.geom_type == "Polygon" else np.zeros((3, 2))
    sides = np.hypot(*np.diff(xy[:3], axis=0).T)
    long_m, short_m = float(sides.max()), float(max(sides.min(), 1e-9))
    fill = float(metric.area / rect.area) if rect.area > 0 else 0.0
    figures = {"pp": round(pp, 3), "length_m": round(long_m), "width_m": round(short_m),
               "fill": round(fill, 2), "parent_pp": round(parent_pp, 3)}
    if parent_pp < NARROW_PARENT_PP:
        return _reason("narrow_parent", f"thin (PP {pp:.2f}): the parent itself is narrow "
                       f"(PP {parent_pp:.2f}); a strip of {long_m:.0f} x {short_m:.0f} m",
                       **figures)
    if fill < RAGGED_FILL:
        return _reason("ragged", f"thin (PP {pp:.2f}): its edges wind around footprints or "
                       f"the parent's outline (fills {100 * fill:.0f}% of its "
                       f"{long_m:.0f} x {short_m:.0f} m rectangle)", **figures)
    return _reason("strip", f"thin (PP {pp:.2f}): a strip of {long_m:.0f} x {short_m:.0f} m "
                   "between cuts", **figures)


def part_reasons(parent, parts: list, assignment: np.ndarray, households: np.ndarray,
                 counts: list[int], pps: list[float], lo: int, hi: int,
                 scale: tuple[float, float], arithmetic: str | None) -> list[list[dict]]:
    """For each part, the reasons it is out of bounds or thin (empty when it is neither)."""
    parent_pp = float(polsby_popper([parent], scale)[0])
    out = []
    lone = lone_parts(len(parts), assignment, households, hi).tolist()
    near: list[list[int]] | None = None
    for i, (part, count, pp) in enumerate(zip(parts, counts, pps, strict=True)):
        held = households[assignment == i]
        bounds = bounds_reason(int(count), held, lo, hi, arithmetic)
        if bounds and bounds["code"] in ("under", "over"):
            near = near if near is not None else _neighbours(parts)
            bounds = (walled_in(bounds, i, near, lone, households, assignment, lo, hi)
                      or boxed_in(bounds, near[i], lone)
                      or no_trade(bounds, i, near[i], lone, households, assignment, counts,
                                  lo, hi)
                      or bounds)
        reasons = [r for r in (bounds, shape_reason(part, float(pp), parent_pp, scale)) if r]
        out.append(reasons)
    return out


def _neighbours(parts: list) -> list[list[int]]:
    """For each part, the parts sharing an edge with it (gis.partition.reshape)."""
    near: list[list[int]] = [[] for _ in parts]
    for i, j, _ in shared_edges(parts):
        near[i].append(j)
        near[j].append(i)
    return near


def walled_in(reason: dict, i: int, near: list[list[int]], lone: list[bool],
              households: np.ndarray, assignment: np.ndarray, lo: int, hi: int
              ) -> dict | None:
    """The `walled` reason when the buildings of the parts part i reaches without crossing a
    lone tower's part (part i's own included) cannot be grouped into parts of lo..hi while
    the parent's can (gis.partition.feasible, whose verdicts are remembered, so the parent's
    is worked out once per division): the parts of single buildings over the maximum, as
    drawn, and the parent's outline wall them in, so no division that keeps the
    towers' parts as they are puts them all in bounds (redrawing a tower's part, or joining
    households to it, may; on the real sets the passes after the first division did so for
    some parts so told, so it is a diagnosis of the division, not a proof)."""
    group, todo = {i}, [i]
    while todo:
        for j in near[todo.pop()]:
            if j not in group and not lone[j]:
                group.add(j)
                todo.append(j)
    held = households[np.isin(assignment, sorted(group))]
    if (packing(held, lo, hi).feasible is not False
            or packing(households, lo, hi).feasible is False):
        return None
    count, total = reason["households"], int(held.sum())
    return _reason("walled", f"{count} households, {_side(reason)}: walled in by the parts of "
                   f"buildings over the maximum; with the parts it reaches without crossing "
                   f"one ({len(group)} in all) it holds {len(held)} buildings of {total} "
                   f"households, which no grouping divides into parts of {lo}-{hi}",
                   households=count, parts=len(group), buildings=len(held), total=total,
                   min=lo, max=hi)


def boxed_in(reason: dict, near: list[int], lone: list[bool]) -> dict | None:
    """The `towers` reason when at least half of a part's neighbours (`near`, sharing an
    edge) are single buildings over the maximum, so it has few neighbours to trade buildings
    with."""
    towers = sum(lone[j] for j in near)
    if not near or 2 * towers < len(near):
        return None
    count = reason["households"]
    return _reason("towers", f"{count} households, {_side(reason)}: boxed in by buildings over the "
                   f"maximum ({towers} of its {len(near)} neighbours), so few neighbours can "
                   "trade buildings with it", households=count, towers=towers,
                   neighbours=len(near))


def no_trade(reason: dict, i: int, near: list[int], lone: list[bool], households: np.ndarray,
             assignment: np.ndarray, counts: list[int], lo: int, hi: int) -> dict | None:
    """The `no_trade_under` or `no_trade_over` reason when no single building moving between
    part i (out of bounds) and a neighbouring part (`near`, not a lone tower's) leaves both
    within lo..hi (a neighbour left empty is gone: a merge), nor can part i join a neighbour
    whole (under the minimum), be divided alone (over the maximum, gis.partition.feasible)
    or, holding several buildings, share them out (told only where its largest fits no
    neighbour's room under the maximum or all of them together exceed the rooms' sum: a
    sharing out needs both): the sizes of the buildings round it hold it out,
    not where a cut fell. Every building of a neighbouring part counts, beside part i or
    not, so the sentence never rules out a move the planner could make; like `walled`, a
    diagnosis of the division (moves of several buildings at once may still bring it in)."""
    count = int(counts[i])
    own = households[assignment == i]
    others = [j for j in near if not lone[j]]
    held = {j: households[assignment == j] for j in others}
    rooms = [max(hi - int(counts[j]), 0) for j in others]
    placed = own[own > 0]
    shared_out = len(own) > 1 and (not len(placed) or (int(placed.max()) <= max(rooms, default=0)
                                                       and int(placed.sum()) <= sum(rooms)))

    if count < lo:
        for j in others:
            total = int(counts[j])
            left = total - held[j]
            taken = count + held[j]
            if lo <= count + total <= hi or shared_out:
                return None  # it joins part j, or its buildings may be shared out
            if ((lo <= taken) & (taken <= hi) & ((left == 0) | ((lo <= left) & (left <= hi)))
                    ).any():
                return None
        sizes = [int(v) for j in others for v in held[j].tolist() if v > 0]
        if not sizes:
            return None
        smallest = min(sizes)
        return _reason("no_trade_under", f"{count} households, {_side(reason)}: no building "
                       "of a neighbouring part can join it, nor it a neighbouring part, "
                       "without putting a part out of bounds (the smallest building of a "
                       f"neighbouring part holds {smallest}, {count + smallest} with it)",
                       households=count, missing=lo - count, min=lo, max=hi,
                       smallest=smallest, together=count + smallest)
    if not len(own) or packing(own, lo, hi).feasible is not False:
        return None
    for j in others:
        given = int(counts[j]) + own  # each of its buildings given to part j
        if ((lo <= count - own) & (count - own <= hi) & (lo <= given) & (given <= hi)).any():
            return None
        if shared_out:
            return None
    listed = ", ".join(str(int(v)) for v in sorted(own.tolist(), reverse=True))
    return _reason("no_trade_over", f"{count} households, {_side(reason)}: none of its "
                   f"buildings ({listed}) can go to a neighbouring part without putting a "
                   f"part out of bounds, and they cannot be grouped into parts of {lo}-{hi} "
                   "on their own", households=count, extra=count - hi, min=lo, max=hi,
                   sizes=listed)


def _side(reason: dict) -> str:
    """How far an `under` or `over` reason's part is out of bounds, in words."""
    if reason["code"] == "under":
        return f"{reason['missing']} under the minimum {reason['min']}"
    return f"{reason['extra']} over the maximum {reason['max']}"
