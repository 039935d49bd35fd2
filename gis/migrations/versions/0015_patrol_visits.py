"""Patrol visits: the patrol points per UTC day, micro-grid and street, for the patrol rate.

The patrol rate (巡查率) asks which assigned micro-grids had at least one patrol point in the
period. Read from patrol_points, it visits every point of the period (on Citus every shard:
points are distributed by patrol, not by street). `patrol_visits (day, micro_grid_id,
street_id, n)` counts them instead (street 0: a point outside every street); the statistics read
it for the period's whole UTC days and patrol_points only for the partial days at either end,
as they do with the incident rollup, so the answers are the same.

A plain table on one node and on the Citus coordinator (docs/scale.md says why), kept exact in
the writing transaction by `wangge_patrol_visits_add(days, micro_grids, streets, counts)`:
- one node: AFTER INSERT/UPDATE/DELETE statement triggers on patrol_points (transition tables)
  call it with each statement's rows (+1 for new rows, -1 for old ones), so every writer is
  covered, bulk loads and hand-written SQL included;
- Citus: triggers of a distributed table run on the workers' shards, which cannot write a
  coordinator table, so the point upload (gis/patrols.py) calls it in its own transaction, and
  writers outside the application call `SELECT wangge_patrol_visits_rebuild()` after loading
  (the demo and the scale bench do).
On both, a TRUNCATE of patrol_points empties it (Citus keeps TRUNCATE triggers on the
distributed table, on the coordinator). The migration fills it from the stored points.

Revision ID: 0015_patrol_visits
Revises: 0014_routing_archive
Create Date: 2026-11-30
"""

from alembic import op
from sqlalchemy import text

revision = "0015_patrol_visits"
down_revision = "0014_routing_archive"
branch_labels = None
depends_on = None

# One point's contribution (sign +1 or -1): its UTC day, micro-grid and street.
CONTRIB = """
SELECT (r.t AT TIME ZONE 'UTC')::date AS day, r.micro_grid_id, r.street_id, {sign}::bigint AS n
FROM {source} r WHERE r.micro_grid_id IS NOT NULL
"""

TRIGGERS = {  # name -> (event, transition tables, contributions)
    "ins": ("INSERT", "NEW TABLE AS new_rows", CONTRIB.format(sign=1, source="new_rows")),
    "upd": ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            CONTRIB.format(sign=1, source="new_rows") + " UNION ALL "
            + CONTRIB.format(sign=-1, source="old_rows")),
    "del": ("DELETE", "OLD TABLE AS old_rows", CONTRIB.format(sign=-1, source="old_rows")),
}


def is_citus(bind) -> bool:
    """True when the database has the citus extension."""
    return bool(bind.execute(text(
        "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")).scalar())


def upgrade() -> None:
    bind = op.get_bind()
    op.execute("""
    CREATE TABLE patrol_visits (
        day date NOT NULL,
        micro_grid_id bigint NOT NULL,
        street_id bigint NOT NULL,
        n bigint NOT NULL,
        PRIMARY KEY (micro_grid_id, day, street_id)
    );
    CREATE INDEX patrol_visits_day ON patrol_visits (day);

    CREATE FUNCTION wangge_patrol_visits_add(days date[], micro_grids bigint[],
                                             streets bigint[], counts bigint[])
    RETURNS integer LANGUAGE plpgsql AS $$
    DECLARE k integer;
    BEGIN
        INSERT INTO patrol_visits AS v (day, micro_grid_id, street_id, n)
        SELECT u.d, u.m, coalesce(u.s, 0), sum(u.c)
        FROM unnest(days, micro_grids, streets, counts) AS u(d, m, s, c)
        WHERE u.m IS NOT NULL GROUP BY 1, 2, 3 HAVING sum(u.c) <> 0 ORDER BY 2, 1, 3
        ON CONFLICT (micro_grid_id, day, street_id) DO UPDATE SET n = v.n + EXCLUDED.n;
        GET DIAGNOSTICS k = ROW_COUNT;
        IF EXISTS (SELECT 1 FROM unnest(counts) c WHERE c < 0) THEN
            DELETE FROM patrol_visits v USING unnest(days, micro_grids, streets) AS u(d, m, s)
            WHERE v.n <= 0 AND v.micro_grid_id = u.m AND v.day = u.d
              AND v.street_id = coalesce(u.s, 0);
        END IF;
        RETURN k;
    END $$;

    CREATE FUNCTION wangge_patrol_visits_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
    DECLARE k bigint;
    BEGIN
        DELETE FROM patrol_visits;
        INSERT INTO patrol_visits (day, micro_grid_id, street_id, n)
        SELECT c.day, c.micro_grid_id, coalesce(c.street_id, 0), sum(c.n)
        FROM (""" + CONTRIB.format(sign=1, source="patrol_points") + """) c
        GROUP BY 1, 2, 3;
        GET DIAGNOSTICS k = ROW_COUNT;
        RETURN k;
    END $$;

    CREATE FUNCTION wangge_patrol_visits_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        TRUNCATE patrol_visits;
        RETURN NULL;
    END $$;
    """)
    citus = is_citus(bind)
    if citus:
        # Citus keeps a TRUNCATE trigger on the distributed table itself (the coordinator)
        op.execute("SET LOCAL citus.enable_unsafe_triggers = on")
    else:
        for name, (event, tables, parts) in TRIGGERS.items():
            op.execute(f"""
            CREATE FUNCTION wangge_patrol_visits_{name}() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM wangge_patrol_visits_add(array_agg(g.day), array_agg(g.micro_grid_id),
                                                 array_agg(g.street_id), array_agg(g.n))
                FROM (SELECT day, micro_grid_id, street_id, sum(n)::bigint AS n
                      FROM ({parts}) c GROUP BY 1, 2, 3) g
                HAVING count(*) > 0;
                RETURN NULL;
            END $$;
            CREATE TRIGGER patrol_points_visits_{name} AFTER {event} ON patrol_points
                REFERENCING {tables} FOR EACH STATEMENT
                EXECUTE FUNCTION wangge_patrol_visits_{name}();
            """)
    op.execute("CREATE TRIGGER patrol_points_visits_truncate AFTER TRUNCATE ON patrol_points "
               "FOR EACH STATEMENT EXECUTE FUNCTION wangge_patrol_visits_truncate()")
    op.execute("SELECT wangge_patrol_visits_rebuild()")


def downgrade() -> None:
    if is_citus(op.get_bind()):
        op.execute("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'")
        op.execute("SET LOCAL citus.enable_unsafe_triggers = on")
    for name in (*TRIGGERS, "truncate"):
        op.execute(f"DROP TRIGGER IF EXISTS patrol_points_visits_{name} ON patrol_points")
    op.execute("""
    DROP FUNCTION IF EXISTS wangge_patrol_visits_ins(), wangge_patrol_visits_upd(),
        wangge_patrol_visits_del(), wangge_patrol_visits_truncate();
    DROP FUNCTION IF EXISTS wangge_patrol_visits_rebuild();
    DROP FUNCTION IF EXISTS wangge_patrol_visits_add(date[], bigint[], bigint[], bigint[]);
    DROP TABLE IF EXISTS patrol_visits;
    """)
