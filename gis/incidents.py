"""Incidents: batch intake with attribution, reads confined to a scope, workflow transitions.

All SQL for the incidents table lives here. Intake takes three statements in the caller's
transaction: the first gives each point of the batch a new id and its four area ids (GiST
attribution subqueries on the boundary tables) and checks the batch (outside every area, outside
the caller's scope); only when every row passes, the second inserts the incidents and the third
their report events, each from those values passed back as arrays (INSERT ... SELECT FROM
unnest), so that on Citus each row goes to its street's shard and a report needs only the
worker holding its street. Ids come from the sequence in batch order, so the answer lists the
incidents by id. Every change is announced with pg_notify on FEED_CHANNEL (delivered at commit).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from gis.attribution import locate_select
from gis.categories import Category
from gis.cluster import CITUS
from gis.crs import UnknownCRS, client_crs, to_wgs84
from gis.dispatch import AssigneeError, assignee_json, check_assignee
from gis.routing import RECORD_SQL, REPORTS_SQL, NoSuchIncident, street_condition
from gis.routing import street_of as routing_street_of
from gis.scope import Principal, scope_filter
from gis.workflow import IllegalTransition, allowed_actions, next_status

FEED_CHANNEL = "wangge_incidents"
SOURCES = ("worker", "hotline", "app", "camera")
MAX_BATCH = 1000
OPEN = "('reported', 'accepted', 'dispatched', 'in_progress')"


class IntakeError(ValueError):
    """A batch that cannot be taken; `errors` lists {index, reason} per bad incident."""

    def __init__(self, status: int, message: str, errors: list[dict] | None = None) -> None:
        super().__init__(message)
        self.status, self.errors = status, errors or []


class NotFound(LookupError):
    """No such incident within the caller's scope."""


@dataclass
class Report:
    """One incident as reported (coordinates in `crs`)."""

    lon: float
    lat: float
    category: str
    title: str
    crs: str | None = None
    description: str = ""
    reporter: str = ""
    source: str = "worker"
    priority: int = 2
    reported_at: datetime | None = None
    extra: dict = field(default_factory=dict)


def request_hash(body: object) -> str:
    """A stable digest of a request body (for Idempotency-Key reuse checks)."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def validate(reports: list[Report], categories: dict[str, Category],
             max_batch: int = MAX_BATCH) -> dict[str, list]:
    """Check a batch and convert it to WGS84 arrays for INTAKE_SQL (IntakeError on bad input)."""
    if not reports:
        raise IntakeError(422, "the batch is empty")
    if len(reports) > max_batch:
        raise IntakeError(422, f"a batch holds at most {max_batch} incidents, got {len(reports)}")
    errors: list[dict] = []
    lon = np.empty(len(reports))
    lat = np.empty(len(reports))
    by_crs: dict[str, list[int]] = {}
    for i, r in enumerate(reports):
        reasons = []
        if r.category not in categories:
            reasons.append(f"unknown category {r.category!r}: one of {', '.join(categories)}")
        if r.source not in SOURCES:
            reasons.append(f"unknown source {r.source!r}: one of {', '.join(SOURCES)}")
        if not (math.isfinite(r.lon) and math.isfinite(r.lat)):
            reasons.append("coordinates must be finite numbers")
        try:
            by_crs.setdefault(client_crs(r.crs), []).append(i)
        except UnknownCRS as exc:
            reasons.append(str(exc))
        if reasons:
            errors.append({"index": i, "reason": "; ".join(reasons)})
    if errors:
        raise IntakeError(422, "invalid incidents in the batch", errors)
    for crs, idx in by_crs.items():
        xs, ys = to_wgs84([reports[i].lon for i in idx], [reports[i].lat for i in idx], crs)
        lon[idx], lat[idx] = xs, ys
    bad = ~(np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90))
    if bad.any():
        raise IntakeError(422, "coordinates out of range", [
            {"index": int(i), "reason": "longitude must be in [-180, 180] and latitude in "
             "[-90, 90] after conversion to EPSG:4326"} for i in np.flatnonzero(bad)])
    return {
        "lon": lon.tolist(), "lat": lat.tolist(),
        "category": [r.category for r in reports], "title": [r.title for r in reports],
        "description": [r.description for r in reports],
        "reporter": [r.reporter for r in reports], "source": [r.source for r in reports],
        "priority": [r.priority for r in reports],
        "reported_at": [r.reported_at for r in reports],
        "due_s": [categories[r.category].due.total_seconds() for r in reports],
        "resp_s": [categories[r.category].response.total_seconds() for r in reports],
    }


def summary_json(alias: str) -> str:
    """json_build_object of an incident's short form (alias: a row with incidents' columns)."""
    a = alias
    return f"""json_build_object(
        'id', {a}.id, 'code', {a}.code, 'category', {a}.category, 'title', {a}.title,
        'status', {a}.status, 'priority', {a}.priority, 'source', {a}.source,
        'reported_at', {a}.reported_at, 'due_at', {a}.due_at,
        'overdue', ({a}.status IN {OPEN} AND {a}.due_at < now()),
        'lon', round(ST_X({a}.geom)::numeric, 7), 'lat', round(ST_Y({a}.geom)::numeric, 7),
        'street_id', {a}.street_id, 'community_id', {a}.community_id,
        'grid_id', {a}.grid_id, 'micro_grid_id', {a}.micro_grid_id,
        'assignee', {assignee_json(a)}, 'escalation_level', {a}.escalation_level,
        'version', {a}.version)"""


def notify_sql(alias: str, action: str, extra: str = "") -> str:
    """pg_notify of a feed event for the incidents row `alias` (`extra`: more json pairs) and
    the incidents layer's touch; an int expression (Citus keeps no void column)."""
    a = alias
    return f"""wangge_notify('{FEED_CHANNEL}', json_build_object({extra}
        'id', {a}.id, 'code', {a}.code, 'action', {action}, 'status', {a}.status,
        'category', {a}.category, 'title', {a}.title, 'at', {a}.updated_at,
        'lon', round(ST_X({a}.geom)::numeric, 7), 'lat', round(ST_Y({a}.geom)::numeric, 7),
        'street_id', {a}.street_id, 'community_id', {a}.community_id,
        'grid_id', {a}.grid_id, 'micro_grid_id', {a}.micro_grid_id,
        'assignee_account_id', {a}.assignee_account_id,
        'assignee_department_id', {a}.assignee_department_id,
        'assignee', {assignee_json(a)})::text, 'incidents')"""


def street_match(alias: str, street_id: int | None) -> str:
    """A condition pinning the incidents row `alias` to its street (the shard key on Citus):
    with it an update by id is routed to one shard group (%(street)s holds the street id)."""
    return f"{alias}.street_id IS NULL" if street_id is None else f"{alias}.street_id = %(street)s"


async def street_of(conn: AsyncConnection, incident_id: int) -> int | None:
    """The street of an incident (NotFound when there is none), read before the case itself:
    a read naming the street is routed to one shard group on Citus, and Citus locks rows only
    in a query that names the shard key (see street_match). From the coordinator's map
    (gis.routing)."""
    try:
        return await routing_street_of(conn, incident_id)
    except NoSuchIncident:
        raise NotFound(f"no incident {incident_id}") from None


async def locked_case(conn: AsyncConnection, principal: Principal, incident_id: int,
                      columns: str, lock: str = "FOR UPDATE") -> tuple:
    """`columns` of case `incident_id` (alias i) in the caller's scope, locked by `lock` (FOR
    UPDATE, FOR SHARE, or "" for none) in a read that names its street, so that Citus routes it
    to one shard group; NotFound when there is no such case or it is outside the scope."""
    where, params = scope_filter("incidents", "i", principal)
    street = await street_of(conn, incident_id)
    cur = await conn.execute(
        f"SELECT {columns} FROM incidents i WHERE i.id = %(id)s "
        f"AND {street_match('i', street)} AND {where} {lock}",
        {**params, "id": incident_id, "street": street})
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    return row


def locate_sql(principal: Principal | None, allow_unassigned: bool) -> tuple[str, dict]:
    """The intake's first statement: new ids and the four area ids of each point, in batch
    order, and the points that may not be stored (reads the reference tables only)."""
    in_scope, params = scope_filter("incidents", "l", principal)
    unrestricted = principal is None or not principal.restricted
    outside = ("FALSE" if allow_unassigned and unrestricted else "l.street_id IS NULL")
    outside = f"({outside} OR (l.street_id IS NULL AND {CITUS}))"
    sql = f"""
    WITH src AS MATERIALIZED (
        SELECT nextval(pg_get_serial_sequence('incidents', 'id')) AS id, u.ord,
               ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326) AS geom
        FROM unnest(%(lon)s::float8[], %(lat)s::float8[]) WITH ORDINALITY AS u(lon, lat, ord)
    ),
    l AS MATERIALIZED (SELECT src.*, {locate_select('src.geom')} FROM src)
    SELECT (SELECT json_agg(json_build_object('index', ord - 1, 'reason', CASE WHEN {outside}
                THEN 'the point lies outside every area'
                ELSE 'the point lies outside your areas' END) ORDER BY ord)
            FROM l WHERE {outside} OR NOT coalesce({in_scope}, FALSE)) AS bad,
           array_agg(id ORDER BY ord), array_agg(street_id ORDER BY ord),
           array_agg(community_id ORDER BY ord), array_agg(grid_id ORDER BY ord),
           array_agg(micro_grid_id ORDER BY ord)
    FROM l
    """
    return sql, params


def _unassigned(sql: str) -> str:
    """`sql` (of summary_json or notify_sql over ins) with the assignee as NULL, which it is for
    a new incident: its subquery joins accounts with reference tables, for which Citus would
    send the new rows to every node."""
    return sql.replace(assignee_json("ins"), "NULL::json")


# The intake's second and third statements: the located rows, passed as arrays, so that Citus
# sends each row to its street's shard alone (an INSERT ... SELECT reading a CTE would need the
# CTE's result on every node, and so every worker).
INSERT_SQL = f"""
WITH ins AS (
    INSERT INTO incidents (id, code, category, title, description, geom, reported_at, reporter,
                           source, priority, due_at, street_id, community_id, grid_id,
                           micro_grid_id, respond_by)
    SELECT l.id, 'E' || to_char(coalesce(l.reported_at, now()) AT TIME ZONE 'Asia/Shanghai',
                                'YYYYMMDD') || lpad(l.id::text, 9, '0'),
           l.category, l.title, l.description, ST_SetSRID(ST_MakePoint(l.lon, l.lat), 4326),
           coalesce(l.reported_at, now()), l.reporter, l.source, l.priority,
           coalesce(l.reported_at, now()) + make_interval(secs => l.due_s),
           l.street_id, l.community_id, l.grid_id, l.micro_grid_id,
           coalesce(l.reported_at, now()) + make_interval(secs => l.resp_s)
    FROM unnest(%(id)s::bigint[], %(lon)s::float8[], %(lat)s::float8[], %(category)s::text[],
                %(title)s::text[], %(description)s::text[], %(reporter)s::text[],
                %(source)s::text[], %(priority)s::int[], %(reported_at)s::timestamptz[],
                %(due_s)s::float8[], %(resp_s)s::float8[], %(street_id)s::bigint[],
                %(community_id)s::bigint[], %(grid_id)s::bigint[], %(micro_grid_id)s::bigint[])
         AS l(id, lon, lat, category, title, description, reporter, source, priority,
              reported_at, due_s, resp_s, street_id, community_id, grid_id, micro_grid_id)
    RETURNING *
)
SELECT json_agg(x.j ORDER BY x.id) FROM (
    SELECT ins.id, {_unassigned(summary_json('ins'))} AS j,
           {_unassigned(notify_sql('ins', "'report'"))} AS n FROM ins) x
"""
EVENTS_SQL = """
INSERT INTO incident_events (incident_id, street_id, at, actor, action, from_status, to_status)
SELECT e.id, e.street_id, coalesce(e.reported_at, now()), %(actor)s, 'report', NULL, 'reported'
FROM unnest(%(id)s::bigint[], %(street_id)s::bigint[], %(reported_at)s::timestamptz[])
     AS e(id, street_id, reported_at)
"""


async def intake(conn: AsyncConnection, principal: Principal, reports: list[Report],
                 categories: dict[str, Category], allow_unassigned: bool = False,
                 max_batch: int = MAX_BATCH) -> list[dict]:
    """Attribute and store a batch (all or nothing); returns the stored incidents' summaries.

    Call inside a transaction. IntakeError when any incident is invalid or out of place.
    """
    arrays = validate(reports, categories, max_batch)
    sql, params = locate_sql(principal, allow_unassigned)
    cur = await conn.execute(sql, {**arrays, **params})
    bad, *located = await cur.fetchone()
    if bad:
        inside_every = all(b["reason"].endswith("your areas") for b in bad)
        raise IntakeError(403 if inside_every else 422,
                          "incidents outside your areas" if inside_every
                          else "incidents outside every area", bad)
    rows = {**arrays, **dict(zip(("id", "street_id", "community_id", "grid_id",
                                  "micro_grid_id"), located, strict=True))}
    cur = await conn.execute(INSERT_SQL, rows)
    items = (await cur.fetchone())[0]
    await conn.execute(EVENTS_SQL, {**rows, "actor": principal.username})
    await conn.execute(RECORD_SQL, rows)
    await conn.execute(REPORTS_SQL, {**rows, "actor": [principal.username] * len(rows["id"])})
    return items


async def idempotent_lookup(conn: AsyncConnection, account_id: int, key: str,
                            digest: str) -> tuple[int, object] | None:
    """The stored (status, response) for a key (locks the key for this transaction)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 7))",
                       (f"{account_id}:{key}",))
    cur = await conn.execute(
        "SELECT request_hash, status_code, response FROM idempotency_keys "
        "WHERE account_id = %s AND key = %s", (account_id, key))
    row = await cur.fetchone()
    if row is None:
        return None
    if row[0] != digest:
        raise IntakeError(422, "this Idempotency-Key was used with a different request")
    return row[1], row[2]


async def idempotent_store(conn: AsyncConnection, account_id: int, key: str, digest: str,
                           status: int, response: object) -> None:
    """Remember the response given for a key."""
    await conn.execute(
        "INSERT INTO idempotency_keys (key, account_id, request_hash, status_code, response) "
        "VALUES (%s, %s, %s, %s, %s)", (key, account_id, digest, status, Jsonb(response)))


# --- reads --------------------------------------------------------------------------------------

def detail_sql(principal: Principal | None, street: int | None) -> tuple[str, dict]:
    """One incident (%(id)s, of street `street`) with its events, or no row when out of scope.
    Both tables are read by the street as a value (a correlated `e.street_id = i.street_id`
    would make Citus send the statement to every shard)."""
    where, params = scope_filter("incidents", "i", principal)
    params["street"] = street
    return f"""
    SELECT {summary_json('i')}::jsonb || jsonb_build_object(
        'description', i.description, 'reporter', i.reporter, 'accepted_at', i.accepted_at,
        'resolved_at', i.resolved_at, 'closed_at', i.closed_at, 'satisfaction', i.satisfaction,
        'satisfaction_comment', i.satisfaction_comment,
        'satisfaction_source', i.satisfaction_source, 'rated_at', i.rated_at,
        'dispatched_at', i.dispatched_at, 'escalated_at', i.escalated_at,
        'areas', jsonb_build_object(
            'street', (SELECT code FROM streets WHERE id = i.street_id),
            'community', (SELECT code FROM communities WHERE id = i.community_id),
            'grid', (SELECT code FROM grids WHERE id = i.grid_id),
            'micro_grid', (SELECT code FROM micro_grids WHERE id = i.micro_grid_id)),
        'events', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'at', e.at, 'actor', e.actor, 'action', e.action,
                       'from_status', e.from_status, 'to_status', e.to_status, 'note', e.note,
                       'assignee', {assignee_json('e', legacy=False)})
                       ORDER BY e.at, e.id), '[]'::jsonb)
                   FROM incident_events e WHERE e.incident_id = i.id
                     AND {street_match('e', street)}))
    FROM incidents i WHERE i.id = %(id)s AND {street_match('i', street)} AND {where}
    """, params


async def get(conn: AsyncConnection, principal: Principal, incident_id: int) -> dict:
    """An incident with its history (NotFound when missing or outside the caller's scope)."""
    sql, params = detail_sql(principal, await street_of(conn, incident_id))
    cur = await conn.execute(sql, {**params, "id": incident_id})
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    row[0]["allowed_actions"] = allowed_actions(row[0]["status"], principal.role)
    return row[0]


def list_sql(principal: Principal | None, status: list[str], category: list[str],
             bbox: tuple[float, float, float, float] | None, start: datetime | None,
             end: datetime | None, overdue: bool | None,
             assigned_to: int | None = None,
             streets: tuple[int | None, ...] | None = None) -> tuple[str, dict]:
    """Incidents in scope matching the filters as one JSON array: newest first, or, for the
    cases dispatched to account `assigned_to` (directly or to its department), overdue first,
    then by due time. `streets`: gis.routing.scope_streets of the caller (names the shard
    key; same rows)."""
    where, params = scope_filter("incidents", "i", principal, shard_key="street_id")
    route, route_params = street_condition("i", streets)
    params.update(route_params)
    clauses = [where, route]
    if status:
        clauses.append("i.status = ANY(%(status)s)")
    if category:
        clauses.append("i.category = ANY(%(category)s)")
    if bbox:
        clauses.append("i.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)")
        params.update(zip(("x0", "y0", "x1", "y1"), bbox, strict=True))
    if start:
        clauses.append("i.reported_at >= %(start)s")
    if end:
        clauses.append("i.reported_at < %(end)s")
    if overdue is not None:
        clauses.append(f"{'' if overdue else 'NOT '}(i.status IN {OPEN} AND i.due_at < now())")
    order = "i.reported_at DESC, i.id DESC"
    if assigned_to is not None:
        clauses.append("(i.assignee_account_id = %(me)s OR i.assignee_department_id = "
                       "(SELECT department_id FROM accounts WHERE id = %(me)s))")
        order = (f"(i.status IN {OPEN} AND i.due_at < now()) DESC, (i.status IN {OPEN}) DESC, "
                 "i.due_at ASC NULLS LAST, i.id")
    params.update(status=status, category=category, start=start, end=end, me=assigned_to)
    sql = f"""
    SELECT coalesce(json_agg(x.j ORDER BY x.rank), '[]'::json) FROM (
        SELECT row_number() OVER (ORDER BY {order}) AS rank, {summary_json('i')} AS j
        FROM incidents i
        WHERE {' AND '.join(clauses)}
        ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s) x
    """
    return sql, params


# --- workflow -----------------------------------------------------------------------------------

_STAMPS = {"accepted": "accepted_at = now(),", "resolved": "resolved_at = now(),",
           "closed": "closed_at = now(),", "in_progress": "resolved_at = NULL,"}


async def transition(conn: AsyncConnection, principal: Principal, incident_id: int,
                     action: str, note: str = "", satisfaction: int | None = None,
                     assignee_account_id: int | None = None,
                     assignee_department_id: int | None = None,
                     version: int | None = None) -> dict:
    """Apply a workflow action (call inside a transaction); returns the incident's summary.

    NotFound outside the scope; IllegalTransition (with the allowed actions) when the status or
    the role forbids it or `version` is stale; ValueError (AssigneeError for the assignee) for a
    misplaced satisfaction score or a dispatch to someone who cannot take the case.
    """
    status, current, street = await locked_case(conn, principal, incident_id,
                                                "i.status, i.version, i.street_id")
    step = next_status(status, action, principal.role)
    if version is not None and version != current:
        raise IllegalTransition(status, action, allowed_actions(status, principal.role),
                                f"version {version} is stale: the incident is at {current}")
    if satisfaction is not None and step.target != "closed":
        raise ValueError("a satisfaction score (评价) goes with 'close' only")
    if satisfaction is not None and not 1 <= satisfaction <= 5:
        raise ValueError("satisfaction is a score from 1 to 5")
    dispatch = action == "dispatch"
    if dispatch:
        await check_assignee(conn, incident_id, street, assignee_account_id,
                             assignee_department_id)
    elif assignee_account_id is not None or assignee_department_id is not None:
        raise AssigneeError("an assignee goes with 'dispatch' only")
    cur = await conn.execute(f"""
        WITH u AS (
            UPDATE incidents i SET status = %(target)s, {_STAMPS.get(step.target, '')}
                satisfaction = coalesce(%(satisfaction)s, i.satisfaction),
                satisfaction_source = CASE WHEN %(satisfaction)s::int IS NULL
                    THEN i.satisfaction_source ELSE 'commander' END,
                rated_at = CASE WHEN %(satisfaction)s::int IS NULL THEN i.rated_at ELSE now() END,
                assignee_account_id = CASE WHEN %(dispatch)s THEN %(account)s::bigint
                                           ELSE i.assignee_account_id END,
                assignee_department_id = CASE WHEN %(dispatch)s THEN %(department)s::bigint
                                              ELSE i.assignee_department_id END,
                dispatched_at = CASE WHEN %(dispatch)s THEN now() ELSE i.dispatched_at END,
                version = i.version + 1, updated_at = now()
            WHERE i.id = %(id)s AND {street_match('i', street)} RETURNING i.*
        ), ev AS (
            INSERT INTO incident_events (incident_id, street_id, actor, action, from_status,
                                         to_status, note, assignee_account_id,
                                         assignee_department_id)
            SELECT id, street_id, %(actor)s, %(action)s, %(source)s, %(target)s, %(note)s,
                   %(account)s, %(department)s FROM u
        )
        SELECT {summary_json('u')}, {notify_sql('u', '%(action)s')} FROM u
        """, {"id": incident_id, "street": street, "target": step.target, "source": status,
              "action": action,
              "actor": principal.username, "note": note, "satisfaction": satisfaction,
              "dispatch": dispatch, "account": assignee_account_id if dispatch else None,
              "department": assignee_department_id if dispatch else None})
    item = (await cur.fetchone())[0]
    item["allowed_actions"] = allowed_actions(item["status"], principal.role)
    return item
