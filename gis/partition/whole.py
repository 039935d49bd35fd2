"""The last check of a split: every footprint lies wholly in the one part it is assigned to.

Both engines and the polish passes keep footprints whole by construction; this check makes sure
no result ever holds a split building silently. First the parts' hairline holes (under
HOLE_M2) are filled: gaps no part covers, and a near-flat one may read as turned over in
degrees, after which GEOS overlays find nothing of the part inside it (a prepared covers()
still says yes). Then a footprint (its share of the parent) that its part does not cover, by
more than SPILL_M2, is split: its pieces are taken from the other parts and given to the part
holding most of it (the building's assignment follows), provided every part changed stays one
valid polygon: pieces only change hands, so the parts still tile the parent. A part the
footprint cuts in two (a thin building across its neck) keeps the piece holding its own
footprints and hands the others, holding none, on with the footprint. Otherwise the result
says so: a violation names the building and the parts it lies across.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis.partition.cells import HOLE_M2

SPILL_M2 = 1e-6  # a footprint's area outside its part tolerated as overlay noise (1 mm²)
ACROSS = "lies across parts"  # the words of the violation below


def _spill_m2(clip: BaseGeometry, part: BaseGeometry, m2: float) -> float:
    """Area of `clip` outside `part` in m²; an overlay's difference and its intersection may
    disagree on a misread part, so the larger of the two answers."""
    by_difference = shapely.area(shapely.difference(clip, part))
    by_intersection = clip.area - shapely.area(shapely.intersection(clip, part))
    return max(by_difference, by_intersection) * m2


def _filled(part: BaseGeometry, m2: float) -> BaseGeometry:
    """`part` without interior rings under HOLE_M2 (areas in degrees² x m2 per degree²)."""
    if part.geom_type != "Polygon" or not part.interiors:
        return part
    holes = [r for r in part.interiors if shapely.Polygon(r).area * m2 >= HOLE_M2]
    return part if len(holes) == len(part.interiors) else shapely.Polygon(part.exterior, holes)


def _one_polygon(geom: BaseGeometry) -> BaseGeometry | None:
    if geom.geom_type == "Polygon" and geom.is_valid and not geom.is_empty:
        return geom
    polys = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and p.area > 0]
    return polys[0] if len(polys) == 1 and polys[0].is_valid else None


def _kept_piece(rest: BaseGeometry, own: np.ndarray) -> tuple[BaseGeometry | None, list]:
    """What a part keeps when a footprint is taken out of it: itself where it stays one
    polygon; where the footprint cuts it in pieces, the one piece holding its own footprints
    (`own`), the others, holding none, handed on with the footprint (a thin building across
    a part's neck); None where its footprints lie in several pieces."""
    one = _one_polygon(rest)
    if one is not None:
        return one, []
    pieces = [p for p in shapely.get_parts(rest) if p.geom_type == "Polygon" and p.area > 0]
    own = own[shapely.area(own) > 0]
    holding = [p for p in pieces if len(own) and
               shapely.relate_pattern(p, own, "T********").any()]
    if len(holding) != 1 or not holding[0].is_valid:
        return None, []
    return holding[0], [p for p in pieces if p is not holding[0]]


def clipped_to(parent: BaseGeometry, foot: np.ndarray) -> np.ndarray:
    """Each footprint's share of the parent (overlays only where it leaves): what its part
    must hold whole (here, and in gis.partition.taut)."""
    shapely.prepare(parent)
    clip = foot.copy()
    spill = ~shapely.covers(parent, foot)
    if spill.any():
        clip[spill] = shapely.intersection(foot[spill], parent)
    return clip


def _uncovered(parts: list[BaseGeometry], assignment: np.ndarray, clip: np.ndarray
               ) -> list[int]:
    """The buildings whose share of the parent their part does not cover (a prepared covers():
    overlay noise included, SPILL_M2 tells it apart)."""
    geoms = np.asarray(parts, dtype=object)
    shapely.prepare(geoms)
    return np.flatnonzero(~shapely.covers(geoms[assignment], clip)
                          & (shapely.area(clip) > 0)).tolist()


def _across(b: int, households, near: list[int]) -> str:
    across = ", ".join(str(j + 1) for j in sorted(near))
    return (f"building {b + 1} ({int(np.asarray(households)[b])} households) {ACROSS} "
            f"{across} and cannot be given whole to one")


def told_whole(parent: BaseGeometry, parts: list[BaseGeometry], assignment: np.ndarray,
               buildings, households, scale: tuple[float, float], violations: list[str]
               ) -> list[str]:
    """`violations` with those naming a building across parts replaced by what `parts` hold
    now: a stage that drew the division again (the passes, the re-split, the taut boundaries)
    keeps the words an earlier one wrote, which may name parts since redrawn or a building
    since made whole."""
    kept = [v for v in violations if ACROSS not in v]
    foot = np.asarray(list(buildings), dtype=object)
    if len(foot) == 0 or len(parts) == 0:
        return kept
    clip = clipped_to(parent, foot)
    assignment = np.asarray(assignment, dtype=np.int64)
    m2 = float(scale[0] * scale[1])
    for b in _uncovered(list(parts), assignment, clip):
        if _spill_m2(clip[b], parts[assignment[b]], m2) > SPILL_M2:
            near = [j for j, p in enumerate(parts) if shapely.intersects(p, clip[b])]
            kept.append(_across(b, households, near))
    return kept


def keep_whole(parent: BaseGeometry, parts: list[BaseGeometry], assignment: np.ndarray,
               buildings, households, scale: tuple[float, float]
               ) -> tuple[list[BaseGeometry], np.ndarray, list[str]]:
    """Parts and assignment with every footprint whole in its part (see the module
    docstring), and a violation for each building that could not be made whole."""
    parts = list(parts)
    assignment = np.asarray(assignment, dtype=np.int64).copy()
    foot = np.asarray(list(buildings), dtype=object)
    if len(foot) == 0 or len(parts) == 0:
        return parts, assignment, []
    m2 = float(scale[0] * scale[1])
    parts = [_filled(p, m2) for p in parts]
    clip = clipped_to(parent, foot)
    problems: list[str] = []
    for b in _uncovered(parts, assignment, clip):
        own = int(assignment[b])
        if _spill_m2(clip[b], parts[own], m2) <= SPILL_M2:
            continue
        near = [j for j, p in enumerate(parts) if shapely.intersects(p, clip[b])]
        share = {j: shapely.area(shapely.intersection(clip[b], parts[j])) for j in near}
        best = max(share, key=lambda j: (share[j], j == own))
        moved, crumbs = {}, []
        for j in near:
            if j != best and share[j] * m2 > 0:
                moved[j], cut = _kept_piece(shapely.difference(parts[j], clip[b]),
                                            clip[(assignment == j) & (np.arange(len(foot)) != b)])
                crumbs.extend(cut)
        moved[best] = _one_polygon(shapely.union_all([parts[best], clip[b], *crumbs]))
        if any(g is None for g in moved.values()):
            problems.append(_across(b, households, near))
            continue
        for j, g in moved.items():
            parts[j] = g
        assignment[b] = best
    return parts, assignment, problems
