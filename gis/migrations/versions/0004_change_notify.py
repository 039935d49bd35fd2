"""Push changes: layer version bumps and access-table writes NOTIFY 'wangge_changes' at commit.

The API listens (gis.changes.ChangeWatcher) so tile caches and cached callers are invalidated the
moment a write commits, without polling.

Revision ID: 0004_change_notify
Revises: 0003_plan_preview
Create Date: 2026-11-22
"""

from alembic import op

revision = "0004_change_notify"
down_revision = "0003_plan_preview"
branch_labels = None
depends_on = None

AUTH_TABLES = ("accounts", "assignments", "account_areas", "revoked_tokens")


def upgrade() -> None:
    op.execute("""
    CREATE OR REPLACE FUNCTION wangge_bump_layer_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM nextval('layer_version_' || TG_TABLE_NAME);
        PERFORM pg_notify('wangge_changes', TG_TABLE_NAME);
        RETURN NULL;
    END $$;

    CREATE FUNCTION wangge_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('wangge_changes', TG_TABLE_NAME);
        RETURN NULL;
    END $$;
    """)
    for table in AUTH_TABLES:
        op.execute(f"CREATE TRIGGER {table}_notify_change AFTER INSERT OR UPDATE OR DELETE "
                   f"OR TRUNCATE ON {table} FOR EACH STATEMENT "
                   "EXECUTE FUNCTION wangge_notify_change()")


def downgrade() -> None:
    for table in AUTH_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify_change ON {table}")
    op.execute("""
    DROP FUNCTION IF EXISTS wangge_notify_change();
    CREATE OR REPLACE FUNCTION wangge_bump_layer_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM nextval('layer_version_' || TG_TABLE_NAME);
        RETURN NULL;
    END $$;
    """)
