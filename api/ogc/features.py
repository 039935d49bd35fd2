"""SQL for feature pages, single features and extents: GeoJSON is assembled by PostGIS."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from psycopg import AsyncConnection

from api.ogc.params import DEFAULT_CRS, BBox, Crs
from api.ogc.registry import Collection
from gis.routing import NoSuchIncident, street_of
from gis.scope import Principal, scope_filter


@dataclass
class Query:
    """A validated items request."""

    limit: int = 100
    offset: int = 0
    after: int | None = None  # keyset paging: only ids above this one
    bbox: BBox | None = None
    interval: tuple[datetime | None, datetime | None] | None = None
    filters: dict[str, object] = field(default_factory=dict)
    cql: tuple[str, dict] | None = None  # a translated CQL2 filter: (SQL, parameters)
    crs: Crs = DEFAULT_CRS


def geometry_sql(crs: Crs) -> str:
    """t.geom in the output CRS, in its axis order (stored: EPSG:4326, lon/lat)."""
    geom = "t.geom" if crs.srid == 4326 else f"ST_Transform(t.geom, {crs.srid})"
    return f"ST_FlipCoordinates({geom})" if crs.lat_first else geom


def _feature_sql(c: Collection, crs: Crs = DEFAULT_CRS) -> str:
    props = ", ".join(f"'{name}', {expr}" for name, expr in c.properties.items())
    return ("json_build_object('type', 'Feature', 'id', t.id, "
            f"'geometry', ST_AsGeoJSON({geometry_sql(crs)}, {crs.digits})::json, "
            f"'properties', json_build_object({props}))")


def _where(c: Collection, principal: Principal, q: Query | None) -> tuple[str, dict]:
    fragment, params = scope_filter(c.table, "t", principal)
    parts = [fragment]
    if c.current_only:
        parts.append("t.valid_to IS NULL")
    if q is not None:
        if q.after is not None:
            parts.append("t.id > %(after)s")
            params["after"] = q.after
        if q.bbox is not None:
            env = "ST_MakeEnvelope(%(bx1)s, %(by1)s, %(bx2)s, %(by2)s, %(bsrid)s)"
            if q.bbox.srid != 4326:
                env = f"ST_Transform({env}, 4326)"
            parts.append(f"ST_Intersects(t.geom, {env})")
            params.update(bx1=q.bbox.xmin, by1=q.bbox.ymin, bx2=q.bbox.xmax, by2=q.bbox.ymax,
                          bsrid=q.bbox.srid)
        if q.interval is not None and c.temporal:
            start, end = q.interval
            if start is not None:
                parts.append(f"t.{c.temporal} >= %(dt_start)s")
                params["dt_start"] = start
            if end is not None:
                parts.append(f"t.{c.temporal} <= %(dt_end)s")
                params["dt_end"] = end
        for name, value in q.filters.items():
            parts.append(c.filters[name])
            params[name] = value
        if q.cql is not None:
            parts.append(q.cql[0])
            params.update(q.cql[1])
    return " AND ".join(parts), params


async def page(conn: AsyncConnection, c: Collection, principal: Principal,
               q: Query) -> tuple[str, int, int, int | None]:
    """(features JSON array text, numberReturned, numberMatched, last id) for one page, in one
    query."""
    where, params = _where(c, principal, q)
    params.update(limit=q.limit, offset=q.offset)
    sql = f"""
    WITH p AS (
        SELECT t.id, {_feature_sql(c, q.crs)} AS f FROM {c.table} t
        WHERE {where} ORDER BY t.id LIMIT %(limit)s OFFSET %(offset)s
    )
    SELECT COALESCE((SELECT json_agg(p.f ORDER BY p.id)::text FROM p), '[]'),
           (SELECT count(*) FROM p),
           (SELECT count(*) FROM {c.table} t WHERE {where}),
           (SELECT max(p.id) FROM p)
    """
    cur = await conn.execute(sql, params)
    text, returned, matched, last = await cur.fetchone()
    return text, returned, matched, last


async def one(conn: AsyncConnection, c: Collection, principal: Principal,
              fid: int, crs: Crs = DEFAULT_CRS) -> str | None:
    """One feature's GeoJSON text, or None when it is absent or out of the caller's scope.
    An incident is read with its street (gis.routing.street_of): one shard on Citus."""
    where, params = _where(c, principal, None)
    params["fid"] = fid
    if c.table == "incidents":
        try:
            params["route_street"] = await street_of(conn, fid)
        except NoSuchIncident:
            return None
        where += (" AND t.street_id IS NULL" if params["route_street"] is None
                  else " AND t.street_id = %(route_street)s")
    sql = f"SELECT {_feature_sql(c, crs)}::text FROM {c.table} t WHERE t.id = %(fid)s AND {where}"
    cur = await conn.execute(sql, params)
    row = await cur.fetchone()
    return row[0] if row else None


async def extent(conn: AsyncConnection, c: Collection,
                 principal: Principal) -> tuple[list[float] | None, list[str | None] | None]:
    """The spatial (and temporal) extent of the rows the caller may see."""
    where, params = _where(c, principal, None)
    temporal = (f", min(t.{c.temporal}), max(t.{c.temporal})" if c.temporal
                else ", NULL::timestamptz, NULL::timestamptz")
    sql = (f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), lo, hi FROM "
           f"(SELECT ST_Extent(t.geom){temporal} "
           f"FROM {c.table} t WHERE {where}) x(e, lo, hi)")
    cur = await conn.execute(sql, params)
    x1, y1, x2, y2, lo, hi = await cur.fetchone()
    bbox = [round(v, 7) for v in (x1, y1, x2, y2)] if x1 is not None else None
    interval = None
    if c.temporal:
        interval = [lo.isoformat().replace("+00:00", "Z") if lo else None,
                    hi.isoformat().replace("+00:00", "Z") if hi else None]
    return bbox, interval


def export_sql(c: Collection, principal: Principal, q: Query,
               geometry: str) -> tuple[str, dict]:
    """Every row the items request `q` matches (no paging), ordered by id, for an export.

    geometry "feature": one GeoJSON Feature text per row; "wkt" / "wkb": the row's id, its
    properties in registry order and the geometry in q.crs (x/y = lon/lat for "wkb", which
    GeoPackage wants, and the CRS's own axis order for "wkt")."""
    where, params = _where(c, principal, q)
    if geometry == "feature":
        select = f"{_feature_sql(c, q.crs)}::text"
    else:
        props = ", ".join(c.properties.values())
        if geometry == "wkb":
            geom = "t.geom" if q.crs.srid == 4326 else f"ST_Transform(t.geom, {q.crs.srid})"
            select = f"t.id, {props}, ST_AsBinary({geom})"
        else:
            select = f"t.id, {props}, ST_AsText({geometry_sql(q.crs)}, {q.crs.digits})"
    return f"SELECT {select} FROM {c.table} t WHERE {where} ORDER BY t.id", params
