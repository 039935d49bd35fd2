"""The offline basemap: load an OSM extract (or derive one from the district's own roads and
buildings) into the `basemap` table that the `basemap` tile layer draws.

Each OSM feature is classified by the table RULES (first match wins) into a kind (road, railway,
water, park, landuse, building, place), a class (the tag value) and the lowest zoom that shows
it: main roads and big water from z8, minor roads, small parks and buildings only when zoomed in.
Polygons are promoted by size (a large lake shows earlier than a pond). Labels use `name:zh`,
else `name`. A load replaces the previous basemap in one transaction and is numbered in
basemap_loads, whose newest id versions the tiles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
import shapely

from gis.database import libpq_url
from importers.reader import ReadError, osm_tags, read


@dataclass(frozen=True)
class Rule:
    """OSM features of `layer` whose tag `key` has one of `zooms`' values (or any value, '*')."""

    layer: str  # lines, multipolygons, points
    key: str
    kind: str
    zooms: dict[str, int]  # tag value -> minzoom; '*' for any other value


RULES: tuple[Rule, ...] = (
    Rule("lines", "highway", "road", {
        "motorway": 8, "trunk": 8, "motorway_link": 11, "trunk_link": 11, "primary": 9,
        "primary_link": 12, "secondary": 10, "secondary_link": 13, "tertiary": 11,
        "tertiary_link": 13, "residential": 13, "unclassified": 13, "living_street": 14,
        "service": 15, "pedestrian": 14, "track": 15, "footway": 16, "path": 16,
        "cycleway": 16, "steps": 17}),
    Rule("lines", "railway", "railway", {"rail": 9, "subway": 11, "light_rail": 11,
                                         "monorail": 12, "tram": 13, "narrow_gauge": 12}),
    Rule("lines", "waterway", "water", {"river": 9, "canal": 11, "stream": 14, "drain": 15}),
    Rule("multipolygons", "building", "building", {"*": 14}),
    Rule("multipolygons", "natural", "water", {"water": 12, "bay": 10}),
    Rule("multipolygons", "water", "water", {"*": 12}),
    Rule("multipolygons", "waterway", "water", {"riverbank": 11, "dock": 13}),
    Rule("multipolygons", "landuse", "water", {"reservoir": 11, "basin": 13}),
    Rule("multipolygons", "leisure", "park", {
        "park": 12, "garden": 14, "nature_reserve": 11, "playground": 15, "pitch": 15,
        "golf_course": 12, "stadium": 13}),
    Rule("multipolygons", "natural", "park", {"wood": 11, "scrub": 12, "grassland": 12,
                                              "heath": 12}),
    Rule("multipolygons", "landuse", "park", {
        "forest": 11, "grass": 13, "meadow": 12, "recreation_ground": 13, "cemetery": 13,
        "village_green": 14, "allotments": 14, "orchard": 13}),
    Rule("multipolygons", "landuse", "landuse", {
        "residential": 11, "commercial": 12, "retail": 12, "industrial": 11, "railway": 13,
        "construction": 13, "education": 13, "farmland": 11, "*": 13}),
    Rule("multipolygons", "amenity", "landuse", {"school": 14, "university": 12,
                                                 "hospital": 13, "college": 13}),
    Rule("points", "place", "place", {
        "city": 8, "town": 10, "suburb": 11, "village": 12, "quarter": 13, "neighbourhood": 14,
        "hamlet": 14, "locality": 15}),
)
# polygons this big (m² in Web Mercator) show this many zooms earlier (at most 3)
PROMOTE_M2 = ((5e6, 3), (5e5, 2), (5e4, 1))


def classify(layer: str, tags: dict[str, str]) -> tuple[str, str, int] | None:
    """(kind, class, minzoom) of one OSM feature, or None when the basemap skips it."""
    for rule in RULES:
        if rule.layer != layer:
            continue
        value = tags.get(rule.key)
        if not value:
            continue
        zoom = rule.zooms.get(value, rule.zooms.get("*"))
        if zoom is not None:
            return rule.kind, value, zoom
    return None


def label(tags: dict[str, str]) -> str | None:
    """The Chinese name when the feature has one, else its name."""
    return tags.get("name:zh") or tags.get("name:zh-Hans") or tags.get("name") or None


Rows = list[tuple[str, str | None, str | None, int, bytes]]


def osm_rows(path: Path, progress: Callable[[str], None] = lambda _: None) -> Rows:
    """(kind, class, name, minzoom, WKB in EPSG:4326) for every feature the basemap draws."""
    rows: Rows = []
    for layer in ("points", "lines", "multipolygons"):
        source = read(path, layer=layer)
        kept = 0
        for fields, geom in zip(source.rows, source.geoms, strict=True):
            if geom is None or geom.is_empty:
                continue
            tags = {k: str(v) for k, v in fields.items() if v not in (None, "")}
            tags.update(osm_tags(fields.get("other_tags")))
            found = classify(layer, tags)
            if found is None:
                continue
            if not geom.is_valid:
                geom = shapely.make_valid(geom)
                if geom.is_empty:
                    continue
            kind, cls, zoom = found
            rows.append((kind, cls, label(tags), zoom, shapely.to_wkb(geom)))
            kept += 1
        progress(f"{layer}: {kept} of {len(source.rows)} features kept")
    return rows


INSERT_SQL = """
INSERT INTO basemap (kind, class, name, minzoom, geom)
SELECT kind, class, name, minzoom, ST_Transform(ST_GeomFromWKB(wkb, 4326), 3857)
FROM basemap_in
"""
# big polygons show earlier, never before z8
PROMOTE_SQL = "UPDATE basemap SET minzoom = GREATEST(8, minzoom - CASE " + " ".join(
    f"WHEN ST_Area(geom) > {area} THEN {steps}" for area, steps in PROMOTE_M2
) + " ELSE 0 END) WHERE kind IN ('water', 'park', 'landuse') AND " \
    "GeometryType(geom) IN ('POLYGON', 'MULTIPOLYGON')"


def _replace(conn: psycopg.Connection, source: str, fill: Callable[[psycopg.Cursor], None]
             ) -> dict[str, int]:
    with conn.transaction():
        cur = conn.cursor()
        cur.execute("DELETE FROM basemap")
        fill(cur)
        cur.execute(PROMOTE_SQL)
        counts = dict(cur.execute("SELECT kind, count(*) FROM basemap GROUP BY kind").fetchall())
        cur.execute("INSERT INTO basemap_loads (source, features) VALUES (%s, %s)",
                    (source, sum(counts.values())))
    return counts


def load_osm(url: str, path: Path, progress: Callable[[str], None] = lambda _: None
             ) -> dict[str, int]:
    """Replace the basemap with the features of an OSM extract; feature counts per kind."""
    if not str(path).lower().endswith((".osm.pbf", ".osm")):
        raise ReadError(f"{path}: the basemap is read from an OpenStreetMap .osm.pbf extract")
    rows = osm_rows(path, progress)

    def fill(cur: psycopg.Cursor) -> None:
        cur.execute("CREATE TEMP TABLE basemap_in (kind text, class text, name text, "
                    "minzoom smallint, wkb bytea) ON COMMIT DROP")
        with cur.copy("COPY basemap_in FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute(INSERT_SQL)

    with psycopg.connect(libpq_url(url)) as conn:
        return _replace(conn, path.name, fill)


DISTRICT_SQL = """
INSERT INTO basemap (kind, class, name, minzoom, geom)
SELECT 'road', r.kind, r.name,
       CASE WHEN r.kind IN ('motorway', 'trunk', 'primary') THEN 10
            WHEN r.kind IN ('secondary', 'tertiary') THEN 12 ELSE 13 END,
       ST_Transform(r.geom, 3857)
FROM roads r;
INSERT INTO basemap (kind, class, name, minzoom, geom)
SELECT 'building', 'yes', NULL, 14, ST_Transform(b.geom, 3857)
FROM buildings b WHERE GeometryType(b.geom) IN ('POLYGON', 'MULTIPOLYGON');
INSERT INTO basemap (kind, class, name, minzoom, geom)
SELECT 'landuse', 'residential', NULL, 11, ST_Transform(c.geom, 3857)
FROM communities c WHERE c.valid_to IS NULL;
INSERT INTO basemap (kind, class, name, minzoom, geom)
SELECT 'place', p.class, p.name, p.minzoom, ST_Transform(ST_PointOnSurface(p.geom), 3857)
FROM (SELECT 'suburb' AS class, name, 11 AS minzoom, geom FROM streets WHERE valid_to IS NULL
      UNION ALL
      SELECT 'neighbourhood', name, 13, geom FROM communities WHERE valid_to IS NULL) p
WHERE p.name IS NOT NULL;
"""


def load_from_district(url: str) -> dict[str, int]:
    """Replace the basemap with one drawn from the database's own roads, buildings and area
    names (for the demo, or a district with no OSM extract at hand)."""
    with psycopg.connect(libpq_url(url)) as conn:
        return _replace(conn, "district", lambda cur: cur.execute(DISTRICT_SQL))
