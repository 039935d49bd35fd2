"""Incident photos: upload (JPEG/PNG, checked by content), list, and read under the incident's
access rule (a photo of an incident you may not see is a 404)."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from psycopg import AsyncConnection

from api.db import get_conn
from api.deps import get_settings, require_roles
from api.idempotency import run_once
from api.problems import Problem
from gis import photos
from gis.scope import Principal
from gis.settings import Settings

router = APIRouter(tags=["photos"])
readers = require_roles("admin", "planner", "commander", "worker")
writers = require_roles("admin", "commander", "worker")
IMAGE_BODY = {"requestBody": {"required": True, "content": {
    "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
    "image/png": {"schema": {"type": "string", "format": "binary"}}}}}


def _problem(exc: photos.PhotoError) -> Problem:
    return Problem(exc.status, exc.title, str(exc))


@router.post("/incidents/{incident_id}/photos", status_code=201, openapi_extra=IMAGE_BODY,
             summary="Attach a photo (the request body is the JPEG or PNG file)")
async def upload(incident_id: int, request: Request,
                 purpose: Literal["report", "resolution"] = Query("report"),
                 taken_at: datetime | None = Query(None, description="when the photo was "
                                                   "taken, if its EXIF does not say"),
                 principal: Principal = Depends(writers),
                 conn: AsyncConnection = Depends(get_conn),
                 settings: Settings = Depends(get_settings),
                 idempotency_key: Annotated[str | None, Header()] = None) -> JSONResponse:
    """At most 5 photos per report or resolution; EXIF removed except the time it was taken;
    larger than 1600 px is scaled down. An `Idempotency-Key` makes retries safe."""
    data = await request.body()
    try:
        clean = await asyncio.to_thread(photos.clean, data, settings.max_photo_bytes, taken_at)
    except photos.PhotoError as exc:
        raise _problem(exc) from None
    digest = hashlib.sha256(data).hexdigest()

    async def write() -> dict:
        try:
            return await photos.add(conn, principal, incident_id, purpose, clean)
        except photos.PhotoError as exc:
            raise _problem(exc) from None

    return await run_once(conn, principal, idempotency_key,
                          {"path": request.url.path, "purpose": purpose, "sha256": digest,
                           "taken_at": taken_at},
                          write, status=201)


@router.get("/incidents/{incident_id}/photos", summary="The photos of an incident")
async def list_photos(incident_id: int, principal: Principal = Depends(readers),
                      conn: AsyncConnection = Depends(get_conn)) -> list[dict]:
    try:
        return await photos.listing(conn, principal, incident_id)
    except photos.PhotoError as exc:
        raise _problem(exc) from None


@router.get("/incidents/{incident_id}/photos/{photo_id}", summary="One photo (JPEG or PNG)",
            response_class=Response,
            responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}})
async def get_photo(incident_id: int, photo_id: int, request: Request,
                    principal: Principal = Depends(readers),
                    conn: AsyncConnection = Depends(get_conn)) -> Response:
    found = await photos.read(conn, principal, incident_id, photo_id)
    if found is None:
        raise Problem(404, "Not Found", f"no photo {photo_id} of incident {incident_id}")
    data, ctype, sha = found
    etag = f'"{sha}"'
    headers = {"ETag": etag, "Cache-Control": "private, max-age=86400"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=ctype, headers=headers)
