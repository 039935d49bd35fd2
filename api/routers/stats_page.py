"""Router: the statistics page. GET /stats answers a browser (Accept: text/html) with the page
and every other client with the JSON of api.routers.stats, so the page and its data share one
address; GET /stats/report is the printable month report."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

from api.deps import get_settings
from api.pages import stats_page
from gis.settings import Settings

NO_STORE = {"Cache-Control": "no-cache"}
_cache: dict[tuple[str, int], str] = {}


class HtmlOnlyRoute(APIRoute):
    """Matches only requests whose Accept header asks for HTML before JSON (a browser)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is Match.NONE:
            return match, child
        accept = dict(scope.get("headers") or []).get(b"accept", b"").decode("latin-1")
        html = accept.find("text/html")
        json_at = accept.find("json")
        if html < 0 or (0 <= json_at < html):
            return Match.NONE, {}
        return match, child


router = APIRouter(tags=["pages"], route_class=HtmlOnlyRoute)


def _html(page: str, settings: Settings) -> HTMLResponse:
    key = (page, id(settings))
    if key not in _cache:
        build = stats_page.stats_page if page == "stats" else stats_page.report_page
        _cache[key] = build(settings)
    return HTMLResponse(_cache[key], headers=NO_STORE)


@router.get("/stats", response_class=HTMLResponse, include_in_schema=False)
async def stats_html(settings: Settings = Depends(get_settings)) -> HTMLResponse:
    return _html("stats", settings)


@router.get("/stats/report", response_class=HTMLResponse, include_in_schema=False)
async def report_html(settings: Settings = Depends(get_settings)) -> HTMLResponse:
    """The month's report as an A4 page (`?month=YYYY-MM`, optional `area`), for printing."""
    return _html("report", settings)
