"""Cheap change detection: per-layer version sequences (bumped by statement triggers) and scopes.

A layer's version is read from its sequence `layer_version_<table>` without touching the table.
Sequences are not transactional: a writer bumps the version before it commits. So a tile rendered
while a write is in flight could hold the old rows under the new version; :func:`quiescent` says
whether no transaction in this database holds a write, and only then is a rendering cached.
"""

from __future__ import annotations

import hashlib

from psycopg import AsyncConnection

from gis.scope import Principal

TABLES = ("streets", "communities", "grids", "micro_grids", "buildings", "incidents",
          "patrol_points")

VERSIONS_SQL = "SELECT " + ", ".join(
    f"(SELECT last_value + is_called::int FROM layer_version_{t})" for t in TABLES)

QUIESCENT_SQL = """
SELECT NOT EXISTS (
    SELECT 1 FROM pg_stat_activity
    WHERE datname = current_database() AND backend_xid IS NOT NULL AND pid <> pg_backend_pid())
"""


async def versions(conn: AsyncConnection) -> dict[str, int]:
    """The current version of every served table."""
    cur = await conn.execute(VERSIONS_SQL)
    return dict(zip(TABLES, await cur.fetchone(), strict=True))


async def quiescent(conn: AsyncConnection) -> bool:
    """True when no transaction of this database has written anything it has not yet committed."""
    cur = await conn.execute(QUIESCENT_SQL)
    return bool((await cur.fetchone())[0])


def scope_key(principal: Principal) -> str:
    """A short key of what the caller may see: 'all', or a hash of their scope's area ids."""
    if principal.scope is None:
        return "all"
    text = repr(principal.scope.params())
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
