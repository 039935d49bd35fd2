"""Incident statistics rollup: per day, street, category and status; close-time histogram.

Kept exact by statement-level triggers (transition tables) on incidents, so district-wide
statistics read a few thousand rows instead of every incident. Open cases get a partial
covering index (overdue counts).

Revision ID: 0002_incident_rollup
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op

revision = "0002_incident_rollup"
down_revision = "0001"
branch_labels = None
depends_on = None

# One row's contribution to the rollup (also used by gis.stats for partial days).
CONTRIB = """
SELECT (r.reported_at AT TIME ZONE 'UTC')::date AS day, coalesce(r.street_id, 0) AS street_id,
       r.category, r.status, {sign} AS n,
       {sign} * (r.resolved_at IS NOT NULL AND r.due_at IS NOT NULL
                 AND r.resolved_at <= r.due_at)::int AS n_on_time,
       {sign} * (r.status = 'closed')::int AS n_closed,
       {sign} * CASE WHEN r.status = 'closed'
                THEN extract(epoch FROM r.closed_at - r.reported_at) ELSE 0 END AS close_s,
       {sign} * (r.satisfaction IS NOT NULL)::int AS n_sat,
       {sign} * coalesce(r.satisfaction, 0) AS sat_sum,
       CASE WHEN r.status = 'closed' THEN wangge_close_bin(r.closed_at - r.reported_at) END AS bin
FROM {source} r
"""


def _upsert(parts: str) -> str:
    return f"""
    WITH c AS ({parts})
    , roll AS (
        INSERT INTO incident_rollup AS t
            (day, street_id, category, status, n, n_on_time, n_closed, close_s, n_sat, sat_sum)
        SELECT day, street_id, category, status, sum(n), sum(n_on_time), sum(n_closed),
               sum(close_s), sum(n_sat), sum(sat_sum)
        FROM c GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (day, street_id, category, status) DO UPDATE SET
            n = t.n + EXCLUDED.n, n_on_time = t.n_on_time + EXCLUDED.n_on_time,
            n_closed = t.n_closed + EXCLUDED.n_closed, close_s = t.close_s + EXCLUDED.close_s,
            n_sat = t.n_sat + EXCLUDED.n_sat, sat_sum = t.sat_sum + EXCLUDED.sat_sum
        RETURNING 1
    )
    INSERT INTO incident_close_hist AS h (day, street_id, bin, n)
    SELECT day, street_id, bin, sum(n) FROM c WHERE bin IS NOT NULL
    GROUP BY 1, 2, 3 HAVING sum(n) <> 0 ORDER BY 1, 2, 3
    ON CONFLICT (day, street_id, bin) DO UPDATE SET n = h.n + EXCLUDED.n;
    """


def upgrade() -> None:
    op.execute("""
    CREATE FUNCTION wangge_close_bin(d interval) RETURNS smallint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN extract(epoch FROM d) < 60 THEN 0
               ELSE 1 + floor(ln(extract(epoch FROM d) / 60.0) / ln(1.05)) END::smallint
    $$;

    CREATE TABLE incident_rollup (
        day date NOT NULL,
        street_id bigint NOT NULL,
        category text NOT NULL,
        status text NOT NULL,
        n bigint NOT NULL,
        n_on_time bigint NOT NULL,
        n_closed bigint NOT NULL,
        close_s double precision NOT NULL,
        n_sat bigint NOT NULL,
        sat_sum bigint NOT NULL,
        PRIMARY KEY (day, street_id, category, status)
    );
    CREATE TABLE incident_close_hist (
        day date NOT NULL,
        street_id bigint NOT NULL,
        bin smallint NOT NULL,
        n bigint NOT NULL,
        PRIMARY KEY (day, street_id, bin)
    );
    CREATE INDEX incidents_open_reported ON incidents (reported_at)
        INCLUDE (due_at, street_id, community_id, grid_id, micro_grid_id)
        WHERE status IN ('reported', 'accepted', 'dispatched', 'in_progress');
    """)
    insert = _upsert(CONTRIB.format(sign=1, source="new_rows"))
    update = _upsert(CONTRIB.format(sign=1, source="new_rows") + " UNION ALL "
                     + CONTRIB.format(sign=-1, source="old_rows"))
    delete = _upsert(CONTRIB.format(sign=-1, source="old_rows"))
    for name, body in (("ins", insert), ("upd", update), ("del", delete)):
        op.execute(f"""
        CREATE FUNCTION wangge_incident_rollup_{name}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
        {body}
        RETURN NULL;
        END $$;
        """)
    op.execute("""
    CREATE FUNCTION wangge_incident_rollup_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        TRUNCATE incident_rollup, incident_close_hist;
        RETURN NULL;
    END $$;
    CREATE TRIGGER incidents_rollup_ins AFTER INSERT ON incidents
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION wangge_incident_rollup_ins();
    CREATE TRIGGER incidents_rollup_upd AFTER UPDATE ON incidents
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION wangge_incident_rollup_upd();
    CREATE TRIGGER incidents_rollup_del AFTER DELETE ON incidents
        REFERENCING OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION wangge_incident_rollup_del();
    CREATE TRIGGER incidents_rollup_truncate AFTER TRUNCATE ON incidents
        FOR EACH STATEMENT EXECUTE FUNCTION wangge_incident_rollup_truncate();
    """)
    # Existing incidents (if any) enter the rollup once.
    op.execute(_upsert(CONTRIB.format(sign=1, source="incidents")))


def downgrade() -> None:
    op.execute("""
    DROP TRIGGER IF EXISTS incidents_rollup_ins ON incidents;
    DROP TRIGGER IF EXISTS incidents_rollup_upd ON incidents;
    DROP TRIGGER IF EXISTS incidents_rollup_del ON incidents;
    DROP TRIGGER IF EXISTS incidents_rollup_truncate ON incidents;
    DROP FUNCTION IF EXISTS wangge_incident_rollup_ins(), wangge_incident_rollup_upd(),
        wangge_incident_rollup_del(), wangge_incident_rollup_truncate();
    DROP INDEX IF EXISTS incidents_open_reported;
    DROP TABLE IF EXISTS incident_rollup, incident_close_hist;
    DROP FUNCTION IF EXISTS wangge_close_bin(interval);
    """)
