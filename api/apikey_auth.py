"""API keys as credentials (see gis.apikeys): where a request carries one, and who it is.

A key arrives as the password of HTTP Basic (the username must be the key's account) or as
`?apikey=`. It is only good for reading the map data (GET/HEAD under KEY_PATHS); anything else is
a 403 before any handler runs, so a key never writes. A good key is remembered per credential
like a bearer token (api.deps.remembered_caller) until its expiry or the next commit to an access
table (creating or revoking a key is one).
"""

from __future__ import annotations

import base64
import binascii
import time

from fastapi import Request
from psycopg import AsyncConnection

from api.login_guard import LoginGuard, app_login_guard
from api.problems import Problem
from gis import apikeys
from gis.scope import Principal

READ_METHODS = ("GET", "HEAD")
# the OGC API, tiles, TileJSON and the exports (/stats/export, /stats/month-report on main)
KEY_PATHS = ("/collections", "/tiles/", "/exports", "/stats/export", "/stats/month-report")
BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="wangge", charset="UTF-8"'}
REMEMBER_S = 300  # a remembered key is looked up again after this (last use, expiry)


def api_key_credential(request: Request) -> str | None:
    """The key of a request as "<key>:<username>" (HTTP Basic) or "<key>" (`?apikey=`).

    A Basic password that is not shaped like a key is returned as such, so that it fails as a
    key (401) instead of passing for a bearer token.
    """
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            username, sep, password = base64.b64decode(value.strip(), validate=True).decode(
                "utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise _unauthorized("malformed HTTP Basic credentials") from None
        if not sep or not password:
            raise _unauthorized("HTTP Basic needs the account name and an API key as password")
        password = password if apikeys.looks_like_key(password) else apikeys.KEY_PREFIX + "?"
        return f"{password}:{username}"
    return request.query_params.get("apikey") or None


def check_key_use(request: Request) -> None:
    """403 unless the request only reads map data (keys are read-only)."""
    if request.method not in READ_METHODS:
        raise Problem(403, "Forbidden", "API keys are read-only: log in for writes")
    if not request.url.path.startswith(KEY_PATHS):
        raise Problem(403, "Forbidden", "API keys open the OGC API, tiles, TileJSON and exports "
                      "only")


def _login_guard(request: Request) -> LoginGuard:
    """The app's failed-login counts (api.login_guard): wrong Basic passwords count like wrong
    login passwords."""
    return app_login_guard(request.app.state)


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, headers=BASIC_CHALLENGE)


async def key_principal(request: Request, credential: str, conn: AsyncConnection,
                        expand_scope) -> Principal:
    """The account behind a key credential, with its scope (401 if the key is not good)."""
    key, _, username = credential.partition(":")
    guard = _login_guard(request) if username else None
    address = request.client.host if request.client else None
    if guard is not None and (wait := guard.retry_after(username, address)) is not None:
        raise Problem(429, "Too Many Requests", "too many failed logins; try again later",
                      headers={"Retry-After": str(wait)})
    prefix = apikeys.prefix_of(key)
    row = None
    if prefix is not None:
        cur = await conn.execute(apikeys.LOOKUP_SQL, {"prefix": prefix})
        row = await cur.fetchone()
    if row is None or not apikeys.matches(row[1], key) or (
            username and username.lower() != row[6].lower()):
        if guard is not None:  # a wrong Basic password counts as a failed login
            guard.failed(username, address)
        raise _unauthorized("invalid API key for this account" if username
                            else "invalid API key")
    key_id, _, expired, revoked, expires_epoch, account_id, name, role, worker_id, disabled = row
    if revoked or expired or disabled:
        what = "revoked" if revoked else "expired" if expired else "of a disabled account"
        raise _unauthorized(f"API key {what}")
    await conn.execute(apikeys.TOUCH_SQL, {"id": key_id})
    scope = await expand_scope(conn, account_id, role)
    principal = Principal(account_id, name, role, worker_id, scope, f"key:{key_id}")
    until = time.time() + REMEMBER_S
    request.state.key_until = min(until, float(expires_epoch)) if expires_epoch else until
    return principal
