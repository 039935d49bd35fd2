"""OAuth2 password flow: POST /auth/token issues a signed, expiring bearer token."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from fastapi.security import OAuth2PasswordRequestForm
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from api.db import get_conn
from api.deps import UNAUTHORIZED, get_principal, get_settings
from api.problems import Problem
from gis.accounts import issue_token, verify_password
from gis.scope import Principal
from gis.settings import Settings

router = APIRouter(tags=["auth"])


@router.post("/auth/token", summary="Log in (OAuth2 password flow)")
async def login(form: OAuth2PasswordRequestForm = Depends(),
                conn: AsyncConnection = Depends(get_conn),
                settings: Settings = Depends(get_settings)) -> dict:
    """Exchange username and password for a bearer token."""
    cur = await conn.execute(
        "SELECT id, username, role, password_hash, disabled, token_generation FROM accounts "
        "WHERE lower(username) = lower(%s)", (form.username,))
    row = await cur.fetchone()
    ok = row is not None and not row[4] and verify_password(row[3], form.password)
    await conn.execute(
        "INSERT INTO audit_log (actor, action, detail) VALUES (%s, %s, %s)",
        (form.username[:64], "login" if ok else "login_failed", Jsonb({})))
    if not ok:
        raise Problem(401, "Unauthorized", "wrong username or password", headers=UNAUTHORIZED)
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
