"""Response and satisfaction rates: incidents.respond_by and two more rollup counters.

`respond_by` is stamped at report time from the category's response time (like `due_at`), so the
response rate (accepted by `respond_by`) keeps the rule that applied when the case came in. The
daily rollup gains `n_responded` and `n_sat_good` (ratings 4–5), kept exact by the same
statement-level triggers, which are replaced here and the rollup rebuilt once. Patrol points get
an index on time alone (the command map's live positions: the last ten minutes).

Revision ID: 0006_stats_rates
Revises: 0005_people
Create Date: 2026-11-30
"""

from alembic import op

revision = "0006_stats_rates"
down_revision = "0005_people"
branch_labels = None
depends_on = None

COLUMNS = ("n", "n_on_time", "n_closed", "close_s", "n_sat", "sat_sum", "n_responded",
           "n_sat_good")


def contrib(sign: str, source: str, responded: bool = True) -> str:
    """One row's contribution to the rollup (with or without the new counters)."""
    extra = f"""
       , {sign} * (r.accepted_at IS NOT NULL AND r.respond_by IS NOT NULL
                   AND r.accepted_at <= r.respond_by)::int AS n_responded,
       {sign} * (coalesce(r.satisfaction, 0) >= 4)::int AS n_sat_good""" if responded else ""
    return f"""
SELECT (r.reported_at AT TIME ZONE 'UTC')::date AS day, coalesce(r.street_id, 0) AS street_id,
       r.category, r.status, {sign} AS n,
       {sign} * (r.resolved_at IS NOT NULL AND r.due_at IS NOT NULL
                 AND r.resolved_at <= r.due_at)::int AS n_on_time,
       {sign} * (r.status = 'closed')::int AS n_closed,
       {sign} * CASE WHEN r.status = 'closed'
                THEN extract(epoch FROM r.closed_at - r.reported_at) ELSE 0 END AS close_s,
       {sign} * (r.satisfaction IS NOT NULL)::int AS n_sat,
       {sign} * coalesce(r.satisfaction, 0) AS sat_sum{extra},
       CASE WHEN r.status = 'closed' THEN wangge_close_bin(r.closed_at - r.reported_at) END AS bin
FROM {source} r
"""


def upsert(parts: str, columns: tuple[str, ...]) -> str:
    """Add the contributions to the rollup and the close-time histogram."""
    cols = ", ".join(columns)
    sums = ", ".join(f"sum({c})" for c in columns)
    sets = ", ".join(f"{c} = t.{c} + EXCLUDED.{c}" for c in columns)
    return f"""
    WITH c AS ({parts})
    , roll AS (
        INSERT INTO incident_rollup AS t (day, street_id, category, status, {cols})
        SELECT day, street_id, category, status, {sums}
        FROM c GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (day, street_id, category, status) DO UPDATE SET {sets}
        RETURNING 1
    )
    INSERT INTO incident_close_hist AS h (day, street_id, bin, n)
    SELECT day, street_id, bin, sum(n) FROM c WHERE bin IS NOT NULL
    GROUP BY 1, 2, 3 HAVING sum(n) <> 0 ORDER BY 1, 2, 3
    ON CONFLICT (day, street_id, bin) DO UPDATE SET n = h.n + EXCLUDED.n;
    """


def _triggers(columns: tuple[str, ...], responded: bool) -> None:
    bodies = {
        "ins": upsert(contrib("1", "new_rows", responded), columns),
        "upd": upsert(contrib("1", "new_rows", responded) + " UNION ALL "
                      + contrib("-1", "old_rows", responded), columns),
        "del": upsert(contrib("-1", "old_rows", responded), columns),
    }
    for name, body in bodies.items():
        op.execute(f"""
        CREATE OR REPLACE FUNCTION wangge_incident_rollup_{name}() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
        {body}
        RETURN NULL;
        END $$;
        """)


def _rebuild(columns: tuple[str, ...], responded: bool) -> None:
    op.execute("TRUNCATE incident_rollup, incident_close_hist")
    op.execute(upsert(contrib("1", "incidents", responded), columns))


def _response_hours() -> dict[str, float]:
    from gis.categories import load_categories
    from gis.settings import Settings

    try:
        path = Settings().categories_file
    except Exception:  # noqa: BLE001 - a migration run without settings uses the defaults
        path = None
    return {c.key: c.response_hours for c in load_categories(path).values()}


def upgrade() -> None:
    op.execute("""
    ALTER TABLE incidents ADD COLUMN respond_by timestamptz;
    CREATE INDEX patrol_points_t ON patrol_points (t);
    ALTER TABLE incident_rollup ADD COLUMN n_responded bigint NOT NULL DEFAULT 0,
                                ADD COLUMN n_sat_good bigint NOT NULL DEFAULT 0;
    """)
    _triggers(COLUMNS, True)
    hours = _response_hours()
    if hours:
        cats = ", ".join(f"('{k}', {float(v)})" for k, v in hours.items() if "'" not in k)
        op.execute(f"""
        UPDATE incidents i SET respond_by = i.reported_at + make_interval(secs => h.hours * 3600)
        FROM (VALUES {cats}) AS h(category, hours)
        WHERE h.category = i.category AND i.respond_by IS NULL
        """)
    _rebuild(COLUMNS, True)


def downgrade() -> None:
    old = COLUMNS[:6]
    _triggers(old, False)
    op.execute("""
    ALTER TABLE incident_rollup DROP COLUMN n_responded, DROP COLUMN n_sat_good;
    ALTER TABLE incidents DROP COLUMN respond_by;
    DROP INDEX IF EXISTS patrol_points_t;
    """)
    _rebuild(old, False)
