"""Plans (drafts of boundary edits): create, edit, validate, preview, publish, discard, undo.

A plan stores its operations (``plans.changes``) and the versions the areas had when the plan
first touched them (``plans.base``). Every edit replays the plan on the live tables inside a
savepoint that is rolled back: the result is validated and kept as the plan's preview. Publishing
replays it for real in one transaction, after checking that no touched area changed since (else a
conflict), and records the previous boundaries (boundary_versions) and what moved (edit_log), so
the last publish can be undone exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import psycopg
import shapely
from psycopg import AsyncConnection

from gis.editing import ops, plan_scope, store, succession
from gis.editing.geometry import EditError
from gis.editing.store import Session, jsonb
from gis.editing.validate import as_json, blocking, validate_groups
from gis.invariants import Violation
from gis.scope import Scope
from gis.settings import Settings

PLAN_COLUMNS = ("id, name, status, created_by, created_at, published_at, version, changes, note, "
                "preview, base, updated_at, undone_at")
PLAN_KEYS = [c.strip() for c in PLAN_COLUMNS.split(",")]


@dataclass
class PlanError(Exception):
    """A refused plan operation: kind is not_found, conflict, invalid, forbidden or required."""

    kind: str
    message: str
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


def _edit_error(exc: EditError, index: int | None = None) -> PlanError:
    kind = {"forbidden": "forbidden", "not_found": "not_found",
            "engine_unavailable": "conflict"}.get(exc.check, "invalid")
    geometry = json.loads(shapely.to_geojson(exc.geometry)) if (
        exc.geometry is not None and not exc.geometry.is_empty) else None
    extra: dict[str, Any] = {"violations": [{"check": exc.check, "codes": list(exc.codes),
                                             "message": exc.message, "geometry": geometry}]}
    if index is not None:
        extra["operation"] = index
    return PlanError(kind, exc.message, extra)


def _row(row) -> dict[str, Any]:
    return dict(zip(PLAN_KEYS, row, strict=True))


async def get_plan(conn: AsyncConnection, plan_id: int, lock: bool = False) -> dict[str, Any]:
    cur = await conn.execute(f"SELECT {PLAN_COLUMNS} FROM plans WHERE id = %s"
                             + (" FOR UPDATE" if lock else ""), (plan_id,))
    row = await cur.fetchone()
    if row is None:
        raise PlanError("not_found", f"no plan {plan_id}")
    return _row(row)


async def list_plans(conn: AsyncConnection, status: str | None = None) -> list[dict[str, Any]]:
    cur = await conn.execute(
        f"SELECT {PLAN_COLUMNS} FROM plans WHERE %(s)s::text IS NULL OR status = %(s)s "
        "ORDER BY id DESC LIMIT 500", {"s": status})
    return [_row(r) for r in await cur.fetchall()]


async def _log(conn: AsyncConnection, actor: str, action: str, plan_id: int | None,
               area_ids: list[int], reason: str, detail: dict) -> None:
    await conn.execute(
        "INSERT INTO edit_log (actor, action, plan_id, area_ids, reason, detail) "
        "VALUES (%s, %s, %s, %s, %s, %s)",
        (actor, action, plan_id, sorted(set(area_ids)), reason, jsonb(detail)))


async def create_plan(conn: AsyncConnection, name: str, actor: str, note: str = ""
                      ) -> dict[str, Any]:
    name = name.strip()
    if not name:
        raise PlanError("invalid", "a plan needs a name")
    async with conn.transaction():
        cur = await conn.execute(
            f"INSERT INTO plans (name, created_by, note) VALUES (%s, %s, %s) "
            f"RETURNING {PLAN_COLUMNS}", (name, actor, note))
        plan = _row(await cur.fetchone())
        await _log(conn, actor, "create_plan", plan["id"], [], note, {"name": name})
    return plan


def _check_draft(plan: dict, version: int | None) -> None:
    if plan["status"] != "draft":
        raise PlanError("conflict", f"plan {plan['id']} is {plan['status']}: only drafts can be "
                        "changed", {"plan_status": plan["status"],
                                    "current_version": plan["version"]})
    if version is None:
        raise PlanError("required", "send If-Match with the plan's ETag (or a version field)",
                        {"current_version": plan["version"]})
    if version != plan["version"]:
        raise PlanError("conflict", f"plan {plan['id']} is at version {plan['version']}, not "
                        f"{version}: reload it and retry", {"current_version": plan["version"]})


async def _stale(conn: AsyncConnection, base: dict[str, int],
                 retired_ok: frozenset[str] | set[str] = frozenset()) -> list[dict[str, Any]]:
    """Areas whose version moved on since the plan first touched them, or that were retired
    (unless in `retired_ok`); rows locked."""
    by_table: dict[str, dict[int, int]] = {}
    for key, version in base.items():
        table, _, area_id = key.partition(":")
        by_table.setdefault(table, {})[int(area_id)] = version
    out = []
    for table, versions in by_table.items():
        cur = await conn.execute(
            f"SELECT id, code, version, valid_to IS NULL FROM {table} WHERE id = ANY(%s) "
            "ORDER BY id FOR UPDATE", (sorted(versions),))
        for area_id, code, version, current in await cur.fetchall():
            if version != versions[area_id] or not (current or f"{table}:{area_id}"
                                                    in retired_ok):
                out.append({"layer": table, "id": area_id, "code": code,
                            "plan_version": versions[area_id], "current_version": version,
                            "current": current})
    return out


def _groups(keys) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for key in keys:
        table, _, area_id = key.partition(":")
        out.setdefault(table, []).append(int(area_id))
    return out


async def replay(conn: AsyncConnection, plan_id: int | None, changes: list[dict],
                 settings: Settings, scope: Scope | None) -> tuple[Session, list[Violation]]:
    """Apply `changes` in order, then validate every parent they touched."""
    s = Session(conn, plan_id, scope)
    for i, op in enumerate(changes):
        try:
            await ops.apply(s, op, settings)
        except EditError as exc:
            raise _edit_error(exc, i) from None
    touched = _groups(k for k in s.base if k not in s.retired)
    return s, await validate_groups(conn, _groups(s.parents), touched, settings)


async def _preview(s: Session) -> dict[str, Any]:
    """The touched areas after the plan (GeoJSON), retired areas and building moves."""
    features: list = []
    for table, ids in _groups(k for k in s.base if k not in s.retired).items():
        new = [int(k.partition(":")[2]) for k in s.created if k.startswith(table + ":")]
        cur = await s.conn.execute(f"""
            SELECT coalesce(json_agg(json_build_object(
                'type', 'Feature', 'id', %(t)s || ':' || code,
                'geometry', ST_AsGeoJSON(geom, 7)::json,
                'properties', json_build_object(
                    'layer', %(t)s, 'id', id, 'code', code, 'name', name,
                    'households', households, 'parent_code', parent_code, 'version', version,
                    'status', CASE WHEN id = ANY(%(new)s) THEN 'new' ELSE 'changed' END))
                ORDER BY code), '[]'::json)
            FROM {table} WHERE id = ANY(%(ids)s)""", {"t": table, "ids": ids, "new": new})
        features += (await cur.fetchone())[0]
    retired = []
    for table, ids in _groups(s.retired).items():
        cur = await s.conn.execute(f"SELECT id, code FROM {table} WHERE id = ANY(%s)", (ids,))
        retired += [{"layer": table, "id": i, "code": c} for i, c in await cur.fetchall()]
    cur = await s.conn.execute("""
        SELECT b.id, m.code, g.code FROM buildings b LEFT JOIN micro_grids m
          ON m.id = b.micro_grid_id LEFT JOIN grids g ON g.id = b.grid_id
        WHERE b.id = ANY(%s) ORDER BY b.id""", (list(s.buildings),))
    moved = [{"id": i, "micro_grid": m, "grid": g} for i, m, g in await cur.fetchall()]
    return {"type": "FeatureCollection", "features": features, "retired": retired,
            "buildings": moved}


async def edit(conn: AsyncConnection, plan_id: int, version: int | None, op: dict[str, Any],
               actor: str, settings: Settings, scope: Scope | None, reason: str = ""
               ) -> dict[str, Any]:
    """Add one operation to a draft if the plan still validates; returns plan and warnings."""
    if not isinstance(op, dict):
        raise PlanError("invalid", "an edit is a JSON object with an 'op'")
    op = {k: v for k, v in op.items() if k not in ("version", "reason")}
    async with conn.transaction():
        plan = await get_plan(conn, plan_id, lock=True)
        _check_draft(plan, version)
        result: dict[str, Any] = {}
        async with conn.transaction() as savepoint:
            stale = await _stale(conn, plan["base"])
            if stale:
                raise PlanError("conflict", "areas of this plan changed since it was drafted",
                                {"stale": stale})
            s, violations = await replay(conn, plan_id, [*plan["changes"], op], settings, scope)
            result["preview"] = await _preview(s)
            result["base"] = {**{k: v for k, v in s.base.items() if k not in s.created},
                              **plan["base"]}
            result["ids"] = [int(k.partition(":")[2]) for k in s.base]
            result["violations"] = violations
            raise psycopg.Rollback(savepoint)
        hard = blocking(result["violations"])
        if hard:
            raise PlanError("invalid", f"the edit breaks {len(hard)} rule(s); nothing changed",
                            {"violations": [as_json(v) for v in hard]})
        entry = {**op, "reason": reason, "by": actor}
        cur = await conn.execute(
            f"UPDATE plans SET changes = changes || %s, version = version + 1, preview = %s, "
            f"base = %s, updated_at = now() WHERE id = %s RETURNING {PLAN_COLUMNS}",
            (jsonb([entry]), jsonb(result["preview"]), jsonb(result["base"]), plan_id))
        plan = _row(await cur.fetchone())
        await _log(conn, actor, "edit", plan_id, result["ids"], reason, op)
    return {"plan": plan, "warnings": [as_json(v) for v in result["violations"]]}


async def drop_last_edit(conn: AsyncConnection, plan_id: int, version: int | None, actor: str,
                         settings: Settings, scope: Scope | None) -> dict[str, Any]:
    """Take the last operation out of a draft (the draft's own undo)."""
    async with conn.transaction():
        plan = await get_plan(conn, plan_id, lock=True)
        _check_draft(plan, version)
        if not plan["changes"]:
            raise PlanError("conflict", f"plan {plan_id} has no edit to take back")
        changes = plan["changes"][:-1]
        preview: dict = {}
        async with conn.transaction() as savepoint:
            s, _ = await replay(conn, plan_id, changes, settings, scope)
            preview = await _preview(s)
            kept = {k for k in s.base if k not in s.created}
            raise psycopg.Rollback(savepoint)
        base = {k: v for k, v in plan["base"].items() if k in kept}
        cur = await conn.execute(
            f"UPDATE plans SET changes = %s, version = version + 1, preview = %s, base = %s, "
            f"updated_at = now() WHERE id = %s RETURNING {PLAN_COLUMNS}",
            (jsonb(changes), jsonb(preview), jsonb(base), plan_id))
        plan = _row(await cur.fetchone())
        await _log(conn, actor, "drop_edit", plan_id, [], "", {})
    return plan


async def check_plan(conn: AsyncConnection, plan_id: int, settings: Settings,
                     scope: Scope | None) -> dict[str, Any]:
    """Validate a plan as publishing would, changing nothing."""
    plan = await get_plan(conn, plan_id)
    out: dict[str, Any] = {}
    async with conn.transaction() as tx:
        out["stale"] = await _stale(conn, plan["base"])
        s, violations = await replay(conn, plan_id, plan["changes"], settings, scope)
        out["violations"] = [as_json(v) for v in violations]
        out["moves"] = await succession.follow(conn, sorted(s.retired), "publish", plan_id)
        out["uncovered"] = await succession.uncovered(conn, sorted(s.created))
        raise psycopg.Rollback(tx)
    out["valid"] = not out["violations"] and not out["stale"]
    return out


async def publish(conn: AsyncConnection, plan_id: int, version: int | None, actor: str,
                  settings: Settings, scope: Scope | None, reason: str = "") -> dict[str, Any]:
    """Apply a draft atomically if it validates and none of its areas changed meanwhile."""
    async with conn.transaction():
        plan = await get_plan(conn, plan_id, lock=True)
        _check_draft(plan, version)
        if not plan["changes"]:
            raise PlanError("invalid", f"plan {plan_id} has no edits to publish")
        stale = await _stale(conn, plan["base"])
        if stale:
            raise PlanError("conflict", "areas of this plan changed since it was drafted: "
                            + ", ".join(f"{a['code']} is at version {a['current_version']}"
                                        for a in stale), {"stale": stale})
        s, violations = await replay(conn, plan_id, plan["changes"], settings, scope)
        if violations:
            raise PlanError("invalid", f"plan {plan_id} does not validate ({len(violations)} "
                            "violation(s)); nothing was published",
                            {"violations": [as_json(v) for v in violations]})
        moves = await succession.follow(conn, sorted(s.retired), "publish", plan_id,
                                        reason or plan["name"])
        after: dict[str, int] = {}
        for table, ids in _groups(s.base).items():
            cur = await conn.execute(f"SELECT id, version FROM {table} WHERE id = ANY(%s)",
                                     (ids,))
            after.update({f"{table}:{i}": v for i, v in await cur.fetchall()})
        rows = await (await conn.execute(
            "SELECT id, micro_grid_id, grid_id FROM buildings WHERE id = ANY(%s)",
            (list(s.buildings),))).fetchall()
        detail = {
            "changed": [[k, s.base[k], after[k]] for k in sorted(s.changed - s.retired)],
            "created": [[k, after[k]] for k in sorted(s.created)],
            "retired": [[k, s.base[k], after[k]] for k in sorted(s.retired)],
            "buildings": [[i, *s.buildings[i], m, g] for i, m, g in rows
                          if (m, g) != s.buildings[i]],
            "operations": len(plan["changes"]),
            "assignments": len(moves),
        }
        cur = await conn.execute(
            f"UPDATE plans SET status = 'published', published_at = now(), version = version + 1,"
            f" updated_at = now() WHERE id = %s RETURNING {PLAN_COLUMNS}", (plan_id,))
        plan = _row(await cur.fetchone())
        await _log(conn, actor, "publish", plan_id, [int(k.partition(":")[2]) for k in s.base],
                   reason, detail)
    return {"plan": plan, "changed": len(detail["changed"]), "created": len(detail["created"]),
            "retired": len(detail["retired"]), "buildings": len(detail["buildings"]),
            "moves": moves}


async def discard(conn: AsyncConnection, plan_id: int, version: int | None, actor: str,
                  reason: str = "") -> dict[str, Any]:
    async with conn.transaction():
        plan = await get_plan(conn, plan_id, lock=True)
        _check_draft(plan, version)
        cur = await conn.execute(
            f"UPDATE plans SET status = 'discarded', version = version + 1, updated_at = now() "
            f"WHERE id = %s RETURNING {PLAN_COLUMNS}", (plan_id,))
        plan = _row(await cur.fetchone())
        await _log(conn, actor, "discard", plan_id, [], reason, {})
    return plan


async def undo_last(conn: AsyncConnection, actor: str, scope: Scope | None,
                    plan_id: int | None = None, reason: str = "") -> dict[str, Any]:
    """Undo the most recent publish: previous boundaries, areas and buildings restored exactly."""
    async with conn.transaction():
        cur = await conn.execute(
            f"SELECT {PLAN_COLUMNS} FROM plans WHERE status = 'published' "
            "ORDER BY published_at DESC, id DESC LIMIT 1 FOR UPDATE")
        row = await cur.fetchone()
        if row is None:
            raise PlanError("conflict", "no published plan to undo")
        plan = _row(row)
        if plan_id is not None and plan_id != plan["id"]:
            raise PlanError("conflict", f"only the last published plan ({plan['id']}) can be "
                            "undone", {"last_published": plan["id"]})
        cur = await conn.execute(
            "SELECT detail FROM edit_log WHERE plan_id = %s AND action = 'publish' "
            "ORDER BY id DESC LIMIT 1", (plan["id"],))
        detail = (await cur.fetchone())[0]
        expected = {k: a for k, _b, a in detail["changed"] + detail["retired"]}
        expected.update({k: a for k, a in detail["created"]})
        stale = await _stale(conn, expected, {k for k, *_ in detail["retired"]})
        if stale:
            raise PlanError("conflict", "areas changed since the publish; undo the later "
                            "changes first", {"stale": stale})
        outside = await plan_scope.outside_keys(conn, scope, list(expected))
        if outside:  # e.g. a re-split: its created and retired areas count too
            raise PlanError("forbidden", "the last publish touched areas outside yours",
                            {"outside": outside})
        s = Session(conn, plan["id"], scope)
        for key, before, _after in detail["changed"]:
            table, _, area_id = key.partition(":")
            area = await store.load_id(s, table, int(area_id))
            s.allow(area)
            await _restore(conn, table, int(area_id), before, plan["id"])
        for key, _before, _after in detail["retired"]:
            table, _, area_id = key.partition(":")
            await conn.execute(f"UPDATE {table} SET valid_to = NULL, version = version + 1 "
                               "WHERE id = %s", (int(area_id),))
        await conn.cursor().executemany(
            "UPDATE buildings SET micro_grid_id = %s, grid_id = %s WHERE id = %s",
            [(old_mg, old_g, bid) for bid, old_mg, old_g, _m, _g in detail["buildings"]])
        for key, _after in sorted(detail["created"], key=lambda c: c[0], reverse=True):
            table, _, area_id = key.partition(":")
            await conn.execute(f"UPDATE {table} SET valid_to = now(), version = version + 1 "
                               "WHERE id = %s", (int(area_id),))
        s.base = {k: 0 for k in expected}
        s.buildings = {b[0]: (b[3], b[4]) for b in detail["buildings"]}
        await store.rollup(s)
        await succession.revert(conn, plan["id"], reason or "undo")
        await succession.follow(conn, [k for k, _ in detail["created"]], "undo", plan["id"],
                                reason or "undo")
        cur = await conn.execute(
            f"UPDATE plans SET status = 'undone', undone_at = now(), version = version + 1, "
            f"updated_at = now() WHERE id = %s RETURNING {PLAN_COLUMNS}", (plan["id"],))
        plan = _row(await cur.fetchone())
        await _log(conn, actor, "undo", plan["id"],
                   [int(k.partition(":")[2]) for k in expected], reason, {})
    return plan


async def _restore(conn: AsyncConnection, table: str, area_id: int, version: int,
                   plan_id: int) -> None:
    """Put back the boundary an area had at `version` (the current one kept as history).

    The kept version is read first and written back as parameters: boundary_versions stays on
    the coordinator, and Citus refuses an UPDATE of a reference table FROM a coordinator table.
    """
    cur = await conn.execute("""
        SELECT ST_AsEWKB(geom), households, attrs FROM boundary_versions
        WHERE layer = %s AND area_id = %s AND version = %s AND plan_id = %s
        ORDER BY id LIMIT 1""", (table, area_id, version, plan_id))
    kept = await cur.fetchone()
    if kept is None:
        raise PlanError("conflict", f"{table} {area_id} has no version {version} on record")
    geom, households, attrs = kept
    await conn.execute(f"""
        INSERT INTO boundary_versions (layer, area_id, code, version, parent_id, households,
                                       geom, valid_from, valid_to, plan_id, attrs)
        SELECT %s, id, code, version, parent_id, households, geom, valid_from, now(), %s,
               {store.KEPT_ATTRS.get(table, 'NULL')}
        FROM {table} WHERE id = %s""", (table, plan_id, area_id))
    await conn.execute(f"""
        UPDATE {table} SET geom = ST_GeomFromEWKB(%(geom)s), households = %(households)s,
               version = version + 1, valid_from = now(){store.RESTORE_ATTRS.get(table, '')}
        WHERE id = %(id)s""",
                       {"geom": geom, "households": households, "attrs": jsonb(attrs),
                        "id": area_id})
