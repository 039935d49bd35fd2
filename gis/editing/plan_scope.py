"""Which plans and areas a planner bound to areas may see and touch.

A planner (or admin) with no areas is unrestricted. One bound to areas works only inside them:
an area is inside when its code starts with the code of one of the bound areas (so retired
areas and areas a plan created count by where they lie, not by whether the scope, expanded from
current areas, lists them). A plan is inside when every area it touches is: the areas it edits
(its `base`) and, once published, the areas it created and retired (its publish log entry). A
draft with no edits yet belongs to its creator. Whatever lies outside answers like something
that does not exist (404), so no reply reveals plans or areas beyond the caller's areas.
"""

from __future__ import annotations

from psycopg import AsyncConnection

from gis.levels import LEVEL_ORDER, LEVELS
from gis.scope import Principal, Scope

# every key "table:id" of the given keys whose area lies outside the caller's areas
OUTSIDE_SQL = """
WITH keys AS (
    SELECT split_part(k, ':', 1) AS layer, split_part(k, ':', 2)::bigint AS id
    FROM unnest(%(keys)s::text[]) k),
areas AS (
    {areas}
),
bound AS (
    {bound}
)
SELECT k.layer || ':' || k.id FROM keys k
LEFT JOIN areas a ON a.layer = k.layer AND a.id = k.id
WHERE a.code IS NULL OR NOT EXISTS (
    SELECT 1 FROM bound b WHERE left(a.code, length(b.code)) = b.code)
"""
_AREAS = "\n    UNION ALL ".join(
    f"SELECT '{lv.table}' AS layer, t.id, t.code FROM {lv.table} t "
    f"WHERE t.id IN (SELECT id FROM keys WHERE layer = '{lv.table}')" for lv in LEVELS.values())
_BOUND = "\n    UNION ALL ".join(
    f"SELECT code FROM {LEVELS[lv].table} WHERE id = ANY(%(scope_{lv})s)" for lv in LEVEL_ORDER)
OUTSIDE = OUTSIDE_SQL.format(areas=_AREAS, bound=_BOUND)

PUBLISHED_KEYS_SQL = """
SELECT coalesce(array_agg(DISTINCT k), '{}') FROM edit_log l,
    LATERAL (SELECT c->>0 AS k FROM jsonb_array_elements(
        coalesce(l.detail->'changed', '[]') || coalesce(l.detail->'retired', '[]')
        || coalesce(l.detail->'created', '[]')) c) x
WHERE l.plan_id = %(plan)s AND l.action = 'publish'
"""

CODE_INSIDE_SQL = f"""
SELECT EXISTS (SELECT 1 FROM ({_BOUND}) b WHERE left(%(code)s, length(b.code)) = b.code)
"""


def bound(principal: Principal) -> bool:
    """True when the caller works only inside their areas."""
    return principal.scope is not None


async def outside_keys(conn: AsyncConnection, scope: Scope | None, keys: list[str]
                       ) -> list[str]:
    """The area keys ("table:id") among `keys` that lie outside `scope` (None: unbound)."""
    if scope is None or not keys:
        return []
    cur = await conn.execute(OUTSIDE, {**scope.params(), "keys": sorted(set(keys))})
    return [r[0] for r in await cur.fetchall()]


async def touched_keys(conn: AsyncConnection, plan: dict) -> list[str]:
    """Every area key a plan touches: its edited areas and, if published, what it created and
    retired."""
    keys = list(plan.get("base") or {})
    if plan["status"] in ("published", "undone"):
        cur = await conn.execute(PUBLISHED_KEYS_SQL, {"plan": plan["id"]})
        keys += list((await cur.fetchone())[0])
    return keys


async def plan_visible(conn: AsyncConnection, principal: Principal, plan: dict) -> bool:
    """True when the caller may see and act on `plan` (see the module docstring)."""
    if not bound(principal):
        return True
    keys = await touched_keys(conn, plan)
    if not keys:
        return plan["created_by"] == principal.username
    return not await outside_keys(conn, principal.scope, keys)


async def code_inside(conn: AsyncConnection, principal: Principal, code: str) -> bool:
    """True when the area `code` (current or retired) lies inside the caller's areas."""
    if not bound(principal):
        return True
    cur = await conn.execute(CODE_INSIDE_SQL, {**principal.scope.params(), "code": code})
    return bool((await cur.fetchone())[0])
