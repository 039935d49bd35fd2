"""Idempotency-Key for any write: the first answer under a key is stored and replayed.

The offline queue of the worker app sends every write with its own key and reuses it on each
retry, so an answer lost on the way back never turns into a second write. The write and the
stored answer commit in one transaction (an advisory lock on the key serializes concurrent
retries); a failed write stores nothing, so its retry runs again. A key reused for a different
request (another path or body) is a 422. Keys live in idempotency_keys, per account.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi.responses import JSONResponse
from psycopg import AsyncConnection

from api.problems import Problem
from gis import incidents as inc
from gis.scope import Principal

REPLAYED = {"Idempotent-Replayed": "true"}


def check_key(key: str | None) -> None:
    """400 for a key outside 1-200 characters."""
    if key is not None and not 1 <= len(key) <= 200:
        raise Problem(400, "Bad Idempotency-Key", "the key must be 1 to 200 characters")


async def run_once(conn: AsyncConnection, principal: Principal, key: str | None,
                   request: object, write: Callable[[], Awaitable[object]],
                   status: int = 200) -> JSONResponse:
    """Run `write` (returns the JSON answer) once per key; `request` identifies the request."""
    check_key(key)
    digest = inc.request_hash(request)
    async with conn.transaction():
        if key:
            try:
                seen = await inc.idempotent_lookup(conn, principal.account_id, key, digest)
            except inc.IntakeError as exc:
                raise Problem(422, "Idempotency-Key reused", str(exc)) from None
            if seen:
                return JSONResponse(seen[1], status_code=seen[0], headers=REPLAYED)
        answer = await write()
        if key:
            await inc.idempotent_store(conn, principal.account_id, key, digest, status, answer)
    return JSONResponse(answer, status_code=status)
