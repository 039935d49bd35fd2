"""Incident routing: name the street (the shard key on Citus) in reads by id and scoped lists.

On Citus incidents and their children are distributed by street_id, and a query reaches one
shard group only when it names the street. Two coordinator tables (migration
0013_incident_routing) give the street where the request does not carry it:

- `incident_streets` maps an incident's id to its street. A read by id (a case, its
  transitions, photos, rating link, assignees) takes the street here first (one primary-key
  probe on the coordinator) and then reads `WHERE street_id = :s AND id = :id`, which Citus
  routes to one shard. An id the map does not hold (a row loaded by hand without
  `wangge_route_rebuild()`) is looked up on the incidents, on every shard, as before.
- `incident_area_streets` holds, for each community, grid and micro-grid, every street that
  holds an incident attributed to it. A scoped caller's filter `street_id = ANY(S) OR
  community_id = ANY(C) OR grid_id = ANY(G) OR micro_grid_id = ANY(M)` then also gets
  `street_id = ANY(S ∪ streets of C, G and M)`, which is implied by it (every incident matching
  the filter has its street in that set), so the answer is the same while Citus reads only
  those streets' shards. The pairs are recorded from the incidents, never derived from the
  boundaries, so an incident attributed before its community moved to another street, or a
  point on the edge of two streets (attribution picks each level on its own), keeps its street
  in the set.

- `incident_actor_streets` (migration 0014) holds every street an actor reported in, with the
  last day of such a report: the worker app's history (a worker's own reports, by the report
  event's actor) names those streets, which may lie outside the worker's scope today.

The tables are written in the transaction that stores the incidents, by
`wangge_route_incidents(...)` and `wangge_route_reports(...)`: on Citus the writers call them
(RECORD_SQL, REPORTS_SQL), on one node triggers on incidents and incident_events do, for every
writer. Rows are never removed when incidents are (a stale pair only widens the set); a
TRUNCATE of incidents must truncate all three (one node: a trigger; the demo's reset names
them). `incident_streets` is partitioned by id range (ROUTE_IDS ids a partition): archived
years leave by `SELECT wangge_route_drop(<first id kept>)`, and their ids fall back to the
lookup on every shard.
"""

from __future__ import annotations

from psycopg import AsyncConnection

from gis.cluster import CITUS
from gis.scope import Principal

# Records a batch of stored incidents (arrays in the same order; parameters named as below). On
# one node the trigger on incidents has recorded them already, so it runs on Citus only.
RECORD_SQL = ("SELECT wangge_route_incidents(%(id)s::bigint[], %(street_id)s::bigint[], "
              "%(community_id)s::bigint[], %(grid_id)s::bigint[], %(micro_grid_id)s::bigint[]) "
              f"WHERE {CITUS}")

# Records the streets an actor reported in (report events: actor, street, report time, arrays
# in the same order; migration 0014). On one node a trigger on incident_events has done it.
REPORTS_SQL = ("SELECT wangge_route_reports(%(actor)s::text[], %(street_id)s::bigint[], "
               f"%(reported_at)s::timestamptz[]) WHERE {CITUS}")

# The routing tables from the incidents table (after a bulk load that bypassed RECORD_SQL and
# REPORTS_SQL); the map's rows of ranges without a partition are moved into new ones.
REBUILD_SQL = ("SELECT wangge_route_rebuild(), wangge_route_rebuild_reports(), "
               "wangge_route_repartition()")

# incident_streets is partitioned by id range, this many ids a partition (migration 0014).
ROUTE_IDS = 10_000_000

MAPPED_SQL = "SELECT street_id FROM incident_streets WHERE id = %s"
UNMAPPED_SQL = "SELECT street_id FROM incidents WHERE id = %s"

# Every street that can hold an incident of the scope (the scope's streets and the recorded
# streets of its communities, grids and micro-grids); may contain NULL on one node, where an
# incident outside every street can be stored.
SCOPE_STREETS_SQL = """
SELECT ARRAY(SELECT DISTINCT s FROM (
    SELECT unnest(%(scope_street)s::bigint[]) AS s
    UNION ALL SELECT street_id FROM incident_area_streets
        WHERE level = 'community' AND area_id = ANY(%(scope_community)s::bigint[])
    UNION ALL SELECT street_id FROM incident_area_streets
        WHERE level = 'grid' AND area_id = ANY(%(scope_grid)s::bigint[])
    UNION ALL SELECT street_id FROM incident_area_streets
        WHERE level = 'micro_grid' AND area_id = ANY(%(scope_micro_grid)s::bigint[])) x
    ORDER BY s)
"""


# Every street that can hold an incident attributed to the current area of a level and code.
AREA_STREETS_SQL = {
    "street": "SELECT ARRAY(SELECT id FROM streets WHERE code = %(code)s AND valid_to IS NULL)",
    **{level: f"""SELECT ARRAY(SELECT DISTINCT r.street_id FROM {table} a
                  JOIN incident_area_streets r ON r.level = '{level}' AND r.area_id = a.id
                  WHERE a.code = %(code)s AND a.valid_to IS NULL ORDER BY r.street_id)"""
       for level, table in (("community", "communities"), ("grid", "grids"),
                            ("micro_grid", "micro_grids"))},
}


# Every street in which `actor` reported an incident on or after the UTC day that began
# `days` days ago (the worker app's history window).
ACTOR_STREETS_SQL = """
SELECT ARRAY(SELECT street_id FROM incident_actor_streets
             WHERE actor = %(actor)s AND last_day >=
                   ((now() - make_interval(days => %(days)s)) AT TIME ZONE 'UTC')::date
             ORDER BY street_id)
"""


class NoSuchIncident(LookupError):
    """No incident has this id."""


async def street_of(conn: AsyncConnection, incident_id: int) -> int | None:
    """The street of incident `incident_id` (None: stored outside every street, one node only);
    NoSuchIncident when there is none. From the coordinator's map, else from the incidents."""
    for sql in (MAPPED_SQL, UNMAPPED_SQL):
        row = await (await conn.execute(sql, (incident_id,))).fetchone()
        if row is not None:
            return row[0]
    raise NoSuchIncident(incident_id)


async def scope_streets(conn: AsyncConnection, principal: Principal | None
                        ) -> tuple[int | None, ...] | None:
    """Every street that can hold an incident in the caller's scope, or None for an
    unrestricted caller (no street condition then)."""
    if principal is None or principal.scope is None:
        return None
    row = await (await conn.execute(SCOPE_STREETS_SQL, principal.scope.params())).fetchone()
    return tuple(row[0])


async def area_streets(conn: AsyncConnection, level: str, code: str) -> tuple[int | None, ...]:
    """Every street that can hold an incident attributed to the current area `code` of
    `level` (its own id for a street)."""
    row = await (await conn.execute(AREA_STREETS_SQL[level], {"code": code})).fetchone()
    return tuple(row[0])


async def actor_streets(conn: AsyncConnection, actor: str, days: int
                        ) -> tuple[int | None, ...]:
    """Every street holding a report event of `actor` for an incident reported in the last
    `days` days, from incident_actor_streets (0014): recorded with the reports, so it keeps
    streets no longer in the actor's scope. May hold NULL on one node."""
    row = await (await conn.execute(ACTOR_STREETS_SQL, {"actor": actor, "days": days})
                 ).fetchone()
    return tuple(row[0])


def street_condition(alias: str, streets: tuple[int | None, ...] | None) -> tuple[str, dict]:
    """A WHERE fragment naming the shard key for the streets of :func:`scope_streets`
    (`TRUE` when None): AND it with the scope filter; it leaves the rows the same."""
    if streets is None:
        return "TRUE", {}
    if not streets:  # no incident of the scope anywhere (Citus reads every shard for '{}')
        return "FALSE", {}
    known = [s for s in streets if s is not None]
    cond = f"{alias}.street_id = ANY(%(route_streets)s::bigint[])"
    if len(known) < len(streets):
        cond = f"({cond} OR {alias}.street_id IS NULL)"
    return cond, {"route_streets": known}
