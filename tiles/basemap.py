"""The `basemap` tile layer (z8-z18) and its place labels, from the imported `basemap` table.

One MVT layer named `basemap` with the attributes kind, class and name; features are drawn in
KIND_ORDER (land under water under buildings under roads), filtered by their stored minzoom,
simplified to a quarter pixel below z14, and polygons smaller than a few pixels are left out
there. The tile's ETag hashes the newest basemap load id with z/x/y, so a re-import invalidates
every cached tile. The basemap holds no confined data, but like every tile it needs a token.
Labels are served as GeoJSON points (Leaflet.VectorGrid draws no text): the page places them.
"""

from __future__ import annotations

import hashlib

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api.db import LazyConnection, get_conn
from api.deps import UNAUTHORIZED, authenticate, bearer_token, get_principal, remembered_caller
from api.ogc.params import bad, parse_bbox
from api.problems import Problem
from gis.scope import Principal
from tiles.cache import Tile
from tiles.layers import BUFFER, EXTENT, MARGIN, SIMPLIFY_BELOW, tile_params

LAYER = "basemap"
MIN_ZOOM, MAX_ZOOM = 8, 18
FIELDS = {"kind": "String", "class": "String", "name": "String"}
MAX_LABELS = 500
KIND_ORDER = ("landuse", "park", "water", "building", "railway", "road", "place")  # paint order

_ORDER = "CASE b.kind " + " ".join(f"WHEN '{k}' THEN {i}" for i, k in enumerate(KIND_ORDER)) \
    + " END"
TILE_SQL = f"""
WITH e AS (SELECT ST_TileEnvelope(%(z)s::int, %(x)s::int, %(y)s::int) AS env,
                  ST_TileEnvelope(%(z)s::int, %(x)s::int, %(y)s::int, margin => {MARGIN}) AS env_m,
                  %(tol)s::float8 AS tol)
SELECT COALESCE((SELECT ST_AsMVT(q, '{LAYER}', {EXTENT}, 'geom', 'id') FROM (
    SELECT b.id, b.kind, b.class, b.name,
           ST_AsMVTGeom(CASE WHEN %(z)s < {SIMPLIFY_BELOW} AND b.kind <> 'place'
                             THEN ST_Simplify(b.geom, e.tol, true) ELSE b.geom END,
                        e.env, {EXTENT}, {BUFFER}, true) AS geom
    FROM basemap b, e
    WHERE b.minzoom <= %(z)s AND b.geom && e.env_m
      AND (%(z)s >= {SIMPLIFY_BELOW} OR GeometryType(b.geom) NOT IN ('POLYGON', 'MULTIPOLYGON')
           OR ST_Area(b.geom) > 16 * e.tol * e.tol)
    ORDER BY {_ORDER}, b.id
) q WHERE q.geom IS NOT NULL), ''::bytea)
"""
VERSION_SQL = "SELECT COALESCE(max(id), 0) FROM basemap_loads"
LABELS_SQL = """
SELECT b.name, b.class, ST_X(p), ST_Y(p) FROM (
    SELECT name, class, minzoom, ST_Transform(geom, 4326) AS p FROM basemap b
    WHERE kind = 'place' AND name IS NOT NULL AND minzoom <= %(z)s
      AND geom && ST_Transform(ST_MakeEnvelope(%(x1)s, %(y1)s, %(x2)s, %(y2)s, 4326), 3857)
    ORDER BY minzoom, id LIMIT %(limit)s) b
"""

router = APIRouter(tags=["Vector tiles"])


def etag(version: int, z: int, x: int, y: int) -> str:
    return hashlib.blake2b(repr((LAYER, version, z, x, y)).encode(), digest_size=12).hexdigest()


async def serve(request: Request, z: int, x: int, y: int) -> Response:
    """Answer /tiles/basemap/{z}/{x}/{y}.pbf: 204 outside z8-z18 or where nothing is drawn."""
    from tiles.router import CACHE, CACHE_CONTROL, _matches, _tile_response

    token = bearer_token(request)
    if not token:
        raise Problem(401, "Unauthorized", "a bearer token is required", headers=UNAUTHORIZED)
    headers = {"Cache-Control": CACHE_CONTROL, "Vary": "Authorization, Accept-Encoding"}
    async with LazyConnection(request.app.state.pool) as connect:
        remembered_caller(request, token) or await authenticate(request, token, await connect())
        if not MIN_ZOOM <= z <= MAX_ZOOM:
            return Response(status_code=204, headers=headers)
        conn = await connect()
        version = (await (await conn.execute(VERSION_SQL)).fetchone())[0]
        tag = etag(version, z, x, y)
        if _matches(request, tag):
            return Response(status_code=304, headers={**headers, "ETag": f'"{tag}"'})
        tile = CACHE.get(tag)
        if tile is None:
            cur = await conn.execute(TILE_SQL, tile_params(z, x, y), binary=True)
            tile = Tile(bytes((await cur.fetchone())[0]))
            CACHE.put(tag, tile)
    return _tile_response(request, tile, tag, headers)


@router.get("/basemap/labels", summary="Place labels of the offline basemap (GeoJSON points)",
            response_class=Response,
            responses={200: {"content": {"application/geo+json": {}},
                             "description": "a FeatureCollection of labelled points"}})
async def labels(request: Request,
                 bbox: str = Query(..., description="minlon,minlat,maxlon,maxlat"),
                 zoom: int = Query(..., ge=0, le=22),
                 principal: Principal = Depends(get_principal),
                 conn=Depends(get_conn)) -> Response:
    unknown = set(request.query_params) - {"bbox", "zoom", "access_token"}
    if unknown:
        raise bad(f"unknown query parameter(s): {', '.join(sorted(unknown))}")
    box = parse_bbox(bbox, None)
    cur = await conn.execute(LABELS_SQL, {"z": zoom, "x1": box.xmin, "y1": box.ymin,
                                          "x2": box.xmax, "y2": box.ymax, "limit": MAX_LABELS})
    features = [{"type": "Feature", "geometry": {"type": "Point",
                                                 "coordinates": [round(x, 7), round(y, 7)]},
                 "properties": {"name": name, "class": cls}}
                for name, cls, x, y in await cur.fetchall()]
    return Response(orjson.dumps({"type": "FeatureCollection", "features": features}),
                    media_type="application/geo+json")
