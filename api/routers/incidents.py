"""Incidents (接、派、办、督、评、报): intake, reads, workflow transitions, live feed (SSE)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from psycopg import AsyncConnection
from pydantic import BaseModel, ConfigDict, Field

from api.db import connection_wait, get_conn
from api.deps import authenticate, bearer_token, get_settings, oauth2_scheme, require_roles
from api.feed_guard import RECHECK_S, FeedGuard
from api.idempotency import run_once
from api.ogc.params import MAX_OFFSET
from api.problems import Problem
from api.routers.supervision import maybe_escalate
from gis import incidents as inc
from gis.categories import load_categories
from gis.database import database_url, libpq_url
from gis.dispatch import AssigneeError, suggestions
from gis.feed import feed_for
from gis.routing import scope_streets
from gis.scope import Principal
from gis.settings import Settings
from gis.workflow import BY_ACTION, STATUSES, TRANSITIONS, IllegalTransition

router = APIRouter(tags=["incidents"])
readers = require_roles("admin", "planner", "commander", "worker", "department")  # planners read
reporters = require_roles("admin", "commander", "worker", "department")
dispatchers = require_roles("admin", "commander")
KEEPALIVE_S = 15.0


class IncidentIn(BaseModel):
    """One reported incident."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    lon: float = Field(description="x in `crs` (longitude for geographic CRSs)")
    lat: float = Field(description="y in `crs` (latitude for geographic CRSs)")
    crs: str | None = Field(None, description="EPSG:4326 (default), EPSG:4490, gcj02, bd09 or "
                            "any EPSG code")
    category: str
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=4000)
    reporter: str = Field("", max_length=200)
    source: Literal["worker", "hotline", "app", "camera"] = "worker"
    priority: int = Field(2, ge=1, le=4)
    reported_at: datetime | None = Field(None, description="when it was seen (default: now)")


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    incidents: list[IncidentIn]


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: str = Field(description=", ".join(sorted({t.action for t in TRANSITIONS})))
    note: str = Field("", max_length=2000)
    satisfaction: int | None = Field(None, description="评价 1-5, with 'close' only")
    assignee_account_id: int | None = Field(
        None, ge=1, le=2**63 - 1,
        description="派遣 to this account (a grid worker or a department's account); with "
        "'dispatch' only, one of the people of GET /incidents/{id}/assignees")
    assignee_department_id: int | None = Field(
        None, ge=1, le=2**63 - 1,
        description="派遣 to this department (职能部门); with 'dispatch' only")
    assignee: str | None = Field(None, max_length=200, description="no longer accepted: the "
                                 "assignee is an account or a department, never free text")
    version: int | None = Field(None, description="optimistic lock: the version you saw")


def categories(settings: Settings):
    return load_categories(settings.categories_file)


def _as_reports(items: list[IncidentIn]) -> list[inc.Report]:
    return [inc.Report(**item.model_dump()) for item in items]


async def _intake(conn: AsyncConnection, principal: Principal, settings: Settings,
                  items: list[IncidentIn], body: object, key: str | None,
                  single: bool) -> JSONResponse:
    """Intake under an optional Idempotency-Key: one transaction, the first answer replayed."""
    if key is not None and not 1 <= len(key) <= 200:
        raise Problem(400, "Bad Idempotency-Key", "the key must be 1 to 200 characters")
    digest = inc.request_hash(body)
    try:
        async with conn.transaction():
            if key:
                seen = await inc.idempotent_lookup(conn, principal.account_id, key, digest)
                if seen:
                    return JSONResponse(seen[1], status_code=seen[0],
                                        headers={"Idempotent-Replayed": "true"})
            stored = await inc.intake(conn, principal, _as_reports(items), categories(settings),
                                      settings.allow_unassigned_incidents, settings.max_batch)
            response = stored[0] if single else {"count": len(stored), "items": stored}
            if key:
                await inc.idempotent_store(conn, principal.account_id, key, digest, 201,
                                           response)
    except inc.IntakeError as exc:
        title = {403: "Forbidden"}.get(exc.status, "Unprocessable incident")
        raise Problem(exc.status, title, str(exc), errors=exc.errors) from None
    return JSONResponse(response, status_code=201)


@router.get("/incidents/categories", summary="Incident categories and due times")
async def list_categories(principal: Principal = Depends(readers),
                          settings: Settings = Depends(get_settings)) -> list[dict]:
    return [{"key": c.key, "zh": c.zh, "en": c.en, "due_hours": c.due.total_seconds() / 3600,
             "response_hours": c.response.total_seconds() / 3600,
             "escalate_after_hours": [s.total_seconds() / 3600 for s in c.escalate_after]}
            for c in categories(settings).values()]


@router.post("/incidents", status_code=201, summary="Report one incident (接)")
async def report(item: IncidentIn, principal: Principal = Depends(reporters),
                 conn: AsyncConnection = Depends(get_conn),
                 settings: Settings = Depends(get_settings),
                 idempotency_key: Annotated[str | None, Header()] = None) -> JSONResponse:
    """Attribute the point to its street, community, grid and micro-grid and store it."""
    return await _intake(conn, principal, settings, [item], item.model_dump(mode="json"),
                         idempotency_key, single=True)


@router.post("/incidents/batch", status_code=201, summary="Report up to 1,000 incidents")
async def report_batch(batch: BatchIn, principal: Principal = Depends(reporters),
                       conn: AsyncConnection = Depends(get_conn),
                       settings: Settings = Depends(get_settings),
                       idempotency_key: Annotated[str | None, Header()] = None
                       ) -> JSONResponse:
    """All or nothing: one bad incident rejects the batch, listing each bad index."""
    if len(batch.incidents) > settings.max_batch:
        raise Problem(422, "Batch too large", f"a batch holds at most {settings.max_batch} "
                      f"incidents, got {len(batch.incidents)} (WANGGE_MAX_BATCH)")
    return await _intake(conn, principal, settings, batch.incidents,
                         batch.model_dump(mode="json"), idempotency_key, single=False)


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    try:
        x0, y0, x1, y1 = (float(v) for v in text.split(","))
    except ValueError:
        raise Problem(400, "Bad bbox", "bbox is minlon,minlat,maxlon,maxlat") from None
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise Problem(400, "Bad bbox", "bbox is minlon,minlat,maxlon,maxlat within the globe")
    return x0, y0, x1, y1


@router.get("/incidents", summary="Incidents in your areas, newest first")
async def list_incidents(
        status: list[str] = Query([]), category: list[str] = Query([]),
        bbox: str | None = Query(None, description="minlon,minlat,maxlon,maxlat"),
        start: datetime | None = None, end: datetime | None = None,
        overdue: bool | None = Query(None, description="only overdue (督办) cases, or none"),
        assignee: Literal["me"] | None = Query(
            None, description="'me': the cases dispatched to you (or your department), overdue "
            "first, then by due time"),
        limit: int = Query(100, ge=1, le=1000),
        offset: int = Query(0, ge=0, le=MAX_OFFSET, description="at most 100,000"),
        principal: Principal = Depends(readers),
        conn: AsyncConnection = Depends(get_conn), _: None = Depends(maybe_escalate)) -> dict:
    unknown = sorted(set(status) - set(STATUSES))
    if unknown:
        raise Problem(400, "Unknown status", f"{', '.join(unknown)}: one of "
                      f"{', '.join(STATUSES)}")
    sql, params = inc.list_sql(principal, status, category, _bbox(bbox), start, end, overdue,
                               principal.account_id if assignee == "me" else None,
                               await scope_streets(conn, principal))
    cur = await conn.execute(sql, {**params, "limit": limit, "offset": offset})
    items = (await cur.fetchone())[0]
    return {"items": items, "limit": limit, "offset": offset,
            "next_offset": offset + limit if len(items) == limit
            and offset + limit <= MAX_OFFSET else None}


@router.get("/incidents/feed", summary="Live feed of incident changes (server-sent events)",
            response_class=StreamingResponse)
async def feed(request: Request, token: str | None = Depends(oauth2_scheme)):
    """`text/event-stream` of `incident` events for what you may see. EventSource clients that
    cannot send headers pass `?access_token=`. The token and your areas are re-checked while the
    stream is open: a revoked, expired or disabled token, or changed areas, end it within a
    second with an `end` event naming the reason."""
    app = request.app
    async with app.state.pool.connection(timeout=connection_wait(app)) as conn:  # released
        principal = await authenticate(request, token, conn)  # before streaming
    guard = FeedGuard(request, token or bearer_token(request) or "", principal)
    hub = feed_for(app.state, libpq_url(database_url(app.state.settings)))
    try:
        sub = await hub.subscribe(principal.scope, principal.account_id)
    except TimeoutError:
        raise Problem(503, "Service Unavailable", "the live feed is not connected",
                      headers={"Retry-After": "2"}) from None
    stopping: asyncio.Event = app.state.stopping

    async def stream():
        try:
            yield ": connected\n\n"
            quiet = 0.0
            while not stopping.is_set():
                try:
                    event = await asyncio.wait_for(sub.queue.get(), RECHECK_S)
                except TimeoutError:
                    event = None
                reason = await guard.reason_to_end()
                if reason is not None:
                    yield f"event: end\ndata: {json.dumps({'reason': reason})}\n\n"
                    return
                if event is None:
                    quiet += RECHECK_S
                    if quiet >= KEEPALIVE_S:
                        quiet = 0.0
                        yield ": keep-alive\n\n"
                    continue
                quiet = 0.0
                yield (f"id: {event['seq']}\nevent: incident\n"
                       f"data: {json.dumps(event, ensure_ascii=False)}\n\n")
        finally:
            hub.unsubscribe(sub)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/incidents/{incident_id}", summary="One incident with its history")
async def get_incident(incident_id: int, principal: Principal = Depends(readers),
                       conn: AsyncConnection = Depends(get_conn),
                       _: None = Depends(maybe_escalate)) -> dict:
    try:
        return await inc.get(conn, principal, incident_id)
    except inc.NotFound as exc:
        raise Problem(404, "Not Found", str(exc)) from None


@router.get("/incidents/{incident_id}/assignees",
            summary="Who may take the case (派): the grid's workers, then the street's departments")
async def list_assignees(incident_id: int, principal: Principal = Depends(dispatchers),
                         conn: AsyncConnection = Depends(get_conn)) -> dict:
    try:
        case = await inc.get(conn, principal, incident_id)
    except inc.NotFound as exc:
        raise Problem(404, "Not Found", str(exc)) from None
    return {"items": await suggestions(conn, incident_id, case["street_id"])}


@router.post("/incidents/{incident_id}/transitions",
             summary="Move a case along the workflow (派、办、督、评)")
async def transition(incident_id: int, body: TransitionIn, request: Request,
                     principal: Principal = Depends(reporters),
                     conn: AsyncConnection = Depends(get_conn),
                     idempotency_key: Annotated[str | None, Header()] = None) -> JSONResponse:
    """Illegal for the status or the role: 409 listing the actions allowed to you. A dispatch to
    someone disabled or not covering the case's area: 422 with the reason. An
    `Idempotency-Key` replays the first answer to a retried step."""
    if body.assignee is not None:
        raise Problem(422, "Invalid transition", "the assignee is an account or a department: "
                      "give assignee_account_id or assignee_department_id (see GET "
                      f"/incidents/{incident_id}/assignees)")

    async def write() -> dict:
        try:
            return await inc.transition(conn, principal, incident_id, body.action, body.note,
                                        body.satisfaction, body.assignee_account_id,
                                        body.assignee_department_id, body.version)
        except inc.NotFound as exc:
            raise Problem(404, "Not Found", str(exc)) from None
        except IllegalTransition as exc:
            wrong_role = (exc.status, exc.action) in BY_ACTION and "may not" in str(exc)
            raise Problem(403 if wrong_role else 409,
                          "Forbidden" if wrong_role else "Illegal transition", str(exc),
                          status_now=exc.status, allowed=exc.allowed) from None
        except AssigneeError as exc:
            raise Problem(422, "Invalid assignee", str(exc), reason=str(exc)) from None
        except ValueError as exc:
            raise Problem(422, "Invalid transition", str(exc)) from None

    return await run_once(conn, principal, idempotency_key,
                          {"path": request.url.path, "body": body.model_dump(mode="json")}, write)
