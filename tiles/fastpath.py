"""A short road for tile requests, which every map view makes dozens of times.

The outermost layer of the app's middleware stack (see api.app.WanggeAPI): it answers GET and
HEAD of /tiles/{layer}/{z}/{x}/{y}.pbf and /collections/{id}/tiles/{tms}/{z}/{y}/{x} with the same
functions as the documented routes (tiles.router.serve_tile / serve_ogc_tile), without FastAPI's
routing, dependency solving and middleware chain. What that chain would add it adds itself: the
security headers, and errors through the app's own exception handlers (the same problem
documents). Tile requests carry no body, are not audited, and are gzipped from the cache; a
cross-origin request while CORS is configured takes the full stack. Everything else passes
through untouched. bench/layers_bench.py measures the difference.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.middleware import SECURITY_HEADERS
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

    def __init__(self, app: ASGIApp, cors: bool = False) -> None:
        self.app, self.cors = app, cors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self._claim(scope)
        if found is None:
            await self.app(scope, receive, send)
            return
        handler, args = found
        request = Request(scope, receive)
        try:
            response = await handler(request, *args)
        except Exception as exc:  # noqa: BLE001 - answered as the routes' handlers would
            response = await _handle(request, exc)
        await send({"type": "http.response.start", "status": response.status_code,
                    "headers": [*response.raw_headers, *SECURITY_HEADERS]})
        await send({"type": "http.response.body", "body": response.body})

    def _claim(self, scope: Scope) -> tuple | None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return None
        path = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        if not path.startswith(("/tiles/", "/collections/")):
            return None
        if self.cors and any(name == b"origin" for name, _ in scope["headers"]):
            return None  # the CORS middleware answers for cross-origin requests
        return match(path)


async def _handle(request: Request, exc: Exception) -> Response:
    """The app's exception handler for `exc` (the nearest class in its MRO), else a 500."""
    handlers = request.app.exception_handlers
    for cls in type(exc).__mro__:
        handler = handlers.get(cls)
        if handler is not None:
            return await handler(request, exc)
    log.exception("tile request failed: %s", request.url.path)
    return problem_response(500, "Internal Server Error", "the tile could not be made")
