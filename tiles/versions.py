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
    SELECT 1 FROM pg_stat_get_activity(NULL) a
    WHERE a.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND a.backend_xid IS NOT NULL AND a.pid <> pg_backend_pid())
"""


async def versions(conn: AsyncConnection) -> dict[str, int]:
    """The current version of every served table."""
    cur = await conn.execute(VERSIONS_SQL)
    return dict(zip(TABLES, await cur.fetchone(), strict=True))


async def quiescent(conn: AsyncConnection) -> bool:
    """True when no transaction of this database holds an uncommitted write."""
    cur = await conn.execute(QUIESCENT_SQL)
    return bool((await cur.fetchone())[0])


# The flag comes last, so it is evaluated after the sequences were read.
STATE_SQL = VERSIONS_SQL + ", (" + QUIESCENT_SQL + ")"


async def state(conn: AsyncConnection) -> tuple[dict[str, int], bool]:
    """The versions, and whether no transaction of this database holds an uncommitted write
    (then a tile rendered next may be cached under these versions)."""
    cur = await conn.execute(STATE_SQL)
    return parse_state(await cur.fetchone())


def parse_state(row: tuple) -> tuple[dict[str, int], bool]:
    """A STATE_SQL row as (versions, quiet)."""
    *values, quiet = row
    return dict(zip(TABLES, values, strict=True)), bool(quiet)


def scope_key(principal: Principal) -> str:
    """A short key of what the caller may see: 'all', or a hash of their scope's area ids."""
    if principal.scope is None:
        return "all"
    text = repr(principal.scope.params())
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()

