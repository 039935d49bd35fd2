"""Citus: one schema for one node and for a cluster; on Citus the tables are distributed.

On every database (one node or Citus):
- incident_events, rating_links and incident_photos carry their incident's street_id, with a
  foreign key (street_id, incident_id) -> incidents (street_id, id): the key Citus needs to keep
  an incident and its children in one shard group. On one node a BEFORE INSERT trigger fills it
  from the incident when a writer leaves it out.
- The change triggers name their table without a shard suffix, and wangge_touch(VARIADIC text[])
  bumps layer versions and NOTIFYs 'wangge_changes' from the application's own statement
  (wangge_notify(channel, payload, VARIADIC tables) sends a feed event as well; on
  Citus the triggers of distributed and reference tables run on the workers, where nobody
  listens, so the application calls it on the coordinator; on one node it only repeats what the
  triggers did, and PostgreSQL folds identical notifications of one transaction into one).
  A row trigger on edit_log (a coordinator table) touches the boundary layers and buildings
  when a plan is published or undone.

When the citus extension is present (see docs/scale.md, "Which query goes where"):
- distributed by street_id, co-located: incidents, incident_events, rating_links, incident_photos
  (primary keys become (street_id, id); an incident outside every street cannot be stored);
- distributed by patrol, co-located: patrols (id) and patrol_points (patrol_id);
- distributed by account: idempotency_keys (account_id; looked up before the street is known);
- reference tables: streets, communities, grids, micro_grids, roads, buildings, workers,
  departments;
- everything else stays on the coordinator, as plain PostgreSQL tables. Foreign keys from
  distributed tables to coordinator tables (accounts) cannot exist in Citus, and those from
  coordinator tables to reference tables (workers, departments) would turn the coordinator
  tables into Citus local tables: both are dropped; the application checks them.
- the rollup triggers are dropped (statistics read incidents directly on Citus) and so are the
  statement triggers of distributed and reference tables (wangge_touch replaces them).

Revision ID: 0011_citus_distribution
Revises: 0010_worker_photos
Create Date: 2026-11-30
"""

from alembic import op
from sqlalchemy import text

revision = "0011_citus_distribution"
down_revision = "0010_worker_photos"
branch_labels = None
depends_on = None

INCIDENT_CHILDREN = ("incident_events", "rating_links", "incident_photos")
REFERENCE = ("streets", "communities", "grids", "micro_grids", "roads", "buildings", "workers",
             "departments")
# table -> (distribution column, co-located with)
DISTRIBUTED = {
    "incidents": ("street_id", None),
    "incident_events": ("street_id", "incidents"),
    "rating_links": ("street_id", "incidents"),
    "incident_photos": ("street_id", "incidents"),
    "patrols": ("id", None),
    "patrol_points": ("patrol_id", "patrols"),
    "idempotency_keys": ("account_id", None),
}
# Primary keys that must include the distribution column.
NEW_KEYS = {
    "incidents": "street_id, id",
    "incident_events": "street_id, id",
    "rating_links": "street_id, id",
    "incident_photos": "street_id, id",
    "patrol_points": "patrol_id, id",
}

# Layers a published or undone plan may change: touched by a trigger on edit_log, a
# coordinator table, because Citus runs no trigger of a reference table there.
BOUNDARY_LAYERS = ("streets", "communities", "grids", "micro_grids", "buildings")
BOUNDARY_ARGS = ", ".join(f"'{t}'" for t in BOUNDARY_LAYERS)
TABLE_NAME = "regexp_replace(TG_TABLE_NAME, '_[0-9]+$', '')"  # a shard's name is <table>_<n>


def is_citus(bind) -> bool:
    """True when the database has the citus extension."""
    return bind.execute(text(
        "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")).scalar()


def _common() -> None:
    for child in INCIDENT_CHILDREN:
        op.execute(f"""
        ALTER TABLE {child} ADD COLUMN street_id bigint;
        UPDATE {child} c SET street_id = i.street_id FROM incidents i WHERE i.id = c.incident_id;
        """)
    op.execute("""
    ALTER TABLE incidents ADD CONSTRAINT incidents_street_id_id UNIQUE (street_id, id);
    CREATE FUNCTION wangge_incident_street() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.street_id IS NULL THEN
            SELECT street_id INTO NEW.street_id FROM incidents WHERE id = NEW.incident_id;
        END IF;
        RETURN NEW;
    END $$;
    """)
    for child in INCIDENT_CHILDREN:
        op.execute(f"""
        ALTER TABLE {child} ADD CONSTRAINT {child}_incident_street
            FOREIGN KEY (street_id, incident_id) REFERENCES incidents (street_id, id);
        CREATE INDEX {child}_street ON {child} (street_id, incident_id);
        """)
    op.execute(f"""
    CREATE OR REPLACE FUNCTION wangge_bump_layer_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM wangge_touch({TABLE_NAME});
        RETURN NULL;
    END $$;

    CREATE OR REPLACE FUNCTION wangge_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('wangge_changes', {TABLE_NAME});
        RETURN NULL;
    END $$;

    CREATE FUNCTION wangge_touch_boundaries() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM wangge_touch({BOUNDARY_ARGS});
        RETURN NULL;
    END $$;
    CREATE TRIGGER edit_log_touch AFTER INSERT ON edit_log FOR EACH ROW
        WHEN (NEW.action IN ('publish', 'undo')) EXECUTE FUNCTION wangge_touch_boundaries();
    """)


def _touch_function() -> None:
    op.execute("""
    CREATE FUNCTION wangge_touch(VARIADIC tables text[]) RETURNS integer LANGUAGE plpgsql AS $$
    DECLARE t text;
    BEGIN
        -- the caller's transaction takes an id here, on the coordinator, so the tile cache's
        -- "no write in flight" check (tiles/versions.py) sees it even when the rows it writes
        -- live on the workers
        PERFORM txid_current();
        FOREACH t IN ARRAY tables LOOP
            IF to_regclass('layer_version_' || t) IS NOT NULL THEN
                PERFORM nextval('layer_version_' || t);
            END IF;
            PERFORM pg_notify('wangge_changes', t);
        END LOOP;
        RETURN cardinality(tables);
    END $$;

    CREATE FUNCTION wangge_notify(channel text, payload text, VARIADIC tables text[])
    RETURNS integer LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify(channel, payload);
        RETURN wangge_touch(VARIADIC tables);
    END $$;
    """)


def _single_node() -> None:
    for child in INCIDENT_CHILDREN:
        op.execute(f"CREATE TRIGGER {child}_street BEFORE INSERT ON {child} "
                   "FOR EACH ROW EXECUTE FUNCTION wangge_incident_street()")


def _distribute(bind) -> None:
    """Drop what Citus cannot keep, distribute, and put back the keys Citus allows."""
    unassigned = bind.execute(text(
        "SELECT count(*) FROM incidents WHERE street_id IS NULL")).scalar()
    if unassigned:
        raise RuntimeError(
            f"{unassigned} incidents lie outside every street: Citus distributes incidents by "
            "street_id, so attribute or delete them before this migration")
    moved = set(REFERENCE) | set(DISTRIBUTED)
    fks = bind.execute(text("""
        SELECT c.conrelid::regclass::text, c.conname, c.confrelid::regclass::text,
               pg_get_constraintdef(c.oid)
        FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE c.contype = 'f' AND n.nspname = 'public'""")).all()
    for table, name, _target, _definition in fks:
        op.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    triggers = bind.execute(text("""
        SELECT t.tgrelid::regclass::text, t.tgname FROM pg_trigger t
        WHERE NOT t.tgisinternal AND t.tgrelid::regclass::text = ANY(:tables)"""),
        {"tables": sorted(moved)}).all()
    for table, name in triggers:
        op.execute(f'DROP TRIGGER "{name}" ON {table}')
    op.execute("ALTER TABLE incidents DROP CONSTRAINT incidents_code_key;"
               "CREATE INDEX incidents_code ON incidents (code);"
               "ALTER TABLE rating_links DROP CONSTRAINT rating_links_token_sha256_key;"
               "CREATE INDEX rating_links_token ON rating_links (token_sha256);"
               "ALTER TABLE incidents DROP CONSTRAINT incidents_street_id_id;"
               # a request names an incident by id alone: each shard finds it by index
               "CREATE INDEX incidents_id ON incidents (id);")
    for table, key in NEW_KEYS.items():
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {table}_pkey, "
                   f"ADD PRIMARY KEY ({key})")
    for table in REFERENCE:
        op.execute(f"SELECT create_reference_table('{table}')")
    for table, (column, colocate) in DISTRIBUTED.items():
        op.execute(f"SELECT create_distributed_table('{table}', '{column}', "
                   f"colocate_with => '{colocate or 'none'}')")
    kept = {name for table, name, target, _ in fks
            if _fk_allowed(table, target, name)}
    for table, name, _target, definition in fks:
        if name in kept:
            op.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    op.execute("SET LOCAL citus.enable_unsafe_triggers = on")
    op.execute("CREATE TRIGGER incident_events_append_only BEFORE UPDATE OR DELETE "
               "ON incident_events FOR EACH ROW EXECUTE FUNCTION wangge_append_only()")


def _fk_allowed(table: str, target: str, name: str) -> bool:
    """Whether Citus keeps the foreign key `name` of `table` (to `target`)."""
    if target in REFERENCE:
        # from a distributed or reference table; a coordinator table with such a key would
        # become a "Citus local table", whose writes Citus plans with its own restrictions
        # (no now() in a COALESCE of an UPDATE, ...): those keys (accounts.worker_id,
        # accounts.department_id, assignments.worker_id, assignment_changes.worker_id) go
        return table in REFERENCE or table in DISTRIBUTED
    if table in DISTRIBUTED and target in DISTRIBUTED:
        column, colocate = DISTRIBUTED[table]
        # co-located and through the distribution column: the (street_id, incident_id) keys
        # and patrol_points.patrol_id
        return (colocate == target and
                (name.endswith("_incident_street") or table == "patrol_points"))
    return table not in DISTRIBUTED and table not in REFERENCE  # coordinator to coordinator


def upgrade() -> None:
    bind = op.get_bind()
    _touch_function()
    _common()
    if is_citus(bind):
        _distribute(bind)
    else:
        _single_node()


def downgrade() -> None:
    if is_citus(op.get_bind()):
        raise RuntimeError("a distributed schema cannot be downgraded (Citus undistributes no "
                           "table with an identity column): restore a backup")
    for child in INCIDENT_CHILDREN:
        op.execute(f"""
        DROP TRIGGER IF EXISTS {child}_street ON {child};
        ALTER TABLE {child} DROP CONSTRAINT IF EXISTS {child}_incident_street;
        ALTER TABLE {child} DROP COLUMN IF EXISTS street_id;
        """)
    op.execute("""
    ALTER TABLE incidents DROP CONSTRAINT IF EXISTS incidents_street_id_id;
    DROP FUNCTION IF EXISTS wangge_incident_street();
    CREATE OR REPLACE FUNCTION wangge_bump_layer_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM nextval('layer_version_' || TG_TABLE_NAME);
        PERFORM pg_notify('wangge_changes', TG_TABLE_NAME);
        RETURN NULL;
    END $$;
    CREATE OR REPLACE FUNCTION wangge_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('wangge_changes', TG_TABLE_NAME);
        RETURN NULL;
    END $$;
    DROP TRIGGER IF EXISTS edit_log_touch ON edit_log;
    DROP FUNCTION IF EXISTS wangge_touch_boundaries();
    DROP FUNCTION IF EXISTS wangge_notify(text, text, VARIADIC text[]);
    DROP FUNCTION IF EXISTS wangge_touch(VARIADIC text[]);
    """)
