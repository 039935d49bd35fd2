"""Citus keeps the statistics rollup: incident_rollup and incident_close_hist are distributed by
street_id, co-located with incidents, and kept by statement triggers on the incidents' shards.

On one node nothing changes (the triggers of migration 0002/0006 keep the rollup). On Citus
(migration 0011 dropped those triggers; the two tables stayed on the coordinator, stale):
- both tables are emptied and distributed by street_id, co-located with incidents, so a street's
  rollup rows live in the shard group of its incidents, on the same worker;
- AFTER INSERT/UPDATE/DELETE statement triggers with transition tables are created on
  incidents with `citus.enable_unsafe_triggers`; Citus creates them on every shard. On a shard
  a statement sees only that shard's rows; the trigger adds their contributions (the formula of
  migration 0006) to the co-located rollup shards by name, found in Citus's metadata (synced to
  the workers) from the shard the trigger fires on. A statement on the distributed table routes
  its rows to their shards, so a multi-row INSERT or COPY over several streets runs one trigger
  per shard and stays exact. Written to the shard itself, the rollup write is a plain local
  statement in the worker's part of the distributed transaction (committed with it by
  two-phase commit; no NOTIFY here): Citus's planner cannot plan a statement on the
  distributed rollup that reads a transition table ("executor could not find named
  tuplestore"). An AFTER TRUNCATE trigger stays on the distributed table (Citus creates none on
  shards) and empties the distributed rollup with 0002's function.
- the rollup is filled once from the stored incidents (an upgrade of a Citus database at 0011).

Revision ID: 0012_citus_rollup
Revises: 0011_citus_distribution
Create Date: 2026-11-30
"""

from alembic import op
from sqlalchemy import text

revision = "0012_citus_rollup"
down_revision = "0011_citus_distribution"
branch_labels = None
depends_on = None

ROLLUP = ("incident_rollup", "incident_close_hist")
COLUMNS = ("n", "n_on_time", "n_closed", "close_s", "n_sat", "sat_sum", "n_responded",
           "n_sat_good")
TRIGGERS = {  # trigger -> (event, transition tables)
    "incidents_rollup_ins": ("INSERT", "NEW TABLE AS new_rows"),
    "incidents_rollup_upd": ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    "incidents_rollup_del": ("DELETE", "OLD TABLE AS old_rows"),
}


def contrib(sign: str, source: str) -> str:
    """One incident's contribution to the rollup (the formula of migration 0006)."""
    return f"""
SELECT (r.reported_at AT TIME ZONE 'UTC')::date AS day, r.street_id,
       r.category, r.status, {sign} AS n,
       {sign} * (r.resolved_at IS NOT NULL AND r.due_at IS NOT NULL
                 AND r.resolved_at <= r.due_at)::int AS n_on_time,
       {sign} * (r.status = 'closed')::int AS n_closed,
       {sign} * CASE WHEN r.status = 'closed'
                THEN extract(epoch FROM r.closed_at - r.reported_at) ELSE 0 END AS close_s,
       {sign} * (r.satisfaction IS NOT NULL)::int AS n_sat,
       {sign} * coalesce(r.satisfaction, 0) AS sat_sum,
       {sign} * (r.accepted_at IS NOT NULL AND r.respond_by IS NOT NULL
                 AND r.accepted_at <= r.respond_by)::int AS n_responded,
       {sign} * (coalesce(r.satisfaction, 0) >= 4)::int AS n_sat_good,
       CASE WHEN r.status = 'closed' THEN wangge_close_bin(r.closed_at - r.reported_at) END AS bin
FROM {source} r
"""


def shard_upsert(parts: str) -> str:
    """The contributions added to the rollup shard %1$s and the histogram shard %2$s (a
    format() template for EXECUTE: the shard names are known only when the trigger fires)."""
    cols = ", ".join(COLUMNS)
    sums = ", ".join(f"sum({c})" for c in COLUMNS)
    sets = ", ".join(f"{c} = t.{c} + EXCLUDED.{c}" for c in COLUMNS)
    sql = f"""
    WITH c AS ({parts})
    , roll AS (
        INSERT INTO %1$s AS t (day, street_id, category, status, {cols})
        SELECT day, street_id, category, status, {sums}
        FROM c GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (day, street_id, category, status) DO UPDATE SET {sets}
        RETURNING 1
    )
    INSERT INTO %2$s AS h (day, street_id, bin, n)
    SELECT day, street_id, bin, sum(n) FROM c WHERE bin IS NOT NULL
    GROUP BY 1, 2, 3 HAVING sum(n) <> 0 ORDER BY 1, 2, 3
    ON CONFLICT (day, street_id, bin) DO UPDATE SET n = h.n + EXCLUDED.n"""
    return sql.replace("'", "''")


def _functions() -> None:
    # the shard of `target` co-located with the incidents shard a trigger fires on (its name
    # ends in the shard id); NULL on the coordinator's shell table, which holds no rows
    op.execute("""
    CREATE FUNCTION wangge_colocated_shard(incident_shard text, target regclass) RETURNS text
    LANGUAGE sql STABLE AS $$
        SELECT shard_name(target, t.shardid)
        FROM pg_dist_shard i JOIN pg_dist_shard t ON t.shardminvalue = i.shardminvalue
        WHERE i.logicalrelid = 'incidents'::regclass AND t.logicalrelid = target
          AND i.shardid = substring(incident_shard FROM '_([0-9]+)$')::bigint
    $$;
    """)
    bodies = {
        "ins": shard_upsert(contrib("1", "new_rows")),
        "upd": shard_upsert(contrib("1", "new_rows") + " UNION ALL " + contrib("-1", "old_rows")),
        "del": shard_upsert(contrib("-1", "old_rows")),
    }
    for name, body in bodies.items():
        op.execute(f"""
        CREATE FUNCTION wangge_incident_rollup_shard_{name}() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            roll text := wangge_colocated_shard(TG_TABLE_NAME, 'incident_rollup');
            hist text := wangge_colocated_shard(TG_TABLE_NAME, 'incident_close_hist');
        BEGIN
            IF roll IS NOT NULL THEN
                EXECUTE format('{body}', roll, hist);
            END IF;
            RETURN NULL;
        END $$;
        """)


def _backfill() -> None:
    """The stored incidents enter the rollup once (per street and day: each shard's own)."""
    cols = ", ".join(COLUMNS)
    sums = ", ".join(f"sum({c})" for c in COLUMNS)
    parts = contrib("1", "incidents")
    op.execute(f"""
    INSERT INTO incident_rollup (day, street_id, category, status, {cols})
    SELECT day, street_id, category, status, {sums} FROM ({parts}) c GROUP BY 1, 2, 3, 4
    """)
    op.execute(f"""
    INSERT INTO incident_close_hist (day, street_id, bin, n)
    SELECT day, street_id, bin, count(*) FROM ({parts}) c WHERE bin IS NOT NULL
    GROUP BY 1, 2, 3
    """)


def is_citus(bind) -> bool:
    """True when the database has the citus extension."""
    return bind.execute(text(
        "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")).scalar()


def upgrade() -> None:
    if not is_citus(op.get_bind()):
        return  # one node: the triggers of 0002/0006 keep the rollup
    _functions()  # before any distributed command: Citus creates functions on every node
    op.execute("TRUNCATE incident_rollup, incident_close_hist")
    for table in ROLLUP:
        op.execute(f"SELECT create_distributed_table('{table}', 'street_id', "
                   "colocate_with => 'incidents')")
    op.execute("SET LOCAL citus.enable_unsafe_triggers = on")
    for trigger, (event, tables) in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {trigger} AFTER {event} ON incidents REFERENCING {tables} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION "
                   f"wangge_incident_rollup_shard_{trigger.rsplit('_', 1)[1]}()")
    # Citus keeps TRUNCATE triggers on the distributed table itself (not its shards), where
    # 0002's function empties the distributed rollup
    op.execute("CREATE TRIGGER incidents_rollup_truncate AFTER TRUNCATE ON incidents "
               "FOR EACH STATEMENT EXECUTE FUNCTION wangge_incident_rollup_truncate()")
    _backfill()


def downgrade() -> None:
    if not is_citus(op.get_bind()):
        return
    # dropping a function is a distributed command that Citus refuses after a parallel
    # multi-shard one in the same transaction (the DROP TRIGGERs)
    op.execute("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'")
    op.execute("SET LOCAL citus.enable_unsafe_triggers = on")
    for trigger in (*TRIGGERS, "incidents_rollup_truncate"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON incidents")
    op.execute("""
    DROP FUNCTION IF EXISTS wangge_incident_rollup_shard_ins(),
        wangge_incident_rollup_shard_upd(), wangge_incident_rollup_shard_del();
    DROP FUNCTION IF EXISTS wangge_colocated_shard(text, regclass);
    """)
    for table in ROLLUP:  # back on the coordinator, as 0011 left them (not kept there)
        op.execute(f"SELECT undistribute_table('{table}')")
