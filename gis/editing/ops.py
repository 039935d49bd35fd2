"""The planner's edit operations, applied to the live tables through a :class:`Session`.

An operation is a JSON object (what a plan stores) naming areas by code and buildings by id:

- ``move_buildings``: {level, buildings: [id, ...], to: code} — both polygons recomputed.
- ``redraw``: {level, a?, b?, line} (the line becomes their shared boundary; without a and b,
  the two neighbouring siblings holding the longest stretches of the line) or
  {level, area, polygon, neighbour?} (the polygon becomes the area; what it gives up goes to the
  neighbour, what it takes comes from its siblings).
- ``merge``: {level, a, b} — b joins a (a keeps its code, b is retired).
- ``split``: {level, area?, line} along a drawn line (without area: the area the line runs
  through longest), or {level, area, parts} by the engine.
- ``resplit``: {grid} — the grid's micro-grids redrawn by the engine.
- ``set_attributes``: {level: community, area, class: A-D} or {level: grid, area, kind:
  standard|dedicated}. A grid that changes kind changes code (dedicated grids take sequences
  from 901): it and its micro-grids are retired and re-created under the new code with the
  same boundaries, so history and the workers follow.

``level`` is ``micro_grid`` (siblings inside a grid, the default) or ``grid`` (inside a
community; the grids' micro-grids are re-split by the engine afterwards). New areas get the next
free code under their parent; codes of untouched areas never change.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from gis.codes import assign_codes, next_free_code
from gis.editing import geometry as g
from gis.editing import store
from gis.editing.geometry import EditError
from gis.editing.store import Area, Session
from gis.settings import Settings

OPS = ("move_buildings", "redraw", "merge", "split", "resplit", "set_attributes")
CLASSES = ("A", "B", "C", "D")
KINDS = ("standard", "dedicated")
LEVEL_TABLES = {"micro_grid": "micro_grids", "grid": "grids"}
TOLERANCE = 1e-9


def _table(op: dict) -> str:
    lv = str(op.get("level", "micro_grid")).replace("-", "_")
    if lv not in LEVEL_TABLES:
        raise EditError("invalid_request", f"level must be micro_grid or grid, got {lv!r}")
    return LEVEL_TABLES[lv]


def _str(op: dict, key: str) -> str:
    value = op.get(key)
    if not isinstance(value, str) or not value:
        raise EditError("invalid_request", f"{op.get('op')}: '{key}' (an area code) is required")
    return value


def _geom(op: dict, key: str) -> BaseGeometry:
    value = op.get(key)
    if isinstance(value, dict) and value.get("type") == "Feature":
        value = value.get("geometry")
    try:
        geom = shape(value)
    except Exception as exc:  # noqa: BLE001 - any malformed GeoJSON is the caller's error
        raise EditError("invalid_geometry", f"'{key}' is not a GeoJSON geometry: {exc}") from None
    if geom.is_empty:
        raise EditError("invalid_geometry", f"'{key}' is empty")
    if not np.isfinite(shapely.get_coordinates(geom)).all():
        raise EditError("invalid_geometry", f"'{key}' has a NaN or infinite coordinate")
    return geom


def check_input(op: dict, settings: Settings) -> None:
    """Refuse drawn geometries over Settings.max_vertices before any geometry work."""
    for key in ("line", "polygon"):
        value = op.get(key)
        if isinstance(value, dict) and value.get("type") == "Feature":
            value = value.get("geometry")
        if isinstance(value, dict):
            vertices = _count_positions(value.get("coordinates"), settings.max_vertices)
            if vertices > settings.max_vertices:
                raise EditError("invalid_geometry", f"'{key}' has more than "
                                f"{settings.max_vertices} vertices")


def _count_positions(coords: Any, limit: int) -> int:
    """Positions in nested GeoJSON coordinates (iterative; stops counting past `limit`)."""
    total, stack = 0, [coords]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, list) and item:
            if isinstance(item[0], list):
                stack.extend(item)
            else:
                total += 1
    return total


async def _pair(s: Session, table: str, code_a: str, code_b: str) -> tuple[Area, Area, Area]:
    """Two sibling areas and their parent (errors when not siblings or not adjacent)."""
    if code_a == code_b:
        raise EditError("invalid_request", "the two areas must differ", (code_a,))
    a, b = await store.load(s, table, code_a), await store.load(s, table, code_b)
    s.allow(a)
    s.allow(b)
    if a.parent_id != b.parent_id:
        raise EditError("not_siblings", f"{a.code} and {b.code} have different parents",
                        (a.code, b.code))
    if not g.adjacent(a.geom, b.geom):
        raise EditError("not_adjacent", f"{a.code} and {b.code} are not adjacent",
                        (a.code, b.code), shapely.union_all([a.geom, b.geom]))
    parent = await store.load_id(s, store.PARENT_TABLE[table], a.parent_id)
    return a, b, parent


async def _crossed(s: Session, table: str, line: BaseGeometry) -> list[tuple[str, int | None]]:
    """Current areas of `table` the line runs through, longest stretch first: (code, parent)."""
    rows = await (await s.conn.execute(f"""
        SELECT code, parent_id, ST_Length(ST_Intersection(geom, ST_GeomFromWKB(%(l)s, 4326))) AS d
        FROM {table} WHERE valid_to IS NULL AND geom && ST_GeomFromWKB(%(l)s, 4326)
          AND ST_Intersects(geom, ST_GeomFromWKB(%(l)s, 4326))
        ORDER BY d DESC, code""", {"l": line.wkb})).fetchall()
    return [(code, parent) for code, parent, d in rows if d > 0]


async def _line_pair(s: Session, table: str, op: dict) -> tuple[str, str]:
    """The two areas a redraw line moves the boundary of: as given, or the pair of neighbouring
    siblings whose shared boundary lies closest (Hausdorff) to the line (with `a`: a and the
    neighbour of a whose shared boundary lies closest)."""
    if op.get("a") and op.get("b"):
        return _str(op, "a"), _str(op, "b")
    line = _geom(op, "line")
    if line.geom_type != "LineString":
        raise EditError("invalid_geometry", "the drawn line must be a LineString")
    x0, y0, x1, y1 = line.bounds
    pad = max(x1 - x0, y1 - y0) / 2
    rows = await (await s.conn.execute(f"""
        SELECT code, parent_id, ST_AsBinary(geom) FROM {table}
        WHERE valid_to IS NULL AND geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326) ORDER BY code""",
        (x0 - pad, y0 - pad, x1 + pad, y1 + pad))).fetchall()
    areas = [(code, parent, shapely.from_wkb(bytes(wkb))) for code, parent, wkb in rows]
    best: tuple[float, str, str] | None = None
    for i, (code_a, parent_a, geom_a) in enumerate(areas):
        for code_b, parent_b, geom_b in areas[i + 1:]:
            if op.get("a") and op["a"] not in (code_a, code_b):
                continue
            if parent_a != parent_b or not g.adjacent(geom_a, geom_b):
                continue
            inside = line.intersection(shapely.union_all([geom_a, geom_b]))
            if inside.is_empty or inside.length == 0:
                continue
            shared = geom_a.boundary.intersection(geom_b.boundary)
            score = shapely.hausdorff_distance(shared, inside)
            if best is None or score < best[0]:
                first, second = (code_a, code_b) if op.get("a") in (None, code_a) else (
                    code_b, code_a)
                best = (score, first, second)
    if best is None:
        raise EditError("not_crossing", "the line must cross two neighbouring areas",
                        tuple(c for c, _, _ in areas if c == op.get("a")), line)
    return best[1], best[2]


async def _line_area(s: Session, table: str, op: dict) -> str:
    """The area a split line cuts: as given, or the one holding the longest stretch of it."""
    if op.get("area"):
        return _str(op, "area")
    crossed = await _crossed(s, table, _geom(op, "line"))
    if not crossed:
        raise EditError("not_crossing", "the line does not cross any area",
                        geometry=_geom(op, "line"))
    return crossed[0][0]


async def apply(s: Session, op: dict[str, Any], settings: Settings) -> None:
    """Apply one operation (raises EditError when it cannot be made)."""
    kind = op.get("op")
    if kind not in OPS:
        raise EditError("invalid_request", f"unknown op {kind!r}: one of {', '.join(OPS)}")
    check_input(op, settings)
    if kind == "set_attributes":
        await _set_attributes(s, op)
        await store.rollup(s)
        return
    table = "grids" if kind == "resplit" else _table(op)
    if kind == "move_buildings":
        await _move(s, table, op, settings)
    elif kind == "redraw":
        if "line" in op:
            code_a, code_b = await _line_pair(s, table, op)
            a, b, _ = await _pair(s, table, code_a, code_b)
            new_a, new_b = g.absorb_slivers(
                list(g.redraw_by_line(a.geom, b.geom, _geom(op, "line"))),
                TOLERANCE * shapely.union_all([a.geom, b.geom]).area)
            await store.set_geom(s, a, new_a)
            await store.set_geom(s, b, new_b)
            await _after(s, table, [a, b], settings)
        else:
            await _reshape(s, table, op, settings)
    elif kind == "merge":
        a, b, _ = await _pair(s, table, _str(op, "a"), _str(op, "b"))
        merged = g.clean(shapely.union_all([a.geom, b.geom]))
        await store.set_geom(s, a, merged)
        await _give_all(s, table, b, a)
        await store.retire(s, b)
        await _after(s, table, [a], settings, retired=[b])
    elif kind == "split":
        await _split(s, table, op, settings)
    else:
        grid = await store.load(s, "grids", _str(op, "grid"))
        s.allow(grid)
        await resplit(s, grid, settings)
    await store.rollup(s)


async def _set_attributes(s: Session, op: dict) -> None:
    level = op.get("level")
    if level == "community":
        if op.get("class") not in CLASSES:
            raise EditError("invalid_request", "set_attributes: 'class' must be A, B, C or D")
        area = await store.load(s, "communities", _str(op, "area"))
        await store.set_class(s, area, op["class"])
        return
    if level != "grid":
        raise EditError("invalid_request", "set_attributes: level must be community or grid")
    if op.get("kind") not in KINDS:
        raise EditError("invalid_request", "set_attributes: 'kind' must be standard or dedicated")
    grid = await store.load(s, "grids", _str(op, "area"))
    s.allow(grid)
    if grid.kind == op["kind"]:
        raise EditError("invalid_request", f"{grid.code} is already {op['kind']}", (grid.code,))
    parent = await store.load_id(s, "communities", grid.parent_id)
    code = next_free_code(parent.code, await store.codes_ever(s, "grids", parent.id),
                          dedicated=op["kind"] == "dedicated")
    new = await store.create(s, "grids", parent, code, grid.name, grid.geom, op["kind"])
    for old in await store.children(s, "micro_grids", grid.id):
        moved = await store.create(s, "micro_grids", new, code + old.code[-3:], old.name,
                                   old.geom)
        ids = [b.id for b in await store.buildings_in(s, "micro_grid_id", [old.id])]
        await store.move_buildings(s, ids, moved.id, new.id, set_grid=True)
        await store.retire(s, old)
    rest = [b.id for b in await store.buildings_in(s, "grid_id", [grid.id])]
    await store.move_buildings(s, rest, None, new.id, set_grid=True)
    await store.retire(s, grid)


async def _give_all(s: Session, table: str, src: Area, dst: Area) -> None:
    """Every building of `src` now belongs to `dst`."""
    column = store.BUILDING_COLUMN[table]
    rows = await (await s.conn.execute(f"SELECT id FROM buildings WHERE {column} = %s",
                                       (src.id,))).fetchall()
    ids = [r[0] for r in rows]
    if table == "micro_grids":
        await store.move_buildings(s, ids, dst.id, None)
    else:
        await store.move_buildings(s, ids, None, dst.id, set_grid=True)


async def _move(s: Session, table: str, op: dict, settings: Settings) -> None:
    ids = op.get("buildings")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, int) for i in ids):
        raise EditError("invalid_request", "move_buildings: 'buildings' must be a list of ids")
    target = await store.load(s, table, _str(op, "to"))
    column = store.BUILDING_COLUMN[table]
    moving = await store.buildings_by_id(s, ids)
    missing = sorted(set(ids) - {b.id for b in moving})
    if missing:
        raise EditError("not_found", f"no building with id {', '.join(map(str, missing))}")
    sources = {getattr(b, column) for b in moving}
    if len(sources) != 1 or None in sources:
        raise EditError("invalid_request", "all buildings must come from one area")
    src = await store.load_id(s, table, sources.pop())
    if src.id == target.id:
        raise EditError("invalid_request", f"the buildings already belong to {target.code}",
                        (target.code,))
    src, target, _ = await _pair(s, table, src.code, target.code)
    everyone = await store.buildings_in(s, column, [src.id, target.id])
    moved = set(ids)
    side_a = [b.geom for b in everyone if b.id in moved or getattr(b, column) == target.id]
    side_b = [b.geom for b in everyone if b.id not in moved and getattr(b, column) == src.id]
    if not side_b:
        raise EditError("empty", f"{src.code} would be left with no building; merge instead",
                        (src.code,))
    union = g.clean(shapely.union_all([src.geom, target.geom]))
    new_t, new_s = g.retile_pair(union, side_a, side_b)
    await store.set_geom(s, target, new_t)
    await store.set_geom(s, src, new_s)
    if table == "micro_grids":
        await store.move_buildings(s, ids, target.id, None)
    else:
        await store.move_buildings(s, ids, None, target.id, set_grid=True)
    await _after(s, table, [target, src], settings, reassign=False)


async def _reshape(s: Session, table: str, op: dict, settings: Settings) -> None:
    area = await store.load(s, table, _str(op, "area"))
    s.allow(area)
    poly = g.check_polygon(_geom(op, "polygon"))
    parent = await store.load_id(s, store.PARENT_TABLE[table], area.parent_id)
    outside = poly.difference(parent.geom)
    if outside.area > TOLERANCE * parent.geom.area:
        raise EditError("containment", f"the drawn polygon leaves the parent {parent.code}",
                        (parent.code, area.code), outside)
    poly = g.clean(poly.intersection(parent.geom))
    siblings = [a for a in await store.children(s, table, parent.id) if a.id != area.id]
    gap = g.clean(area.geom.difference(poly))
    neighbour = None
    if op.get("neighbour"):
        neighbour = next((a for a in siblings if a.code == op["neighbour"]), None)
        if neighbour is None:
            raise EditError("not_siblings", f"{op['neighbour']} is not a sibling of {area.code}",
                            (area.code, str(op["neighbour"])))
    if gap.area > TOLERANCE * parent.geom.area and neighbour is None:
        raise EditError("gap", f"the drawn polygon would leave part of {area.code} to no area; "
                        "name a neighbour to receive it", (area.code,), gap)
    news = {area.id: poly}
    for sib in siblings:
        new = sib.geom
        if sib.geom.intersects(poly) and sib.geom.intersection(poly).area > 0:
            new = g.clean(sib.geom.difference(poly))
        if sib is neighbour and not gap.is_empty:
            new = g.clean(shapely.union_all([new, gap]))
        if new is not sib.geom:
            news[sib.id] = new
    by_id = {a.id: a for a in [area, *siblings]}
    ids = list(news)
    tidy = g.absorb_slivers([news[i] for i in ids], TOLERANCE * parent.geom.area)
    touched = []
    for area_id, geom in zip(ids, tidy, strict=True):
        await store.set_geom(s, by_id[area_id], geom)
        touched.append(by_id[area_id])
    await _after(s, table, touched, settings)


async def _split(s: Session, table: str, op: dict, settings: Settings) -> None:
    code = await _line_area(s, table, op) if "line" in op else _str(op, "area")
    area = await store.load(s, table, code)
    s.allow(area)
    parent = await store.load_id(s, store.PARENT_TABLE[table], area.parent_id)
    if "line" in op:
        pieces = g.reading_first(g.cut(area.geom, _geom(op, "line")))
    else:
        parts = op.get("parts", 2)
        if not isinstance(parts, int) or not 2 <= parts <= 20:
            raise EditError("invalid_request", "split: 'parts' must be an integer 2..20")
        column = store.BUILDING_COLUMN[table]
        blds = await store.buildings_in(s, column, [area.id])
        total = sum(b.households for b in blds)
        lo, hi = max(1, int(total / parts * 0.75)), max(1, int(np.ceil(total / parts * 1.25)))
        level = "grid" if table == "grids" else "micro_grid"
        pieces = g.reading_first(_engine(area.geom, blds, lo, hi, level=level,
                                         fixed_count=True)[0])
        if len(pieces) < 2:
            raise EditError("invalid_request", f"the engine found no division of {area.code}",
                            (area.code,))
    await store.set_geom(s, area, pieces[0])
    taken = await store.codes_ever(s, table, parent.id)
    new_areas = [area]
    for piece in pieces[1:]:
        code = next_free_code(parent.code, taken, dedicated=area.kind == "dedicated")
        taken.add(code)
        new_areas.append(await store.create(s, table, parent, code, _name(table, parent, code),
                                            piece, area.kind))
    await _after(s, table, new_areas, settings)


def _name(table: str, parent: Area, code: str) -> str:
    return f"{parent.name} {code[-3:]}".strip() if table == "micro_grids" else (
        f"{parent.name}第{int(code[-3:])}网格")


def _engine(geom, blds, lo: int, hi: int, seed: int = 0, barriers=(),
            level: str = "micro_grid", fixed_count: bool = False):
    """The split job's division of `geom` (gis.partition.engines.splitter for `level`;
    `fixed_count`: the bounds centre on the planner's number of parts, none more tried)."""
    try:
        from gis.partition.engines import splitter
    except ImportError:
        raise EditError("engine_unavailable", "the split engine is not installed") from None
    split = splitter(level=level, fixed_count=fixed_count)
    result = split(geom, [b.geom for b in blds], [b.households for b in blds],
                   barriers=barriers, min_households=lo, max_households=hi, seed=seed)
    return list(result.parts), result


async def resplit(s: Session, grid: Area, settings: Settings) -> None:
    """Replace a grid's micro-grids by the engine's division (new codes, buildings follow)."""
    olds = await store.children(s, "micro_grids", grid.id)
    blds = await store.buildings_in(s, "grid_id", [grid.id])
    rows = await (await s.conn.execute(
        "SELECT ST_AsBinary(geom) FROM roads WHERE ST_Intersects(geom, ST_GeomFromWKB(%s, 4326))",
        (grid.geom.wkb,))).fetchall()
    roads = [shapely.from_wkb(bytes(r[0])) for r in rows]
    if not blds:
        parts = [grid.geom]
    else:
        parts, _ = _engine(grid.geom, blds, settings.micro_grid_min, settings.micro_grid_max,
                           barriers=roads)
    if olds:
        await store.move_buildings(s, [b.id for b in blds], None, None)
    for old in olds:
        await store.retire(s, old)
    taken = await store.codes_ever(s, "micro_grids", grid.id)
    codes = assign_codes(grid.code, parts, taken=taken)
    news = [await store.create(s, "micro_grids", grid, code, _name("micro_grids", grid, code),
                               part) for code, part in zip(codes, parts, strict=True)]
    s.parents.add(grid.key)
    await store.move_buildings(s, [b.id for b in blds], None, None)
    await _assign_micro(s, news)


async def _assign_micro(s: Session, areas: list[Area]) -> None:
    """Buildings of the areas' grid(s) go to the micro-grid holding their representative point."""
    grid_ids = sorted({a.parent_id for a in areas})
    rows = await (await s.conn.execute("""
        SELECT b.id, (SELECT m.id FROM micro_grids m WHERE m.id = ANY(%(ids)s)
                        AND ST_Intersects(m.geom, ST_PointOnSurface(b.geom))
                      ORDER BY m.id LIMIT 1)
        FROM buildings b WHERE b.grid_id = ANY(%(grids)s)""",
        {"ids": [a.id for a in areas], "grids": grid_ids})).fetchall()
    by: dict[int | None, list[int]] = {}
    for bid, mg in rows:
        by.setdefault(mg, []).append(bid)
    for mg, bids in by.items():
        await store.move_buildings(s, bids, mg, None)


async def _after(s: Session, table: str, areas: list[Area], settings: Settings,
                 retired: list[Area] = (), reassign: bool = True) -> None:
    """Buildings follow the new boundaries; at grid level the micro-grids are redrawn."""
    if reassign:
        await store.reassign(s, table, areas)
    if table != "grids":
        return
    row = await (await s.conn.execute(
        "SELECT EXISTS (SELECT 1 FROM micro_grids m JOIN grids gr ON gr.id = m.parent_id "
        "WHERE gr.parent_id = %s AND m.valid_to IS NULL)", (areas[0].parent_id,))).fetchone()
    if not row[0]:
        return
    for old in retired:
        for mg in await store.children(s, "micro_grids", old.id):
            await store.retire(s, mg)
    for grid in areas:
        await resplit(s, await store.load_id(s, "grids", grid.id), settings)
