"""Incident routing: which street holds each incident, and which streets hold an area's incidents.

Two coordinator tables (plain PostgreSQL tables on one node and on Citus), written in the
transaction that stores incidents (gis/routing.py):
- incident_streets (id -> street_id): a request that names a case by id alone reads its street
  here, then the case by (street_id, id), which Citus routes to one shard group instead of
  looking the id up on every shard.
- incident_area_streets (level, area_id, street_id): every street that holds an incident
  attributed to a community, grid or micro-grid. A scoped list adds `street_id = ANY(<the
  streets of its areas here>)` to its area filter, so Citus reads only those streets' shards.
  Recorded from the incidents themselves, the set is exact whatever moved since (a community
  re-parented to another street, a point on the edge of two streets attributed per level).

wangge_route_incidents(ids, streets, communities, grids, micro_grids) writes both. On one node
an AFTER INSERT statement trigger on incidents calls it, so every writer (bulk loads, tests,
hand-written SQL) is covered; on Citus triggers of distributed tables run on the workers, so
the intake, the incident import and the demo call it themselves, and writers outside the
application call `SELECT wangge_route_rebuild()` after loading (the bench's copy does). A
TRUNCATE of incidents must truncate both tables too (on one node a trigger does it; the demo's
reset names them).

Revision ID: 0013_incident_routing
Revises: 0012_citus_rollup
Create Date: 2026-11-30
"""

from alembic import op
from sqlalchemy import text

revision = "0013_incident_routing"
down_revision = "0012_citus_rollup"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    op.execute("""
    CREATE TABLE incident_streets (
        id bigint PRIMARY KEY,
        street_id bigint
    );
    CREATE TABLE incident_area_streets (
        level text NOT NULL CHECK (level IN ('community', 'grid', 'micro_grid')),
        area_id bigint NOT NULL,
        street_id bigint,
        CONSTRAINT incident_area_streets_key UNIQUE NULLS NOT DISTINCT (level, area_id, street_id)
    );

    CREATE FUNCTION wangge_route_incidents(ids bigint[], streets bigint[], communities bigint[],
                                           grids bigint[], micro_grids bigint[])
    RETURNS integer LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO incident_streets (id, street_id)
        SELECT r.id, r.street_id FROM unnest(ids, streets) AS r(id, street_id)
        ON CONFLICT (id) DO UPDATE SET street_id = EXCLUDED.street_id
        WHERE incident_streets.street_id IS DISTINCT FROM EXCLUDED.street_id;
        INSERT INTO incident_area_streets (level, area_id, street_id)
        SELECT DISTINCT a.level, a.area_id, r.street_id
        FROM unnest(streets, communities, grids, micro_grids) AS r(street_id, c, g, m),
             LATERAL (VALUES ('community', r.c), ('grid', r.g), ('micro_grid', r.m))
                 AS a(level, area_id)
        WHERE a.area_id IS NOT NULL
        ON CONFLICT DO NOTHING;
        RETURN cardinality(ids);
    END $$;

    CREATE FUNCTION wangge_route_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
    DECLARE n bigint;
    BEGIN
        INSERT INTO incident_streets (id, street_id)
        SELECT id, street_id FROM incidents
        ON CONFLICT (id) DO UPDATE SET street_id = EXCLUDED.street_id
        WHERE incident_streets.street_id IS DISTINCT FROM EXCLUDED.street_id;
        GET DIAGNOSTICS n = ROW_COUNT;
        INSERT INTO incident_area_streets (level, area_id, street_id)
        SELECT 'community', community_id, street_id FROM incidents
        WHERE community_id IS NOT NULL GROUP BY 2, 3
        UNION SELECT 'grid', grid_id, street_id FROM incidents
        WHERE grid_id IS NOT NULL GROUP BY 2, 3
        UNION SELECT 'micro_grid', micro_grid_id, street_id FROM incidents
        WHERE micro_grid_id IS NOT NULL GROUP BY 2, 3
        ON CONFLICT DO NOTHING;
        RETURN n;
    END $$;
    """)
    op.execute("SELECT wangge_route_rebuild()")
    citus = bind.execute(text(
        "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")).scalar()
    if not citus:
        op.execute("""
        CREATE FUNCTION wangge_route_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM wangge_route_incidents(array_agg(id), array_agg(street_id),
                                           array_agg(community_id), array_agg(grid_id),
                                           array_agg(micro_grid_id))
            FROM new_rows HAVING count(*) > 0;
            RETURN NULL;
        END $$;
        CREATE TRIGGER incidents_route AFTER INSERT ON incidents
            REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
            EXECUTE FUNCTION wangge_route_inserted();
        CREATE FUNCTION wangge_route_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            TRUNCATE incident_streets, incident_area_streets;
            RETURN NULL;
        END $$;
        CREATE TRIGGER incidents_route_truncate AFTER TRUNCATE ON incidents
            FOR EACH STATEMENT EXECUTE FUNCTION wangge_route_truncated();
        """)


def downgrade() -> None:
    op.execute("""
    DROP TRIGGER IF EXISTS incidents_route ON incidents;
    DROP TRIGGER IF EXISTS incidents_route_truncate ON incidents;
    DROP FUNCTION IF EXISTS wangge_route_truncated();
    DROP FUNCTION IF EXISTS wangge_route_inserted();
    DROP FUNCTION IF EXISTS wangge_route_rebuild();
    DROP FUNCTION IF EXISTS wangge_route_incidents(bigint[], bigint[], bigint[], bigint[],
                                                   bigint[]);
    DROP TABLE IF EXISTS incident_area_streets;
    DROP TABLE IF EXISTS incident_streets;
    """)
