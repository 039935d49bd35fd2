"""Audit log of writes: actor, method, path and status of every POST, PUT, PATCH and DELETE.

A pure ASGI middleware. The caller is the principal the auth dependency left in the request
state (`request.state.principal`). Requests without an authenticated caller (no token, a bad
one, refused before authentication) are not written: anyone could fill the append-only log with
them. They are counted instead (`app.state.audit_skipped`, shown by GET /metrics). Logins keep
their own entries (api/routers/auth.py), so /auth/token is not logged twice. The row is written
after the response has gone out, into the append-only audit_log.
"""

from __future__ import annotations

import logging

from psycopg.types.json import Jsonb
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("wangge.audit")
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NOT_LOGGED = frozenset({"/auth/token"})


class AuditMiddleware:
    """Append (actor, 'write', {method, path, status}) to audit_log for every write request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITES \
                or scope["path"] in NOT_LOGGED:
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        status = 500

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            principal = state.get("principal")
            if principal is None:
                app_state = scope["app"].state
                app_state.audit_skipped = getattr(app_state, "audit_skipped", 0) + 1
            else:
                await _record(scope, principal.username, {
                    "method": scope["method"], "path": scope["path"], "status": status})


async def _record(scope: Scope, actor: str, detail: dict) -> None:
    """Insert one audit row (a failure is logged, never turned into an error response)."""
    pool = getattr(scope["app"].state, "pool", None)
    if pool is None:
        return
    try:
        async with pool.connection(timeout=0.5) as conn:
            await conn.execute("INSERT INTO audit_log (actor, action, detail) VALUES (%s, %s, %s)",
                               (actor[:64], "write", Jsonb(detail)))
    except Exception as exc:  # noqa: BLE001 - the database may be down; the answer stands
        log.warning("audit row not written (%s %s by %s): %s", detail["method"],
                    detail["path"], actor, exc)
