"""Routing for years: incident_streets partitioned by id range, a worker's report streets, and
the rollup's TRUNCATE trigger made safe on moved shards.

- incident_streets (id -> street, migration 0013) becomes a table partitioned by RANGE (id),
  one partition per ROUTE_IDS ids (incident_streets_p<n> holds n * ROUTE_IDS up to
  (n + 1) * ROUTE_IDS - 1), with a default partition for ids of a range not prepared (after a
  bulk load or for a dropped range). wangge_route_incidents prepares the partitions of a batch's
  ids and the next range before recording them, so a partition exists about ROUTE_IDS
  incidents before it is needed. Closed, archived years leave by whole partitions:
  `SELECT wangge_route_drop(<first id kept>)` drops every partition below it (and the default
  partition's rows below it). A read by id that the map no longer holds falls back to the
  lookup on every shard (gis.routing.street_of), so dropping is always safe.
- incident_actor_streets (actor, street_id, last_day): every street an actor (the report
  event's actor, a username) reported in, with the last UTC day of such a report. The worker
  app's history (a worker's own reports, by actor) reads only those streets' shards, whatever
  the worker's scope is today. Written with the incidents: on one node by a trigger on
  incident_events, on Citus by the writers (gis.routing.REPORTS_SQL).
- On Citus, Citus re-creates every trigger of the incidents table on a moved or split shard,
  the TRUNCATE trigger too (which CREATE TRIGGER does not put on shards); fired on a shard it
  would truncate the distributed rollup from a worker inside the coordinator's TRUNCATE, a
  distributed deadlock. The TRUNCATE trigger's function now acts only on the distributed
  table itself.

Revision ID: 0014_routing_archive
Revises: 0013_incident_routing
Create Date: 2026-11-30
"""

from alembic import op
from sqlalchemy import text

revision = "0014_routing_archive"
down_revision = "0013_incident_routing"
branch_labels = None
depends_on = None

ROUTE_IDS = 10_000_000  # ids per partition of incident_streets (gis.routing.ROUTE_IDS)

TRUNCATE_0002 = """
CREATE OR REPLACE FUNCTION wangge_incident_rollup_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE incident_rollup, incident_close_hist;
    RETURN NULL;
END $$;
"""
# fired on a shard (named incidents_<shard id>) after a shard move or split: nothing to do
TRUNCATE_SAFE = """
CREATE OR REPLACE FUNCTION wangge_incident_rollup_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'incidents' THEN
        TRUNCATE incident_rollup, incident_close_hist;
    END IF;
    RETURN NULL;
END $$;
"""

PARTITION_FUNCTIONS = f"""
CREATE FUNCTION wangge_route_partition(n bigint) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    part text := 'incident_streets_p' || n;
    lo bigint := n * {ROUTE_IDS};
    hi bigint := (n + 1) * {ROUTE_IDS};
BEGIN
    IF to_regclass(part) IS NOT NULL THEN
        RETURN false;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('incident_streets partitions'));
    IF to_regclass(part) IS NOT NULL THEN  -- made by a concurrent transaction meanwhile
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE incident_streets INCLUDING ALL)', part);
    EXECUTE format('WITH moved AS (DELETE FROM incident_streets_default '
                   'WHERE id >= %s AND id < %s RETURNING id, street_id) '
                   'INSERT INTO %I (id, street_id) SELECT id, street_id FROM moved',
                   lo, hi, part);
    EXECUTE format('ALTER TABLE incident_streets ATTACH PARTITION %I '
                   'FOR VALUES FROM (%s) TO (%s)', part, lo, hi);
    RETURN true;
END $$;

CREATE FUNCTION wangge_route_prepare(ids bigint[]) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    lo bigint;
    hi bigint;
    n bigint;
    made integer := 0;
BEGIN
    SELECT min(x) / {ROUTE_IDS}, max(x) / {ROUTE_IDS} INTO lo, hi FROM unnest(ids) AS x;
    IF hi IS NULL THEN
        RETURN 0;
    END IF;
    -- a batch's ids are new ids of one sequence: one range, rarely two
    FOR n IN SELECT r FROM generate_series(greatest(lo, 0), hi + 1) AS r WHERE hi - lo <= 2
             UNION SELECT DISTINCT x / {ROUTE_IDS} FROM unnest(ids) AS x
                   WHERE hi - lo > 2 AND x >= 0
             UNION SELECT hi + 1 ORDER BY 1
    LOOP
        IF to_regclass('incident_streets_p' || n) IS NULL AND wangge_route_partition(n) THEN
            made := made + 1;
        END IF;
    END LOOP;
    RETURN made;
END $$;

CREATE FUNCTION wangge_route_repartition() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    made integer := 0;
BEGIN
    FOR n IN SELECT DISTINCT id / {ROUTE_IDS} FROM incident_streets_default WHERE id >= 0 LOOP
        IF wangge_route_partition(n) THEN
            made := made + 1;
        END IF;
    END LOOP;
    RETURN made;
END $$;

CREATE FUNCTION wangge_route_drop(below bigint) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    part record;
    dropped integer := 0;
BEGIN
    FOR part IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'incident_streets'::regclass
              AND c.relname ~ '^incident_streets_p[0-9]+$'
              AND (substring(c.relname FROM '([0-9]+)$')::bigint + 1) * {ROUTE_IDS} <= below
            ORDER BY 1 LOOP
        EXECUTE format('DROP TABLE %I', part.relname);
        dropped := dropped + 1;
    END LOOP;
    DELETE FROM incident_streets_default WHERE id < below;
    RETURN dropped;
END $$;
"""

REPORT_FUNCTIONS = """
CREATE TABLE incident_actor_streets (
    actor text NOT NULL,
    street_id bigint,
    last_day date NOT NULL,
    CONSTRAINT incident_actor_streets_key UNIQUE NULLS NOT DISTINCT (actor, street_id)
);

-- Only a report on a later day than the one recorded writes (and locks) the row.
CREATE FUNCTION wangge_route_reports(actors text[], streets bigint[], reported timestamptz[])
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE n integer;
BEGIN
    INSERT INTO incident_actor_streets AS r (actor, street_id, last_day)
    SELECT x.actor, x.street_id, max((coalesce(x.at, now()) AT TIME ZONE 'UTC')::date)
    FROM unnest(actors, streets, reported) AS x(actor, street_id, at)
    WHERE x.actor IS NOT NULL
    GROUP BY 1, 2
    HAVING NOT EXISTS (
        SELECT 1 FROM incident_actor_streets k
        WHERE k.actor = x.actor AND k.street_id IS NOT DISTINCT FROM x.street_id
          AND k.last_day >= max((coalesce(x.at, now()) AT TIME ZONE 'UTC')::date))
    ORDER BY 1, 2
    ON CONFLICT (actor, street_id) DO UPDATE SET last_day = EXCLUDED.last_day
    WHERE r.last_day < EXCLUDED.last_day;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

CREATE FUNCTION wangge_route_rebuild_reports() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    INSERT INTO incident_actor_streets AS r (actor, street_id, last_day)
    SELECT e.actor, i.street_id, max((i.reported_at AT TIME ZONE 'UTC')::date)
    FROM incident_events e JOIN incidents i ON i.street_id = e.street_id AND i.id = e.incident_id
    WHERE e.action = 'report' AND e.actor IS NOT NULL
    GROUP BY 1, 2
    ON CONFLICT (actor, street_id) DO UPDATE SET last_day = EXCLUDED.last_day
    WHERE r.last_day < EXCLUDED.last_day;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
"""

# On one node: every writer of report events is covered (bulk loads and hand-written SQL too).
ONE_NODE_TRIGGERS = """
CREATE FUNCTION wangge_route_reported() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM wangge_route_reports(array_agg(n.actor), array_agg(i.street_id),
                                 array_agg(i.reported_at))
    FROM new_rows n JOIN incidents i ON i.id = n.incident_id
    WHERE n.action = 'report' HAVING count(*) > 0;
    RETURN NULL;
END $$;
CREATE TRIGGER incident_events_route AFTER INSERT ON incident_events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION wangge_route_reported();
CREATE OR REPLACE FUNCTION wangge_route_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE incident_streets, incident_area_streets, incident_actor_streets;
    RETURN NULL;
END $$;
"""
TRUNCATED_0013 = """
CREATE OR REPLACE FUNCTION wangge_route_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE incident_streets, incident_area_streets;
    RETURN NULL;
END $$;
"""
ROUTE_ARGS = "bigint[], bigint[], bigint[], bigint[], bigint[]"


def is_citus(bind) -> bool:
    """True when the database has the citus extension."""
    return bind.execute(text(
        "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")).scalar()


def _partition_incident_streets() -> None:
    op.execute("ALTER TABLE incident_streets RENAME TO incident_streets_flat")
    op.execute("ALTER TABLE incident_streets_flat RENAME CONSTRAINT incident_streets_pkey "
               "TO incident_streets_flat_pkey")
    op.execute("""
    CREATE TABLE incident_streets (
        id bigint NOT NULL,
        street_id bigint,
        CONSTRAINT incident_streets_pkey PRIMARY KEY (id)
    ) PARTITION BY RANGE (id);
    CREATE TABLE incident_streets_default PARTITION OF incident_streets DEFAULT;
    """)
    op.execute(PARTITION_FUNCTIONS)
    # the partitions of the stored ids (and the next range), then the rows, in one statement
    op.execute("SELECT wangge_route_prepare(ARRAY(SELECT DISTINCT id / "
               f"{ROUTE_IDS} * {ROUTE_IDS} FROM incident_streets_flat))")
    op.execute("SELECT wangge_route_prepare(ARRAY[coalesce((SELECT max(id) "
               "FROM incident_streets_flat), 0)])")
    op.execute("INSERT INTO incident_streets (id, street_id) "
               "SELECT id, street_id FROM incident_streets_flat")
    op.execute("DROP TABLE incident_streets_flat")
    # the recorder prepares the partitions of its ids first (0013's body kept under a new name)
    op.execute(f"ALTER FUNCTION wangge_route_incidents({ROUTE_ARGS}) "
               "RENAME TO wangge_route_incidents_store")
    op.execute("""
    CREATE FUNCTION wangge_route_incidents(ids bigint[], streets bigint[], communities bigint[],
                                           grids bigint[], micro_grids bigint[])
    RETURNS integer LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM wangge_route_prepare(ids);
        RETURN wangge_route_incidents_store(ids, streets, communities, grids, micro_grids);
    END $$;
    """)


def upgrade() -> None:
    citus = is_citus(op.get_bind())
    _partition_incident_streets()
    op.execute(REPORT_FUNCTIONS)
    op.execute("SELECT wangge_route_rebuild_reports()")
    if citus:
        op.execute(TRUNCATE_SAFE)
    else:
        op.execute(ONE_NODE_TRIGGERS)


def downgrade() -> None:
    citus = is_citus(op.get_bind())
    if citus:
        op.execute(TRUNCATE_0002)
    else:
        op.execute("DROP TRIGGER IF EXISTS incident_events_route ON incident_events")
        op.execute("DROP FUNCTION IF EXISTS wangge_route_reported()")
        op.execute(TRUNCATED_0013)
    op.execute("""
    DROP FUNCTION IF EXISTS wangge_route_rebuild_reports();
    DROP FUNCTION IF EXISTS wangge_route_reports(text[], bigint[], timestamptz[]);
    DROP TABLE IF EXISTS incident_actor_streets;
    """)
    op.execute(f"DROP FUNCTION wangge_route_incidents({ROUTE_ARGS})")
    op.execute(f"ALTER FUNCTION wangge_route_incidents_store({ROUTE_ARGS}) "
               "RENAME TO wangge_route_incidents")
    op.execute("""
    CREATE TABLE incident_streets_flat (id bigint PRIMARY KEY, street_id bigint);
    INSERT INTO incident_streets_flat SELECT id, street_id FROM incident_streets;
    DROP TABLE incident_streets;
    ALTER TABLE incident_streets_flat RENAME TO incident_streets;
    ALTER TABLE incident_streets RENAME CONSTRAINT incident_streets_flat_pkey
        TO incident_streets_pkey;
    DROP FUNCTION IF EXISTS wangge_route_drop(bigint), wangge_route_repartition(),
        wangge_route_prepare(bigint[]), wangge_route_partition(bigint);
    """)
