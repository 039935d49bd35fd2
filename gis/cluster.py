"""Whether the database is a Citus cluster (the citus extension is installed).

Migration 0011 distributes the event tables whenever the extension is present, so its presence
is what decides the few code paths that differ (the patrol rate's query shape; an incident needs
a street). The statistics rollup is kept on both (migration 0012_citus_rollup).
"""

from __future__ import annotations

from psycopg import AsyncConnection

# A condition usable inside any statement.
CITUS = "EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')"

_known: dict[tuple, bool] = {}


async def is_citus(conn: AsyncConnection) -> bool:
    """True when the connection's database has the citus extension (remembered per database)."""
    info = conn.info
    key = (info.host, info.port, info.dbname)
    if key not in _known:
        cur = await conn.execute(f"SELECT {CITUS}")
        _known[key] = bool((await cur.fetchone())[0])
    return _known[key]


# The first statement of a transaction that reads distributed tables across shards and then
# writes a reference table they have a foreign key to (an import deleting areas that incidents
# reference, say). Citus runs a multi-shard read over several connections per worker, and then
# refuses the reference write ("cannot modify table ... because there was a parallel operation
# on a distributed table"); in sequential mode it uses one connection per worker throughout. On
# one node the setting is an unused placeholder, so the statement is the same for both.
SEQUENTIAL = "SET LOCAL citus.multi_shard_modify_mode TO 'sequential'"
