"""Per-area validation: the DESIGN §2 invariants of gis.invariants, confined to some parents,
plus household bounds per level and empty areas (Esri's redistricting checks: dual and null
assignment, connectivity, deviation).

Structural violations (containment, overlap, gap, contiguity, building assignment, empty) block
an edit; household-bound violations block publishing for the areas a plan touched and are
reported as warnings while a plan is drafted.
"""

from __future__ import annotations

from psycopg import AsyncConnection

from gis.invariants import TOLERANCE, Violation
from gis.settings import Settings

BOUNDS = "bounds"
CHILD = {"streets": "communities", "communities": "grids", "grids": "micro_grids"}


def _group_queries(parent: str, child: str) -> list[str]:
    """SELECTs (check, codes, message, geojson) over the children of parents %(ids)s."""
    queries = [f"""
    SELECT 'containment', ARRAY[p.code, c.code],
           'part of ' || c.code || ' lies outside its parent ' || p.code,
           ST_AsGeoJSON(ST_Difference(c.geom, p.geom), 7)
    FROM {child} c JOIN {parent} p ON p.id = c.parent_id
    WHERE p.id = ANY(%(ids)s) AND c.valid_to IS NULL
      AND ST_Area(ST_Difference(c.geom, p.geom)) > {TOLERANCE} * ST_Area(p.geom)""", f"""
    SELECT 'overlap', ARRAY[a.code, b.code], a.code || ' and ' || b.code || ' overlap',
           ST_AsGeoJSON(ST_Intersection(a.geom, b.geom), 7)
    FROM {child} a JOIN {child} b
      ON a.parent_id = b.parent_id AND a.id < b.id AND a.geom && b.geom
    JOIN {parent} p ON p.id = a.parent_id
    WHERE p.id = ANY(%(ids)s) AND a.valid_to IS NULL AND b.valid_to IS NULL
      AND ST_Area(ST_Intersection(a.geom, b.geom)) > {TOLERANCE} * ST_Area(p.geom)""", f"""
    SELECT 'gap', ARRAY[p.code], 'part of ' || p.code || ' is not covered by its children',
           ST_AsGeoJSON(ST_Difference(p.geom, u.geom), 7)
    FROM {parent} p
    JOIN (SELECT parent_id, ST_Union(geom) AS geom FROM {child}
          WHERE valid_to IS NULL AND parent_id = ANY(%(ids)s) GROUP BY parent_id) u
      ON u.parent_id = p.id
    WHERE ST_Area(ST_Difference(p.geom, u.geom)) > {TOLERANCE} * ST_Area(p.geom)""", f"""
    SELECT 'contiguity', ARRAY[c.code], c.code || ' is split into '
           || ST_NumGeometries(c.geom) || ' pieces', ST_AsGeoJSON(c.geom, 7)
    FROM {child} c WHERE c.parent_id = ANY(%(ids)s) AND c.valid_to IS NULL
      AND ST_NumGeometries(c.geom) > 1"""]
    if child in ("micro_grids", "grids"):
        column = "micro_grid_id" if child == "micro_grids" else "grid_id"
        queries.append(f"""
    SELECT 'empty', ARRAY[c.code], c.code || ' holds no building', ST_AsGeoJSON(c.geom, 7)
    FROM {child} c WHERE c.parent_id = ANY(%(ids)s) AND c.valid_to IS NULL
      AND NOT EXISTS (SELECT 1 FROM buildings b WHERE b.{column} = c.id)""")
        queries.append(f"""
    SELECT 'building_assignment', ARRAY[c.code, coalesce(b.code, b.id::text)],
           'building ' || coalesce(b.code, b.id::text) || ' lies outside its area ' || c.code,
           ST_AsGeoJSON(b.geom, 7)
    FROM buildings b JOIN {child} c ON c.id = b.{column}
    WHERE c.parent_id = ANY(%(ids)s)
      AND (c.valid_to IS NOT NULL OR NOT ST_Intersects(c.geom, ST_PointOnSurface(b.geom)))""")
    if child == "micro_grids":
        queries.append("""
    SELECT 'building_assignment', ARRAY[p.code, coalesce(b.code, b.id::text)],
           'building ' || coalesce(b.code, b.id::text) || ' has no micro-grid in ' || p.code,
           ST_AsGeoJSON(b.geom, 7)
    FROM buildings b JOIN grids p ON p.id = b.grid_id
    WHERE p.id = ANY(%(ids)s) AND (b.micro_grid_id IS NULL OR b.micro_grid_id NOT IN (
        SELECT id FROM micro_grids WHERE parent_id = p.id))
      AND EXISTS (SELECT 1 FROM micro_grids m WHERE m.parent_id = p.id AND m.valid_to IS NULL)""")
    return queries


def _bounds_query(child: str) -> str:
    dedicated = "AND c.kind <> 'dedicated'" if child == "grids" else ""
    return f"""
    SELECT 'bounds', ARRAY[c.code], c.code || ' holds ' || c.households || ' households, outside '
           || %(lo)s || '-' || %(hi)s, ST_AsGeoJSON(c.geom, 7)
    FROM {child} c WHERE c.id = ANY(%(touched)s) AND c.valid_to IS NULL {dedicated}
      AND (c.households < %(lo)s OR c.households > %(hi)s)"""


def bounds_for(child: str, settings: Settings) -> tuple[int, int] | None:
    if child == "micro_grids":
        return settings.micro_grid_min, settings.micro_grid_max
    if child == "grids":
        return settings.grid_min, settings.grid_max
    return None


async def validate_groups(conn: AsyncConnection, parents: dict[str, list[int]],
                          touched: dict[str, list[int]], settings: Settings
                          ) -> list[Violation]:
    """Violations among the children of `parents` ({parent table: ids}) and household bounds of
    the `touched` areas ({table: ids})."""
    out: list[Violation] = []
    for parent, ids in parents.items():
        if not ids or parent not in CHILD:
            continue
        for query in _group_queries(parent, CHILD[parent]):
            cur = await conn.execute(query, {"ids": sorted(set(ids))})
            out += [Violation(c, tuple(codes), m, geo) for c, codes, m, geo in
                    await cur.fetchall()]
    for table, ids in touched.items():
        bounds = bounds_for(table, settings)
        if not ids or bounds is None:
            continue
        cur = await conn.execute(_bounds_query(table), {"touched": sorted(set(ids)),
                                                        "lo": bounds[0], "hi": bounds[1]})
        out += [Violation(c, tuple(codes), m, geo) for c, codes, m, geo in await cur.fetchall()]
    return out


async def validate_area(conn: AsyncConnection, table: str, area_id: int, code: str,
                        parent_id: int | None, settings: Settings) -> list[Violation]:
    """On-demand check of one area: its own children, and its place among its siblings."""
    out: list[Violation] = []
    if table in CHILD:
        child = CHILD[table]
        rows = await (await conn.execute(
            f"SELECT id FROM {child} WHERE parent_id = %s AND valid_to IS NULL",
            (area_id,))).fetchall()
        out += await validate_groups(conn, {table: [area_id]}, {child: [r[0] for r in rows]},
                                     settings)
    parent = {v: k for k, v in CHILD.items()}.get(table)
    if parent and parent_id is not None:
        around = await validate_groups(conn, {parent: [parent_id]}, {table: [area_id]}, settings)
        out += [v for v in around if code in v.codes]
    return out


def as_json(v: Violation) -> dict:
    """A violation as the API shows it (geometry as a GeoJSON object)."""
    import json

    return {"check": v.check, "codes": list(v.codes), "message": v.message,
            "geometry": json.loads(v.geometry) if v.geometry else None}


def blocking(violations: list[Violation]) -> list[Violation]:
    return [v for v in violations if v.check != BOUNDS]
