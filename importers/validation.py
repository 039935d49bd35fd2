"""Row checks shared by every layer: geometry type, emptiness, finiteness, range, repair; the
row report (--report) and the import summary."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field

import numpy as np
import shapely
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from gis.crs import transform_geometry

KINDS = {
    "area": ("Polygon", "MultiPolygon"),
    "building": ("Point", "Polygon", "MultiPolygon"),
    "line": ("LineString", "MultiLineString"),
    "point": ("Point",),
}


class Rejected(ValueError):
    """A row that cannot be imported, with the reason."""


@dataclass
class RowIssue:
    row: int  # 1-based feature number in the file
    code: str | None
    status: str  # rejected | repaired | warning
    reason: str


@dataclass
class ImportReport:
    """What an import read, wrote (or with --dry-run would write) and rejected."""

    layer: str
    file: str
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    written: bool = False
    dry_run: bool = False
    issues: list[RowIssue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def issue(self, row: int, code: str | None, status: str, reason: str) -> None:
        self.issues.append(RowIssue(row, code, status, reason))

    def count(self, status: str) -> int:
        return sum(1 for i in self.issues if i.status == status)

    @property
    def rejected(self) -> int:
        return len({i.row for i in self.issues if i.status == "rejected"})

    def summary(self) -> str:
        verb = "would write" if self.dry_run else ("wrote" if self.written else "wrote nothing:")
        return (f"{self.layer}: read {self.read}, {verb} {self.inserted} new, {self.updated} "
                f"updated, {self.unchanged} unchanged; {self.rejected} rejected, "
                f"{self.count('repaired')} repaired, {self.count('warning')} warnings")

    def write(self, path: str) -> None:
        """Write the row report: JSON for .json, else CSV (row, code, status, reason)."""
        if path.endswith(".json"):
            with open(path, "w", encoding="utf-8") as fh:
                json.dump({**{k: v for k, v in asdict(self).items() if k != "issues"},
                           "issues": [asdict(i) for i in self.issues]}, fh, ensure_ascii=False,
                          indent=1)
            return
        with open(path, "w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(["row", "code", "status", "reason"])
            for i in self.issues:
                out.writerow([i.row, i.code or "", i.status, i.reason])


def clean_geometry(geom: BaseGeometry | None, kind: str, crs: str | None,
                   max_vertices: int | None = None) -> tuple[BaseGeometry, str | None]:
    """The geometry in EPSG:4326, checked and repaired; raises Rejected with the reason.

    Returns (geometry, repair note or None). Areas come back as MultiPolygons. Geometries of
    more than `max_vertices` vertices (default: Settings.max_vertices) are rejected before any
    costly check.
    """
    expected = KINDS[kind]
    if geom is None:
        raise Rejected("no geometry")
    if geom.is_empty:
        raise Rejected("empty geometry")
    if max_vertices is None:
        from gis.settings import get_settings

        max_vertices = get_settings().max_vertices
    vertices = shapely.get_num_coordinates(geom)
    if vertices > max_vertices:
        raise Rejected(f"{vertices} vertices: at most {max_vertices} per geometry "
                       "(simplify it, or raise WANGGE_MAX_VERTICES)")
    gtype = geom.geom_type
    if gtype not in expected:
        raise Rejected(f"{gtype} where {' or '.join(expected)} was expected")
    if not np.isfinite(shapely.get_coordinates(geom)).all():
        raise Rejected("non-finite coordinate (NaN or infinity)")
    try:
        geom = transform_geometry(geom, crs)
    except Exception as exc:  # pyproj errors on impossible coordinates
        raise Rejected(f"cannot reproject from {crs}: {exc}") from None
    xy = shapely.get_coordinates(geom)
    if not np.isfinite(xy).all():
        raise Rejected(f"coordinates outside the domain of {crs}")
    bad = (np.abs(xy[:, 0]) > 180) | (np.abs(xy[:, 1]) > 90)
    if bad.any():
        x, y = xy[np.flatnonzero(bad)[0]]
        raise Rejected(f"coordinate out of range (lon {x:g}, lat {y:g}): wrong --crs?")
    note = None
    if not geom.is_valid:
        reason = explain_validity(geom)
        repaired = shapely.make_valid(geom)
        if kind in ("area", "building") and gtype != "Point":
            polys = [g for g in shapely.get_parts(repaired)
                     if g.geom_type in ("Polygon", "MultiPolygon")]
            polys = [p for g in polys for p in shapely.get_parts(g) if p.area > 0]
            if not polys:
                raise Rejected(f"invalid geometry that cannot be repaired ({reason})")
            repaired = polys[0] if len(polys) == 1 else MultiPolygon(polys)
        geom = repaired
        note = f"repaired invalid geometry ({reason})"
    if kind == "area" and geom.geom_type == "Polygon":
        geom = MultiPolygon([geom])
    if kind == "area" and geom.area <= 0:
        raise Rejected("zero-area polygon")
    return geom, note


def text(value) -> str | None:
    """A field value as stripped text (None for null/blank); 12.0 -> '12'."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    out = str(value).strip()
    return out or None


def whole_number(value, what: str) -> int | None:
    """A non-negative integer field, or None when blank; raises Rejected otherwise."""
    raw = text(value)
    if raw is None:
        return None
    try:
        number = float(raw)
    except ValueError:
        raise Rejected(f"{what} {raw!r} is not a number") from None
    if not np.isfinite(number) or number < 0 or not number.is_integer():
        raise Rejected(f"{what} {raw!r} is not a whole number >= 0")
    return int(number)
