"""Changes pushed by PostgreSQL: LISTEN on 'wangge_changes', count commits per table.

Statement triggers on the map layers and on the access tables (accounts, assignments, account
areas, revoked tokens) NOTIFY at commit, so a counter moves only once a write is visible. Tiles use
the per-table counters as cache keys (a rendering made after reading a counter is never older than
the key it is stored under), and the API uses `auth_epoch` to know when cached callers must be
looked up again. Counters are local to the process and carry a per-process nonce, so keys never
collide across processes. While the listening connection is down the watcher is not `live`, and
callers fall back to reading the database; on reconnection every counter moves.

The listener is also the process's view of the database's health: `reachable` turns False when
a connection attempt fails (requests then give up on the pool quickly, see api.db) and True as
soon as one succeeds. While the database is down it retries every second at most (a refused
connection costs microseconds; there is no busy loop), so it notices the return within a second.
The socket's reader is removed by the descriptor number noted at registration: once libpq has
dropped a broken connection its socket reads as -1, and a reader left on the old number would
capture the next connection that reuses it.
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
        self.reachable = True  # False after a failed connection attempt, until one succeeds
        self._conn: AsyncConnection | None = None
        self._fd: int | None = None
        self._lost: asyncio.Future | None = None
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
        if self._fd is not None:
            asyncio.get_running_loop().remove_reader(self._fd)
            self._fd = None
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None

    async def _run(self) -> None:
        delay = 0.2
        while not self._closing:
            try:
                conn = await AsyncConnection.connect(self.conninfo, autocommit=True,
                                                     connect_timeout=3)
                self._conn = conn
                await conn.execute(f"LISTEN {CHANNEL}")
                self.reachable = True
                loop = asyncio.get_running_loop()
                lost = self._lost = loop.create_future()
                self._fd = conn.pgconn.socket
                loop.add_reader(self._fd, self._on_readable, lost)
                for table in self.counters:  # anything may have changed while not listening
                    self.counters[table] += 1
                self.auth_epoch += 1
                self.live = True
                delay = 0.2
                await lost
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure: reconnect
                if self._conn is None:
                    self.reachable = False
                log.warning("change listener down: %s", exc)
            await self._close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

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
        except Exception as exc:  # noqa: BLE001 - the link broke: let _run reconnect
            self.live = False
            if self._lost is not None and not self._lost.done():
                self._lost.set_exception(exc)
        return self.live

    def snapshot(self) -> tuple[str, dict[str, int]] | None:
        """(this listener's nonce, the live per-table counters: read them at once), or None
        when not live (then read the database)."""
        if not self.fresh():
            return None
        return self.nonce, self.counters
