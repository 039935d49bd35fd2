"""The API's async connection pool (psycopg 3) and the per-request connection dependency."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from gis.database import database_url, libpq_url
from gis.settings import Settings


def make_pool(settings: Settings) -> AsyncConnectionPool:
    """An unopened pool whose connections carry the statement timeout."""
    timeout = int(settings.statement_timeout_ms)

    async def configure(conn: AsyncConnection) -> None:
        await conn.execute(f"SET statement_timeout = {timeout}")
        await conn.execute("SET TIME ZONE 'UTC'")
        await conn.commit()

    return AsyncConnectionPool(
        libpq_url(database_url(settings)),
        min_size=1,
        max_size=settings.db_pool_size,
        open=False,
        timeout=settings.pool_timeout_s,
        configure=configure,
        kwargs={"autocommit": True, "prepare_threshold": 0},
        check=AsyncConnectionPool.check_connection,
    )


async def get_conn(request: Request) -> AsyncIterator[AsyncConnection]:
    """A pooled connection for the request (autocommit; use conn.transaction() for writes)."""
    pool: AsyncConnectionPool = request.app.state.pool
    async with pool.connection() as conn:
        yield conn
