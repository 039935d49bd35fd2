"""Boundary history of an area (its versions and the audit entries) and a diff of two versions."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from gis.editing.plans import PlanError

# Every version of the rows carrying a code: kept boundaries plus the current row. A version's
# author, reason and plan are those of the publish (or undo) that wrote it: the same transaction,
# so its edit_log entry has `at` equal to the version's valid_from.
VERSIONS_SQL = """
WITH rows AS (SELECT id FROM {table} WHERE code = %(code)s),
vs AS (
    SELECT v.version, v.valid_from, v.valid_to, v.households, v.plan_id, v.area_id,
           ST_AsGeoJSON(v.geom, 7)::json AS geom
    FROM boundary_versions v WHERE v.layer = %(table)s AND v.area_id IN (SELECT id FROM rows)
    UNION ALL
    SELECT t.version, t.valid_from, t.valid_to, t.households, NULL, t.id,
           ST_AsGeoJSON(t.geom, 7)::json
    FROM {table} t WHERE t.code = %(code)s)
SELECT vs.*, l.actor, l.reason, l.plan_id, p.name
FROM vs LEFT JOIN LATERAL (
    SELECT actor, reason, plan_id FROM edit_log
    WHERE at = vs.valid_from AND action IN ('publish', 'undo') ORDER BY id LIMIT 1) l ON true
LEFT JOIN plans p ON p.id = l.plan_id
ORDER BY 6, 1, 2
"""

LOG_SQL = """
SELECT l.at, l.actor, l.action, l.plan_id, p.name, l.reason, l.detail
FROM edit_log l LEFT JOIN plans p ON p.id = l.plan_id
WHERE l.area_ids && (SELECT array_agg(id) FROM {table} WHERE code = %(code)s)
ORDER BY l.id
"""


async def history(conn: AsyncConnection, table: str, code: str) -> dict[str, Any]:
    """Versions (GeoJSON features, oldest first) and audit entries of area `code`."""
    cur = await conn.execute(VERSIONS_SQL.format(table=table), {"code": code, "table": table})
    rows = await cur.fetchall()
    if not rows:
        raise PlanError("not_found", f"no area with code {code}")
    features = [{"type": "Feature", "geometry": geom, "properties": {
        "version": version, "valid_from": valid_from.isoformat(),
        "valid_to": valid_to.isoformat() if valid_to else None, "households": households,
        "plan_id": plan_id, "area_id": area_id, "author": author, "reason": reason,
        "by_plan": by_plan, "by_plan_name": plan_name}}
        for (version, valid_from, valid_to, households, plan_id, area_id, geom, author, reason,
             by_plan, plan_name) in rows]
    cur = await conn.execute(LOG_SQL.format(table=table), {"code": code})
    log = [{"at": at.isoformat(), "actor": actor, "action": action, "plan_id": plan_id,
            "plan": name, "reason": reason, "detail": detail}
           for at, actor, action, plan_id, name, reason, detail in await cur.fetchall()]
    return {"code": code, "versions": {"type": "FeatureCollection", "features": features},
            "log": log}


DIFF_SQL = """
WITH v AS (
    SELECT version, geom, 0 AS pref, id FROM {table}
    WHERE code = %(code)s AND version IN (%(a)s, %(b)s)
    UNION ALL
    SELECT b.version, b.geom, 1, b.id FROM boundary_versions b
    WHERE b.layer = %(table)s AND b.code = %(code)s AND b.version IN (%(a)s, %(b)s)
),
a AS (SELECT geom FROM v WHERE version = %(a)s ORDER BY pref, id DESC LIMIT 1),
b AS (SELECT geom FROM v WHERE version = %(b)s ORDER BY pref, id DESC LIMIT 1)
SELECT ST_AsGeoJSON(a.geom, 7)::json, ST_AsGeoJSON(b.geom, 7)::json,
       ST_AsGeoJSON(ST_Difference(b.geom, a.geom), 7)::json,
       ST_AsGeoJSON(ST_Difference(a.geom, b.geom), 7)::json,
       ST_Area(ST_Difference(b.geom, a.geom)::geography),
       ST_Area(ST_Difference(a.geom, b.geom)::geography)
FROM a, b
"""


async def diff(conn: AsyncConnection, table: str, code: str, a: int, b: int) -> dict[str, Any]:
    """GeoJSON of versions a and b of one area and what b added to and removed from a."""
    cur = await conn.execute(DIFF_SQL.format(table=table),
                             {"code": code, "table": table, "a": a, "b": b})
    row = await cur.fetchone()
    if row is None:
        raise PlanError("not_found", f"{code} has no versions {a} and {b} on record")
    parts = [("from", a, row[0], None), ("to", b, row[1], None), ("added", b, row[2], row[4]),
             ("removed", a, row[3], row[5])]
    return {"type": "FeatureCollection", "code": code, "features": [
        {"type": "Feature", "geometry": geom,
         "properties": {"part": part, "version": version,
                        **({"area_m2": round(area, 1)} if area is not None else {})}}
        for part, version, geom, area in parts]}
