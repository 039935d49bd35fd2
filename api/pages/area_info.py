"""What the planner's area panel shows about one current area: its parent and its people."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from gis.levels import level as get_level

PARENT_TABLE = {"communities": "streets", "grids": "communities", "micro_grids": "grids"}
EXTRA = {"grids": "t.kind", "communities": "t.class"}

AREA_SQL = """
SELECT t.id, t.code, t.name, t.households, t.version, {parent}, {extra}
FROM {table} t {join} WHERE t.code = %(code)s AND t.valid_to IS NULL
"""
WORKERS_SQL = """
SELECT w.name, s.role FROM assignments s JOIN workers w ON w.id = s.worker_id
WHERE s.level = %(level)s AND s.area_id = %(id)s
  AND (s.ends_on IS NULL OR s.ends_on >= current_date) AND w.active
ORDER BY s.role, w.name
"""


async def area_info(conn: AsyncConnection, level: str, code: str) -> dict[str, Any] | None:
    """Code, name, households, version, kind/class, parent and assigned workers (or None)."""
    lv = get_level(level)
    table = lv.table
    parent = PARENT_TABLE.get(table)
    sql = AREA_SQL.format(
        table=table, extra=EXTRA.get(table, "NULL::text"),
        parent="p.code, p.name" if parent else "NULL::text, NULL::text",
        join=f"LEFT JOIN {parent} p ON p.id = t.parent_id" if parent else "")
    row = await (await conn.execute(sql, {"code": code})).fetchone()
    if row is None:
        return None
    area_id, code, name, households, version, p_code, p_name, extra = row
    cur = await conn.execute(WORKERS_SQL, {"level": lv.name, "id": area_id})
    workers = [{"name": n, "role": r} for n, r in await cur.fetchall()]
    return {"level": lv.name, "code": code, "name": name, "households": households,
            "version": version, "kind": extra if table == "grids" else None,
            "class": extra if table == "communities" else None,
            "parent": {"code": p_code, "name": p_name} if p_code else None, "workers": workers}
