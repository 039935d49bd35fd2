"""RFC 9457 problem details: every error leaves the API as application/problem+json."""

from __future__ import annotations

import logging
import time
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("wangge.api")
# Citus's coordinator reports a worker it cannot reach as SQLSTATE class 08 (connection
# exception, e.g. 08006 "connection to the remote node ... failed"), and a worker lost inside a
# distributed transaction as XX000 "failure on connection marked as essential" (citus
# remote_commands.c, remote_transaction.c): only requests that need that worker fail.
ESSENTIAL_NODE_LOST = "failure on connection marked as essential"
NODE_RENEW_S = 1.0
NODE_RETRY_AFTER_S = 10
PROBLEM_JSON = "application/problem+json"
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["type", "title", "status"], "additionalProperties": True,
    "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                   "status": {"type": "integer"}, "detail": {"type": "string"}},
}
# Declared on every route: errors leave as problem documents (RFC 9457).
RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"description": "client error (problem details)",
            "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}},
    503: {"description": "database unavailable or query too slow; retry after Retry-After",
          "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}},
}


class Problem(Exception):
    """Raise to answer with a problem document."""

    def __init__(self, status: int, title: str, detail: str | None = None,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail = status, title, detail
        self.headers, self.extra = headers, extra


def problem_response(status: int, title: str, detail: str | None = None,
                     headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    """A JSONResponse carrying a problem document."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


async def _renew_pool(app) -> None:
    """Replace the pooled connections (at most once per NODE_RENEW_S): each coordinator backend
    keeps its connections to the workers, and one to a worker that went away stays dead after the
    worker is back, failing that backend's next request; new backends connect afresh."""
    pool = getattr(app.state, "pool", None)
    now = time.monotonic()
    if pool is None or now - getattr(app.state, "pool_renewed_at", -NODE_RENEW_S) < NODE_RENEW_S:
        return
    app.state.pool_renewed_at = now
    await pool.drain()


def remote_node_failure(exc: BaseException) -> bool:
    """True when `exc` is the database server (a Citus coordinator) reporting that a node it
    needs is unreachable: its own connection is fine, and requests for data held by other
    nodes still succeed. (A connection lost by this process carries no SQLSTATE.)"""
    if not isinstance(exc, psycopg.Error) or exc.sqlstate is None:
        return False
    if exc.sqlstate.startswith("08"):
        return True
    return exc.sqlstate == "XX000" and (exc.diag.message_primary or "").startswith(
        ESSENTIAL_NODE_LOST)


def _validation_detail(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [{"loc": [str(p) for p in err.get("loc", ())], "msg": err.get("msg", "")}
            for err in exc.errors()]


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into a problem document."""

    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.title, exc.detail, exc.headers, **exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                 405: "Method Not Allowed"}.get(exc.status_code, "Error")
        detail = exc.detail if isinstance(exc.detail, str) else None
        return problem_response(exc.status_code, title, detail, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_detail(exc)
        in_query = all(e["loc"] and e["loc"][0] in ("query", "path", "header") for e in errors)
        status = 400 if in_query else 422
        return problem_response(status, "Invalid request", "; ".join(
            f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors), errors=errors)

    @app.exception_handler(PoolTimeout)
    @app.exception_handler(psycopg.OperationalError)
    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        if remote_node_failure(exc):
            # a Citus worker is down: this request needs its shards; other streets still work
            log.warning("database node unavailable: %s", exc.diag.message_primary)
            await _renew_pool(request.app)
            return problem_response(
                503, "Service Unavailable",
                "a database node holding this data is unavailable; retry later",
                headers={"Retry-After": str(NODE_RETRY_AFTER_S)})
        log.warning("database unavailable: %s", exc)
        return problem_response(503, "Service Unavailable", "the database is unavailable; retry",
                                headers={"Retry-After": "2"})

    @app.exception_handler(psycopg.DataError)
    async def _bad_value(_: Request, exc: Exception) -> JSONResponse:
        # a request value PostgreSQL cannot take (a NUL byte, a number out of range, ...)
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return problem_response(400, "Invalid request", f"a value cannot be used: {reason}")

    @app.exception_handler(psycopg.errors.InternalError_)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        if remote_node_failure(exc):
            return await _unavailable(request, exc)
        log.error("database internal error: %s", exc, exc_info=exc)
        return problem_response(500, "Internal Server Error", "the database failed")

    @app.exception_handler(psycopg.errors.QueryCanceled)
    async def _timeout(_: Request, exc: Exception) -> JSONResponse:
        return problem_response(503, "Service Unavailable", "the query took too long",
                                headers={"Retry-After": "5"})
