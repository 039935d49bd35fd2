"""The live situation on the command map: workers' last positions, micro-grids not patrolled
in a period, staffing gaps, and what one area holds (people, open cases).

Each function returns one SQL statement (psycopg %(name)s style) confined to the caller's scope
by :func:`gis.scope.scope_filter`; each answers with a single JSON value built in the database.
"""

from __future__ import annotations

from gis.levels import level as level_spec
from gis.routing import street_condition
from gis.scope import Principal, scope_filter

# Roles that hold an area (assignments.role), in the order they are listed.
ROLE_ORDER = ("grid_leader", "full_time", "part_time", "micro_grid_leader", "household_leader")
_CURRENT = "s.starts_on <= current_date AND (s.ends_on IS NULL OR s.ends_on >= current_date)"


def live_positions_sql(principal: Principal | None) -> tuple[str, dict]:
    """Each worker's last patrol point of the last `minutes` minutes (name, time, patrol)."""
    where, params = scope_filter("patrol_points", "p", principal)
    sql = f"""
    SELECT coalesce(json_agg(json_build_object(
               'worker_id', x.worker_id, 'name', w.name, 't', x.t, 'patrol_id', x.patrol_id,
               'lon', round(ST_X(x.geom)::numeric, 7), 'lat', round(ST_Y(x.geom)::numeric, 7),
               'micro_grid_id', x.micro_grid_id) ORDER BY w.name, x.worker_id), '[]'::json)
    FROM (
        SELECT DISTINCT ON (t.worker_id) t.worker_id, p.t, p.patrol_id, p.geom, p.micro_grid_id
        FROM patrol_points p JOIN patrols t ON t.id = p.patrol_id
        WHERE p.t >= now() - make_interval(mins => %(minutes)s) AND {where}
        ORDER BY t.worker_id, p.t DESC, p.id DESC
    ) x JOIN workers w ON w.id = x.worker_id
    """
    return sql, params


def _assignees(level_col: str, id_expr: str) -> str:
    """A JSON array of the people currently assigned to the area `id_expr` of `level_col`."""
    return f"""(SELECT coalesce(json_agg(json_build_object(
            'worker_id', w.id, 'name', w.name, 'phone', w.phone, 'role', s.role,
            'level', s.level, 'ends_on', s.ends_on) ORDER BY s.role, w.name), '[]'::json)
        FROM assignments s JOIN workers w ON w.id = s.worker_id
        WHERE s.level = '{level_col}' AND s.area_id = {id_expr} AND {_CURRENT})"""


def unpatrolled_sql(principal: Principal | None, parent: tuple[str, int] | None = None,
                    distributed: bool = False) -> tuple[str, dict]:
    """Current micro-grids in scope with no patrol point in [start, end), as GeoJSON features
    with their assignees (of the micro-grid and its grid) and their last patrol before end.

    One node probes the (micro_grid_id, t) index per micro-grid; on Citus (`distributed`) no
    subquery over patrol_points may be correlated with a reference table's row, so the
    micro-grids are read first and the points are aggregated for all of them at once."""
    where, params = scope_filter("micro_grids", "m", principal)
    conds = ["m.valid_to IS NULL", where]
    if parent is not None:
        col = {"street": "c.parent_id", "community": "g.parent_id", "grid": "m.parent_id",
               "micro_grid": "m.id"}[parent[0]]
        conds.append(f"{col} = %(parent_id)s")
        params["parent_id"] = parent[1]
    if distributed:
        return _unpatrolled_distributed(conds), params
    last_patrol = ("(SELECT max(p.t) FROM patrol_points p "
                   "WHERE p.micro_grid_id = m.id AND p.t < %(end)s)")
    sql = f"""
    {_unpatrolled_collection('g.id', last_patrol)}
    FROM micro_grids m JOIN grids g ON g.id = m.parent_id JOIN communities c ON c.id = g.parent_id
    WHERE {' AND '.join(conds)} AND NOT EXISTS (
        SELECT 1 FROM patrol_points p
        WHERE p.micro_grid_id = m.id AND p.t >= %(start)s AND p.t < %(end)s)
    """
    return sql, params


def _unpatrolled_collection(grid_id: str, last_patrol: str) -> str:
    """The SELECT list of the unpatrolled layer: micro-grids `m` as a FeatureCollection with
    their assignees (of the micro-grid and of its grid `grid_id`) and `last_patrol`."""
    return f"""SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
        json_build_object('type', 'Feature', 'id', m.code,
            'geometry', ST_AsGeoJSON(m.geom, 6)::json,
            'properties', json_build_object(
                'code', m.code, 'name', m.name, 'households', m.households,
                'assignees', {_assignees('micro_grid', 'm.id')},
                'grid_assignees', {_assignees('grid', grid_id)},
                'last_patrol', {last_patrol}))
        ORDER BY m.code), '[]'::json))"""


def _unpatrolled_distributed(conds: list[str]) -> str:
    return f"""
    WITH m AS MATERIALIZED (
        SELECT m.id, m.code, m.name, m.households, m.geom, g.id AS grid_id
        FROM micro_grids m JOIN grids g ON g.id = m.parent_id
        JOIN communities c ON c.id = g.parent_id WHERE {' AND '.join(conds)}),
    points AS MATERIALIZED (
        SELECT p.micro_grid_id, max(p.t) AS last_t,
               bool_or(p.t >= %(start)s) AS visited
        FROM patrol_points p
        WHERE p.micro_grid_id = ANY(ARRAY(SELECT id FROM m)) AND p.t < %(end)s
        GROUP BY 1)
    {_unpatrolled_collection('m.grid_id', 'pt.last_t')}
    FROM m LEFT JOIN points pt ON pt.micro_grid_id = m.id
    WHERE NOT coalesce(pt.visited, FALSE)
    """


def staffing_sql(principal: Principal | None, days: int = 7) -> tuple[str, dict]:
    """Grids without a full-time worker, micro-grids without a leader (both with outlines),
    assignments ending within `days` days, and (unrestricted callers only) active workers
    with no current area."""
    gw, params = scope_filter("grids", "g", principal)
    mw, _ = scope_filter("micro_grids", "m", principal)
    restricted = principal is not None and principal.restricted
    params["days"] = days
    in_scope_assign = "TRUE" if not restricted else """(
        (s.level = 'street' AND s.area_id = ANY(%(scope_street)s))
        OR (s.level = 'community' AND s.area_id = ANY(%(scope_community)s))
        OR (s.level = 'grid' AND s.area_id = ANY(%(scope_grid)s))
        OR (s.level = 'micro_grid' AND s.area_id = ANY(%(scope_micro_grid)s)))"""
    area_code = " ".join(
        f"WHEN '{lv}' THEN (SELECT code FROM {level_spec(lv).table} WHERE id = s.area_id)"
        for lv in ("street", "community", "grid", "micro_grid"))
    sql = f"""
    SELECT json_build_object(
      'grids_without_full_time', (SELECT coalesce(json_agg(json_build_object(
            'type', 'Feature', 'id', g.code, 'geometry', ST_AsGeoJSON(g.geom, 6)::json,
            'properties', json_build_object('kind', 'grid_without_full_time', 'code', g.code,
                'name', g.name, 'level', 'grid', 'assignees', {_assignees('grid', 'g.id')}))
            ORDER BY g.code), '[]'::json)
        FROM grids g WHERE g.valid_to IS NULL AND {gw} AND NOT EXISTS (
            SELECT 1 FROM assignments s WHERE s.level = 'grid' AND s.area_id = g.id
            AND s.role = 'full_time' AND {_CURRENT})),
      'micro_grids_without_leader', (SELECT coalesce(json_agg(json_build_object(
            'type', 'Feature', 'id', m.code, 'geometry', ST_AsGeoJSON(m.geom, 6)::json,
            'properties', json_build_object('kind', 'micro_grid_without_leader',
                'code', m.code, 'name', m.name, 'level', 'micro_grid',
                'assignees', {_assignees('micro_grid', 'm.id')}))
            ORDER BY m.code), '[]'::json)
        FROM micro_grids m WHERE m.valid_to IS NULL AND {mw} AND NOT EXISTS (
            SELECT 1 FROM assignments s WHERE s.level = 'micro_grid' AND s.area_id = m.id
            AND s.role = 'micro_grid_leader' AND {_CURRENT})),
      'ending_soon', (SELECT coalesce(json_agg(json_build_object(
            'assignment_id', s.id, 'worker_id', w.id, 'name', w.name, 'role', s.role,
            'level', s.level, 'code', CASE s.level {area_code} END, 'ends_on', s.ends_on)
            ORDER BY s.ends_on, w.name), '[]'::json)
        FROM assignments s JOIN workers w ON w.id = s.worker_id
        WHERE s.ends_on >= current_date AND s.ends_on < current_date + %(days)s
          AND s.starts_on <= current_date AND {in_scope_assign}),
      'workers_without_area', (SELECT coalesce(json_agg(json_build_object(
            'worker_id', w.id, 'name', w.name, 'phone', w.phone) ORDER BY w.name), '[]'::json)
        FROM workers w WHERE {'FALSE' if restricted else 'TRUE'} AND w.active AND NOT EXISTS (
            SELECT 1 FROM assignments s WHERE s.worker_id = w.id AND {_CURRENT})))
    """
    return sql, params


def area_info_sql(principal: Principal | None, level: str,
                  streets: tuple[int | None, ...] | None = None) -> tuple[str, dict]:
    """One area (by code, in scope): the people assigned to it and its open cases (`streets`:
    gis.routing.area_streets of the area, naming the shard key; same rows)."""
    lv = level_spec(level)
    where, params = scope_filter(lv.table, "a", principal)
    iwhere, _ = scope_filter("incidents", "i", principal)
    route, route_params = street_condition("i", streets)
    iwhere = f"{iwhere} AND {route}"
    params.update(route_params)
    col = {"street": "street_id", "community": "community_id", "grid": "grid_id",
           "micro_grid": "micro_grid_id"}[lv.name]
    # The area is read first and the cases by its id (MATERIALIZED): on Citus no distributed
    # table sits in a subquery correlated with a reference table's row.
    sql = f"""
    WITH a AS MATERIALIZED (
        SELECT a.id, a.code, a.name, a.households FROM {lv.table} a
        WHERE a.code = %(code)s AND a.valid_to IS NULL AND {where}),
    open_cases AS MATERIALIZED (
        SELECT i.id, i.code, i.category, i.status, i.title, i.reported_at,
               i.due_at < now() AS overdue
        FROM incidents i WHERE i.{col} = ANY(ARRAY(SELECT id FROM a)) AND {iwhere}
          AND i.status IN ('reported', 'accepted', 'dispatched', 'in_progress'))
    SELECT json_build_object('level', %(level)s::text, 'code', a.code, 'name', a.name,
        'households', a.households,
        'people', (SELECT coalesce(json_agg(json_build_object(
                'worker_id', w.id, 'name', w.name, 'phone', w.phone, 'role', s.role,
                'level', s.level, 'ends_on', s.ends_on) ORDER BY s.role, w.name), '[]'::json)
            FROM assignments s JOIN workers w ON w.id = s.worker_id
            WHERE s.level = %(level)s AND s.area_id = a.id AND {_CURRENT}),
        'open_cases', (SELECT coalesce(json_agg(json_build_object(
                'id', o.id, 'code', o.code, 'category', o.category, 'status', o.status,
                'title', o.title, 'reported_at', o.reported_at, 'overdue', o.overdue)
                ORDER BY o.reported_at DESC), '[]'::json)
            FROM (SELECT * FROM open_cases ORDER BY reported_at DESC LIMIT 200) o),
        'open_count', (SELECT count(*) FROM open_cases))
    FROM a
    """
    params["level"] = lv.name
    return sql, params


def areas_at_sql(principal: Principal | None) -> tuple[str, dict]:
    """The current areas of every level that contain the point (%(lon)s, %(lat)s), in scope."""
    parts = []
    params: dict = {}
    for lv in ("street", "community", "grid", "micro_grid"):
        spec = level_spec(lv)
        where, p = scope_filter(spec.table, "a", principal)
        params.update(p)
        parts.append(f"""SELECT '{lv}' AS level, a.code, a.name FROM {spec.table} a
            WHERE a.valid_to IS NULL AND {where}
              AND ST_Intersects(a.geom, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))""")
    sql = ("SELECT coalesce(json_agg(json_build_object('level', level, 'code', code, "
           "'name', name) ORDER BY length(code)), '[]'::json) FROM ("
           + " UNION ALL ".join(parts) + ") x")
    return sql, params
