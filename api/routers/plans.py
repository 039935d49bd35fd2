"""Router: planner editing — plans (drafts), edits, validation, publish, undo, history, diff.

Writes need the plan's version, as If-Match (the plan's ETag) or a `version` field; a stale one is
a 409 carrying the current version. Rejected edits are 422 problems listing the violations, each
naming areas and a GeoJSON geometry; nothing is written then.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from psycopg import AsyncConnection

from api.db import get_conn
from api.deps import require_roles
from api.problems import Problem
from gis.editing import history as hist
from gis.editing import plan_scope
from gis.editing import plans as store
from gis.editing.plans import PlanError
from gis.editing.validate import as_json, validate_area
from gis.levels import level as get_level
from gis.scope import Principal, scope_filter

router = APIRouter(tags=["plans"])
planner = require_roles("planner", "admin")
STATUS = {"not_found": 404, "conflict": 409, "invalid": 422, "forbidden": 403, "required": 428}
TITLES = {404: "Not Found", 409: "Conflict", 422: "Edit rejected", 403: "Forbidden",
          428: "Precondition Required"}
STATUS_PATTERN = "^(draft|published|discarded|undone)$"


def _problem(exc: PlanError) -> Problem:
    status = STATUS[exc.kind]
    return Problem(status, TITLES[status], exc.message, **exc.extra)


def _etag(version: int) -> str:
    return f'"{version}"'


def _version(if_match: str | None, body: dict | None = None) -> int | None:
    """The version a write is based on: the body's `version` or the If-Match ETag."""
    if body and body.get("version") is not None:
        try:
            return int(body["version"])
        except (TypeError, ValueError):
            raise Problem(400, "Invalid request", "version must be an integer") from None
    if not if_match or if_match.strip() == "*":
        return None
    tag = if_match.split(",")[0].strip().removeprefix("W/").strip('"')
    try:
        return int(tag)
    except ValueError:
        raise Problem(400, "Invalid request", f"If-Match {if_match!r} is not a plan ETag") from None


def _plan_json(plan: dict[str, Any], full: bool = True) -> dict[str, Any]:
    out = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in plan.items()
           if full or k not in ("preview", "changes", "base")}
    if not full:
        out["edits"] = len(plan["changes"])
    return out


def _with_etag(body: dict, version: int, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"ETag": _etag(version)})


def _table(level: str) -> str:
    try:
        lv = get_level(level)
    except KeyError as exc:
        raise Problem(404, "Not Found", str(exc)) from None
    return lv.table


async def _plan(conn: AsyncConnection, plan_id: int, principal: Principal) -> dict[str, Any]:
    """The plan, if the caller may see it: a planner bound to areas gets a 404 for plans that
    touch areas outside them, exactly as for a plan that does not exist."""
    plan = await _run(store.get_plan(conn, plan_id))
    if not await plan_scope.plan_visible(conn, principal, plan):
        raise Problem(404, "Not Found", f"no plan {plan_id}")
    return plan


async def _area_inside(conn: AsyncConnection, principal: Principal, level: str,
                       code: str) -> None:
    """404, as for an unknown code, when the area lies outside a bound planner's areas."""
    if not await plan_scope.code_inside(conn, principal, code):
        raise Problem(404, "Not Found", f"no current {level} {code}")


async def _run(coro):
    try:
        return await coro
    except PlanError as exc:
        raise _problem(exc) from None


@router.post("/plans", status_code=201, summary="Create a draft plan")
async def create_plan(body: dict = Body(..., examples=[{"name": "调整翠苑社区微网格"}]),
                      principal: Principal = Depends(planner),
                      conn: AsyncConnection = Depends(get_conn)) -> JSONResponse:
    name = body.get("name")
    if not isinstance(name, str):
        raise Problem(422, "Invalid request", "a plan needs a 'name'")
    plan = await _run(store.create_plan(conn, name, principal.username,
                                        str(body.get("note", ""))))
    return _with_etag(_plan_json(plan), plan["version"], 201)


@router.get("/plans", summary="List plans")
async def list_plans(status: str | None = Query(None, pattern=STATUS_PATTERN),
                     principal: Principal = Depends(planner),
                     conn: AsyncConnection = Depends(get_conn)) -> dict:
    return {"plans": [_plan_json(p, full=False) for p in await store.list_plans(conn, status)
                      if await plan_scope.plan_visible(conn, principal, p)]}


@router.get("/plans/{plan_id}", summary="A plan: its edits, preview and version (ETag)")
async def get_plan(plan_id: int, principal: Principal = Depends(planner),
                   conn: AsyncConnection = Depends(get_conn)) -> JSONResponse:
    plan = await _plan(conn, plan_id, principal)
    return _with_etag(_plan_json(plan), plan["version"])


@router.post("/plans/{plan_id}/edits", summary="Add an edit to a draft (validated first)")
async def add_edit(request: Request, plan_id: int, body: dict = Body(...),
                   if_match: str | None = Header(None),
                   principal: Principal = Depends(planner),
                   conn: AsyncConnection = Depends(get_conn)) -> JSONResponse:
    version = _version(if_match, body)
    await _plan(conn, plan_id, principal)
    out = await _run(store.edit(conn, plan_id, version, body, principal.username,
                                request.app.state.settings, principal.scope,
                                str(body.get("reason", ""))))
    plan = out["plan"]
    return _with_etag({"plan": _plan_json(plan), "warnings": out["warnings"]}, plan["version"])


@router.delete("/plans/{plan_id}/edits/last", summary="Take the last edit out of a draft")
async def drop_edit(request: Request, plan_id: int, if_match: str | None = Header(None),
                    principal: Principal = Depends(planner),
                    conn: AsyncConnection = Depends(get_conn)) -> JSONResponse:
    await _plan(conn, plan_id, principal)  # someone else's draft outside your areas: 404
    plan = await _run(store.drop_last_edit(conn, plan_id, _version(if_match), principal.username,
                                           request.app.state.settings, principal.scope))
    return _with_etag(_plan_json(plan), plan["version"])


GEOJSON_200 = {200: {"content": {"application/geo+json": {"schema": {"type": "object"}}},
                     "description": "a GeoJSON FeatureCollection"}}


@router.get("/plans/{plan_id}/preview", summary="The areas a plan changes, as GeoJSON",
            response_class=Response, responses=GEOJSON_200)
async def preview(plan_id: int, principal: Principal = Depends(planner),
                  conn: AsyncConnection = Depends(get_conn)) -> JSONResponse:
    plan = await _plan(conn, plan_id, principal)
    body = plan["preview"] or {"type": "FeatureCollection", "features": []}
    return JSONResponse(body, media_type="application/geo+json",
                        headers={"ETag": _etag(plan["version"])})


@router.get("/plans/{plan_id}/validate", summary="Validate a plan as publishing would")
async def validate_plan(request: Request, plan_id: int,
                        principal: Principal = Depends(planner),
                        conn: AsyncConnection = Depends(get_conn)) -> dict:
    await _plan(conn, plan_id, principal)
    return await _run(store.check_plan(conn, plan_id, request.app.state.settings,
                                       principal.scope))


@router.post("/plans/{plan_id}/publish", summary="Publish a draft atomically if it validates")
async def publish(request: Request, plan_id: int, body: dict | None = Body(None),
                  if_match: str | None = Header(None), principal: Principal = Depends(planner),
                  conn: AsyncConnection = Depends(get_conn)) -> JSONResponse:
    body = body or {}
    await _plan(conn, plan_id, principal)
    out = await _run(store.publish(conn, plan_id, _version(if_match, body), principal.username,
                                   request.app.state.settings, principal.scope,
                                   str(body.get("reason", ""))))
    out["plan"] = _plan_json(out["plan"], full=False)
    return _with_etag(out, out["plan"]["version"])


@router.post("/plans/{plan_id}/discard", summary="Discard a draft")
async def discard(plan_id: int, body: dict | None = Body(None),
                  if_match: str | None = Header(None), principal: Principal = Depends(planner),
                  conn: AsyncConnection = Depends(get_conn)) -> JSONResponse:
    body = body or {}
    await _plan(conn, plan_id, principal)
    plan = await _run(store.discard(conn, plan_id, _version(if_match, body), principal.username,
                                    str(body.get("reason", ""))))
    return _with_etag(_plan_json(plan, full=False), plan["version"])


@router.post("/plans/undo", summary="Undo the last published plan")
async def undo(body: dict | None = Body(None), principal: Principal = Depends(planner),
               conn: AsyncConnection = Depends(get_conn)) -> dict:
    body = body or {}
    plan = await _run(store.undo_last(conn, principal.username, principal.scope,
                                      body.get("plan_id"), str(body.get("reason", ""))))
    return {"plan": _plan_json(plan, full=False)}


@router.get("/areas/{level}/{code}", summary="One current area's version (ETag) and households")
async def area(level: str, code: str, principal: Principal = Depends(planner),
               conn: AsyncConnection = Depends(get_conn)) -> JSONResponse:
    table = _table(level)
    await _area_inside(conn, principal, level, code)
    cur = await conn.execute(f"SELECT id, code, name, households, version FROM {table} "
                             "WHERE code = %s AND valid_to IS NULL", (code,))
    row = await cur.fetchone()
    if row is None:
        raise Problem(404, "Not Found", f"no current {level} {code}")
    return _with_etag(dict(zip(("id", "code", "name", "households", "version"), row,
                               strict=True)), row[4])


@router.get("/validate/{level}/{code}", summary="Validate one area (its children and itself)")
async def validate(request: Request, level: str, code: str,
                   principal: Principal = Depends(planner),
                   conn: AsyncConnection = Depends(get_conn)) -> dict:
    table = _table(level)
    await _area_inside(conn, principal, level, code)
    parent = "NULL::bigint" if table == "streets" else "parent_id"
    cur = await conn.execute(f"SELECT id, {parent}, version FROM {table} "
                             "WHERE code = %s AND valid_to IS NULL", (code,))
    row = await cur.fetchone()
    if row is None:
        raise Problem(404, "Not Found", f"no current {level} {code}")
    found = await validate_area(conn, table, row[0], code, row[1], request.app.state.settings)
    return {"code": code, "version": row[2], "valid": not found,
            "violations": [as_json(v) for v in found]}


@router.get("/history/{level}/{code}", summary="Boundary versions and audit entries of an area")
async def area_history(level: str, code: str, principal: Principal = Depends(planner),
                       conn: AsyncConnection = Depends(get_conn)) -> dict:
    table = _table(level)
    await _area_inside(conn, principal, level, code)
    return await _run(hist.history(conn, table, code))


@router.get("/history/{level}/{code}/diff", summary="Diff of two versions of an area (GeoJSON)",
            response_class=Response, responses=GEOJSON_200)
async def area_diff(level: str, code: str, a: int = Query(..., ge=1),
                    b: int = Query(..., ge=1), principal: Principal = Depends(planner),
                    conn: AsyncConnection = Depends(get_conn)) -> JSONResponse:
    table = _table(level)
    await _area_inside(conn, principal, level, code)
    body = await _run(hist.diff(conn, table, code, a, b))
    return JSONResponse(body, media_type="application/geo+json")


DRAFT_TILE_SQL = """
WITH env AS (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS e),
feats AS (
    SELECT f FROM plans, jsonb_array_elements(preview->'features') f
    WHERE id = %(plan)s AND f->'properties'->>'layer' = %(table)s),
hidden AS (
    SELECT (f->'properties'->>'id')::bigint AS id FROM feats
    UNION ALL
    SELECT (r->>'id')::bigint FROM plans, jsonb_array_elements(preview->'retired') r
    WHERE id = %(plan)s AND r->>'layer' = %(table)s),
src AS (
    SELECT t.code, t.name, t.households, 'current' AS status, t.geom_3857 AS g
    FROM {table} t, env WHERE t.valid_to IS NULL AND t.geom_3857 && env.e
      AND t.id NOT IN (SELECT id FROM hidden) AND {in_scope}
    UNION ALL
    SELECT f->'properties'->>'code', f->'properties'->>'name',
           (f->'properties'->>'households')::int, f->'properties'->>'status',
           ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(f->'geometry'), 4326), 3857)
    FROM feats)
SELECT ST_AsMVT(q, %(layer)s, 4096, 'geom') FROM (
    SELECT code, name, households, status, ST_AsMVTGeom(g, env.e, 4096, 64, true) AS geom
    FROM src, env WHERE g && env.e ORDER BY code) q
"""


@router.get("/plans/{plan_id}/tiles/{layer}/{z}/{x}/{y}.pbf",
            summary="A draft's own vector tiles (current areas with the plan applied)")
async def draft_tile(plan_id: int, layer: str, z: int, x: int, y: int,
                     principal: Principal = Depends(planner),
                     conn: AsyncConnection = Depends(get_conn)) -> Response:
    tables = {"micro-grids": "micro_grids", "grids": "grids"}
    if layer not in tables:
        raise Problem(404, "Not Found", "draft tiles exist for micro-grids and grids")
    if not (0 <= z <= 22 and 0 <= x < 2**z and 0 <= y < 2**z):
        raise Problem(400, "Invalid request", "tile coordinates out of range")
    plan = await _plan(conn, plan_id, principal)
    in_scope, params = scope_filter(tables[layer], "t", principal)
    cur = await conn.execute(DRAFT_TILE_SQL.format(table=tables[layer], in_scope=in_scope),
                             {**params, "z": z, "x": x, "y": y, "plan": plan_id,
                              "table": tables[layer], "layer": layer})
    data = (await cur.fetchone())[0] or b""
    return Response(bytes(data), media_type="application/vnd.mapbox-vector-tile",
                    headers={"ETag": f'"plan{plan_id}-v{plan["version"]}"',
                             "Cache-Control": "private, no-cache"})
