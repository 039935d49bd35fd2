"""Keeping a live feed honest: its token and scope are re-checked while it streams.

An open feed was authorised once, at connect. A `FeedGuard` re-checks it every RECHECK_S: the
token's expiry against the clock, and, whenever the change listener's auth epoch moved (a commit
to accounts, assignments, account areas, revoked tokens or the area tables), when the listener is
not live, or when the district's midnight passed (assignments end by date), the account and its
scope against the database. A revoked, expired or disabled token, or a scope that is no longer
the one the stream was opened with, ends the stream within a second; so does a database that
cannot be asked. The client's EventSource reconnects and is authorised afresh.
"""

from __future__ import annotations

import time

import psycopg
from fastapi import Request
from psycopg_pool import PoolTimeout

from api.db import connection_wait
from api.deps import lookup_caller
from api.problems import Problem
from gis.accounts import InvalidToken, decode_token
from gis.scope import Principal, scope_valid_until

RECHECK_S = 0.5


class FeedGuard:
    """Re-checks one stream's token and scope (see the module docstring)."""

    def __init__(self, request: Request, token: str, principal: Principal) -> None:
        self.app = request.app
        self.token = token
        self.principal = principal
        self.epoch = self._epoch()
        self.until = scope_valid_until(self.app.state.settings.timezone, time.time())

    def _epoch(self) -> int | None:
        watcher = getattr(self.app.state, "changes", None)
        return watcher.auth_epoch if watcher is not None and watcher.fresh() else None

    async def reason_to_end(self) -> str | None:
        """None while the stream may go on; else why it must end."""
        try:
            claims = decode_token(self.app.state.settings, self.token)
        except InvalidToken as exc:
            return str(exc)
        epoch = self._epoch()
        if epoch is not None and epoch == self.epoch and time.time() < self.until:
            return None
        try:
            async with self.app.state.pool.connection(timeout=connection_wait(self.app)) as conn:
                now = await lookup_caller(conn, claims, int(claims["sub"]))
        except Problem as exc:
            return exc.detail or exc.title
        except (PoolTimeout, psycopg.Error):
            return "the database is unavailable"
        if now.scope != self.principal.scope or now.role != self.principal.role:
            return "your areas changed"
        self.epoch = epoch
        self.until = scope_valid_until(self.app.state.settings.timezone, time.time())
        return None
