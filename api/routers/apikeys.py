"""Router: an account's personal API keys (create, list, revoke), for desktop GIS clients.

The key itself is in the answer to its creation only; see gis.apikeys for how it is kept and
api.apikey_auth for where it is accepted (read-only).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field

from api.db import get_conn
from api.deps import get_principal
from api.problems import Problem
from gis import apikeys
from gis.scope import Principal

router = APIRouter(tags=["API keys"])


class NewKey(BaseModel):
    """A key to create: its name, and its lifetime in days (none: until revoked)."""

    name: str = Field(min_length=1, max_length=100)
    expires_days: int | None = Field(None, ge=1, le=apikeys.MAX_EXPIRES_DAYS)


@router.post("/account/keys", status_code=201, summary="Create an API key (shown once)")
async def create_key(body: NewKey, principal: Principal = Depends(get_principal),
                     conn: AsyncConnection = Depends(get_conn)) -> dict:
    """A read-only key for the caller's account; `key` is in this answer only."""
    try:
        name = apikeys.check_request(body.name, body.expires_days)
    except apikeys.ApiKeyError as exc:
        raise Problem(422, "Unprocessable Content", str(exc)) from None
    key, prefix, key_hash = apikeys.new_key()
    async with conn.transaction():
        cur = await conn.execute(apikeys.CREATE_SQL, {
            "account_id": principal.account_id, "name": name, "key_hash": key_hash,
            "prefix": prefix, "days": body.expires_days})
        row = await cur.fetchone()
        await conn.execute("INSERT INTO audit_log (actor, action, detail) VALUES (%s, %s, %s)",
                           (principal.username, "api_key_create",
                            Jsonb({"key_id": row[0], "prefix": prefix})))
    return {**apikeys.row_dict(row), "key": key}


@router.get("/account/keys", summary="The caller's API keys (never the keys themselves)")
async def list_keys(principal: Principal = Depends(get_principal),
                    conn: AsyncConnection = Depends(get_conn)) -> dict:
    cur = await conn.execute(apikeys.LIST_SQL, {"account_id": principal.account_id})
    return {"keys": [apikeys.row_dict(row) for row in await cur.fetchall()]}


@router.delete("/account/keys/{key_id}", status_code=204, response_class=Response,
               summary="Revoke one of the caller's API keys")
async def revoke_key(key_id: int, principal: Principal = Depends(get_principal),
                     conn: AsyncConnection = Depends(get_conn)) -> Response:
    """The key stops working at once (401 from then on); revoking twice is harmless."""
    async with conn.transaction():
        cur = await conn.execute(apikeys.REVOKE_SQL, {"id": key_id,
                                                      "account_id": principal.account_id})
        if await cur.fetchone() is None:
            raise Problem(404, "Not Found", f"you have no API key {key_id}")
        await conn.execute("INSERT INTO audit_log (actor, action, detail) VALUES (%s, %s, %s)",
                           (principal.username, "api_key_revoke", Jsonb({"key_id": key_id})))
    return Response(status_code=204)
