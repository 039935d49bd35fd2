"""Supervision (督): the urge action (督办) and escalation of overdue cases by rule.

An urge is a note from a commander on an open case: an incident event (action 'urge') and a feed
message naming the case's assignee, whose feed receives it wherever the case lies.

Escalation: each category gives escalate_after_hours = [street, district] (gis.categories). An
unresolved case that has been overdue (past due_at) for at least the street step is escalated to
the street commander (escalation_level 1), and past the district step to the district (level 2).
:func:`escalate_overdue` applies the rule to every case at once in one statement: it raises
incidents.escalation_level, appends one 'escalate' event per level passed (note 'street' or
'district'), and sends one feed message per case (`escalated_to`), which reaches the street's
commanders through their scope and the district's through theirs. It never lowers a level and
never touches the case's version (an escalation does not invalidate what a commander is editing),
so it is safe to run as often as wanted, from any process, concurrently (rows are locked; a
transaction-level advisory lock keeps two runs from interleaving). The API runs it on reads of
the incident list and details, at most once per WANGGE_ESCALATION_INTERVAL_S per process, and on
demand at POST /incidents/escalate.
"""

from __future__ import annotations

from psycopg import AsyncConnection

from gis.categories import Category
from gis.incidents import (
    OPEN,
    locked_case,
    notify_sql,
    street_match,
    summary_json,
)
from gis.scope import Principal

ESCALATION_LOCK = 0x77616E6765  # pg_advisory_xact_lock key of escalation runs
LEVEL_NAMES = {1: "street", 2: "district"}


class SupervisionError(ValueError):
    """A refused urge (status 409 for a case no longer open, 422 for a missing note)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def urge(conn: AsyncConnection, principal: Principal, incident_id: int, note: str) -> dict:
    """督办: record an urge with its note on an open case; returns the case's summary."""
    note = (note or "").strip()
    if not note:
        raise SupervisionError(422, "an urge needs a note (what is expected, by when)")
    row = await locked_case(conn, principal, incident_id, "i.status, i.street_id")
    if f"'{row[0]}'" not in OPEN:
        raise SupervisionError(409, f"the case is {row[0]}: only open cases are urged")
    cur = await conn.execute(f"""
        WITH u AS (UPDATE incidents i SET updated_at = now()
                   WHERE i.id = %(id)s AND {street_match('i', row[1])} RETURNING i.*),
        ev AS (
            INSERT INTO incident_events (incident_id, street_id, actor, action, from_status,
                                         to_status, note, assignee_account_id,
                                         assignee_department_id)
            SELECT id, street_id, %(actor)s, 'urge', status, status, %(note)s,
                   assignee_account_id, assignee_department_id FROM u
        )
        SELECT {summary_json('u')}, {notify_sql('u', "'urge'", "'note', %(note)s::text, ")}
        FROM u""", {"id": incident_id, "street": row[1], "actor": principal.username,
                    "note": note})
    return (await cur.fetchone())[0]


ESCALATE_SQL = f"""
WITH rules AS (
    SELECT * FROM unnest(%(keys)s::text[], %(street_s)s::float8[], %(district_s)s::float8[])
        AS r(category, street_s, district_s)
),
due AS MATERIALIZED (
    SELECT i.id, i.street_id, i.escalation_level AS old_level,
           CASE WHEN %(now)s >= i.due_at + make_interval(secs => r.district_s) THEN 2
                ELSE 1 END AS new_level
    FROM incidents i JOIN rules r USING (category)
    WHERE i.status IN {OPEN} AND i.escalation_level < 2
      AND %(now)s >= i.due_at + make_interval(secs => r.street_s)
),
u AS (  -- the row's state is checked again as it is locked (no FOR UPDATE across shards)
    UPDATE incidents i SET escalation_level = d.new_level, escalated_at = %(now)s,
                           updated_at = %(now)s
    FROM due d WHERE i.id = d.id AND i.street_id = d.street_id AND d.new_level > d.old_level
      AND i.escalation_level = d.old_level AND i.status IN {OPEN}
    RETURNING i.*, d.old_level
),
ev AS (
    INSERT INTO incident_events (incident_id, street_id, at, actor, action, from_status,
                                 to_status, note)
    SELECT u.id, u.street_id, %(now)s, 'system', 'escalate', u.status, u.status,
           CASE lv WHEN 1 THEN 'street' ELSE 'district' END
    FROM u CROSS JOIN LATERAL generate_series(u.old_level + 1, u.escalation_level) lv
)
SELECT count(*), coalesce(json_agg(x.j ORDER BY x.id), '[]') FROM (
    SELECT u.id, json_build_object('id', u.id, 'code', u.code,
                                   'escalation_level', u.escalation_level) AS j,
           {notify_sql('u', "'escalate'", "'escalated_to', CASE u.escalation_level WHEN 1 "
                                          "THEN 'street' ELSE 'district' END, ")} AS n
    FROM u) x
"""


async def escalate_overdue(conn: AsyncConnection, categories: dict[str, Category],
                           now=None) -> list[dict]:
    """Escalate every overdue case whose rule says so (call inside a transaction); returns
    [{id, code, escalation_level}] of the cases escalated now. `now` defaults to the clock."""
    keys = list(categories)
    await conn.execute(f"SELECT pg_advisory_xact_lock({ESCALATION_LOCK})")  # one at a time
    if now is None:  # the database's clock, read first (Citus takes no now() in an UPDATE)
        now = (await (await conn.execute("SELECT now()")).fetchone())[0]
    cur = await conn.execute(ESCALATE_SQL, {
        "keys": keys,
        "street_s": [categories[k].escalate_after[0].total_seconds() for k in keys],
        "district_s": [categories[k].escalate_after[1].total_seconds() for k in keys],
        "now": now})
    _count, items = await cur.fetchone()
    return items
