"""Edit operations on geometry (shapely, no database): retile two siblings, cut, merge, reshape.

Every function keeps the union of the areas it touches: one side is computed, the other is the
difference of the union and that side, so the tiling of the parent stays exact.
"""

from __future__ import annotations

import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import split as split_by_line

EPS = 1e-9  # degrees: ~0.1 mm, the snapping tolerance for adjacency


class EditError(ValueError):
    """An edit that cannot be made; `check` names the rule, `geometry` shows where."""

    def __init__(self, check: str, message: str, codes: tuple[str, ...] = (),
                 geometry: BaseGeometry | None = None) -> None:
        super().__init__(message)
        self.check, self.message, self.codes, self.geometry = check, message, codes, geometry


def polygons(geom: BaseGeometry) -> list[Polygon]:
    """The polygon parts of any geometry (collections flattened, lines and points dropped)."""
    if geom is None or geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom]
    if hasattr(geom, "geoms"):
        return [p for g in geom.geoms for p in polygons(g)]
    return []


def clean(geom: BaseGeometry) -> BaseGeometry:
    """A valid (multi)polygon holding only the areal parts of `geom`."""
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    parts = [p for p in polygons(geom) if p.area > 0]
    if not parts:
        return Polygon()
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def as_multi(geom: BaseGeometry) -> MultiPolygon:
    """The geometry as a MultiPolygon (what the area tables store)."""
    geom = clean(geom)
    return geom if isinstance(geom, MultiPolygon) else MultiPolygon([geom])


def adjacent(a: BaseGeometry, b: BaseGeometry) -> bool:
    """True when two areas share a stretch of boundary (not just a corner)."""
    if not a.buffer(EPS).intersects(b):
        return False
    shared = a.boundary.intersection(b.buffer(EPS * 2))
    return shared.length > EPS * 20


def check_polygon(geom: BaseGeometry, what: str = "the drawn polygon") -> BaseGeometry:
    """Raise EditError unless `geom` is a valid, non-empty polygon."""
    if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise EditError("invalid_geometry", f"{what} must be a non-empty Polygon, "
                        f"got {geom.geom_type}")
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        raise EditError("invalid_geometry", f"{what} is not valid: {reason}",
                        geometry=shapely.make_valid(geom))
    return geom


def _main_piece(geom: BaseGeometry, anchors: list[BaseGeometry]) -> tuple[BaseGeometry,
                                                                         BaseGeometry]:
    """(the piece of `geom` holding most anchors, or the largest; the rest)."""
    parts = polygons(geom)
    if len(parts) <= 1:
        return geom, Polygon()

    def weight(p: Polygon) -> tuple[int, float]:
        return (sum(1 for a in anchors if p.intersects(a)), p.area)

    main = max(parts, key=weight)
    rest = [p for p in parts if p is not main]
    return main, shapely.union_all(rest)


def retile_pair(union: BaseGeometry, side_a: list[BaseGeometry], side_b: list[BaseGeometry]
                ) -> tuple[BaseGeometry, BaseGeometry]:
    """Divide `union` between two sets of building footprints (or points).

    Voronoi cells of the buildings' representative points, clipped to the union and unioned per
    side; footprints stay whole on their side; stray pieces go to the other side so each side is
    one polygon where the buildings allow. B is always union - A, so A ∪ B == union.
    """
    if not side_a or not side_b:
        raise EditError("empty", "each side must keep at least one building")
    points = [b.representative_point() for b in side_a + side_b]
    cells = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=union.envelope,
                                     ordered=True)
    cells = list(cells.geoms)
    cell_a = shapely.union_all(cells[: len(side_a)]).intersection(union)
    foot_a = shapely.union_all([b for b in side_a if b.area > 0] or [Polygon()])
    foot_b = shapely.union_all([b for b in side_b if b.area > 0] or [Polygon()])
    a = clean(cell_a.union(foot_a.intersection(union)).difference(foot_b))
    for _ in range(3):
        a, stray_a = _main_piece(a, side_a)
        b = clean(union.difference(a))
        b, stray_b = _main_piece(b, side_b)
        if stray_a.is_empty and stray_b.is_empty:
            break
        a = clean(union.difference(b))
    b = clean(union.difference(a))
    return a, b


def absorb_slivers(geoms: list[BaseGeometry], min_area: float) -> list[BaseGeometry]:
    """Hand each part smaller than `min_area` to the neighbour sharing most of its edge, so
    floating-point slivers never split an area (the union is unchanged)."""
    geoms = [clean(x) for x in geoms]
    for i in range(len(geoms)):
        parts = polygons(geoms[i])
        if len(parts) < 2:
            continue
        keep = [p for p in parts if p.area >= min_area] or [max(parts, key=lambda p: p.area)]
        for sliver in (p for p in parts if all(p is not k for k in keep)):
            grown = sliver.buffer(EPS * 10)
            j = max((j for j in range(len(geoms)) if j != i),
                    key=lambda j: grown.intersection(geoms[j]).area, default=None)
            if j is None or grown.intersection(geoms[j]).area == 0:
                keep.append(sliver)
                continue
            geoms[j] = clean(shapely.union_all([geoms[j], sliver]))
        geoms[i] = clean(shapely.union_all(keep))
    return geoms


def cut(geom: BaseGeometry, line: BaseGeometry) -> list[BaseGeometry]:
    """The pieces of `geom` cut by `line` (raises unless the line crosses it)."""
    if not isinstance(line, LineString) or line.is_empty or not line.is_valid:
        raise EditError("invalid_geometry", "the drawn line must be a valid LineString")
    pieces: list[BaseGeometry] = []
    for part in polygons(geom):
        pieces += [p for p in polygons(split_by_line(part, line)) if p.area > 0]
    if len(pieces) < 2:
        raise EditError("invalid_geometry", "the drawn line must cross the area from edge to "
                        "edge", geometry=line)
    return pieces


def redraw_by_line(a: BaseGeometry, b: BaseGeometry, line: BaseGeometry
                   ) -> tuple[BaseGeometry, BaseGeometry]:
    """New (A, B) after replacing their shared boundary by `line` (pieces go by majority)."""
    union = clean(a.union(b))
    pieces = cut(union, line)
    to_a = [p for p in pieces if p.intersection(a).area * 2 > p.area]
    new_a = clean(shapely.union_all(to_a)) if to_a else Polygon()
    new_b = clean(union.difference(new_a))
    return new_a, new_b


def reading_first(pieces: list[BaseGeometry]) -> list[BaseGeometry]:
    """Pieces in code reading order (north→south, west→east)."""
    from gis.codes import reading_order

    return [pieces[i] for i in reading_order(pieces)]
