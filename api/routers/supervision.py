"""Supervision and evaluation of cases (督、评): urge, escalation, rating links, phone follow-up.

The rating endpoints under /rate/{token} need no login: the one-time token is the credential.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime

import segno
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from psycopg import AsyncConnection
from pydantic import BaseModel, ConfigDict, Field

from api.db import get_conn
from api.deps import get_settings, require_roles
from api.problems import Problem
from gis import rating, supervision
from gis.categories import load_categories
from gis.incidents import NotFound
from gis.scope import Principal
from gis.settings import Settings

router = APIRouter(tags=["supervision"])
commanders = require_roles("admin", "commander")
log = logging.getLogger("wangge.supervision")
TITLES = {409: "Conflict", 410: "Gone", 422: "Unprocessable request"}


class UrgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(max_length=2000, description="what is expected, by when")


class ScoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    score: int = Field(ge=-(2**31), le=2**31 - 1,
                       description="1 (very dissatisfied) to 5 (very satisfied)")
    comment: str = Field("", max_length=1000)


class EscalateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    now: datetime | None = Field(None, description="evaluate the rule as of this time (admins "
                                 "only; default: the clock)")


def _problem(exc: Exception) -> Problem:
    if isinstance(exc, NotFound):
        return Problem(404, "Not Found", str(exc))
    status = getattr(exc, "status", 422)
    return Problem(status, TITLES.get(status, "Error"), str(exc))


async def _escalate_now(state, settings: Settings) -> None:
    """One run of the escalation rule in its own transaction (logged, never raised)."""
    try:
        async with state.pool.connection() as conn, conn.transaction():
            await supervision.escalate_overdue(conn, load_categories(settings.categories_file))
    except Exception as exc:  # a read must not fail because escalation could not run
        log.warning("escalation not run: %s", exc)


async def maybe_escalate(request: Request) -> None:
    """Run the escalation rule if this process has not in the last escalation interval (on
    incident reads). The read waits for it at most `escalation_wait_s` (a normal run takes
    milliseconds, so the read shows its result); a long run, such as a backlog after an
    outage, finishes in the background and the read is not held. One run at a time."""
    state, settings = request.app.state, request.app.state.settings
    running = getattr(state, "escalation", None)
    if running is not None and not running.done():
        return
    now = time.monotonic()
    if now - getattr(state, "escalated_at", float("-inf")) < settings.escalation_interval_s:
        return
    state.escalated_at = now
    state.escalation = task = asyncio.create_task(_escalate_now(state, settings))
    try:
        await asyncio.wait_for(asyncio.shield(task), settings.escalation_wait_s)
    except TimeoutError:
        log.info("escalation takes longer than %.1f s: it goes on without this read",
                 settings.escalation_wait_s)


async def stop_escalation(state) -> None:
    """Cancel a background escalation run (its transaction rolls back); for shutdown."""
    task = getattr(state, "escalation", None)
    if task is not None and not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@router.post("/incidents/escalate", summary="Escalate overdue cases by rule now (督办)")
async def escalate(body: EscalateIn | None = None, principal: Principal = Depends(commanders),
                   conn: AsyncConnection = Depends(get_conn),
                   settings: Settings = Depends(get_settings)) -> dict:
    """Runs the rule the API also runs on reads; returns the cases escalated by this call."""
    at = body.now if body else None
    if at is not None and principal.role != "admin":
        raise Problem(403, "Forbidden", "only admins may evaluate the rule at another time")
    async with conn.transaction():
        items = await supervision.escalate_overdue(
            conn, load_categories(settings.categories_file), at)
    return {"escalated": items}


@router.post("/incidents/{incident_id}/urge", summary="督办: urge an open case with a note")
async def urge(incident_id: int, body: UrgeIn, principal: Principal = Depends(commanders),
               conn: AsyncConnection = Depends(get_conn)) -> dict:
    try:
        async with conn.transaction():
            return await supervision.urge(conn, principal, incident_id, body.note)
    except (NotFound, supervision.SupervisionError) as exc:
        raise _problem(exc) from None


@router.post("/incidents/{incident_id}/rating-link", status_code=201,
             summary="A one-time rating link (and its QR code) for the resident of a closed case")
async def rating_link(incident_id: int, request: Request,
                      principal: Principal = Depends(commanders),
                      conn: AsyncConnection = Depends(get_conn),
                      settings: Settings = Depends(get_settings)) -> dict:
    """The token is shown once (only its digest is stored); the link expires after
    WANGGE_RATING_LINK_DAYS and works once."""
    try:
        async with conn.transaction():
            link = await rating.create_link(conn, principal, incident_id,
                                            settings.rating_link_days)
    except (NotFound, rating.RatingError) as exc:
        raise _problem(exc) from None
    url = str(request.base_url).rstrip("/") + f"/rate/{link['token']}"
    qr = segno.make(url, error="m").svg_inline(scale=4, dark="#1a1a1a", light="#ffffff")
    return {"url": url, "path": f"/rate/{link['token']}", "expires_at": link["expires_at"],
            "qr_svg": qr}


@router.post("/incidents/{incident_id}/follow-up",
             summary="回访: record the resident's rating given by phone")
async def follow_up(incident_id: int, body: ScoreIn, principal: Principal = Depends(commanders),
                    conn: AsyncConnection = Depends(get_conn)) -> dict:
    try:
        async with conn.transaction():
            return await rating.follow_up(conn, principal, incident_id, body.score, body.comment)
    except (NotFound, rating.RatingError) as exc:
        raise _problem(exc) from None


@router.get("/rate/{token}/case", summary="The case a rating link is for (no login)")
async def rating_case(token: str, conn: AsyncConnection = Depends(get_conn)) -> dict:
    try:
        return await rating.link_info(conn, token)
    except rating.RatingError as exc:
        raise _problem(exc) from None


@router.post("/rate/{token}", summary="Rate a closed case once through its link (no login)")
async def rate(token: str, body: ScoreIn, conn: AsyncConnection = Depends(get_conn)) -> dict:
    """410 when the link was used, expired or never existed; 422 for a score outside 1-5."""
    try:
        async with conn.transaction():
            return await rating.rate(conn, token, body.score, body.comment)
    except rating.RatingError as exc:
        raise _problem(exc) from None


@router.get("/rate/{token}", response_class=HTMLResponse, include_in_schema=False)
async def rating_page(token: str, settings: Settings = Depends(get_settings)) -> HTMLResponse:
    """The resident's rating page (the token stays in the URL; the page posts it back)."""
    from api.pages.rating_page import rating_page_html

    return HTMLResponse(rating_page_html(settings), headers={"Cache-Control": "no-store",
                                                             "Referrer-Policy": "no-referrer"})
