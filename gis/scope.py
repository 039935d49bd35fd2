"""Who may see what: a caller's role and the areas they are confined to, as SQL filters.

A worker (or an area-bound commander/planner) is confined to the union of their assigned areas and
everything below them. The scope is expanded once per request into the ids of the areas that lie
wholly inside it, level by level, and every query ANDs :func:`scope_filter` into its WHERE clause,
so confinement is enforced in the database query, never in the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from gis.levels import LEVEL_ORDER, LEVELS

ROLES = ("admin", "planner", "commander", "worker", "department")


@dataclass(frozen=True)
class Scope:
    """Ids of the current areas wholly inside the caller's jurisdiction, per level."""

    street: tuple[int, ...] = ()
    community: tuple[int, ...] = ()
    grid: tuple[int, ...] = ()
    micro_grid: tuple[int, ...] = ()

    def ids(self, level: str) -> tuple[int, ...]:
        return getattr(self, level)

    @property
    def empty(self) -> bool:
        return not any(self.ids(lv) for lv in LEVEL_ORDER)

    def params(self) -> dict[str, list[int]]:
        return {f"scope_{lv}": list(self.ids(lv)) for lv in LEVEL_ORDER}


@dataclass(frozen=True)
class Principal:
    """The authenticated caller. `scope` None means unrestricted (admin, district commander)."""

    account_id: int
    username: str
    role: str
    worker_id: int | None = None
    scope: Scope | None = None
    token_id: str | None = None
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def restricted(self) -> bool:
        return self.scope is not None


# An assignment grants access from its start date up to (not including) its end date, both read
# in the district's time zone (wangge_local_date(), migration 0005), evaluated at request time.
CURRENT_ASSIGNMENT = ("{a}.starts_on <= wangge_local_date() "
                      "AND ({a}.ends_on IS NULL OR {a}.ends_on > wangge_local_date())")

# Expands an account's direct areas (account_areas, current assignments, its department's street)
# downwards.
EXPAND_SCOPE_SQL = """
WITH RECURSIVE direct AS (
    SELECT level, area_id FROM account_areas WHERE account_id = %(account_id)s
    UNION
    SELECT s.level, s.area_id
    FROM assignments s JOIN accounts a ON a.worker_id = s.worker_id
    WHERE a.id = %(account_id)s AND """ + CURRENT_ASSIGNMENT.format(a="s") + """
    UNION
    SELECT 'street', d.street_id
    FROM departments d JOIN accounts a ON a.department_id = d.id
    WHERE a.id = %(account_id)s AND d.street_id IS NOT NULL
),
st AS (SELECT area_id AS id FROM direct WHERE level = 'street'),
co AS (
    SELECT area_id AS id FROM direct WHERE level = 'community'
    UNION SELECT c.id FROM communities c JOIN st ON c.parent_id = st.id WHERE c.valid_to IS NULL
),
gr AS (
    SELECT area_id AS id FROM direct WHERE level = 'grid'
    UNION SELECT g.id FROM grids g JOIN co ON g.parent_id = co.id WHERE g.valid_to IS NULL
),
mg AS (
    SELECT area_id AS id FROM direct WHERE level = 'micro_grid'
    UNION SELECT m.id FROM micro_grids m JOIN gr ON m.parent_id = gr.id WHERE m.valid_to IS NULL
)
SELECT (SELECT count(*) FROM direct) AS direct_count,
       ARRAY(SELECT id FROM st ORDER BY id) AS street,
       ARRAY(SELECT id FROM co ORDER BY id) AS community,
       ARRAY(SELECT id FROM gr ORDER BY id) AS grid,
       ARRAY(SELECT id FROM mg ORDER BY id) AS micro_grid
"""

# Which columns of a table tie its rows to areas (most specific last).
AREA_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "streets": [("street", "id")],
    "communities": [("street", "parent_id"), ("community", "id")],
    "grids": [("community", "parent_id"), ("grid", "id")],
    "micro_grids": [("grid", "parent_id"), ("micro_grid", "id")],
    "buildings": [("grid", "grid_id"), ("micro_grid", "micro_grid_id")],
    "incidents": [("street", "street_id"), ("community", "community_id"), ("grid", "grid_id"),
                  ("micro_grid", "micro_grid_id")],
    "patrol_points": [("street", "street_id"), ("community", "community_id"),
                      ("grid", "grid_id"), ("micro_grid", "micro_grid_id")],
}


def scope_filter(table: str, alias: str, principal: Principal | None,
                 shard_key: str | None = None) -> tuple[str, dict]:
    """A WHERE fragment (psycopg %(name)s style) confining `table` rows to the caller's scope.

    Areas are visible when they or their parent lie wholly inside the scope; rows that carry area
    ids (buildings, incidents, patrol points) when any of their area ids does. `shard_key`: as
    in :func:`scope_filter_hashed`, for a caller that ANDs its own street condition.
    """
    if principal is None or principal.scope is None:
        return "TRUE", {}
    return scope_fragment(table, alias, shard_key), principal.scope.params()


def _scope_columns(table: str) -> tuple[tuple[str, str], ...]:
    """(level, column) pairs a scope tests on `table`'s rows."""
    columns = AREA_COLUMNS[table]
    if table in ("streets", "communities", "grids", "micro_grids"):
        columns = columns[-1:]  # an area is in scope only when it is itself wholly inside
    return tuple(columns)


def _scope_column(alias: str, col: str, shard_key: str | None) -> str:
    """`alias.col`, written `coalesce(alias.col, 0)` when it is `shard_key` (same rows: ids
    are positive; see :func:`scope_filter_hashed`)."""
    return f"coalesce({alias}.{col}, 0)" if col == shard_key else f"{alias}.{col}"


def scope_fragment(table: str, alias: str, shard_key: str | None = None) -> str:
    """The WHERE fragment of :func:`scope_filter` for a scoped caller (parameters scope_*)."""
    parts = [f"{_scope_column(alias, col, shard_key)} = ANY(%(scope_{lv})s)"
             for lv, col in _scope_columns(table)]
    return "(" + " OR ".join(parts) + ")"


def expand_scope(conn, account_id: int) -> Scope:
    """The account's scope from its areas and current assignments (psycopg connection)."""
    row = conn.execute(EXPAND_SCOPE_SQL, {"account_id": account_id}).fetchone()
    return Scope(*(tuple(ids) for ids in row[1:]))


def area_touches_scope(alias: str, level_name: str, principal: Principal | None
                       ) -> tuple[str, dict]:
    """A WHERE fragment true when the area `alias` (of `level_name`) is in the caller's scope or
    holds part of it (a scoped area at or below its level whose code starts with its code).
    Callers answer for other areas as for unknown codes, so no reply reveals whether an area
    beyond the caller's jurisdiction exists. (Scopes expand downwards, so an area inside a
    scoped ancestor is itself in the scope.)"""
    if principal is None or principal.scope is None:
        return "TRUE", {}
    parts = [f"EXISTS (SELECT 1 FROM {LEVELS[lv].table} s WHERE s.id = ANY(%(scope_{lv})s) "
             f"AND left(s.code, length({alias}.code)) = {alias}.code)"
             for lv in LEVEL_ORDER[LEVEL_ORDER.index(level_name):]]
    return "(" + " OR ".join(parts) + ")", principal.scope.params()


def scope_valid_until(tz_name: str, now: float) -> float:
    """When a scope expanded at `now` (a Unix time) may stop holding without any write: the next
    midnight in the district's time zone, when assignments start and end by date."""
    tz = ZoneInfo(tz_name)
    today = datetime.fromtimestamp(now, tz).date()
    midnight = datetime.combine(today + timedelta(days=1), datetime.min.time(), tz)
    return midnight.timestamp()


def scope_filter_hashed(table: str, alias: str, principal: Principal | None,
                        shard_key: str | None = None) -> tuple[str, dict]:
    """:func:`scope_filter` for queries that test many rows: the id lists are passed as bigint[]
    (the type of the id columns, so PostgreSQL hashes each list once instead of searching it
    linearly per row, which it does for a smallint[] list against a bigint column) and the terms
    whose list is empty are left out (FALSE when every list is empty). Same rows.

    `shard_key` (a column) is tested as `coalesce(col, 0)` (ids are positive: the same rows):
    Citus 13.2 prunes shards by an AND-ed condition on its distribution column only when no OR
    term names that column too, so a caller that ANDs its own street condition names it here."""
    if principal is None or principal.scope is None:
        return "TRUE", {}
    parts = [f"{_scope_column(alias, col, shard_key)} = ANY(%(scope_{lv})s::bigint[])"
             for lv, col in _scope_columns(table) if principal.scope.ids(lv)]
    return "(" + (" OR ".join(parts) or "FALSE") + ")", principal.scope.params()
