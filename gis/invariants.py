"""The invariants of DESIGN §2 as SQL checks; each violation names the areas and a geometry.

Used by the tests, by `wangge validate`, and by the planner's validation before publishing.
"""

from __future__ import annotations

from dataclasses import dataclass

from gis.levels import LEVEL_ORDER, LEVELS

TOLERANCE = 1e-9  # of the parent's area


@dataclass(frozen=True)
class Violation:
    """One broken invariant: which check, which areas, a message and a GeoJSON geometry."""

    check: str
    codes: tuple[str, ...]
    message: str
    geometry: str | None = None  # GeoJSON text


def _pairs() -> list[tuple[str, str]]:
    return [(LEVELS[LEVEL_ORDER[i]].table, LEVELS[LEVEL_ORDER[i + 1]].table)
            for i in range(len(LEVEL_ORDER) - 1)]


def _containment_sql(parent: str, child: str) -> str:
    return f"""
    SELECT 'containment', ARRAY[p.code, c.code],
           'part of ' || c.code || ' lies outside its parent ' || p.code,
           ST_AsGeoJSON(ST_Difference(c.geom, p.geom), 7)
    FROM {child} c JOIN {parent} p ON p.id = c.parent_id
    WHERE c.valid_to IS NULL
      AND ST_Area(ST_Difference(c.geom, p.geom)) > {TOLERANCE} * ST_Area(p.geom)"""


def _overlap_sql(parent: str, child: str) -> str:
    return f"""
    SELECT 'overlap', ARRAY[a.code, b.code], a.code || ' and ' || b.code || ' overlap',
           ST_AsGeoJSON(ST_Intersection(a.geom, b.geom), 7)
    FROM {child} a JOIN {child} b
      ON a.parent_id = b.parent_id AND a.id < b.id AND a.geom && b.geom
    JOIN {parent} p ON p.id = a.parent_id
    WHERE a.valid_to IS NULL AND b.valid_to IS NULL
      AND ST_Area(ST_Intersection(a.geom, b.geom)) > {TOLERANCE} * ST_Area(p.geom)"""


def _gap_sql(parent: str, child: str) -> str:
    return f"""
    SELECT 'gap', ARRAY[p.code], 'part of ' || p.code || ' is not covered by its children',
           ST_AsGeoJSON(ST_Difference(p.geom, u.geom), 7)
    FROM {parent} p
    JOIN (SELECT parent_id, ST_Union(geom) AS geom FROM {child}
          WHERE valid_to IS NULL GROUP BY parent_id) u ON u.parent_id = p.id
    WHERE p.valid_to IS NULL
      AND ST_Area(ST_Difference(p.geom, u.geom)) > {TOLERANCE} * ST_Area(p.geom)"""


def _rollup_sql(parent: str, child: str) -> str:
    return f"""
    SELECT 'households', ARRAY[p.code],
           p.code || ' has ' || p.households || ' households but its children sum to ' || s.total,
           NULL
    FROM {parent} p JOIN (SELECT parent_id, sum(households) AS total FROM {child}
                          WHERE valid_to IS NULL GROUP BY parent_id) s ON s.parent_id = p.id
    WHERE p.valid_to IS NULL AND p.households <> s.total"""


def _contiguity_sql(table: str) -> str:
    return f"""
    SELECT 'contiguity', ARRAY[a.code], a.code || ' is split into '
           || ST_NumGeometries(a.geom) || ' pieces', ST_AsGeoJSON(a.geom, 7)
    FROM {table} a WHERE a.valid_to IS NULL AND ST_NumGeometries(a.geom) > 1"""


BUILDING_SQL = """
SELECT 'building_assignment', ARRAY[coalesce(b.code, b.id::text)],
       'building ' || coalesce(b.code, b.id::text) || ' lies outside its micro-grid',
       ST_AsGeoJSON(b.geom, 7)
FROM buildings b JOIN micro_grids m ON m.id = b.micro_grid_id
WHERE NOT ST_Intersects(m.geom, ST_PointOnSurface(b.geom))
UNION ALL
SELECT 'building_assignment', ARRAY[coalesce(b.code, b.id::text)],
       'building ' || coalesce(b.code, b.id::text) || ' has no micro-grid in a divided grid',
       ST_AsGeoJSON(b.geom, 7)
FROM buildings b
WHERE b.micro_grid_id IS NULL AND b.grid_id IN (
    SELECT parent_id FROM micro_grids WHERE valid_to IS NULL)
UNION ALL
SELECT 'building_assignment', ARRAY[coalesce(b.code, b.id::text)],
       'building ' || coalesce(b.code, b.id::text) || ' is in a micro-grid of another grid',
       ST_AsGeoJSON(b.geom, 7)
FROM buildings b JOIN micro_grids m ON m.id = b.micro_grid_id
WHERE b.grid_id IS DISTINCT FROM m.parent_id
"""

MICRO_ROLLUP_SQL = """
SELECT 'households', ARRAY[m.code],
       m.code || ' has ' || m.households || ' households but its buildings sum to ' || s.total,
       NULL
FROM micro_grids m JOIN (SELECT micro_grid_id, sum(households) AS total FROM buildings
                         GROUP BY micro_grid_id) s ON s.micro_grid_id = m.id
WHERE m.valid_to IS NULL AND m.households <> s.total
"""


def invariant_queries() -> list[str]:
    """Every check as one SELECT (check, codes, message, geojson)."""
    queries = [BUILDING_SQL, MICRO_ROLLUP_SQL]
    for parent, child in _pairs():
        queries += [_containment_sql(parent, child), _overlap_sql(parent, child),
                    _gap_sql(parent, child), _rollup_sql(parent, child)]
    queries += [_contiguity_sql(LEVELS[name].table) for name in LEVEL_ORDER]
    return queries


def check_invariants(conn) -> list[Violation]:
    """All violations in the database (psycopg connection)."""
    violations: list[Violation] = []
    for query in invariant_queries():
        for check, codes, message, geometry in conn.execute(query).fetchall():
            violations.append(Violation(check, tuple(codes), message, geometry))
    return violations
