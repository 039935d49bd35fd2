"""Downloads of a collection: GET /collections/{id}/export?format=geojson|csv|gpkg.

The same parameters as the items (bbox, datetime, property filters, CQL2 filter, crs), no paging,
in the caller's scope. The body is streamed (api/ogc/export.py)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse

from api.deps import get_principal
from api.ogc import export
from api.problems import Problem
from api.routers.ogc import collection_or_404, items_query
from gis.scope import Principal

router = APIRouter(tags=["Exports"])


@router.get("/collections/{collectionId}/export", summary="Download a collection",
            response_class=StreamingResponse,
            responses={200: {"content": {f.media_type: {} for f in export.FORMATS.values()},
                             "description": "the whole filtered collection as a file"}})
async def export_collection(
    request: Request,
    collection_id: str = Path(alias="collectionId"),
    format_: str = Query("geojson", alias="format",
                         json_schema_extra={"enum": list(export.FORMATS)},
                         description="geojson, csv (geometry as WKT) or gpkg (GeoPackage)"),
    principal: Principal = Depends(get_principal),
) -> StreamingResponse:
    c = collection_or_404(collection_id)
    fmt = export.FORMATS.get(format_)
    if fmt is None:
        raise Problem(400, "Bad Request", f"unsupported format {format_!r}; one of "
                      f"{', '.join(export.FORMATS)}")
    q = items_query(request, c, frozenset({"format"}), paging=False)
    pool = request.app.state.pool
    headers = {"Content-Disposition": f'attachment; filename="{c.id}.{fmt.suffix}"',
               "Content-Crs": f"<{q.crs.uri}>"}
    if fmt.name == "gpkg":
        path = await export.write_gpkg(pool, c, principal, q)
        body = export.stream_file(path)
    elif fmt.name == "csv":
        body = export.csv_rows(pool, c, principal, q)
    else:
        body = export.geojson(pool, c, principal, q)
    return StreamingResponse(body, media_type=fmt.media_type, headers=headers)
