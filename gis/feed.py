"""The live feed of incident changes: one LISTEN connection per process fanned out to subscribers.

Writers call pg_notify(FEED_CHANNEL, json) inside their transaction (see gis.incidents), so an
event leaves only after commit and reaches every API process. Each subscriber holds a bounded queue
and a scope; an event reaches it only when the incident lies inside that scope (the same rule as
gis.scope.scope_filter for incidents). A subscriber too slow to drain its queue loses the oldest
events rather than stalling the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

import psycopg

from gis.incidents import FEED_CHANNEL
from gis.scope import Scope

log = logging.getLogger("wangge.feed")
QUEUE_SIZE = 1000
_AREA_KEYS = (("street", "street_id"), ("community", "community_id"), ("grid", "grid_id"),
              ("micro_grid", "micro_grid_id"))


def visible(event: dict, scope: Scope | None, account_id: int | None = None) -> bool:
    """True when an incident event lies inside `scope` (None: unrestricted) or names
    `account_id` as the case's assignee."""
    if scope is None:
        return True
    if account_id is not None and event.get("assignee_account_id") == account_id:
        return True
    return any(event.get(col) is not None and event[col] in scope.ids(lv)
               for lv, col in _AREA_KEYS)


class Subscription:
    """One listener: a queue of events already filtered by its scope."""

    def __init__(self, scope: Scope | None, account_id: int | None = None) -> None:
        self.scope = scope
        self.account_id = account_id
        self.queue: asyncio.Queue[dict] = asyncio.Queue(QUEUE_SIZE)

    def offer(self, event: dict) -> None:
        if not visible(event, self.scope, self.account_id):
            return
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
        self.queue.put_nowait(event)


class Feed:
    """LISTENs on FEED_CHANNEL (reconnecting on failure) and fans events out to subscribers."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.loop = asyncio.get_running_loop()
        self.subscribers: set[Subscription] = set()
        self.ready = asyncio.Event()
        self.sequence = 0
        self._task = self.loop.create_task(self._run())

    async def _run(self) -> None:
        delay = 0.5
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                        self.conninfo, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {FEED_CHANNEL}")
                    self.ready.set()
                    delay = 0.5
                    async for note in conn.notifies():
                        self._dispatch(note.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database went away: retry, keep subscribers
                log.warning("live feed listener lost its connection: %s", exc)
                self.ready.clear()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)

    def _dispatch(self, payload: str) -> None:
        try:
            event = json.loads(payload)
        except ValueError:
            return
        self.sequence += 1
        event["seq"] = self.sequence
        for sub in list(self.subscribers):
            sub.offer(event)

    async def subscribe(self, scope: Scope | None, account_id: int | None = None,
                        timeout: float = 5.0) -> Subscription:
        """A new subscription (waits until the listener is connected); events naming
        `account_id` as assignee reach it wherever they lie."""
        await asyncio.wait_for(self.ready.wait(), timeout)
        sub = Subscription(scope, account_id)
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self.subscribers.discard(sub)

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def feed_for(holder, conninfo: str) -> Feed:
    """The process's feed kept on `holder` (e.g. app.state), one per event loop."""
    feed = getattr(holder, "incident_feed", None)
    if feed is None or feed.loop is not asyncio.get_running_loop():
        feed = Feed(conninfo)
        holder.incident_feed = feed
    return feed
