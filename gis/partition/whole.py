"""The last check of a split: every footprint lies wholly in the one part it is assigned to.

Both engines and the polish passes keep footprints whole by construction; this check makes sure
no result ever holds a split building silently. First the parts' hairline holes (under
HOLE_M2) are filled: gaps no part covers, and a near-flat one may read as turned over in
degrees, after which GEOS overlays find nothing of the part inside it (a prepared covers()
still says yes). Then a footprint (its share of the parent) that its part does not cover, by
more than SPILL_M2, is split: its pieces are taken from the other parts and given to the part
holding most of it (the building's assignment follows), provided every part changed stays one
valid polygon: pieces only change hands, so the parts still tile the parent. Otherwise the
result says so: a violation names the building and the parts it lies across.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis.partition.cells import HOLE_M2

SPILL_M2 = 1e-6  # a footprint's area outside its part tolerated as overlay noise (1 mm²)


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
    shapely.prepare(parent)
    clip = foot.copy()  # each footprint's share of the parent: overlays only where it leaves
    spill = ~shapely.covers(parent, foot)
    if spill.any():
        clip[spill] = shapely.intersection(foot[spill], parent)
    geoms = np.asarray(parts, dtype=object)
    shapely.prepare(geoms)
    odd = np.flatnonzero(~shapely.covers(geoms[assignment], clip) & (shapely.area(clip) > 0))
    problems: list[str] = []
    for b in odd.tolist():
        own = int(assignment[b])
        if _spill_m2(clip[b], parts[own], m2) <= SPILL_M2:
            continue
        near = [j for j, p in enumerate(parts) if shapely.intersects(p, clip[b])]
        share = {j: shapely.area(shapely.intersection(clip[b], parts[j])) for j in near}
        best = max(share, key=lambda j: (share[j], j == own))
        moved = {j: _one_polygon(shapely.difference(parts[j], clip[b]))
                 for j in near if j != best and share[j] * m2 > 0}
        moved[best] = _one_polygon(shapely.union(parts[best], clip[b]))
        if any(g is None for g in moved.values()):
            across = ", ".join(str(j + 1) for j in sorted(near))
            problems.append(f"building {b + 1} ({int(np.asarray(households)[b])} households) "
                            f"lies across parts {across} and cannot be given whole to one")
            continue
        for j, g in moved.items():
            parts[j] = g
        assignment[b] = best
    return parts, assignment, problems
