"""Personal API keys: read-only credentials for desktop GIS clients (QGIS, GDAL).

A key is shown once; only its SHA-256 is stored, with a short public prefix to find it. Creating,
revoking or re-dating a key notifies 'wangge_changes' (like the other access tables), so the API
forgets callers it remembered; recording last use does not.

Revision ID: 0008_api_keys
Revises: 0007_assignment_succession
Create Date: 2026-11-30
"""

from alembic import op

revision = "0008_api_keys"
down_revision = "0007_assignment_succession"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE api_keys (
        id bigserial PRIMARY KEY,
        account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
        key_hash bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
        prefix text NOT NULL UNIQUE CHECK (prefix ~ '^[A-Za-z0-9]{8}$'),
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz CHECK (expires_at IS NULL OR expires_at > created_at),
        revoked_at timestamptz,
        last_used_at timestamptz
    );
    CREATE INDEX api_keys_account ON api_keys (account_id);
    CREATE TRIGGER api_keys_notify_change
        AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF account_id, key_hash, expires_at, revoked_at
        ON api_keys FOR EACH STATEMENT EXECUTE FUNCTION wangge_notify_change();
    """)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS api_keys")
