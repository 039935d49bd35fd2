"""Area writes for the editor (async psycopg), each one recorded for history, undo and preview.

An edit :class:`Session` loads areas (locking their rows), changes geometries, creates and retires
areas and moves buildings. It remembers what it touched: the version each existing area had
(the plan's base), previous boundaries (written to boundary_versions), and buildings' previous
areas, so a publish can be undone exactly. A draft runs the same writes in a savepoint it rolls
back; a publish commits them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import shapely
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from shapely.geometry.base import BaseGeometry

from gis.editing.geometry import EditError, as_multi
from gis.levels import LEVELS
from gis.scope import Scope

TABLE_LEVEL = {lv.table: lv.name for lv in LEVELS.values()}
CHILD_TABLE = {"streets": "communities", "communities": "grids", "grids": "micro_grids"}
PARENT_TABLE = {v: k for k, v in CHILD_TABLE.items()}
BUILDING_COLUMN = {"micro_grids": "micro_grid_id", "grids": "grid_id"}


@dataclass
class Area:
    """One current area row as the editor sees it."""

    table: str
    id: int
    code: str
    name: str
    parent_id: int | None
    parent_code: str
    households: int
    version: int
    geom: BaseGeometry
    kind: str | None = None

    @property
    def key(self) -> str:
        return f"{self.table}:{self.id}"


@dataclass
class Building:
    id: int
    households: int
    micro_grid_id: int | None
    grid_id: int | None
    geom: BaseGeometry


@dataclass
class Session:
    """What one replay of edits touched (see the module docstring)."""

    conn: AsyncConnection
    plan_id: int | None = None
    scope: Scope | None = None
    base: dict[str, int] = field(default_factory=dict)  # "table:id" -> version before
    created: set[str] = field(default_factory=set)
    retired: set[str] = field(default_factory=set)
    buildings: dict[int, tuple[int | None, int | None]] = field(default_factory=dict)
    parents: set[str] = field(default_factory=set)  # "table:id" of parents whose children moved
    _saved: set[str] = field(default_factory=set)

    @property
    def changed(self) -> set[str]:
        """Existing areas whose rows were written (geometry, status)."""
        return set(self.base) - self.created

    def allow(self, area: Area) -> None:
        """Raise unless the caller's scope covers `area`."""
        if self.scope is not None and area.id not in self.scope.ids(TABLE_LEVEL[area.table]):
            raise EditError("forbidden", f"{area.code} lies outside your areas", (area.code,))


# Attributes a plan can edit, kept with each boundary version (restored by undo).
KEPT_ATTRS = {"communities": "jsonb_build_object('class', class)"}
RESTORE_ATTRS = {"communities": ", class = %(attrs)s::jsonb->>'class'"}

AREA_COLUMNS = ("id, code, name, {parent} AS parent_id, parent_code, households, version, "
                "ST_AsBinary(geom), {kind} AS kind")


def _select(table: str) -> str:
    return "SELECT " + AREA_COLUMNS.format(
        parent="parent_id" if table != "streets" else "NULL::bigint",
        kind="kind" if table == "grids" else "NULL::text") + f" FROM {table}"


def _area(table: str, row) -> Area:
    return Area(table, row[0], row[1], row[2], row[3], row[4], row[5], row[6],
                shapely.from_wkb(bytes(row[7])), row[8])


async def load(s: Session, table: str, code: str, lock: bool = True) -> Area:
    """The current area `code` of `table` (row locked), or EditError not_found."""
    sql = _select(table) + " WHERE code = %s AND valid_to IS NULL" + (" FOR UPDATE" if lock
                                                                       else "")
    row = await (await s.conn.execute(sql, (code,))).fetchone()
    if row is None:
        raise EditError("not_found", f"no current {TABLE_LEVEL[table]} with code {code}",
                        (code,))
    return _area(table, row)


async def load_id(s: Session, table: str, area_id: int) -> Area:
    row = await (await s.conn.execute(_select(table) + " WHERE id = %s", (area_id,))).fetchone()
    return _area(table, row)


async def children(s: Session, table: str, parent_id: int, lock: bool = True) -> list[Area]:
    """Current children (rows of `table`) of one parent, by code."""
    sql = (_select(table) + " WHERE parent_id = %s AND valid_to IS NULL ORDER BY code"
           + (" FOR UPDATE" if lock else ""))
    rows = await (await s.conn.execute(sql, (parent_id,))).fetchall()
    return [_area(table, r) for r in rows]


async def codes_ever(s: Session, table: str, parent_id: int) -> set[str]:
    """Every code ever used under a parent (retired ones too: codes are never reused)."""
    rows = await (await s.conn.execute(f"SELECT code FROM {table} WHERE parent_id = %s",
                                       (parent_id,))).fetchall()
    return {r[0] for r in rows}


async def buildings_in(s: Session, column: str, ids: list[int]) -> list[Building]:
    rows = await (await s.conn.execute(
        f"SELECT id, households, micro_grid_id, grid_id, ST_AsBinary(geom) FROM buildings "
        f"WHERE {column} = ANY(%s) ORDER BY id FOR UPDATE", (ids,))).fetchall()
    return [Building(r[0], r[1], r[2], r[3], shapely.from_wkb(bytes(r[4]))) for r in rows]


async def buildings_by_id(s: Session, ids: list[int]) -> list[Building]:
    rows = await (await s.conn.execute(
        "SELECT id, households, micro_grid_id, grid_id, ST_AsBinary(geom) FROM buildings "
        "WHERE id = ANY(%s) ORDER BY id FOR UPDATE", (ids,))).fetchall()
    return [Building(r[0], r[1], r[2], r[3], shapely.from_wkb(bytes(r[4]))) for r in rows]


def _mark(s: Session, area: Area) -> None:
    s.base.setdefault(area.key, area.version)
    if area.parent_id is not None:
        s.parents.add(f"{PARENT_TABLE[area.table]}:{area.parent_id}")


async def _save_version(s: Session, area: Area) -> None:
    """Keep the boundary the area had before this session changed it (once per session)."""
    if area.key in s._saved or area.key in s.created:
        return
    s._saved.add(area.key)
    await s.conn.execute(f"""
        INSERT INTO boundary_versions (layer, area_id, code, version, parent_id, households,
                                       geom, valid_from, valid_to, plan_id, attrs)
        SELECT %s, id, code, version, {'parent_id' if area.table != 'streets' else 'NULL'},
               households, geom, valid_from, now(), %s, {KEPT_ATTRS.get(area.table, 'NULL')}
        FROM {area.table} WHERE id = %s""", (area.table, s.plan_id, area.id))


async def set_geom(s: Session, area: Area, geom: BaseGeometry) -> None:
    """Give an area a new boundary (previous one kept; version bumped)."""
    s.allow(area)
    if geom.is_empty:
        raise EditError("empty", f"{area.code} would be left with no territory", (area.code,))
    _mark(s, area)
    await _save_version(s, area)
    multi = as_multi(geom)
    await s.conn.execute(
        f"UPDATE {area.table} SET geom = ST_GeomFromWKB(%s, 4326), version = version + 1, "
        "valid_from = now() WHERE id = %s", (multi.wkb, area.id))
    area.geom, area.version = multi, area.version + 1


async def set_class(s: Session, area: Area, klass: str) -> None:
    """Change a community's class (its previous row kept as a version; version bumped)."""
    s.allow(area)
    _mark(s, area)
    await _save_version(s, area)
    await s.conn.execute("UPDATE communities SET class = %s, version = version + 1, "
                         "valid_from = now() WHERE id = %s", (klass, area.id))
    area.version += 1


async def create(s: Session, table: str, parent: Area, code: str, name: str,
                 geom: BaseGeometry, kind: str | None = None) -> Area:
    """Insert a new current area under `parent`."""
    multi = as_multi(geom)
    cols = "code, name, parent_id, parent_code, geom"
    vals = "%s, %s, %s, %s, ST_GeomFromWKB(%s, 4326)"
    params: list = [code, name, parent.id, parent.code, multi.wkb]
    if table == "grids":
        cols, vals = cols + ", kind", vals + ", %s"
        params.append(kind or "standard")
    row = await (await s.conn.execute(
        f"INSERT INTO {table} ({cols}) VALUES ({vals}) RETURNING id", params)).fetchone()
    area = Area(table, row[0], code, name, parent.id, parent.code, 0, 1, multi, kind)
    s.created.add(area.key)
    s.base.setdefault(area.key, 0)
    s.parents.add(parent.key)
    return area


async def retire(s: Session, area: Area) -> None:
    """End an area's validity (its row stays, so history keeps its id); drop it if new."""
    s.allow(area)
    _mark(s, area)
    if area.key in s.created:
        await s.conn.execute(f"DELETE FROM {area.table} WHERE id = %s", (area.id,))
        s.created.discard(area.key)
        s.base.pop(area.key, None)
        return
    await s.conn.execute(f"UPDATE {area.table} SET valid_to = now(), version = version + 1 "
                         "WHERE id = %s", (area.id,))
    s.retired.add(area.key)


async def move_buildings(s: Session, ids: list[int], micro_grid_id: int | None,
                         grid_id: int | None, set_grid: bool = False) -> None:
    """Point buildings at a new micro-grid (and grid when `set_grid`), remembering the old."""
    if not ids:
        return
    rows = await (await s.conn.execute(
        "SELECT id, micro_grid_id, grid_id FROM buildings WHERE id = ANY(%s)", (ids,))).fetchall()
    for bid, mg, gr in rows:
        s.buildings.setdefault(bid, (mg, gr))
    if set_grid:
        await s.conn.execute("UPDATE buildings SET micro_grid_id = %s, grid_id = %s "
                             "WHERE id = ANY(%s)", (micro_grid_id, grid_id, ids))
    else:
        await s.conn.execute("UPDATE buildings SET micro_grid_id = %s WHERE id = ANY(%s)",
                             (micro_grid_id, ids))


async def reassign(s: Session, table: str, areas: list[Area]) -> None:
    """Give each building of `areas` to the one of them holding its representative point."""
    column = BUILDING_COLUMN[table]
    ids = [a.id for a in areas]
    rows = await (await s.conn.execute(f"""
        SELECT b.id, b.{column},
               (SELECT a.id FROM {table} a WHERE a.id = ANY(%(ids)s)
                  AND ST_Intersects(a.geom, ST_PointOnSurface(b.geom)) ORDER BY a.id LIMIT 1)
        FROM buildings b WHERE b.{column} = ANY(%(ids)s)""", {"ids": ids})).fetchall()
    by_target: dict[int | None, list[int]] = {}
    for bid, old, new in rows:
        if new != old:
            by_target.setdefault(new, []).append(bid)
    for target, bids in by_target.items():
        if table == "micro_grids":
            await move_buildings(s, bids, target, None)
        else:
            await move_buildings(s, bids, None, target, set_grid=True)


ROLLUP = [
    ("micro_grids", """UPDATE micro_grids m SET households = coalesce(
        (SELECT sum(b.households) FROM buildings b WHERE b.micro_grid_id = m.id), 0)
        WHERE m.id = ANY(%s) AND m.valid_to IS NULL"""),
    ("grids", """UPDATE grids g SET households = coalesce(
        (SELECT sum(b.households) FROM buildings b WHERE b.grid_id = g.id), 0)
        WHERE g.id = ANY(%s) AND g.valid_to IS NULL"""),
    ("communities", """UPDATE communities c SET households = coalesce(
        (SELECT sum(g.households) FROM grids g WHERE g.parent_id = c.id
           AND g.valid_to IS NULL), 0) WHERE c.id = ANY(%s) AND c.valid_to IS NULL"""),
    ("streets", """UPDATE streets s SET households = coalesce(
        (SELECT sum(c.households) FROM communities c WHERE c.parent_id = s.id
           AND c.valid_to IS NULL), 0) WHERE s.id = ANY(%s) AND s.valid_to IS NULL"""),
]


async def rollup(s: Session) -> None:
    """Recompute households of every touched area and of their ancestors."""
    ids: dict[str, set[int]] = {t: set() for t, _ in ROLLUP}
    for key in set(s.base) | s.parents:
        table, _, area_id = key.partition(":")
        ids[table].add(int(area_id))
    if s.buildings:
        rows = await (await s.conn.execute(
            "SELECT micro_grid_id, grid_id FROM buildings WHERE id = ANY(%s)",
            (list(s.buildings),))).fetchall()
        for mg, gr in [*rows, *s.buildings.values()]:
            if mg:
                ids["micro_grids"].add(mg)
            if gr:
                ids["grids"].add(gr)
    for i, (table, sql) in enumerate(ROLLUP):
        await s.conn.execute(sql, (sorted(ids[table]),))
        if i + 1 < len(ROLLUP):
            parent = ROLLUP[i + 1][0]
            rows = await (await s.conn.execute(
                f"SELECT DISTINCT parent_id FROM {table} WHERE id = ANY(%s)",
                (sorted(ids[table]),))).fetchall()
            ids[parent] |= {r[0] for r in rows}


def jsonb(value) -> Jsonb:
    return Jsonb(value)
