"""OGC API – Features Part 1: landing page, conformance, collections and their items.

Pages are assembled by PostGIS (json_build_object, ST_AsGeoJSON(geom, 7)); Python only adds the
envelope (links, counts). Every data query is confined to the caller's scope.
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from psycopg import AsyncConnection

from api.db import get_conn
from api.deps import get_principal
from api.ogc import cql, features, links, params, registry
from api.ogc.links import GEOJSON, JSON, OPENAPI, QUERYABLES_REL, SCHEMA, base, link, with_query
from api.problems import Problem
from gis.scope import Principal
from tiles import versions

router = APIRouter(tags=["OGC API – Features"])
TILESETS_REL = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
AUTH_PARAMS = {"f", "access_token", "apikey"}
_extent_cache: dict[tuple, tuple] = {}


def _json(body: object, media_type: str = JSON) -> Response:
    return Response(orjson.dumps(body), media_type=media_type)


def _format(request: Request) -> None:
    f = request.query_params.get("f")
    if f is not None and f not in links.FORMAT_VALUES:
        raise params.bad(f"unsupported format f={f!r}: this API serves JSON only")


def collection_or_404(cid: str) -> registry.Collection:
    """The registry entry of collection `cid`, or a 404 problem naming the collections."""
    c = registry.get(cid)
    if c is None:
        raise Problem(404, "Not Found", f"no collection {cid!r}; collections: "
                      f"{', '.join(registry.COLLECTIONS)}")
    return c


@router.get("/", summary="Landing page")
async def landing(request: Request) -> Response:
    params.check_known(dict(request.query_params), {"f"})
    _format(request)
    b = base(request)
    return _json({
        "title": "Wangge 网格 API",
        "description": "Streets, communities, grids, micro-grids, buildings, incidents and "
                       "patrol points as OGC API Features and vector tiles.",
        "links": [
            link(f"{b}/", "self", JSON, "this document"),
            link(f"{b}/openapi.json", "service-desc", OPENAPI, "the API definition"),
            link(f"{b}/docs", "service-doc", "text/html", "the API documentation"),
            link(f"{b}/conformance", "conformance", JSON, "conformance classes"),
            link(f"{b}/collections", "data", JSON, "the feature collections"),
            link(f"{b}/tileMatrixSets", "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes",
                 JSON, "tile matrix sets"),
        ],
    })


@router.get("/conformance", summary="Conformance classes")
async def conformance(request: Request) -> Response:
    params.check_known(dict(request.query_params), {"f"})
    _format(request)
    return _json({"conformsTo": links.CONFORMANCE})


async def _extent(conn: AsyncConnection, c: registry.Collection, principal: Principal,
                  layer_versions: dict[str, int]) -> dict:
    key = (c.id, layer_versions[c.table], versions.scope_key(principal))
    if key not in _extent_cache:
        if len(_extent_cache) > 1000:
            _extent_cache.clear()
        _extent_cache[key] = await features.extent(conn, c, principal)
    bbox, interval = _extent_cache[key]
    out: dict = {"spatial": {"bbox": [bbox or [-180.0, -90.0, 180.0, 90.0]],
                             "crs": params.CRS84}}
    if interval is not None:
        out["temporal"] = {"interval": [interval],
                           "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    return out


async def _describe(request: Request, conn: AsyncConnection, c: registry.Collection,
                    principal: Principal, layer_versions: dict[str, int]) -> dict:
    url = f"{base(request)}/collections/{c.id}"
    return {
        "id": c.id, "title": c.title, "description": c.description, "itemType": "feature",
        "crs": list(params.CRS_LIST), "storageCrs": params.CRS84,
        "extent": await _extent(conn, c, principal, layer_versions),
        "links": [
            link(url, "self", JSON, c.title),
            link(f"{url}/items", "items", GEOJSON, "the features"),
            link(f"{url}/schema", "describedby", SCHEMA, "the features' schema"),
            link(f"{url}/queryables", QUERYABLES_REL, SCHEMA, "what a filter may name"),
            link(f"{url}/queryables", "queryables", JSON, "what a filter may name"),
            link(f"{url}/tiles", TILESETS_REL, JSON, "vector tilesets"),
        ],
    }


@router.get("/collections", summary="The feature collections")
async def collections(request: Request, principal: Principal = Depends(get_principal),
                      conn: AsyncConnection = Depends(get_conn)) -> Response:
    params.check_known(dict(request.query_params), AUTH_PARAMS)
    _format(request)
    layer_versions = await versions.versions(conn)
    b = base(request)
    return _json({
        "links": [link(f"{b}/collections", "self", JSON, "the collections")],
        "collections": [await _describe(request, conn, c, principal, layer_versions)
                        for c in registry.COLLECTIONS.values()],
    })


@router.get("/collections/{collection_id}", summary="One collection")
async def collection(collection_id: str, request: Request,
                     principal: Principal = Depends(get_principal),
                     conn: AsyncConnection = Depends(get_conn)) -> Response:
    c = collection_or_404(collection_id)
    params.check_known(dict(request.query_params), AUTH_PARAMS)
    _format(request)
    layer_versions = await versions.versions(conn)
    return _json(await _describe(request, conn, c, principal, layer_versions))


@router.get("/collections/{collection_id}/schema", summary="The JSON schema of a collection")
async def schema(collection_id: str, request: Request,
                 principal: Principal = Depends(get_principal)) -> Response:
    c = collection_or_404(collection_id)
    params.check_known(dict(request.query_params), AUTH_PARAMS)
    props = {name: {"type": [kind, "null"]} for name, kind in c.types.items()}
    return _json({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base(request)}/collections/{c.id}/schema",
        "title": c.title, "type": "object",
        "properties": {"geometry": {"format": "geometry-" + c.geometry.lower()},
                       "id": {"type": "integer", "x-ogc-role": "id"}, **props},
    }, SCHEMA)


@router.get("/collections/{collection_id}/queryables",
            summary="The properties a CQL2 filter may name", response_class=Response,
            responses={200: {"content": {SCHEMA: {}, JSON: {}},
                             "description": "a JSON Schema of the queryables"}})
async def queryables(collection_id: str, request: Request,
                     principal: Principal = Depends(get_principal)) -> Response:
    c = collection_or_404(collection_id)
    params.check_known(dict(request.query_params), AUTH_PARAMS)
    names = cql.queryables(c)
    return _json({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base(request)}/collections/{c.id}/queryables",
        "type": "object", "title": c.title,
        "properties": {q.name: q.schema(c.geometry) for q in names.values()},
        "additionalProperties": False,
        # the draft's list form, which GDAL before 3.7 reads
        "queryables": [{"id": q.name, "type": q.type} for q in names.values()],
    }, _schema_or_json(request))


def _schema_or_json(request: Request) -> str:
    """application/schema+json, or plain JSON for a client that accepts only that (GDAL)."""
    accept = request.headers.get("accept", "*/*")
    return JSON if JSON in accept and SCHEMA not in accept else SCHEMA


FILTER_PARAMS = {"filter", "filter-lang", "filter-crs"}


def _cql(q: dict[str, str], c: registry.Collection) -> tuple[str, dict] | None:
    """The `filter` as (SQL, parameters), or None; 400 for a filter that cannot run."""
    if "filter" not in q:
        if "filter-lang" in q or "filter-crs" in q:
            raise params.bad("filter-lang and filter-crs need a filter")
        return None
    crs = params.parse_crs("filter-crs", q.get("filter-crs"))
    try:
        tree = cql.parse(q["filter"], q.get("filter-lang"))
        return cql.to_sql(tree, c, crs.srid, crs.lat_first)
    except cql.CqlError as exc:
        raise params.bad(str(exc)) from None


def items_query(request: Request, c: registry.Collection, extra: frozenset[str] = frozenset(),
                paging: bool = True) -> features.Query:
    """The items request's parameters, checked (400 for anything unknown or malformed)."""
    q = dict(request.query_params)
    allowed = AUTH_PARAMS | FILTER_PARAMS | extra | {
        "bbox", "bbox-crs", "datetime", "crs", *c.filters}
    if paging:
        allowed |= {"limit", "offset", "after"}
    params.check_known(q, allowed)
    _format(request)
    filters: dict[str, object] = {}
    for name in c.filters:
        if name in q:
            filters[name] = (params.parse_int(name, q[name], 0, 0) if name.endswith("_id")
                             else q[name])
    bbox = params.parse_bbox(q.get("bbox"), q.get("bbox-crs"))
    if c.detail:
        params.check_bbox_area(bbox, request.app.state.settings.max_bbox_km2, c.id)
    return features.Query(
        limit=params.parse_limit(q.get("limit")),
        offset=params.parse_offset(q.get("offset")),
        after=params.parse_int("after", q.get("after"), 0, 0) if "after" in q else None,
        bbox=bbox,
        interval=params.parse_datetime(q.get("datetime")),
        filters=filters,
        cql=_cql(q, c),
        crs=params.parse_crs("crs", q.get("crs")),
    )


def _page_links(request: Request, c: registry.Collection, q: features.Query,
                returned: int, matched: int, last: int | None) -> list[dict]:
    url = f"{base(request)}/collections/{c.id}/items"
    keep = {k: v for k, v in request.query_params.items()
            if k not in ("offset", "limit", "after")}
    if q.after is not None:
        keep["after"] = str(q.after)
    keep["limit"] = str(q.limit)
    out = [link(with_query(url, {**keep, "offset": str(q.offset)}), "self", GEOJSON,
                "this page"),
           link(f"{base(request)}/collections/{c.id}", "collection", JSON, c.title)]
    if q.offset + returned < matched:
        ahead = {**keep, "offset": str(q.offset + q.limit)}
        if q.offset + q.limit > params.MAX_OFFSET and last is not None:  # page by id beyond
            ahead = {**keep, "after": str(last)}
        out.append(link(with_query(url, ahead), "next", GEOJSON, "next page"))
    if q.offset > 0:
        out.append(link(with_query(url, {**keep, "offset": str(max(0, q.offset - q.limit))}),
                        "prev", GEOJSON, "previous page"))
    return out


def _content_crs(crs: params.Crs) -> dict[str, str]:
    return {"Content-Crs": f"<{crs.uri}>"}


# The path names its parameter collectionId, as OGC API Features' OpenAPI does: GDAL's OAPIF
# driver looks the items parameters (filter-lang and its values) up under that path.
@router.get("/collections/{collectionId}/items", summary="Features of a collection",
            response_class=Response,
            responses={200: {"content": {GEOJSON: {}}, "description": "a GeoJSON page"}})
async def items(
    request: Request,
    collection_id: str = Path(alias="collectionId"),
    limit: int = Query(params.DEFAULT_LIMIT, ge=1, json_schema_extra={"maximum": params.MAX_LIMIT},
                       description="page size (default 100, at most 10,000; larger is clamped)"),
    offset: int = Query(0, ge=0, json_schema_extra={"maximum": params.MAX_OFFSET},
                        description="at most 100,000; deeper pages follow the `next` links"),
    after: int | None = Query(None, ge=0, description="keyset paging: features with a larger "
                              "id (what `next` links use beyond the largest offset)"),
    bbox: str | None = Query(None, description="minx,miny,maxx,maxy in bbox-crs"),
    bbox_crs: str | None = Query(None, alias="bbox-crs", description="CRS84 (default), "
                                 "EPSG 4326 or EPSG 3857 URIs"),
    datetime_: str | None = Query(None, alias="datetime",
                                  description="RFC 3339 instant or interval (incidents: "
                                  "reported_at; patrol points: t)"),
    filter_: str | None = Query(None, alias="filter",
                                description="a CQL2 filter over the collection's queryables"),
    filter_lang: str | None = Query(None, alias="filter-lang",
                                    json_schema_extra={"enum": cql.FILTER_LANGS},
                                    description="cql2-text (default) or cql2-json"),
    filter_crs: str | None = Query(None, alias="filter-crs",
                                   json_schema_extra={"enum": list(params.CRS_LIST)},
                                   description="CRS of the filter's geometries (CRS84)"),
    crs: str | None = Query(None, json_schema_extra={"enum": list(params.CRS_LIST)},
                            description="CRS of the returned geometries (CRS84)"),
    principal: Principal = Depends(get_principal),
    conn: AsyncConnection = Depends(get_conn),
) -> Response:
    c = collection_or_404(collection_id)
    q = items_query(request, c)
    text, returned, matched, last = await features.page(conn, c, principal, q)
    stamp = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    envelope: dict = {"type": "FeatureCollection", "numberMatched": matched,
                      "numberReturned": returned, "timeStamp": stamp,
                      "links": _page_links(request, c, q, returned, matched, last)}
    if q.crs is not params.DEFAULT_CRS:
        # Content-Crs is the standard's signal; the 2008 GeoJSON crs member is what GDAL's
        # GeoJSON reader (and so QGIS) take the CRS of a plain items URL from.
        envelope["crs"] = {"type": "name",
                           "properties": {"name": f"urn:ogc:def:crs:EPSG::{q.crs.srid}"}}
    head = orjson.dumps(envelope)
    body = head[:-1] + b',"features":' + text.encode() + b"}"
    return Response(body, media_type=GEOJSON, headers=_content_crs(q.crs))


@router.get("/collections/{collection_id}/items/{feature_id}", summary="One feature",
            response_class=Response,
            responses={200: {"content": {GEOJSON: {}}, "description": "a GeoJSON feature"}})
async def item(collection_id: str, feature_id: str, request: Request,
               principal: Principal = Depends(get_principal),
               conn: AsyncConnection = Depends(get_conn)) -> Response:
    c = collection_or_404(collection_id)
    params.check_known(dict(request.query_params), AUTH_PARAMS | {"crs"})
    _format(request)
    crs = params.parse_crs("crs", request.query_params.get("crs"))
    try:
        fid = int(feature_id)
    except ValueError:
        raise Problem(404, "Not Found", f"no feature {feature_id!r} in {c.id}") from None
    text = await features.one(conn, c, principal, fid, crs)
    if text is None:
        raise Problem(404, "Not Found", f"no feature {feature_id!r} in {c.id}")
    feature = orjson.loads(text)
    url = f"{base(request)}/collections/{c.id}"
    feature["links"] = [link(f"{url}/items/{fid}", "self", GEOJSON, "this feature"),
                        link(url, "collection", JSON, c.title)]
    return Response(orjson.dumps(feature), media_type=GEOJSON, headers=_content_crs(crs))
