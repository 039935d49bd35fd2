"""The feature collections served over OGC API – Features and as vector tiles, in one place."""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Collection:
    """One served table: its id, title, the properties it exposes and the filters it takes."""

    id: str
    table: str
    title: str
    description: str
    geometry: str  # GeoJSON geometry type for the schema
    properties: dict[str, str]  # name -> SQL expression over alias t
    types: dict[str, str]  # name -> JSON schema type
    filters: dict[str, str] = field(default_factory=dict)  # query param -> SQL with %(p)s
    temporal: str | None = None  # timestamp column for datetime
    current_only: bool = False  # area tables: valid_to IS NULL
    detail: bool = False  # dense at district scale: bbox pages are limited in area


def _area(cid: str, table: str, title: str, zh: str, parent: str | None,
          extra: tuple[str, ...] = ()) -> Collection:
    props = {"code": "t.code", "name": "t.name", "parent_code": "t.parent_code",
             "households": "t.households", "version": "t.version",
             "valid_from": "t.valid_from"}
    types = {"code": "string", "name": "string", "parent_code": "string",
             "households": "integer", "version": "integer", "valid_from": "string"}
    for name in extra:
        props[name] = f"t.{name}"
        types[name] = "string"
    filters = {"code": "t.code = %(code)s", "parent_code": "t.parent_code = %(parent_code)s"}
    for name in extra:
        filters[name] = f"t.{name} = %({name})s"
    return Collection(cid, table, f"{title} ({zh})",
                      f"Current {title.lower()} boundaries" + (f" within their {parent}" if parent
                                                               else ""),
                      "MultiPolygon", props, types, filters, current_only=True)


OPEN_STATES = ("reported", "accepted", "dispatched", "in_progress")
# The assignee's name: the account's worker (or department, or username), the department, or
# the free text of rows written before dispatch named people (gis.dispatch).
ASSIGNEE_NAME_SQL = """coalesce(
    (SELECT coalesce(w.name, d.name, a.username) FROM accounts a
     LEFT JOIN workers w ON w.id = a.worker_id LEFT JOIN departments d ON d.id = a.department_id
     WHERE a.id = t.assignee_account_id),
    (SELECT d.name FROM departments d WHERE d.id = t.assignee_department_id), t.assignee)"""
OVERDUE_SQL = ("(t.due_at IS NOT NULL AND t.due_at < now() AND t.status IN "
               "('reported', 'accepted', 'dispatched', 'in_progress'))")

COLLECTIONS: dict[str, Collection] = {c.id: c for c in (
    _area("streets", "streets", "Streets", "街道", None),
    _area("communities", "communities", "Communities", "社区", "street", ("class",)),
    _area("grids", "grids", "Grids", "网格", "community", ("kind",)),
    replace(_area("micro-grids", "micro_grids", "Micro-grids", "微网格", "grid"), detail=True),
    Collection(
        "buildings", "buildings", "Buildings (楼栋)",
        "Building footprints or address points with their households",
        "Geometry",
        {"code": "t.code", "micro_grid_id": "t.micro_grid_id", "grid_id": "t.grid_id",
         "households": "t.households", "units": "t.units", "floors": "t.floors",
         "address": "t.address"},
        {"code": "string", "micro_grid_id": "integer", "grid_id": "integer",
         "households": "integer", "units": "integer", "floors": "integer", "address": "string"},
        {"code": "t.code = %(code)s",
         "parent_code": "t.micro_grid_id IN (SELECT m.id FROM micro_grids m "
                        "WHERE m.code = %(parent_code)s)"},
        detail=True,
    ),
    Collection(
        "incidents", "incidents", "Incidents (事件)",
        "Reported incidents with their status and due state",
        "Point",
        {"code": "t.code", "category": "t.category", "title": "t.title",
         "status": "t.status", "priority": "t.priority", "source": "t.source",
         "reported_at": "t.reported_at", "due_at": "t.due_at", "overdue": OVERDUE_SQL,
         "micro_grid_id": "t.micro_grid_id", "grid_id": "t.grid_id",
         "community_id": "t.community_id", "street_id": "t.street_id",
         "assignee": ASSIGNEE_NAME_SQL},
        {"code": "string", "category": "string", "title": "string", "status": "string",
         "priority": "integer", "source": "string", "reported_at": "string",
         "due_at": "string", "overdue": "boolean", "micro_grid_id": "integer",
         "grid_id": "integer", "community_id": "integer", "street_id": "integer",
         "assignee": "string"},
        {"code": "t.code = %(code)s", "status": "t.status = %(status)s",
         "category": "t.category = %(category)s"},
        temporal="reported_at",
        detail=True,
    ),
    Collection(
        "patrol-points", "patrol_points", "Patrol points (巡查点)",
        "Check-in and GPS points of patrols",
        "Point",
        {"patrol_id": "t.patrol_id", "t": "t.t", "accuracy": "t.accuracy",
         "micro_grid_id": "t.micro_grid_id", "grid_id": "t.grid_id"},
        {"patrol_id": "integer", "t": "string", "accuracy": "number",
         "micro_grid_id": "integer", "grid_id": "integer"},
        {"patrol_id": "t.patrol_id = %(patrol_id)s::bigint"},
        temporal="t",
        detail=True,
    ),
)}


def get(collection_id: str) -> Collection | None:
    return COLLECTIONS.get(collection_id)
