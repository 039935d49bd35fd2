"""The roster API (/people): workers, departments, their accounts and assignments.

Admins manage everyone; a commander bound to a street manages the people of its jurisdiction
(403 outside it). Edits need the version seen (If-Match or "version"): none is a 428, a stale one
a 409. A bulk import is checked row by row and written all or nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import JSONResponse
from psycopg import AsyncConnection
from pydantic import BaseModel, ConfigDict, Field

from api.db import get_conn
from api.deps import require_roles
from api.problems import Problem
from gis import roster
from gis.scope import Principal

router = APIRouter(prefix="/people", tags=["people"])
managers = require_roles("admin", "commander")
TITLES = {403: "Forbidden", 404: "Not Found", 409: "Conflict", 422: "Unprocessable request",
          428: "Precondition Required"}


class WorkerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    phone: str | None = Field(None, max_length=40)
    code: str | None = Field(None, max_length=64, description="roster number (unique)")
    username: str | None = Field(None, pattern=r"^[A-Za-z0-9_.@-]{1,64}$",
                                 description="creates a worker account")
    password: str | None = Field(None, min_length=8, max_length=200)


class WorkerEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=100)
    phone: str | None = Field(None, max_length=40)
    active: bool | None = Field(None, description="false disables the worker and its account")
    password: str | None = Field(None, min_length=8, max_length=200)
    version: int | None = Field(None, ge=1, le=2**31 - 1)


class DepartmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    name: str = Field(min_length=1, max_length=100)
    kind: str = Field(description=", ".join(roster.DEPARTMENT_KINDS))
    street_code: str | None = Field(None, description="the street it serves (none: district)")
    username: str | None = Field(None, pattern=r"^[A-Za-z0-9_.@-]{1,64}$")
    password: str | None = Field(None, min_length=8, max_length=200)


class DepartmentEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=100)
    kind: str | None = None
    active: bool | None = None
    version: int | None = Field(None, ge=1, le=2**31 - 1)


class AssignmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    area: str = Field(description="area code (9, 12, 15 or 18 digits)")
    role: str = Field(description=", ".join(roster.ROLE_LABELS))
    starts_on: date | None = Field(None, description="default: today in the district")
    ends_on: date | None = Field(None, description="first day without access (none: open)")


class AssignmentEnd(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ends_on: date | None = Field(None, description="default: today (access ends at once)")


class ImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rows: list[dict[str, str | None]] = Field(min_length=1, max_length=10_000)
    dry_run: bool = False


def _version(if_match: str | None, body_version: int | None) -> int | None:
    if body_version is not None:
        return body_version
    if if_match is None:
        return None
    try:
        return int(if_match.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise Problem(400, "Invalid request", f"If-Match {if_match!r} is not a version ETag") \
            from None


def _with_etag(body: dict, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"ETag": f'"{body["version"]}"'})


async def _run(conn: AsyncConnection, coro_factory):
    try:
        async with conn.transaction():
            return await coro_factory()
    except roster.RosterError as exc:
        raise Problem(exc.status, TITLES.get(exc.status, "Error"), str(exc), **exc.extra) \
            from None


@router.get("", summary="Workers and departments you manage")
async def list_people(q: str = Query("", max_length=100), limit: int = Query(500, ge=1, le=5000),
                      principal: Principal = Depends(managers),
                      conn: AsyncConnection = Depends(get_conn)) -> dict:
    return await roster.list_people(conn, principal, q, limit)


@router.get("/options", summary="Worker roles and department kinds with their labels")
async def options(_: Principal = Depends(managers)) -> dict:
    return {"roles": [{"key": k, "zh": zh, "en": en} for k, (zh, en) in roster.ROLE_LABELS.items()],
            "department_kinds": [{"key": k, "zh": zh, "en": en}
                                 for k, (zh, en) in roster.DEPARTMENT_KINDS.items()]}


@router.get("/areas", summary="Areas in your jurisdiction by code prefix or name")
async def areas(q: str = Query(..., min_length=1, max_length=100),
                principal: Principal = Depends(managers),
                conn: AsyncConnection = Depends(get_conn)) -> dict:
    return {"items": await roster.search_areas(conn, principal, q)}


@router.post("/workers", status_code=201, summary="Add a worker (and a worker account)")
async def create_worker(body: WorkerIn, principal: Principal = Depends(managers),
                        conn: AsyncConnection = Depends(get_conn)) -> JSONResponse:
    worker = await _run(conn, lambda: roster.create_worker(
        conn, principal, body.name, body.phone, body.code, body.username, body.password))
    return _with_etag(worker, 201)


@router.get("/workers/{worker_id}", summary="One worker with its assignments")
async def get_worker(worker_id: int, principal: Principal = Depends(managers),
                     conn: AsyncConnection = Depends(get_conn)) -> JSONResponse:
    return _with_etag(await _run(conn, lambda: roster.get_worker(conn, principal, worker_id)))


@router.patch("/workers/{worker_id}", summary="Edit, disable or re-enable a worker")
async def edit_worker(worker_id: int, body: WorkerEdit,
                      if_match: Annotated[str | None, Header()] = None,
                      principal: Principal = Depends(managers),
                      conn: AsyncConnection = Depends(get_conn)) -> JSONResponse:
    version = _version(if_match, body.version)
    return _with_etag(await _run(conn, lambda: roster.update_worker(
        conn, principal, worker_id, version, body.name, body.phone, body.active, body.password)))


@router.post("/workers/{worker_id}/assignments", status_code=201,
             summary="Assign a worker to an area with start and end dates")
async def assign(worker_id: int, body: AssignmentIn, principal: Principal = Depends(managers),
                 conn: AsyncConnection = Depends(get_conn)) -> JSONResponse:
    return _with_etag(await _run(conn, lambda: roster.assign(
        conn, principal, worker_id, body.area, body.role, body.starts_on, body.ends_on)), 201)


@router.post("/assignments/{assignment_id}/end", summary="End an assignment on a date")
async def end_assignment(assignment_id: int, body: AssignmentEnd,
                         principal: Principal = Depends(managers),
                         conn: AsyncConnection = Depends(get_conn)) -> JSONResponse:
    return _with_etag(await _run(conn, lambda: roster.end_assignment(
        conn, principal, assignment_id, body.ends_on)))


@router.post("/departments", status_code=201, summary="Add a department (职能部门)")
async def create_department(body: DepartmentIn, principal: Principal = Depends(managers),
                            conn: AsyncConnection = Depends(get_conn)) -> JSONResponse:
    return _with_etag(await _run(conn, lambda: roster.create_department(
        conn, principal, body.code, body.name, body.kind, body.street_code, body.username,
        body.password)), 201)


@router.patch("/departments/{dept_id}", summary="Edit or disable a department")
async def edit_department(dept_id: int, body: DepartmentEdit,
                          if_match: Annotated[str | None, Header()] = None,
                          principal: Principal = Depends(managers),
                          conn: AsyncConnection = Depends(get_conn)) -> JSONResponse:
    version = _version(if_match, body.version)
    return _with_etag(await _run(conn, lambda: roster.update_department(
        conn, principal, dept_id, version, body.name, body.kind, body.active)))


@router.post("/import", status_code=201, summary="Import workers and assignments (all or nothing)",
             responses={200: {"description": "dry run: what would be written (nothing is)"}})
async def import_workers(body: ImportIn, principal: Principal = Depends(managers),
                         conn: AsyncConnection = Depends(get_conn)) -> JSONResponse:
    """Rows as in `wangge import workers` (code, name, phone, username, role, area, starts_on,
    ends_on). Any bad row: 422 with the row report, nothing written."""

    class Rejected(Exception):
        pass

    result = None
    try:
        async with conn.transaction():
            result = await roster.import_workers(conn, principal, body.rows, body.dry_run)
            if result.issues or body.dry_run:
                raise Rejected
    except Rejected:
        pass
    except roster.RosterError as exc:
        raise Problem(exc.status, TITLES.get(exc.status, "Error"), str(exc)) from None
    if result.issues:
        raise Problem(422, "Rows rejected", f"{len(result.issues)} of {result.read} rows "
                      "rejected; nothing written", **result.as_json())
    return JSONResponse(result.as_json(), status_code=200 if body.dry_run else 201)
