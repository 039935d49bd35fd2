"""Vector tiles: /tiles/{layer}/{z}/{x}/{y}.pbf, TileJSON, and the same under OGC API – Tiles.

A tile's ETag is a hash of the versions of the tables it draws, the caller's scope key and z/x/y
(plus the minute for layers whose attributes follow the clock), so it is known before rendering:
If-None-Match answers 304 and the in-process cache answers repeats without touching the tables.
"""

from __future__ import annotations

import hashlib
import time
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from psycopg import AsyncConnection

from api.db import LazyConnection, connection_wait, get_conn
from api.deps import (
    UNAUTHORIZED,
    authenticate,
    bearer_token,
    get_principal,
    oauth2_scheme,
    remembered_caller,
)
from api.ogc import features, registry
from api.ogc.links import JSON, MVT, base
from api.ogc.params import bad, check_known
from api.problems import Problem
from gis.scope import Principal
from tiles import basemap, tilejson, versions
from tiles import layers as tl
from tiles.cache import Tile, TileCache

router = APIRouter(tags=["Vector tiles"])
CACHE = TileCache()
CACHE_CONTROL = "private, no-cache"
AUTH_PARAMS = {"access_token", "apikey", "f"}



def _layer(layer_id: str) -> str:
    if layer_id != tl.ALL and layer_id not in tl.LAYERS:
        raise Problem(404, "Not Found", f"no tile layer {layer_id!r}; layers: "
                      f"{', '.join([tl.ALL, *tl.LAYERS])}")
    return layer_id


def _zxy(z: str, x: str, y: str) -> tuple[int, int, int]:
    try:
        zi, xi, yi = int(z), int(x), int(y)
    except ValueError:
        raise bad(f"tile coordinates must be integers, got {z}/{x}/{y}") from None
    if not 0 <= zi <= tl.MAX_ZOOM:
        raise bad(f"zoom {zi} out of range 0..{tl.MAX_ZOOM}")
    n = 1 << zi
    if not (0 <= xi < n and 0 <= yi < n):
        raise bad(f"tile {zi}/{xi}/{yi} out of range: x and y must be in 0..{n - 1}")
    return zi, xi, yi


def _accepts_gzip(request: Request) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "")


def _matches(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    tags = {t.strip().removeprefix("W/").strip('"').removesuffix("-gz")
            for t in header.split(",")}
    return "*" in tags or etag in tags


def _etag(layer_id: str, drawn: list[tl.Layer], z: int, x: int, y: int, scope: str,
          origin: str, table_versions: dict[str, int]) -> str:
    """A hash of what the tile shows; `origin` names where the versions came from."""
    stamp = [layer_id, z, x, y, scope, origin, *(table_versions[lay.table] for lay in drawn)]
    if any(lay.time_dependent for lay in drawn):
        stamp.append(int(time.time() // 60))
    return hashlib.blake2b(repr(stamp).encode(), digest_size=12).hexdigest()


async def _render(conn: AsyncConnection, drawn: list[tl.Layer], principal: Principal, z: int,
                  x: int, y: int) -> Tile:
    sql, params = tl.tile_sql(drawn, principal, z)
    params.update(tl.tile_params(z, x, y))
    cur = await conn.execute(sql, params, binary=True)
    return Tile(bytes((await cur.fetchone())[0]))


async def serve_tile(request: Request, layer_id: str, z: str, x: str, y: str) -> Response:
    """Answer GET /tiles/{layer_id}/{z}/{x}/{y}.pbf (the route and tiles.fastpath share it)."""
    if request.scope["query_string"]:
        check_known(request.query_params, AUTH_PARAMS)
    zi, xi, yi = _zxy(z, x, y)
    if layer_id == basemap.LAYER:
        return await basemap.serve(request, zi, xi, yi)
    return await _tile(request, _layer(layer_id), zi, xi, yi)


async def serve_ogc_tile(request: Request, collection_id: str, tms_id: str, z: str, y: str,
                         x: str) -> Response:
    """Answer GET /collections/{id}/tiles/WebMercatorQuad/{z}/{y}/{x} (OGC API – Tiles)."""
    if request.scope["query_string"]:
        check_known(request.query_params, AUTH_PARAMS)
    cid = _tiled_collection(collection_id)
    if tms_id != tilejson.WEB_MERCATOR_QUAD:
        raise Problem(404, "Not Found", f"no tile matrix set {tms_id!r}; only WebMercatorQuad")
    zi, xi, yi = _zxy(z, x, y)
    return await _tile(request, cid, zi, xi, yi)


async def _tile(request: Request, layer_id: str, z: int, x: int, y: int) -> Response:
    """Answer a tile: 304 when the client's ETag is current, else the cached or rendered bytes.

    Normally the layer versions are pushed by the database at commit (gis.changes.
    ChangeWatcher), so a remembered caller's 304 or cache hit takes no connection and a miss
    costs one query. While the listener is down, the versions are read with the tile in one
    pipeline, and a rendering is cached only when no write was in flight.
    """
    token = bearer_token(request)
    if not token:
        raise Problem(401, "Unauthorized", "a bearer token is required", headers=UNAUTHORIZED)
    async with LazyConnection(request.app.state.pool, connection_wait(request.app)) as connect:
        principal = remembered_caller(request, token) or await authenticate(
            request, token, await connect())
        drawn = tl.layers_at(layer_id, z)
        headers = {"Cache-Control": CACHE_CONTROL, "Vary": "Authorization, Accept-Encoding"}
        if not drawn:
            return Response(status_code=204, headers=headers)
        scope = versions.scope_key(principal)
        watcher = getattr(request.app.state, "changes", None)
        pushed = watcher.snapshot() if watcher is not None else None
        if pushed is not None:
            etag = _etag(layer_id, drawn, z, x, y, scope, *pushed)
            if _matches(request, etag):
                return Response(status_code=304, headers={**headers, "ETag": f'"{etag}"'})
            tile = CACHE.get(etag)
            if tile is None:
                tile = await _render(await connect(), drawn, principal, z, x, y)
                CACHE.put(etag, tile)
            return _tile_response(request, tile, etag, headers)
        sql, params = tl.tile_sql(drawn, principal, z)
        params.update(tl.tile_params(z, x, y))
        conn = await connect()
        async with conn.pipeline():  # the versions are read first: never older than the tile
            state_cur = await conn.execute(versions.STATE_SQL)
            tile_cur = await conn.execute(sql, params, binary=True)
        table_versions, quiet = versions.parse_state(await state_cur.fetchone())
        tile = Tile(bytes((await tile_cur.fetchone())[0]))
    etag = _etag(layer_id, drawn, z, x, y, scope, "db", table_versions)
    if _matches(request, etag):
        return Response(status_code=304, headers={**headers, "ETag": f'"{etag}"'})
    if quiet:
        CACHE.put(etag, tile)
    return _tile_response(request, tile, etag, headers)


def _tile_response(request: Request, tile: Tile, etag: str, headers: dict[str, str]) -> Response:
    if not tile.raw:
        return Response(status_code=204, headers={**headers, "ETag": f'"{etag}"'})
    if _accepts_gzip(request):
        return Response(tile.gzipped(), media_type=MVT, headers={
            **headers, "ETag": f'"{etag}-gz"', "Content-Encoding": "gzip"})
    return Response(tile.raw, media_type=MVT, headers={**headers, "ETag": f'"{etag}"'})


@router.get("/tiles/{layer_id}/{z}/{x}/{y}.pbf", summary="A vector tile (MVT)",
            response_class=Response,
            responses={200: {"content": {MVT: {}}}, 204: {"description": "empty tile"},
                       304: {"description": "not modified"}})
async def xyz_tile(layer_id: str, z: str, x: str, y: str, request: Request,
                   _token: str | None = Depends(oauth2_scheme)) -> Response:
    """Answered by tiles.fastpath ahead of routing (GET, HEAD); this route documents it."""
    return await serve_tile(request, layer_id, z, x, y)


async def _bounds(conn: AsyncConnection, principal: Principal, layer_id: str) -> list | None:
    cid = "streets" if layer_id == tl.ALL else layer_id
    bbox, _ = await features.extent(conn, registry.COLLECTIONS[cid], principal)
    return bbox


@router.get("/tiles/{layer_id}.json", summary="TileJSON 3.0.0 of a tile layer")
async def tilejson_doc(layer_id: str, request: Request,
                       principal: Principal = Depends(get_principal),
                       conn: AsyncConnection = Depends(get_conn)) -> Response:
    check_known(dict(request.query_params), AUTH_PARAMS)
    layer_id = _layer(layer_id)
    doc = tilejson.tilejson(base(request), layer_id, await _bounds(conn, principal, layer_id))
    if key := request.query_params.get("apikey"):  # clients that fetch tiles as told, with it
        doc["tiles"] = [f"{url}?{urlencode({'apikey': key})}" for url in doc["tiles"]]
    return Response(orjson.dumps(doc), media_type=JSON)


@router.get("/tileMatrixSets", summary="Tile matrix sets (OGC API – Tiles)")
async def tile_matrix_sets(request: Request) -> Response:
    check_known(dict(request.query_params), {"f"})
    url = f"{base(request)}/tileMatrixSets/{tilejson.WEB_MERCATOR_QUAD}"
    return Response(orjson.dumps({"tileMatrixSets": [{
        "id": tilejson.WEB_MERCATOR_QUAD, "title": "Google Maps Compatible for the World",
        "uri": tilejson.TMS_URI,
        "links": [{"href": url, "rel": "self", "type": JSON,
                   "title": "WebMercatorQuad definition"}]}]}), media_type=JSON)


@router.get("/tileMatrixSets/{tms_id}", summary="A tile matrix set definition")
async def tile_matrix_set(tms_id: str, request: Request) -> Response:
    check_known(dict(request.query_params), {"f"})
    if tms_id != tilejson.WEB_MERCATOR_QUAD:
        raise Problem(404, "Not Found", f"no tile matrix set {tms_id!r}; only WebMercatorQuad")
    return Response(orjson.dumps(tilejson.tile_matrix_set()), media_type=JSON)


def _tiled_collection(cid: str) -> str:
    if cid not in tl.LAYERS:
        raise Problem(404, "Not Found", f"no collection {cid!r}")
    return cid


@router.get("/collections/{collection_id}/tiles", summary="Vector tilesets of a collection")
async def tilesets(collection_id: str, request: Request,
                   principal: Principal = Depends(get_principal)) -> Response:
    check_known(dict(request.query_params), AUTH_PARAMS)
    cid = _tiled_collection(collection_id)
    url = f"{base(request)}/collections/{cid}/tiles/{tilejson.WEB_MERCATOR_QUAD}"
    return Response(orjson.dumps({"tilesets": [{
        "title": f"{cid} vector tiles", "dataType": "vector", "crs":
        "http://www.opengis.net/def/crs/EPSG/0/3857", "tileMatrixSetURI": tilejson.TMS_URI,
        "links": [{"href": url, "rel": "self", "type": JSON, "title": "tileset"},
                  {"href": f"{base(request)}/tileMatrixSets/{tilejson.WEB_MERCATOR_QUAD}",
                   "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
                   "type": JSON}]}]}), media_type=JSON)


@router.get("/collections/{collection_id}/tiles/{tms_id}", summary="Tileset metadata")
async def tileset(collection_id: str, tms_id: str, request: Request,
                  principal: Principal = Depends(get_principal),
                  conn: AsyncConnection = Depends(get_conn)) -> Response:
    check_known(dict(request.query_params), AUTH_PARAMS)
    cid = _tiled_collection(collection_id)
    if tms_id != tilejson.WEB_MERCATOR_QUAD:
        raise Problem(404, "Not Found", f"no tile matrix set {tms_id!r}; only WebMercatorQuad")
    doc = tilejson.tileset(base(request), cid, await _bounds(conn, principal, cid))
    return Response(orjson.dumps(doc), media_type=JSON)


@router.get("/collections/{collection_id}/tiles/{tms_id}/{z}/{y}/{x}",
            summary="A vector tile (OGC API – Tiles)", response_class=Response,
            responses={200: {"content": {MVT: {}}}, 204: {"description": "empty tile"},
                       304: {"description": "not modified"}})
async def ogc_tile(collection_id: str, tms_id: str, z: str, y: str, x: str, request: Request,
                   _token: str | None = Depends(oauth2_scheme)) -> Response:
    """Answered by tiles.fastpath ahead of routing (GET, HEAD); this route documents it."""
    return await serve_ogc_tile(request, collection_id, tms_id, z, y, x)
