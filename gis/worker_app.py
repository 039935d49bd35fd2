"""SQL behind the worker app's own reads: my tasks, who is responsible here, my history.

Every query is confined by the caller's scope (gis.scope), like the rest of the API.
"""

from __future__ import annotations

from psycopg import AsyncConnection

from gis.incidents import summary_json
from gis.routing import actor_streets, scope_streets, street_condition
from gis.scope import Principal, scope_filter

TASK_STATUSES = ("dispatched", "in_progress")
HISTORY_DAYS = 30
CURRENT = "s.starts_on <= current_date AND (s.ends_on IS NULL OR s.ends_on >= current_date)"


async def tasks(conn: AsyncConnection, principal: Principal, limit: int = 200) -> list[dict]:
    """The cases dispatched to the caller (the assignee is their account) still to handle
    (dispatched or in progress): overdue first, then by due time."""
    where, params = scope_filter("incidents", "i", principal, shard_key="street_id")
    route, route_params = street_condition("i", await scope_streets(conn, principal))
    where = f"i.assignee_account_id = %(me)s AND ({where}) AND {route}"
    params.update(route_params, me=principal.account_id)
    cur = await conn.execute(f"""
        SELECT coalesce(json_agg(x.j ORDER BY x.overdue DESC, x.due_at, x.id), '[]'::json)
        FROM (SELECT i.id, i.due_at, (i.due_at < now()) AS overdue,
                     {summary_json('i')}::jsonb || jsonb_build_object(
                        'description', i.description,
                        'micro_grid', (SELECT code FROM micro_grids WHERE id = i.micro_grid_id))
                     AS j
              FROM incidents i WHERE i.status = ANY(%(statuses)s) AND {where}
              ORDER BY (i.due_at < now()) DESC, i.due_at, i.id LIMIT %(limit)s) x
        """, {**params, "statuses": list(TASK_STATUSES), "limit": limit})
    return (await cur.fetchone())[0]


PEOPLE_SQL = f"""
    SELECT coalesce(json_agg(json_build_object('name', w.name, 'phone', w.phone,
                                               'role', s.role) ORDER BY s.role, w.name),
                    '[]'::json)
    FROM assignments s JOIN workers w ON w.id = s.worker_id
    WHERE w.active AND {CURRENT}"""


async def responsible(conn: AsyncConnection, principal: Principal, micro_grid: str | None,
                      building: int | None) -> dict | None:
    """The micro-grid (given, or holding the building) with its micro-grid leaders, the grid's
    leaders and the grid's workers with phone numbers; None when not in the caller's scope."""
    if building is not None:
        where, params = scope_filter("buildings", "b", principal)
        pick = (f"SELECT b.micro_grid_id FROM buildings b WHERE b.id = %(building)s AND {where}")
    else:
        where, params = scope_filter("micro_grids", "m", principal)
        pick = (f"SELECT m.id FROM micro_grids m WHERE m.code = %(code)s "
                f"AND m.valid_to IS NULL AND {where}")
    cur = await conn.execute(f"""
        SELECT json_build_object(
            'micro_grid', json_build_object('code', m.code, 'name', m.name,
                                            'households', m.households),
            'grid', json_build_object('code', g.code, 'name', g.name),
            'micro_grid_leaders', ({PEOPLE_SQL} AND s.level = 'micro_grid' AND s.area_id = m.id
                                   AND s.role = 'micro_grid_leader'),
            'grid_leaders', ({PEOPLE_SQL} AND s.level = 'grid' AND s.area_id = g.id
                             AND s.role = 'grid_leader'),
            'grid_workers', ({PEOPLE_SQL} AND s.level = 'grid' AND s.area_id = g.id
                             AND s.role IN ('full_time', 'part_time')))
        FROM micro_grids m JOIN grids g ON g.id = m.parent_id
        WHERE m.id = ({pick})
        """, {**params, "building": building, "code": micro_grid})
    row = await cur.fetchone()
    return row[0] if row else None


async def history(conn: AsyncConnection, principal: Principal,
                  days: int = HISTORY_DAYS) -> dict:
    """The caller's reports (by the report event's actor) and patrols of the last `days`.

    The reports are read in the streets the caller reported in during those days
    (gis.routing.actor_streets), which names the shard key on Citus: a worker's reports
    may lie in streets no longer in their scope, so the scope's streets would not do."""
    streets = await actor_streets(conn, principal.username, days)
    in_i, route = street_condition("i", streets)
    in_e, _ = street_condition("e", streets)
    cur = await conn.execute(f"""
        SELECT json_build_object(
            'days', %(days)s,
            'reports', (SELECT coalesce(json_agg(x.j ORDER BY x.reported_at DESC), '[]'::json)
                FROM (SELECT i.reported_at, {summary_json('i')} AS j
                      FROM incidents i JOIN incident_events e
                        ON e.incident_id = i.id AND e.street_id = i.street_id
                      WHERE e.action = 'report' AND e.actor = %(me)s AND {in_i} AND {in_e}
                        AND i.reported_at >= now() - make_interval(days => %(days)s)
                      ORDER BY i.reported_at DESC LIMIT 500) x),
            'patrols', (SELECT coalesce(json_agg(json_build_object(
                    'id', p.id, 'started_at', p.started_at, 'ended_at', p.ended_at,
                    'points', (SELECT count(*) FROM patrol_points q WHERE q.patrol_id = p.id))
                    ORDER BY p.started_at DESC), '[]'::json)
                FROM patrols p WHERE p.worker_id = %(worker)s
                  AND p.started_at >= now() - make_interval(days => %(days)s)))
        """, {"days": days, "me": principal.username, "worker": principal.worker_id, **route})
    return (await cur.fetchone())[0]
