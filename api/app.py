"""The FastAPI application factory and its lifespan (connection pool)."""

from __future__ import annotations

import asyncio
import gc
import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp

from api import problems
from api.audit import AuditMiddleware
from api.db import make_pool
from api.lifecycle import watch_signals
from api.middleware import BodyLimitMiddleware, SecurityHeadersMiddleware
from api.routers import (
    auth,
    incidents,
    metrics,
    ogc,
    pages,
    patrols,
    people,
    photos,
    plans,
    reports,
    situation,
    stats,
    stats_page,
    supervision,
    workbench,
    worker_app,
)
from api.routers import exports as exports_router
from api.routers.apikeys import router as apikeys_router
from gis.changes import ChangeWatcher
from gis.database import database_url, libpq_url
from gis.settings import Settings, get_settings
from tiles import router as tiles_router
from tiles.basemap import router as basemap_router
from tiles.export_router import router as tiles_export_router
from tiles.fastpath import TileFastPath

log = logging.getLogger("wangge.api")


class WanggeAPI(FastAPI):
    """FastAPI with tile requests answered ahead of the middleware stack (tiles.fastpath)."""

    def build_middleware_stack(self) -> ASGIApp:
        cors = bool(self.state.settings.cors_origins)
        return TileFastPath(super().build_middleware_stack(), cors=cors)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API for `settings` (the environment's by default)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        pool = make_pool(settings)
        await pool.open(wait=False)
        app.state.pool = pool
        watcher = ChangeWatcher(libpq_url(database_url(settings)))
        await watcher.start()
        app.state.changes = watcher
        app.state.stopping = asyncio.Event()  # set on SIGTERM: live feeds end (api.lifecycle)
        restore_signals = watch_signals(app.state.stopping)
        gc.freeze()  # the app's long-lived objects leave the collector's scans
        try:
            yield
        finally:
            app.state.stopping.set()
            restore_signals()
            feed = getattr(app.state, "incident_feed", None)
            if feed is not None:
                await feed.close()
            await supervision.stop_escalation(app.state)
            await watcher.stop()
            await pool.close(timeout=2)

    app = WanggeAPI(
        title="Wangge 网格 API",
        version="0.1.0",
        description="Grid-management GIS service: OGC API Features, vector tiles, incidents, "
        "patrols, statistics and map pages.",
        lifespan=lifespan,
        telemetry=None if settings.telemetry else {"tracing": False, "metrics": False,
                                                   "logs": False},
    )
    app.state.settings = settings
    app.state.callers = {}  # authenticated callers remembered by api.deps.authenticate
    problems.install(app)
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(SecurityHeadersMiddleware, basemap_url=settings.basemap_url)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(AuditMiddleware)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["*"], allow_headers=["*"])
    app.include_router(stats_page.router)  # before stats: a browser's GET /stats is the page
    routers = (
        auth,
        ogc,
        tiles_router,
        incidents,
        patrols,
        stats,
        plans,
        pages,
        metrics,
        people,
        reports,  # report files
        situation,  # the command map's live situation
        supervision,
        workbench,
    )
    for module in routers:
        app.include_router(module.router, responses=problems.RESPONSES)
    app.include_router(apikeys_router, responses=problems.RESPONSES)
    app.include_router(exports_router.router, responses=problems.RESPONSES)
    app.include_router(tiles_export_router, responses=problems.RESPONSES)
    app.include_router(basemap_router, responses=problems.RESPONSES)
    for module in (photos, worker_app):  # the worker app
        app.include_router(module.router, responses=problems.RESPONSES)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    return app
