"""A short road for tile requests, which every map view makes dozens of times.

An ASGI middleware placed inside the security-header, body-limit and CORS middlewares: it
answers GET and HEAD of /tiles/{layer}/{z}/{x}/{y}.pbf and /collections/{id}/tiles/{tms}/{z}/{y}/{x}
with the same function as the documented routes (tiles.router.serve_tile / serve_ogc_tile), but
without FastAPI's routing, dependency solving and GZip wrapper (tiles are gzipped from the
cache). Errors go through the app's own exception handlers, so they are the same problem
documents. Every other request passes through untouched. bench/layers_bench.py measures it.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.problems import problem_response
from tiles.router import serve_ogc_tile, serve_tile

log = logging.getLogger("wangge.tiles")


def match(path: str) -> tuple | None:
    """(handler, path arguments) when `path` is a tile URL, else None."""
    parts = path.split("/")
    if len(parts) == 6 and parts[1] == "tiles" and parts[5].endswith(".pbf"):
        return serve_tile, (parts[2], parts[3], parts[4], parts[5][:-4])
    if len(parts) == 8 and parts[1] == "collections" and parts[3] == "tiles":
        return serve_ogc_tile, tuple(parts[2:3] + parts[4:8])
    return None


class TileFastPath:
    """Serve tile GETs and HEADs directly; pass everything else to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            path = scope["path"]
            root = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root):]
            found = match(path) if path.startswith(("/tiles/", "/collections/")) else None
            if found is not None:
                handler, args = found
                request = Request(scope, receive)
                try:
                    response = await handler(request, *args)
                except Exception as exc:  # noqa: BLE001 - answered like the routes would be
                    response = await _handle(request, exc)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _handle(request: Request, exc: Exception) -> Response:
    """The app's exception handler for `exc` (the nearest class in its MRO), else a 500."""
    handlers = request.app.exception_handlers
    for cls in type(exc).__mro__:
        handler = handlers.get(cls)
        if handler is not None:
            return await handler(request, exc)
    log.exception("tile request failed: %s", request.url.path)
    return problem_response(500, "Internal Server Error", "the tile could not be made")
