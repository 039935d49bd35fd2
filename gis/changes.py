"""Changes pushed by PostgreSQL: LISTEN on 'wangge_changes', count commits per table.

Statement triggers on the map layers and on the access tables (accounts, assignments, account
areas, revoked tokens) NOTIFY at commit, so a counter moves only once a write is visible. Tiles use
the per-table counters as cache keys (a rendering made after reading a counter is never older than
the key it is stored under), and the API uses `auth_epoch` to know when cached callers must be
looked up again. Counters are local to the process and carry a per-process nonce, so keys never
collide across processes. While the listening connection is down the watcher is not `live`, and
callers fall back to reading the database; on reconnection every counter moves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from psycopg import AsyncConnection
from psycopg.pq import ConnStatus

log = logging.getLogger("wangge.changes")
CHANNEL = "wangge_changes"
LAYER_TABLES = ("streets", "communities", "grids", "micro_grids", "buildings", "roads",
                "incidents", "patrol_points")
AUTH_TABLES = ("accounts", "assignments", "account_areas", "revoked_tokens", "api_keys")
SCOPE_TABLES = ("streets", "communities", "grids", "micro_grids")  # scopes expand through them


class ChangeWatcher:
    """Per-table commit counters kept current by notifications (see the module docstring)."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.nonce = uuid.uuid4().hex[:8]
        self.counters = dict.fromkeys(LAYER_TABLES + AUTH_TABLES, 0)
        self.auth_epoch = 0
        self.live = False
        self._conn: AsyncConnection | None = None
        self._task: asyncio.Task | None = None
        self._closing = False

    async def start(self) -> None:
        """Connect in the background; returns at once."""
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._closing = True
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._close()

    async def _close(self) -> None:
        self.live = False
        if self._conn is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._conn.pgconn.socket)
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None

    async def _run(self) -> None:
        delay = 0.2
        while not self._closing:
            try:
                conn = await AsyncConnection.connect(self.conninfo, autocommit=True)
                await conn.execute(f"LISTEN {CHANNEL}")
                self._conn = conn
                loop = asyncio.get_running_loop()
                lost = loop.create_future()
                loop.add_reader(conn.pgconn.socket, self._on_readable, lost)
                for table in self.counters:  # anything may have changed while not listening
                    self.counters[table] += 1
                self.auth_epoch += 1
                self.live = True
                delay = 0.2
                await lost
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure: reconnect
                log.warning("change listener down: %s", exc)
            await self._close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _on_readable(self, lost: asyncio.Future) -> None:
        try:
            self.drain()
        except Exception as exc:  # noqa: BLE001 - the connection is gone
            self.live = False
            if not lost.done():
                lost.set_exception(exc)

    def drain(self) -> None:
        """Apply notifications already received (no round trip; raises if the link broke)."""
        conn = self._conn
        if conn is None:
            return
        pg = conn.pgconn
        pg.consume_input()  # raises when the connection broke
        if pg.status != ConnStatus.OK:
            raise ConnectionError("listener connection lost")
        while (note := pg.notifies()) is not None:
            table = note.extra.decode()
            if table in self.counters:
                self.counters[table] += 1
            if table in AUTH_TABLES or table in SCOPE_TABLES:
                self.auth_epoch += 1

    def fresh(self) -> bool:
        """Drain pending notifications; True while the counters can be trusted."""
        if not self.live:
            return False
        try:
            self.drain()
        except Exception:  # noqa: BLE001
            self.live = False
        return self.live

    def snapshot(self) -> tuple[str, dict[str, int]] | None:
        """(this listener's nonce, the live per-table counters: read them at once), or None
        when not live (then read the database)."""
        if not self.fresh():
            return None
        return self.nonce, self.counters
