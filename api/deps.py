"""Request dependencies: settings, the caller (bearer token) and role checks."""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from psycopg import AsyncConnection

from api.apikey_auth import api_key_credential, check_key_use, key_principal
from api.db import get_conn
from api.problems import Problem
from gis import apikeys
from gis.accounts import InvalidToken, decode_token
from gis.scope import EXPAND_SCOPE_SQL, Principal, Scope, scope_valid_until
from gis.settings import Settings

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)
UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}

ACCOUNT_SQL = """
SELECT a.id, a.username, a.role, a.worker_id, a.disabled, a.token_generation,
       EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.jti = %(jti)s) AS revoked
FROM accounts a WHERE a.id = %(account_id)s
"""


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_principal(request: Request, token: str | None = Depends(oauth2_scheme),
                        conn: AsyncConnection = Depends(get_conn)) -> Principal:
    """The caller behind the bearer token (401 without a valid one)."""
    principal = await authenticate(request, token, conn)
    request.state.principal = principal  # the actor in the audit log of writes
    return principal


CALLERS_MAX = 10_000  # remembered callers per app (token -> principal, epoch, expiry)
clock = time.time  # the remembered callers' clock (tests move it past midnight)


FEED_PATH = "/incidents/feed"  # the one place a token may ride in the query string


def bearer_token(request: Request) -> str | None:
    """The credential of a request: Authorization: Bearer, else an API key (HTTP Basic password
    or `apikey`, see api.apikey_auth), else `access_token` (GET of the live feed only: an
    EventSource cannot send headers), else the cookie."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    key = api_key_credential(request)
    if key:
        return key
    if request.method == "GET" and request.url.path == FEED_PATH:
        token = request.query_params.get("access_token")
        if token:
            return token
    return request.cookies.get("wangge_token")


def remembered_caller(request: Request, token: str) -> Principal | None:
    """The caller behind `token` if this read may use an earlier lookup (no database trip)."""
    if request.method not in ("GET", "HEAD"):
        return None
    watcher = getattr(request.app.state, "changes", None)
    if watcher is None or not watcher.fresh():
        return None
    cached = request.app.state.callers.get(token)
    if cached and cached[1] == watcher.auth_epoch and cached[2] > clock():
        return cached[0]
    return None


async def authenticate(request: Request, token: str | None,
                       conn: AsyncConnection) -> Principal:
    """Check the token (header, access_token query parameter or cookie) and expand the scope.

    For reads (GET, HEAD), a caller once looked up is remembered until its token expires or any
    write to accounts, assignments, account areas, revoked tokens or the area tables commits (the
    change watcher's auth epoch moves at the commit's notification; see gis.changes), or the
    district's next midnight comes (assignments start and end by date, without any write):
    repeated reads then cost no database round trip, and a revocation reaches them within the
    moment the notification takes (milliseconds). Writes are always checked against the
    database.
    """
    if not token:
        token = bearer_token(request)
    if not token:
        raise Problem(401, "Unauthorized", "a bearer token is required", headers=UNAUTHORIZED)
    if apikeys.looks_like_key(token):
        return await authenticate_key(request, token, conn)
    remembered = remembered_caller(request, token)
    if remembered is not None:
        return remembered
    try:
        claims = decode_token(request.app.state.settings, token)
        account_id = int(claims["sub"])
    except (InvalidToken, ValueError) as exc:
        raise Problem(401, "Unauthorized", str(exc), headers=UNAUTHORIZED) from None
    watcher = getattr(request.app.state, "changes", None)
    live = request.method in ("GET", "HEAD") and watcher is not None and watcher.fresh()
    epoch = watcher.auth_epoch if live else -1
    principal = await lookup_caller(conn, claims, account_id)
    if live:
        callers: dict[str, tuple[Principal, int, float]] = request.app.state.callers
        if len(callers) >= CALLERS_MAX:
            callers.clear()
        until = scope_valid_until(request.app.state.settings.timezone, clock())
        callers[token] = (principal, epoch, min(float(claims["exp"]), until))
    return principal


async def authenticate_key(request: Request, credential: str,
                           conn: AsyncConnection) -> Principal:
    """The caller behind an API key credential (read-only; see api.apikey_auth), remembered
    for reads like a token's caller."""
    check_key_use(request)
    remembered = remembered_caller(request, credential)
    if remembered is not None:
        return remembered
    watcher = getattr(request.app.state, "changes", None)
    live = watcher is not None and watcher.fresh()
    epoch = watcher.auth_epoch if live else -1
    principal = await key_principal(request, credential, conn, expand_scope)
    if live:
        until = scope_valid_until(request.app.state.settings.timezone, clock())
        request.app.state.callers[credential] = (principal, epoch,
                                                 min(request.state.key_until, until))
    return principal


async def expand_scope(conn: AsyncConnection, account_id: int, role: str) -> Scope | None:
    """The areas an account sees (None: everything)."""
    if role == "admin":
        return None
    cur = await conn.execute(EXPAND_SCOPE_SQL, {"account_id": account_id})
    scope_row = await cur.fetchone()
    if role == "worker" or scope_row[0] > 0:
        return Scope(*(tuple(ids) for ids in scope_row[1:]))
    return None


async def lookup_caller(conn: AsyncConnection, claims: dict, account_id: int
                        ) -> Principal:
    """The account behind verified token claims, with its expanded scope (401 if refused)."""
    cur = await conn.execute(ACCOUNT_SQL, {"jti": claims["jti"], "account_id": account_id})
    row = await cur.fetchone()
    if row is None or row[4] or row[6] or row[5] != claims.get("gen"):
        raise Problem(401, "Unauthorized", "token revoked or account disabled",
                      headers=UNAUTHORIZED)
    scope = await expand_scope(conn, account_id, row[2])
    return Principal(row[0], row[1], row[2], row[3], scope, claims["jti"])


def require_roles(*roles: str) -> Callable:
    """A dependency that admits only callers with one of `roles` (403 otherwise)."""

    async def check(principal: Principal = Depends(get_principal)) -> Principal:
        if principal.role not in roles:
            raise Problem(403, "Forbidden", f"role '{principal.role}' may not do this; "
                          f"needs one of {', '.join(roles)}")
        return principal

    return check
