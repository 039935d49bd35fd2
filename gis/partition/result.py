"""The result of a split: parts made single polygons, buildings assigned, quality measured."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry

from gis.partition.diagnose import lone_building, part_reasons
from gis.partition.quality import polsby_popper
from gis.partition.whole import keep_whole

SLIVER = 1e-12


@dataclass
class SplitResult:
    """Parts (Polygons in the input's coordinates), building -> part, and quality."""

    parts: list[BaseGeometry]
    assignment: np.ndarray
    households: list[int]
    polsby_popper: list[float]
    violations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    area_error: float = 0.0
    part_reasons: list[list[dict]] = field(default_factory=list)

    @property
    def feasible(self) -> bool:
        return not self.violations

    @property
    def broken(self) -> bool:
        """Whether a part is not one polygon or a footprint is not whole in one part."""
        return any("not contiguous" in v or "split" in v or "lies across" in v
                   for v in self.violations)


def merge_stray(parts: list[BaseGeometry], rep: np.ndarray, h: np.ndarray) -> list:
    """Make every part one Polygon: stray components join the neighbour sharing most edge."""
    parts = list(parts)
    for _ in range(3):
        moved = False
        for i, geom in enumerate(parts):
            comps = shapely.get_parts(geom)
            if len(comps) > 1:  # lines or points left by set operations are not area
                comps = comps[[c.geom_type == "Polygon" for c in comps]]
                if len(comps) == 1:
                    parts[i] = comps[0]
            if len(comps) <= 1:
                continue
            weight = [float(h[shapely.contains_xy(c, rep[:, 0], rep[:, 1])].sum()) for c in comps]
            main = int(np.lexsort((-shapely.area(comps), -np.asarray(weight)))[0])
            rest = []
            for ci, comp in enumerate(comps):
                if ci == main:
                    continue
                shared = [shapely.length(shapely.intersection(comp.boundary, p.boundary))
                          if j != i else -1.0 for j, p in enumerate(parts)]
                best = int(np.argmax(shared))
                if shared[best] > 0:
                    parts[best] = shapely.union_all([parts[best], comp])
                    moved = True
                else:
                    rest.append(comp)
            keep = [comps[main], *rest]
            parts[i] = keep[0] if len(keep) == 1 else MultiPolygon(keep)
        if not moved:
            break
    return [shapely.make_valid(p) if not p.is_valid else p for p in parts]


def assign(parts: list[BaseGeometry], rep: np.ndarray) -> np.ndarray:
    """Index of the part containing each representative point (nearest part as a fallback)."""
    out = np.full(len(rep), -1, dtype=np.int64)
    for i, part in enumerate(parts):
        hit = (out < 0) & shapely.intersects_xy(part, rep[:, 0], rep[:, 1])
        out[hit] = i
    missing = np.flatnonzero(out < 0)
    if len(missing):
        pts = shapely.points(rep[missing])
        dist = np.vstack([shapely.distance(p, pts) for p in parts])
        out[missing] = np.argmin(dist, axis=0)
    return out


def finish(parent, parts, assignment, rep, households, violations, notes, scale, lo, hi,
           total_reason: bool = True, arithmetic: str | None = None, buildings=None):
    """The SplitResult of an engine's parts and assignment. With `buildings`, every footprint
    is first checked whole in its part (gis.partition.whole: made whole, or a violation)."""
    parts = [p.geoms[0] if p.geom_type == "MultiPolygon" and len(p.geoms) == 1 else p
             for p in parts]
    parts = [p for p in parts if not p.is_empty and p.area > SLIVER * parent.area] or [parent]
    if assignment is None:
        assignment = assign(parts, rep)
    if buildings is not None and len(parts) > 1:
        parts, assignment, split = keep_whole(parent, parts, assignment, buildings, households,
                                              scale)
        violations.extend(split)
    hh = np.bincount(assignment, weights=households, minlength=len(parts)).astype(np.int64)
    for i, (part, count) in enumerate(zip(parts, hh, strict=True)):
        if part.geom_type != "Polygon":
            violations.append(f"part {i + 1} is not contiguous")
        if count < lo or count > hi:
            big = households[assignment == i]
            if not lone_building(big, hi) and not total_reason:
                violations.append(f"part {i + 1} holds {count} households, outside {lo}-{hi}")
    area = parent.area
    error = abs(float(shapely.area(np.asarray(parts, object)).sum()) - area) / area if area else 0
    if error > 1e-9:
        notes.append(f"area error {error:.2e}")
    pp = polsby_popper(parts, scale)
    counts, pps = [int(x) for x in hh], [float(x) for x in pp]
    reasons = part_reasons(parent, parts, assignment, np.asarray(households), counts, pps, lo,
                           hi, scale, arithmetic)
    return SplitResult(parts, assignment, counts, pps, violations, notes, error, reasons)
