"""Planner drafts: each plan keeps a preview of the areas it changes and their base versions.

Revision ID: 0003_plan_preview
Revises: 0002_incident_rollup
Create Date: 2026-11-22
"""

from alembic import op

revision = "0003_plan_preview"
down_revision = "0002_incident_rollup"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    ALTER TABLE plans
        ADD COLUMN preview jsonb NOT NULL DEFAULT '{}'::jsonb,
        ADD COLUMN base jsonb NOT NULL DEFAULT '{}'::jsonb,
        ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
        ADD COLUMN undone_at timestamptz;
    CREATE INDEX plans_status_published ON plans (status, published_at);
    CREATE INDEX edit_log_plan ON edit_log (plan_id, at);
    CREATE INDEX boundary_versions_plan ON boundary_versions (plan_id);
    """)


def downgrade() -> None:
    op.execute("""
    DROP INDEX IF EXISTS boundary_versions_plan;
    DROP INDEX IF EXISTS edit_log_plan;
    DROP INDEX IF EXISTS plans_status_published;
    ALTER TABLE plans DROP COLUMN IF EXISTS preview, DROP COLUMN IF EXISTS base,
        DROP COLUMN IF EXISTS updated_at, DROP COLUMN IF EXISTS undone_at;
    """)
