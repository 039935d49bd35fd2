"""Workers follow the boundaries: assignments of a retired area move to its successor.

When a publish, an undo or a split retires an area, every active assignment on it (worker x area
x role) is pointed at the successor: the current area of the same level holding most of the
retired area's households (buildings whose representative point lies in the retired boundary,
which the retired row keeps), ties broken by the larger overlap, then by id. Each move is an
``assignment_changes`` row naming the plan and the action as the reason, so it can be read back
and undone. Run inside the transaction that retires the areas, a worker never ends up assigned to
a retired area; run inside a rolled-back savepoint, it tells a planner who would move.

A new area left without a micro-grid leader (micro-grids) or a grid worker (grids) is reported
as uncovered: someone has to be assigned there by hand.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection, Connection

LEVEL_OF = {"micro_grids": "micro_grid", "grids": "grid"}
BUILDING_COLUMN = {"micro_grids": "micro_grid_id", "grids": "grid_id"}
# Roles that count as covering a new area, per level.
COVERING = {"micro_grids": ("micro_grid_leader",),
            "grids": ("grid_leader", "full_time", "part_time")}
ACTIVE = "(s.ends_on IS NULL OR s.ends_on >= current_date)"
KEPT = {"grids": "AND t.kind <> 'dedicated'"}  # children a split keeps (dedicated grids)

# {old}: the retired boundary, as a sub-select of the retired row or a WKB parameter.
SUCCESSOR_SQL = """
WITH o AS (SELECT {old} AS geom)
SELECT t.id, t.code FROM o JOIN {table} t
  ON t.valid_to IS NULL AND t.id <> %(old)s AND t.geom && o.geom AND ST_Intersects(t.geom, o.geom)
LEFT JOIN LATERAL (
    SELECT sum(b.households) AS h FROM buildings b
    WHERE b.{column} = t.id AND ST_Intersects(o.geom, ST_PointOnSurface(b.geom))) x ON true
ORDER BY coalesce(x.h, 0) DESC, ST_Area(ST_Intersection(t.geom, o.geom)) DESC, t.id
LIMIT 1
"""
OLD_ROW = "(SELECT geom FROM {table} WHERE id = %(old)s)"
OLD_WKB = "ST_GeomFromWKB(%(geom)s, 4326)"
RECORD_SQL = """
INSERT INTO assignment_changes (assignment_id, worker_id, level, role, from_area_id, from_code,
                                to_area_id, to_code, plan_id, action, reason)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
"""
ASSIGNED_SQL = f"""
SELECT s.id, s.worker_id, w.name, s.role FROM assignments s JOIN workers w ON w.id = s.worker_id
WHERE s.level = %(level)s AND s.area_id = %(old)s AND {ACTIVE}
ORDER BY s.id
"""


async def successor(conn: AsyncConnection, table: str, old_id: int) -> tuple[int, str] | None:
    """The current area taking over from retired area `old_id` (None when nothing overlaps)."""
    sql = SUCCESSOR_SQL.format(table=table, column=BUILDING_COLUMN[table],
                               old=OLD_ROW.format(table=table))
    cur = await conn.execute(sql, {"old": old_id})
    row = await cur.fetchone()
    return (row[0], row[1]) if row else None


async def follow(conn: AsyncConnection, retired: list[str], action: str,
                 plan_id: int | None = None, reason: str = "") -> list[dict[str, Any]]:
    """Move the active assignments of the retired areas ("table:id" keys) to their successors;
    returns the moves (worker, role, from, to)."""
    moves: list[dict[str, Any]] = []
    for key in sorted(retired):
        table, _, area_id = key.partition(":")
        if table not in LEVEL_OF:
            continue
        level = LEVEL_OF[table]
        cur = await conn.execute(ASSIGNED_SQL, {"level": level, "old": int(area_id)})
        rows = await cur.fetchall()
        if not rows:
            continue
        new = await successor(conn, table, int(area_id))
        if new is None:
            continue
        cur = await conn.execute(f"SELECT code FROM {table} WHERE id = %s", (int(area_id),))
        old_code = (await cur.fetchone())[0]
        for assignment_id, worker_id, name, role in rows:
            await conn.execute("UPDATE assignments SET area_id = %s WHERE id = %s",
                               (new[0], assignment_id))
            await conn.execute(RECORD_SQL, (assignment_id, worker_id, level, role, int(area_id),
                                            old_code, new[0], new[1], plan_id, action, reason))
            moves.append({"worker": name, "worker_id": worker_id, "role": role, "level": level,
                          "from": old_code, "to": new[1]})
    return moves


async def uncovered(conn: AsyncConnection, created: list[str]) -> list[dict[str, Any]]:
    """New areas ("table:id" keys) with no active assignment in a covering role."""
    out: list[dict[str, Any]] = []
    for key in sorted(created):
        table, _, area_id = key.partition(":")
        if table not in COVERING:
            continue
        cur = await conn.execute(
            f"SELECT t.code, EXISTS (SELECT 1 FROM assignments s WHERE s.level = %s "
            f"AND s.area_id = t.id AND s.role = ANY(%s) AND {ACTIVE}) "
            f"FROM {table} t WHERE t.id = %s AND t.valid_to IS NULL",
            (LEVEL_OF[table], list(COVERING[table]), int(area_id)))
        row = await cur.fetchone()
        if row and not row[1]:
            out.append({"level": LEVEL_OF[table], "code": row[0],
                        "role": COVERING[table][0] if table == "micro_grids" else "grid_worker"})
    return out


async def revert(conn: AsyncConnection, plan_id: int, reason: str = "") -> int:
    """Undo of a publish: assignments the publish moved, and still on the area it moved them
    to, go back to their area (current again after the undo); each recorded as action undo."""
    cur = await conn.execute("""
        SELECT c.assignment_id, c.worker_id, c.level, c.role, c.to_area_id, c.to_code,
               c.from_area_id, c.from_code
        FROM assignment_changes c JOIN assignments s ON s.id = c.assignment_id
        WHERE c.plan_id = %s AND c.action = 'publish' AND s.area_id = c.to_area_id
        ORDER BY c.id DESC""", (plan_id,))
    rows = await cur.fetchall()
    for assignment_id, worker_id, level, role, to_id, to_code, from_id, from_code in rows:
        await conn.execute("UPDATE assignments SET area_id = %s WHERE id = %s",
                           (from_id, assignment_id))
        await conn.execute(RECORD_SQL, (assignment_id, worker_id, level, role, to_id, to_code,
                                        from_id, from_code, plan_id, "undo", reason))
    return len(rows)


# ---- the split job (synchronous psycopg): children are replaced wholesale -------------------

def capture(conn: Connection, table: str, parent_ids: list[int]) -> list[tuple]:
    """Before a split replaces the parents' children: those with active assignments, as
    (id, code, boundary WKB), so their workers can follow once the new children exist."""
    return conn.execute(f"""
        SELECT t.id, t.code, ST_AsBinary(t.geom) FROM {table} t
        WHERE t.parent_id = ANY(%s) AND t.valid_to IS NULL {KEPT.get(table, "")} AND EXISTS (
            SELECT 1 FROM assignments s WHERE s.level = %s AND s.area_id = t.id AND {ACTIVE})
        ORDER BY t.id""", (parent_ids, LEVEL_OF[table])).fetchall()


def follow_split(conn: Connection, table: str, olds: list[tuple], reason: str = "split"
                 ) -> list[dict[str, Any]]:
    """After the split: move the captured children's assignments to their successors among the
    new children (action 'split'); returns the moves."""
    level, moves = LEVEL_OF[table], []
    sql = SUCCESSOR_SQL.format(table=table, column=BUILDING_COLUMN[table], old=OLD_WKB)
    for old_id, old_code, wkb in olds:
        new = conn.execute(sql, {"old": old_id, "geom": bytes(wkb)}).fetchone()
        if new is None:
            continue
        rows = conn.execute(ASSIGNED_SQL, {"level": level, "old": old_id}).fetchall()
        for assignment_id, worker_id, name, role in rows:
            conn.execute("UPDATE assignments SET area_id = %s WHERE id = %s",
                         (new[0], assignment_id))
            conn.execute(RECORD_SQL, (assignment_id, worker_id, level, role, old_id, old_code,
                                      new[0], new[1], None, "split", reason))
            moves.append({"worker": name, "role": role, "level": level, "from": old_code,
                          "to": new[1]})
    return moves
