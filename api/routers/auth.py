"""OAuth2 password flow: POST /auth/token issues a signed, expiring bearer token.

A login costs the same for unknown, disabled and known accounts (an unknown name is checked
against a dummy argon2 hash), the hash is checked in a worker thread so logins never stall the
event loop (tiles, feeds), and failed logins are limited per username and client address
(api.login_guard: 429 with Retry-After).
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from api.db import get_conn
from api.deps import UNAUTHORIZED, get_principal, get_settings
from api.login_guard import LoginGuard, app_login_guard
from api.problems import PROBLEM_JSON, PROBLEM_SCHEMA, Problem
from gis.accounts import hash_password, issue_token, verify_password
from gis.scope import Principal
from gis.settings import Settings

router = APIRouter(tags=["auth"])
DUMMY_HASH = hash_password("no account has this password")  # same work for unknown names


def login_guard(request: Request) -> LoginGuard:
    """The app's failed-login counts (created on first use)."""
    return app_login_guard(request.app.state)


@router.post("/auth/token", summary="Log in (OAuth2 password flow)",
             responses={429: {"description": "too many failed logins; retry after Retry-After",
                              "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}}})
async def login(request: Request, form: OAuth2PasswordRequestForm = Depends(),
                conn: AsyncConnection = Depends(get_conn),
                settings: Settings = Depends(get_settings)) -> dict:
    """Exchange username and password for a bearer token. At most 5 failed logins per username
    and per client address in 5 minutes; then 429 with Retry-After."""
    guard = login_guard(request)
    address = request.client.host if request.client else None
    wait = guard.retry_after(form.username, address)
    if wait is not None:
        raise Problem(429, "Too Many Requests", "too many failed logins; try again later",
                      headers={"Retry-After": str(wait)})
    cur = await conn.execute(
        "SELECT id, username, role, password_hash, disabled, token_generation FROM accounts "
        "WHERE lower(username) = lower(%s)", (form.username,))
    row = await cur.fetchone()
    matches = await asyncio.to_thread(verify_password, row[3] if row else DUMMY_HASH,
                                      form.password)
    ok = row is not None and not row[4] and matches
    await conn.execute(
        "INSERT INTO audit_log (actor, action, detail) VALUES (%s, %s, %s)",
        (form.username[:64], "login" if ok else "login_failed", Jsonb({})))
    if not ok:
        guard.failed(form.username, address)
        raise Problem(401, "Unauthorized", "wrong username or password", headers=UNAUTHORIZED)
    guard.succeeded(form.username)
    token, expires_in = issue_token(settings, row[0], row[1], row[2], row[5])
    return {"access_token": token, "token_type": "bearer", "expires_in": expires_in,
            "role": row[2], "username": row[1]}


@router.post("/auth/revoke", status_code=204, summary="Log out: revoke the presented token",
             response_class=Response)
async def revoke(principal: Principal = Depends(get_principal),
                 conn: AsyncConnection = Depends(get_conn),
                 settings: Settings = Depends(get_settings)) -> Response:
    """The token used for this request stops working at once (other tokens are untouched;
    `wangge user revoke NAME` revokes all of an account's tokens)."""
    await conn.execute(
        "INSERT INTO revoked_tokens (jti, expires_at) "
        "VALUES (%s, now() + make_interval(mins => %s)) ON CONFLICT (jti) DO NOTHING",
        (principal.token_id, settings.token_minutes))
    await conn.execute("INSERT INTO audit_log (actor, action, detail) VALUES (%s, %s, %s)",
                       (principal.username, "revoke", Jsonb({"jti": principal.token_id})))
    return Response(status_code=204)
