"""Dispatch (派) to real people: who covers an incident's area, and the assignee as a foreign key.

A case goes to an account (a grid worker, or a department's own account) or to a department
(职能部门). A target is valid only when it is enabled and covers the incident's area: a worker
through a current assignment (gis.scope.CURRENT_ASSIGNMENT, dates in the district's time zone) on
the incident's street, community, grid or micro-grid; a department (or a department's account)
when it serves the incident's street or the whole district. The check and the suggestion list
read the same SQL, so what is suggested is exactly what may be chosen. The assignee is stored as
incidents.assignee_account_id or assignee_department_id and is shown everywhere by name
(:func:`assignee_json`); rows written before that keep their free-text `assignee`.
"""

from __future__ import annotations

from psycopg import AsyncConnection

from gis.scope import CURRENT_ASSIGNMENT

# Worker roles in the order dispatch suggests them (the grid's leader and full-timers first).
ROLE_ORDER = ("grid_leader", "full_time", "micro_grid_leader", "part_time", "household_leader")
_LEVEL_MATCH = """((s.level = 'street' AND s.area_id = i.street_id)
    OR (s.level = 'community' AND s.area_id = i.community_id)
    OR (s.level = 'grid' AND s.area_id = i.grid_id)
    OR (s.level = 'micro_grid' AND s.area_id = i.micro_grid_id))"""


class AssigneeError(ValueError):
    """The chosen assignee cannot take this case (unknown, disabled or not covering the area)."""


def assignee_json(alias: str, legacy: bool = True) -> str:
    """json of the assignee {id, name, kind} of an incidents row `alias` (NULL when none).

    kind is 'account' or 'department'; rows from before foreign keys give kind 'text', id null
    (`legacy` False for incident_events rows, which never had the free-text column).
    """
    a = alias
    old = (f"WHEN {a}.assignee IS NOT NULL THEN "
           f"json_build_object('id', NULL, 'name', {a}.assignee, 'kind', 'text')"
           if legacy else "")
    return f"""CASE
        WHEN {a}.assignee_account_id IS NOT NULL THEN (
            SELECT json_build_object('id', ac.id, 'name', coalesce(w.name, d.name, ac.username),
                                     'kind', 'account')
            FROM accounts ac LEFT JOIN workers w ON w.id = ac.worker_id
                 LEFT JOIN departments d ON d.id = ac.department_id
            WHERE ac.id = {a}.assignee_account_id)
        WHEN {a}.assignee_department_id IS NOT NULL THEN (
            SELECT json_build_object('id', d.id, 'name', d.name, 'kind', 'department')
            FROM departments d WHERE d.id = {a}.assignee_department_id)
        {old}
        END"""


# The case is read first (MATERIALIZED): on Citus a distributed table joins no coordinator table;
# by id and street (%(street)s), so that Citus reads one shard (gis.routing).
_CASE = """WITH i AS MATERIALIZED (
    SELECT id, street_id, community_id, grid_id, micro_grid_id FROM incidents
    WHERE id = %(incident)s AND {street})
"""


def _case_street(street_id: int | None) -> str:
    """The street condition of _CASE (one shard on Citus; IS NULL for a case outside every
    street, one node only)."""
    return "street_id IS NULL" if street_id is None else "street_id = %(street)s"

_ACCOUNT_CHECK_SQL = _CASE + f"""
SELECT coalesce(w.name, d.name, ac.username) AS name, ac.role,
       ac.disabled OR coalesce(NOT w.active, FALSE) OR coalesce(NOT d.active, FALSE) AS disabled,
       CASE ac.role
           WHEN 'worker' THEN EXISTS (
               SELECT 1 FROM assignments s WHERE s.worker_id = ac.worker_id
                 AND {CURRENT_ASSIGNMENT.format(a="s")} AND {_LEVEL_MATCH})
           WHEN 'department' THEN d.street_id IS NULL OR d.street_id = i.street_id
           ELSE FALSE END AS covers
FROM accounts ac LEFT JOIN workers w ON w.id = ac.worker_id
     LEFT JOIN departments d ON d.id = ac.department_id
     CROSS JOIN i
WHERE ac.id = %(target)s
"""

_DEPARTMENT_CHECK_SQL = _CASE + """
SELECT d.name, 'department', NOT d.active AS disabled,
       d.street_id IS NULL OR d.street_id = i.street_id AS covers
FROM departments d CROSS JOIN i
WHERE d.id = %(target)s
"""


async def check_assignee(conn: AsyncConnection, incident_id: int, street_id: int | None,
                         account_id: int | None, department_id: int | None) -> str:
    """The assignee's display name, or AssigneeError saying why it cannot take the case
    (`street_id`: the case's street)."""
    if (account_id is None) == (department_id is None):
        raise AssigneeError("dispatch needs exactly one of assignee_account_id and "
                            "assignee_department_id")
    sql, target = ((_ACCOUNT_CHECK_SQL, account_id) if account_id is not None
                   else (_DEPARTMENT_CHECK_SQL, department_id))
    cur = await conn.execute(sql.replace("{street}", _case_street(street_id)),
                             {"target": target, "incident": incident_id, "street": street_id})
    row = await cur.fetchone()
    what = "account" if account_id is not None else "department"
    if row is None:
        raise AssigneeError(f"no {what} {target}")
    name, role, disabled, covers = row
    if disabled:
        raise AssigneeError(f"{name} ({what} {target}) is disabled")
    if role not in ("worker", "department"):
        raise AssigneeError(f"{name} is a {role}: cases go to grid workers and departments")
    if not covers:
        raise AssigneeError(f"{name} ({what} {target}) does not cover the incident's area "
                            "(no current assignment there)" if role == "worker" else
                            f"{name} ({what} {target}) does not serve the incident's street")
    return name


SUGGEST_SQL = f"""
WITH i AS MATERIALIZED (SELECT * FROM incidents WHERE id = %(incident)s AND {{street}}),
workers_here AS (
    SELECT DISTINCT ON (ac.id) ac.id, w.name, ac.username, s.role, s.level,
           array_position(%(role_order)s::text[], s.role) AS role_rank,
           array_position(ARRAY['micro_grid', 'grid', 'community', 'street'], s.level)
               AS level_rank
    FROM i JOIN assignments s ON {_LEVEL_MATCH} AND {CURRENT_ASSIGNMENT.format(a="s")}
         JOIN workers w ON w.id = s.worker_id AND w.active
         JOIN accounts ac ON ac.worker_id = w.id AND ac.role = 'worker' AND NOT ac.disabled
    ORDER BY ac.id, array_position(%(role_order)s::text[], s.role)
),
depts AS (
    SELECT d.id, d.name, d.kind, d.street_id
    FROM i JOIN departments d ON d.active AND (d.street_id IS NULL OR d.street_id = i.street_id)
)
SELECT coalesce(json_agg(x.j ORDER BY x.k1, x.k2, x.k3, x.name), '[]'::json) FROM (
    SELECT 0 AS k1, (level_rank IN (1, 2))::int * -1 AS k2, role_rank AS k3, name,
           json_build_object('kind', 'account', 'id', id, 'name', name, 'username', username,
                             'role', role, 'level', level) AS j
    FROM workers_here
    UNION ALL
    SELECT 1, (street_id IS NULL)::int, 0, name,
           json_build_object('kind', 'department', 'id', id, 'name', name,
                             'department_kind', kind, 'district_wide', street_id IS NULL)
    FROM depts
) x
"""


async def suggestions(conn: AsyncConnection, incident_id: int,
                      street_id: int | None) -> list[dict]:
    """People who may take the case (of street `street_id`): its grid's workers first, then
    the street's departments."""
    cur = await conn.execute(SUGGEST_SQL.replace("{street}", _case_street(street_id)),
                             {"incident": incident_id, "street": street_id,
                              "role_order": list(ROLE_ORDER)})
    return (await cur.fetchone())[0]
