"""SQL behind the pages' own endpoints: the caller's map context and the planner's checks.

Every query is confined by :func:`gis.scope.scope_filter` and answers one JSON document built in
the database.
"""

from __future__ import annotations

from psycopg import AsyncConnection

from gis.scope import Principal, scope_filter

_AREA_TABLES = [("street", "streets"), ("community", "communities"), ("grid", "grids"),
                ("micro_grid", "micro_grids")]


def _visible_areas(principal: Principal) -> tuple[str, dict]:
    """A UNION of the current areas the caller sees (micro-grids only when confined)."""
    parts, params = [], {"restricted": principal.restricted}
    for level, table in _AREA_TABLES:
        where, p = scope_filter(table, "t", principal)
        params.update(p)
        parent = "NULL::bigint" if level == "street" else "t.parent_id"
        extra = " AND %(restricted)s" if level == "micro_grid" else ""
        parts.append(
            f"SELECT '{level}'::text AS level, t.id, t.code, t.name, {parent} AS parent_id, "
            f"t.households, t.geom FROM {table} t WHERE t.valid_to IS NULL AND {where}{extra}")
    return " UNION ALL ".join(parts), params


def _bbox(expr: str) -> str:
    """A JSON [west, south, east, north] of a box2d expression (7 decimals)."""
    return ", ".join(f"round(ST_{f}({expr})::numeric, 7)" for f in ("XMin", "YMin", "XMax", "YMax"))


async def map_context(conn: AsyncConnection, principal: Principal) -> dict:
    """Who the caller is, where their map starts, their top areas (outlined) and area list."""
    union, params = _visible_areas(principal)
    sql = f"""
    WITH a AS ({union}),
    top AS (
        SELECT * FROM a WHERE %(restricted)s AND NOT EXISTS (
            SELECT 1 FROM a p WHERE p.id = a.parent_id AND p.level = CASE a.level
                WHEN 'community' THEN 'street' WHEN 'grid' THEN 'community'
                WHEN 'micro_grid' THEN 'grid' END))
    SELECT json_build_object(
        'bbox', (SELECT json_build_array({_bbox("e")})
                 FROM (SELECT ST_Extent(geom) AS e FROM a) x WHERE e IS NOT NULL),
        'areas', COALESCE((SELECT json_agg(json_build_object(
            'level', level, 'id', id, 'code', code, 'name', name, 'households', households,
            'bbox', json_build_array({_bbox("geom")})) ORDER BY code)
            FROM a WHERE level IN ('street', 'community')), '[]'::json),
        'outline', json_build_object('type', 'FeatureCollection', 'features', COALESCE(
            (SELECT json_agg(json_build_object(
                'type', 'Feature', 'id', id,
                'geometry', ST_AsGeoJSON(geom, 7)::json,
                'properties', json_build_object('level', level, 'code', code, 'name', name,
                                                'households', households)) ORDER BY code)
             FROM top), '[]'::json)))
    """
    cur = await conn.execute(sql, params)
    return (await cur.fetchone())[0]


def _bounds_check(level: str, table: str, lo: str, hi: str, principal: Principal,
                  params: dict) -> str:
    where, p = scope_filter(table, "t", principal)
    params.update(p)
    dedicated = " AND t.kind = 'standard'" if table == "grids" else ""
    return f"""
    SELECT CASE WHEN t.households < %({lo})s THEN 'under' ELSE 'over' END AS problem,
           '{level}' AS level, t.code, t.name, t.households, t.geom
    FROM {table} t
    WHERE t.valid_to IS NULL AND {where}{dedicated}
      AND (t.households < %({lo})s OR t.households > %({hi})s)"""


def _containment_check(level: str, table: str, parent: str, principal: Principal,
                       params: dict) -> str:
    where, p = scope_filter(table, "t", principal)
    params.update(p)
    return f"""
    SELECT 'outside_parent', '{level}', t.code, t.name, t.households,
           ST_Multi(ST_CollectionExtract(ST_Difference(t.geom, p.geom), 3))
    FROM {table} t JOIN {parent} p ON p.id = t.parent_id
    WHERE t.valid_to IS NULL AND {where} AND NOT ST_CoveredBy(t.geom, p.geom)
      AND ST_Area(ST_Difference(t.geom, p.geom)) > 1e-9 * ST_Area(t.geom)"""


async def plan_checks(conn: AsyncConnection, principal: Principal, bounds: dict[str, int],
                      limit: int = 500) -> dict:
    """The current boundaries' violations: household bounds, containment, orphan buildings."""
    params: dict = dict(bounds, limit=limit)
    checks = [
        _bounds_check("grid", "grids", "grid_min", "grid_max", principal, params),
        _bounds_check("micro_grid", "micro_grids", "micro_grid_min", "micro_grid_max",
                      principal, params),
        _containment_check("grid", "grids", "communities", principal, params),
        _containment_check("micro_grid", "micro_grids", "grids", principal, params),
    ]
    where, p = scope_filter("buildings", "b", principal)
    params.update(p)
    sql = f"""
    WITH v AS ({" UNION ALL ".join(checks)}),
    orphans AS (
        SELECT count(*) AS n, ST_Extent(b.geom) AS e FROM buildings b
        WHERE b.micro_grid_id IS NULL AND {where})
    SELECT json_build_object(
        'total', (SELECT count(*) FROM v),
        'unassigned_buildings', (SELECT n FROM orphans),
        'unassigned_bbox', (SELECT json_build_array({_bbox("e")}) FROM orphans
                            WHERE e IS NOT NULL),
        'messages', COALESCE((SELECT json_agg(m) FROM (
            SELECT json_build_object('problem', problem, 'level', level, 'code', code,
                'name', name, 'households', households,
                'bbox', json_build_array({_bbox("geom")})) AS m
            FROM v ORDER BY level, code LIMIT %(limit)s) s), '[]'::json))
    """
    cur = await conn.execute(sql, params)
    return (await cur.fetchone())[0]


async def split_inputs(conn: AsyncConnection, principal: Principal, level: str,
                       code: str) -> dict | None:
    """A grid's (or community's) polygon, its buildings' households and its roads, as WKB, for
    the split engine's preview; None when the area is missing or outside the caller's scope."""
    table = {"micro_grid": "grids", "grid": "communities"}[level]
    where, params = scope_filter(table, "p", principal)
    cur = await conn.execute(f"""
        SELECT p.id, p.code, p.name, p.households, ST_AsBinary(p.geom),
               COALESCE((SELECT array_agg(ST_AsBinary(b.geom) ORDER BY b.id) FROM buildings b
                         WHERE ST_Intersects(p.geom, ST_PointOnSurface(b.geom))), '{{}}'),
               COALESCE((SELECT array_agg(b.households ORDER BY b.id) FROM buildings b
                         WHERE ST_Intersects(p.geom, ST_PointOnSurface(b.geom))), '{{}}'),
               COALESCE((SELECT array_agg(ST_AsBinary(ST_Intersection(r.geom, p.geom)))
                         FROM roads r WHERE ST_Intersects(r.geom, p.geom)), '{{}}')
        FROM {table} p WHERE p.code = %(code)s AND p.valid_to IS NULL AND {where}
        """, {**params, "code": code})
    row = await cur.fetchone()
    if row is None:
        return None
    return {"id": row[0], "code": row[1], "name": row[2], "households": row[3],
            "geom": bytes(row[4]), "buildings": [bytes(b) for b in row[5]],
            "building_households": list(row[6]), "roads": [bytes(r) for r in row[7]]}
