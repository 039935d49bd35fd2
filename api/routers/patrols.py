"""Patrols (巡查): start, upload GPS points, end, read a track, coverage per micro-grid."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from psycopg import AsyncConnection
from pydantic import BaseModel, ConfigDict, Field

from api.db import get_conn
from api.deps import get_settings, require_roles
from api.idempotency import run_once
from api.problems import Problem
from gis import patrols as pat
from gis.scope import Principal
from gis.settings import Settings

router = APIRouter(tags=["patrols"])
readers = require_roles("admin", "planner", "commander", "worker")
workers_only = require_roles("worker")


class StartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    started_at: datetime | None = None


class PointIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    t: datetime
    lon: float
    lat: float
    crs: str | None = Field(None, description="EPSG:4326 (default), gcj02, bd09, ...")
    accuracy: float | None = Field(None, ge=0, description="metres")


class PointsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    points: list[PointIn]


class EndIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ended_at: datetime | None = None


def _problem(exc: pat.PatrolError) -> Problem:
    title = {403: "Forbidden", 404: "Not Found", 409: "Conflict"}.get(exc.status,
                                                                      "Invalid patrol data")
    return Problem(exc.status, title, str(exc), errors=exc.errors)


IdempotencyKey = Annotated[str | None, Header(description="makes retries safe (replayed)")]


def _once(request: Request, body: BaseModel | None) -> dict:
    return {"path": request.url.path,
            "body": body.model_dump(mode="json") if body is not None else None}


@router.post("/patrols", status_code=201, summary="Start a patrol (the calling worker's)")
async def start(request: Request, body: StartIn | None = None,
                principal: Principal = Depends(workers_only),
                conn: AsyncConnection = Depends(get_conn),
                idempotency_key: IdempotencyKey = None) -> JSONResponse:
    async def write() -> dict:
        try:
            return await pat.start(conn, principal, body.started_at if body else None)
        except pat.PatrolError as exc:
            raise _problem(exc) from None

    return await run_once(conn, principal, idempotency_key, _once(request, body), write, 201)


@router.post("/patrols/{patrol_id}/points", summary="Upload a batch of GPS points")
async def points(patrol_id: int, body: PointsIn, request: Request,
                 principal: Principal = Depends(workers_only),
                 conn: AsyncConnection = Depends(get_conn),
                 settings: Settings = Depends(get_settings),
                 idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Each point is attributed to its micro-grid; all or nothing per batch."""
    async def write() -> dict:
        try:
            return await pat.add_points(conn, principal, patrol_id,
                                        [p.model_dump() for p in body.points],
                                        settings.max_patrol_points)
        except pat.PatrolError as exc:
            raise _problem(exc) from None

    return await run_once(conn, principal, idempotency_key, _once(request, body), write)


@router.post("/patrols/{patrol_id}/end", summary="End a patrol")
async def end(patrol_id: int, request: Request, body: EndIn | None = None,
              principal: Principal = Depends(workers_only),
              conn: AsyncConnection = Depends(get_conn),
              idempotency_key: IdempotencyKey = None) -> JSONResponse:
    async def write() -> dict:
        try:
            return await pat.end(conn, principal, patrol_id, body.ended_at if body else None)
        except pat.PatrolError as exc:
            raise _problem(exc) from None

    return await run_once(conn, principal, idempotency_key, _once(request, body), write)


@router.get("/patrols/coverage", summary="Micro-grids visited in a period: by whom, how often")
async def coverage(start: datetime | None = None, end: datetime | None = None,
                   worker_id: int | None = Query(None),
                   principal: Principal = Depends(readers),
                   conn: AsyncConnection = Depends(get_conn)) -> dict:
    end = end or datetime.now(UTC)
    start = start or end - timedelta(days=30)
    if start >= end:
        raise Problem(400, "Bad period", "start must be before end")
    sql, params = pat.coverage_sql(principal)
    cur = await conn.execute(sql, {**params, "start": start, "end": end, "worker_id": worker_id})
    return {"start": start, "end": end, "micro_grids": (await cur.fetchone())[0]}


@router.get("/patrols/{patrol_id}", summary="One patrol with its track (GeoJSON LineString)")
async def get_patrol(patrol_id: int, principal: Principal = Depends(readers),
                     conn: AsyncConnection = Depends(get_conn)) -> dict:
    found = await pat.get(conn, principal, patrol_id)
    if found is None:
        raise Problem(404, "Not Found", f"no patrol {patrol_id}")
    return found
