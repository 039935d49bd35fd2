"""Real-city data sets for the split bench: OSM building footprints with estimated households,
and communities built from the streets and footpaths of the same extract.

Households: a building's footprint area x levels / M2_PER_HOUSEHOLD, rounded. Levels come from
`building:levels`, else from `height` / LEVEL_HEIGHT_M, else a default by building type:
RESIDENTIAL_LEVELS (6) for residential types (`yes`, `residential`, `apartments`, ...),
HOUSE_LEVELS (2) for houses; non-residential types (commercial, office, church, garage, ...) hold
no households but still must not be split. Communities: the faces of the major street network
(trunk to tertiary, residential and unclassified streets), those under MIN_COMMUNITY households
merged into the neighbour sharing the longest border. Every street and footpath of the extract
is a barrier line the cuts prefer.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from gis.partition.quality import metric_scale

M2_PER_HOUSEHOLD = 90.0
RESIDENTIAL_LEVELS = 6
HOUSE_LEVELS = 2
LEVEL_HEIGHT_M = 3.0
MAX_LEVELS = 33  # ~100 m: few residential towers are taller
RESIDENTIAL = {"yes", "residential", "apartments", "dormitory", "flats"}
HOUSES = {"house", "detached", "semidetached_house", "terrace", "bungalow"}
MAJOR = {"motorway", "trunk", "primary", "secondary", "tertiary", "residential", "unclassified",
         "primary_link", "secondary_link", "tertiary_link", "trunk_link", "living_street"}
MIN_COMMUNITY = 1500
ROOT = Path(__file__).resolve().parent.parent
MONACO = ROOT / "tests" / "data" / "monaco.osm.pbf"
SHANGHAI = ROOT / "bench" / "data" / "shanghai_bund.geojson"
WUHAN = ROOT / "bench" / "data" / "wuhan_guanggu.geojson"


@dataclass
class CityData:
    """One real extract: footprints, households, streets, and communities (each a polygon and
    the indices of the buildings whose representative point lies in it)."""

    name: str
    buildings: np.ndarray
    households: np.ndarray
    streets: np.ndarray
    communities: list[tuple[object, np.ndarray]]

    def describe(self) -> str:
        held = sum(int(self.households[idx].sum()) for _, idx in self.communities)
        inside = sum(len(idx) for _, idx in self.communities)
        return (f"{self.name}: {len(self.buildings)} footprints ({inside} in "
                f"{len(self.communities)} communities, {held} households there), "
                f"{len(self.streets)} streets and footpaths, towers up to "
                f"{int(self.households.max())} households")


def levels_of(kind: str | None, levels: str | None, height: float | None) -> int:
    """Levels of a building: tagged, from its height, or the default of its type (0: none)."""
    kind = (kind or "yes").lower()
    if kind not in RESIDENTIAL and kind not in HOUSES:
        return 0
    for value, per in ((levels, 1.0), (height, LEVEL_HEIGHT_M)):
        try:
            n = float(value) / per if value not in (None, "") else math.nan
        except (TypeError, ValueError):
            n = math.nan
        if n >= 1:
            return min(MAX_LEVELS, int(round(n)))
    return HOUSE_LEVELS if kind in HOUSES else RESIDENTIAL_LEVELS


def households_of(footprints: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Footprint area (m², local frame) x levels / M2_PER_HOUSEHOLD, rounded."""
    kx, ky = metric_scale(shapely.GeometryCollection(list(footprints[:1])))
    area = shapely.area(footprints) * kx * ky
    return np.floor(area * levels / M2_PER_HOUSEHOLD + 0.5).astype(np.int64)


def communities_from(streets: np.ndarray, kinds: list[str], buildings: np.ndarray,
                     households: np.ndarray) -> list[tuple[object, np.ndarray]]:
    """Faces of the major streets holding buildings; small ones join their longest neighbour."""
    major = streets[[k in MAJOR for k in kinds]]
    faces = np.asarray(shapely.get_parts(shapely.polygonize(
        [shapely.union_all(major)])), dtype=object)
    faces = faces[shapely.area(faces) > 0]
    reps = shapely.point_on_surface(buildings)
    tree = shapely.STRtree(faces)
    pts, owner = tree.query(reps, predicate="within")
    where = np.full(len(buildings), -1)
    where[pts] = owner
    hh = np.bincount(where[where >= 0], weights=households[where >= 0], minlength=len(faces))
    group_of = {i: i for i in range(len(faces)) if hh[i] > 0}
    geoms = {i: faces[i] for i in group_of}
    weight = {i: float(hh[i]) for i in group_of}
    for i in sorted(geoms, key=lambda g: weight[g]):
        if i not in geoms or weight[i] >= MIN_COMMUNITY:
            continue
        near = {group_of[f] for f in tree.query(geoms[i], predicate="intersects")
                if f in group_of} - {i}
        border = {j: shapely.length(shapely.intersection(geoms[i].boundary, geoms[j].boundary))
                  for j in near}
        border = {j: b for j, b in border.items() if b > 0}
        if not border:
            continue
        j = max(border, key=border.get)
        geoms[j] = shapely.union_all([geoms[j], geoms.pop(i)])
        weight[j] += weight.pop(i)
        for f, g in group_of.items():
            if g == i:
                group_of[f] = j
    out = []
    face_group = np.array([group_of.get(int(f), -1) if f >= 0 else -1 for f in where])
    for j, geom in geoms.items():
        if geom.geom_type != "Polygon":
            continue  # faces meeting at a point only: not one community
        out.append((geom, np.flatnonzero(face_group == j)))
    return out


def whole_buildings(footprints: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One footprint per building: footprints inside another (building parts mapped as
    buildings) are dropped, overlapping ones are joined (the most levels of the group)."""
    tree = shapely.STRtree(footprints)
    outer, inner = tree.query(footprints, predicate="contains")
    same = shapely.equals(footprints[outer], footprints[inner])
    drop = set(inner[(outer != inner) & (~same | (inner > outer))].tolist())  # one of twins
    keep = np.array([i for i in range(len(footprints)) if i not in drop], dtype=np.int64)
    footprints, levels = footprints[keep], levels[keep]
    tree = shapely.STRtree(footprints)
    a, b = tree.query(footprints, predicate="overlaps")
    root = list(range(len(footprints)))

    def find(i: int) -> int:
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    for i, j in zip(a.tolist(), b.tolist(), strict=True):
        root[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(footprints)):
        groups.setdefault(find(i), []).append(i)
    geoms = [footprints[g[0]] if len(g) == 1 else shapely.union_all(footprints[g])
             for g in groups.values()]
    return (np.asarray(geoms, dtype=object),
            np.array([levels[g].max() for g in groups.values()], dtype=np.int64))


def city(name: str, footprints, kinds, levels, heights, streets, street_kinds) -> CityData:
    """A CityData from footprints (with type, tagged levels, height) and streets (with kind)."""
    lv = np.array([levels_of(k, lv, h) for k, lv, h in zip(kinds, levels, heights, strict=True)])
    footprints, lv = whole_buildings(np.asarray(footprints, dtype=object), lv)
    footprints = np.asarray([g.geoms[0] if g.geom_type == "MultiPolygon" and len(g.geoms) == 1
                             else g for g in footprints], dtype=object)
    households = households_of(footprints, lv)
    streets = np.asarray(streets, dtype=object)
    return CityData(name, footprints, households, streets,
                    communities_from(streets, list(street_kinds), footprints, households))


def _polygons(geoms) -> list:
    return [g for g in geoms if g is not None and g.geom_type in ("Polygon", "MultiPolygon")
            and g.is_valid and not g.is_empty]


def load_monaco(path: Path = MONACO) -> CityData:
    """Monaco's OSM extract (buildings from the multipolygons layer, streets from lines)."""
    # imported here: GDAL's libraries (about 85 MB of memory) stay out of the benches that
    # only name the cities, so the synthetic split bench's peak_mb is the split's own
    from importers.reader import osm_tags, read

    src = read(path, where="building IS NOT NULL")
    rows = [(r, g) for r, g in zip(src.rows, src.geoms, strict=True)
            if g is not None and g.geom_type in ("Polygon", "MultiPolygon") and g.is_valid]
    tags = [osm_tags(r.get("other_tags")) for r, _ in rows]
    foot = [g.geoms[0] if g.geom_type == "MultiPolygon" and len(g.geoms) == 1 else g
            for _, g in rows]
    lines = read(path, layer="lines", where="highway IS NOT NULL")
    streets = [(g, r["highway"]) for r, g in zip(lines.rows, lines.geoms, strict=True)
               if g is not None]
    return city("monaco", foot, [r.get("building") for r, _ in rows],
                [t.get("building:levels") for t in tags], [t.get("height") for t in tags],
                [g for g, _ in streets], [k for _, k in streets])


def load_shanghai(path: Path = SHANGHAI) -> CityData:
    """The Bund and Lujiazui, Shanghai (bench/data/SOURCES.md)."""
    return load_tilezen("shanghai", path)


def load_wuhan(path: Path = WUHAN) -> CityData:
    """Guanggu (Optics Valley) square and the west campus of HUST, Wuhan
    (bench/data/SOURCES.md)."""
    return load_tilezen("wuhan", path)


def load_tilezen(name: str, path: Path) -> CityData:
    """A city rebuilt from a Tilezen tile dump by bench/data/convert_tilezen.py."""
    from importers.reader import read  # here, as in load_monaco

    src = read(path)
    blds = [(r, g) for r, g in zip(src.rows, src.geoms, strict=True)
            if r["layer"] == "building" and g is not None and g.is_valid]
    streets = [(g, r["highway"]) for r, g in zip(src.rows, src.geoms, strict=True)
               if r["layer"] == "road" and g is not None and r["highway"] not in
               ("subway", "ferry", "funicular", "pier")]
    return city(name, [g for _, g in blds], [r["building"] for r, _ in blds],
                [None] * len(blds), [r["height"] for r, _ in blds],
                [g for g, _ in streets], [k for _, k in streets])


LOADERS = {"monaco": load_monaco, "shanghai": load_shanghai, "wuhan": load_wuhan}


def names_of(choices, what: str) -> Callable[[str], list[str]]:
    """An argparse type for a comma-separated list of `what` (e.g. "cities"), each one of
    `choices`: a usage error, not a KeyError halfway through a bench, for any other name."""

    def names(text: str) -> list[str]:
        given = [name for name in text.split(",") if name]
        unknown = sorted(set(given) - set(choices))
        if unknown or not given:
            raise argparse.ArgumentTypeError(
                f"unknown {what} {', '.join(unknown) or '(none given)'}; "
                f"choose from {', '.join(choices)}")
        return given

    return names


city_names = names_of(LOADERS, "cities")  # --cities: the cities with a loader


def city_parser(doc: str) -> argparse.ArgumentParser:
    """A real-city bench's argument parser: the first line of its docstring `doc`, and
    --cities (every city with a loader unless told; a misspelt one is a usage error)."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--cities", type=city_names, default=",".join(LOADERS))
    return ap
