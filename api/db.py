"""The API's async connection pool (psycopg 3) and the per-request connection dependency.

While the database is down (the change listener's last connection attempt failed, see
gis.changes) a request waits at most DOWN_WAIT_S for a connection before its 503, instead of
the whole pool timeout. The pool gives up a reconnection after RECONNECT_S and starts a new one
at the next request, so its back-off never grows past a second or two and it is serving again
within moments of the database's return.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from fastapi import Request
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from gis.database import database_url, libpq_url
from gis.settings import Settings

IDLE_CHECK_S = 5.0  # a connection idle longer than this is checked before use
DOWN_WAIT_S = 1.0  # wait for a connection while the database is known to be down
RECONNECT_S = 2.0  # a failing reconnection is abandoned (and restarted on demand) after this


async def _check_if_idle(conn: AsyncConnection) -> None:
    """Ping only connections that sat idle: busy ones skip the extra round trip, and a broken
    one among them fails its request with a 503 (the pool then drops it)."""
    if time.monotonic() - getattr(conn, "_wangge_returned", 0.0) > IDLE_CHECK_S:
        await AsyncConnectionPool.check_connection(conn)


async def _stamp_return(conn: AsyncConnection) -> None:
    conn._wangge_returned = time.monotonic()


def make_pool(settings: Settings) -> AsyncConnectionPool:
    """An unopened pool whose connections carry the statement timeout, UTC and no JIT.

    JIT is off for the API's sessions: its statements are interactive, and at a region's size
    compiling the statistics' plans cost 0.6-2.2 s of a 2-5 s request (docs/scale.md)."""
    timeout = int(settings.statement_timeout_ms)

    async def configure(conn: AsyncConnection) -> None:
        await conn.execute(f"SET statement_timeout = {timeout}")
        await conn.execute("SET TIME ZONE 'UTC'")
        await conn.execute("SET jit = off")
        await conn.execute("SELECT set_config('wangge.timezone', %s, false)",
                           (settings.timezone,))
        await conn.commit()

    return AsyncConnectionPool(
        libpq_url(database_url(settings)),
        min_size=1,
        max_size=settings.db_pool_size,
        open=False,
        timeout=settings.pool_timeout_s,
        configure=configure,
        kwargs={"autocommit": True, "prepare_threshold": 0},
        check=_check_if_idle,
        reset=_stamp_return,
        reconnect_timeout=RECONNECT_S,
    )


def connection_wait(app) -> float | None:
    """How long a request may wait for a pooled connection: briefly while the database is
    known to be down, else the pool's own timeout (None)."""
    watcher = getattr(app.state, "changes", None)
    if watcher is not None and not watcher.reachable:
        return DOWN_WAIT_S
    return None


async def get_conn(request: Request) -> AsyncIterator[AsyncConnection]:
    """A pooled connection for the request (autocommit; use conn.transaction() for writes)."""
    pool: AsyncConnectionPool = request.app.state.pool
    async with pool.connection(timeout=connection_wait(request.app)) as conn:
        yield conn


class LazyConnection:
    """A pooled connection taken on first use and returned on exit: answers that need no
    database (cache hits, 304s) never wait for the pool.

        async with LazyConnection(pool) as connect:
            conn = await connect()
    """

    def __init__(self, pool: AsyncConnectionPool, wait: float | None = None) -> None:
        self.pool = pool
        self.wait = wait
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> LazyConnection:
        return self

    async def __call__(self) -> AsyncConnection:
        if self._conn is None:
            self._conn = await self.pool.getconn(timeout=self.wait)
        return self._conn

    async def __aexit__(self, *exc_info: object) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await self.pool.putconn(conn)  # the pool rolls back or discards a broken one
