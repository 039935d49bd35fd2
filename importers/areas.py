"""Import streets, communities, grids or micro-grids: parents by code or by location, codes kept
or generated (DESIGN §2), upsert by code in one transaction.

Without a code column, a row takes the code of the parent's current child with the same name (or
the same geometry), so re-importing a file is idempotent; new rows get the next free sequences
in reading order.
"""

from __future__ import annotations

import json

import psycopg
import shapely

from gis.codes import assign_codes
from gis.levels import LEVELS, Level
from importers.options import ImportOptions, features
from importers.reader import Source
from importers.validation import ImportReport, Rejected, clean_geometry, text

STRADDLE_SHARE = 0.01  # a child overlapping a second parent by more than this is reported
CLASSES = ("A", "B", "C", "D")  # community class (new estates, old town, urban fringe, rural)
KINDS = {"standard": "standard", "dedicated": "dedicated", "普通": "standard",
         "普通网格": "standard", "专属": "dedicated", "专属网格": "dedicated"}


def _class_kind(level: Level, props: dict, opts: ImportOptions, code: str | None
                ) -> tuple[str | None, str | None]:
    """The row's community class (--class-field) and grid kind (--kind-field), checked."""
    klass = kind = None
    if opts.class_field and level.name == "community":
        klass = (text(props.get(opts.class_field)) or "").upper() or None
        if klass is not None and klass not in CLASSES:
            raise Rejected(f"class {klass!r} is not one of A, B, C, D")
    if opts.kind_field and level.name == "grid":
        raw = text(props.get(opts.kind_field))
        kind = KINDS.get((raw or "").lower()) if raw else None
        if raw and kind is None:
            raise Rejected(f"kind {raw!r} is not standard or dedicated")
    if code and level.name == "grid":
        coded = "dedicated" if code[-3:] >= "901" else "standard"
        if kind and kind != coded:
            raise Rejected(f"a {kind} grid cannot have code {code} (dedicated grids take "
                           "sequences from 901)")
        kind = coded
    return klass, kind


def _parents(conn, level: Level) -> tuple[list[tuple], shapely.STRtree | None]:
    if level.parent is None:
        return [], None
    rows = conn.execute(f"SELECT id, code, ST_AsBinary(geom) FROM {LEVELS[level.parent].table} "
                        "WHERE valid_to IS NULL ORDER BY id").fetchall()
    parents = [(r[0], r[1], shapely.from_wkb(bytes(r[2]))) for r in rows]
    tree = shapely.STRtree([p[2] for p in parents]) if parents else None
    return parents, tree


def _locate(geom, parents, tree, report, row, code) -> tuple:
    """The parent holding the representative point; straddling is reported as a warning."""
    point = geom.representative_point()
    hits = [int(i) for i in tree.query(point, predicate="intersects")] if tree else []
    if not hits:
        raise Rejected("no parent contains it (import the parent level first)")
    chosen = parents[min(hits)]
    others = []
    for i in tree.query(geom, predicate="intersects"):
        if parents[int(i)] is chosen:
            continue
        share = shapely.area(shapely.intersection(geom, parents[int(i)][2])) / geom.area
        if share > STRADDLE_SHARE:
            others.append(f"{parents[int(i)][1]} ({share:.0%})")
    if others:
        report.issue(row, code, "warning", f"straddles parents {chosen[1]} and "
                     f"{', '.join(others)}; assigned to {chosen[1]}")
    return chosen


def import_areas(conn: psycopg.Connection, level: Level, src: Source, opts: ImportOptions,
                 report: ImportReport) -> list[dict]:
    """Validate every row and return the records to write (rejections go to `report`)."""
    parents, tree = _parents(conn, level)
    by_code = {p[1]: p for p in parents}
    records, seen = [], {}
    for i, props, raw in features(src, opts):
        code = text(props.get(opts.code_field)) if opts.code_field else None
        try:
            if opts.code_field and opts.code_field not in props:
                raise Rejected(f"no field {opts.code_field!r} in the file")
            geom, note = clean_geometry(raw, "area", opts.crs or src.crs)
            if code is not None and (not code.isdigit() or len(code) != level.code_digits):
                raise Rejected(f"code {code!r} is not {level.code_digits} digits")
            if level.parent is None:
                parent = None
                parent_code = code[:6] if code else opts.district_code
                if not parent_code:
                    raise Rejected("no code and no --district-code for the street")
                if code and opts.district_code and not code.startswith(opts.district_code):
                    raise Rejected(f"code {code} is not under district {opts.district_code}")
            elif opts.parent_field:
                pcode = text(props.get(opts.parent_field))
                parent = by_code.get(pcode or "")
                if parent is None:
                    raise Rejected(f"parent code {pcode!r} not found")
                parent_code = parent[1]
            else:
                parent = _locate(geom, parents, tree, report, i, code)
                parent_code = parent[1]
            if code is not None and not code.startswith(parent_code):
                raise Rejected(f"code {code} does not start with its parent's code {parent_code}")
            if code is not None and code in seen:
                raise Rejected(f"duplicate code {code} (also row {seen[code]})")
            klass, kind = _class_kind(level, props, opts, code)
        except Rejected as exc:
            report.issue(i, code, "rejected", str(exc))
            continue
        if note:
            report.issue(i, code, "repaired", note)
        if code:
            seen[code] = i
        name = text(props.get(opts.name_field)) if opts.name_field else None
        attrs = {k: v for k, v in props.items() if v is not None and k not in
                 (opts.code_field, opts.name_field, opts.parent_field, opts.class_field,
                  opts.kind_field)}
        records.append({"row": i, "code": code, "name": name or "", "geom": geom,
                        "parent_id": parent[0] if parent else None, "parent_code": parent_code,
                        "attributes": attrs,
                        "class": klass, "kind": kind})
    _generate_codes(conn, level, records)
    return records


def _generate_codes(conn, level: Level, records: list[dict]) -> None:
    """Codes for records without one: reuse a same-named (or same-shaped) current child's code,
    else the next free sequence under the parent in reading order."""
    todo = [r for r in records if r["code"] is None]
    if not todo:
        return
    in_file = {r["code"] for r in records if r["code"]}
    groups: dict[str, list[dict]] = {}
    for r in todo:
        groups.setdefault(r["parent_code"], []).append(r)
    for parent_code, group in groups.items():
        existing = conn.execute(
            f"SELECT code, name, ST_AsBinary(geom) FROM {level.table} WHERE parent_code = %s "
            "AND valid_to IS NULL", (parent_code,)).fetchall()
        by_name = {n: c for c, n, _ in existing if n}
        shapes = [(c, shapely.from_wkb(bytes(g))) for c, _, g in existing]
        used = set(in_file)
        fresh = []
        for r in group:
            match = by_name.get(r["name"]) if r["name"] else None
            if match is None:
                match = next((c for c, g in shapes if shapely.equals_exact(g, r["geom"], 1e-9)),
                             None)
            if match is not None and match not in used:
                r["code"] = match
                used.add(match)
            else:
                fresh.append(r)
        if fresh:
            taken = used | {c for c, _, _ in existing}
            codes = assign_codes(parent_code, [r["geom"] for r in fresh],
                                 dedicated=[r.get("kind") == "dedicated" for r in fresh],
                                 taken=taken)
            for r, code in zip(fresh, codes, strict=True):
                r["code"] = code


def write_areas(conn: psycopg.Connection, level: Level, records: list[dict],
                report: ImportReport) -> None:
    """Upsert by code; unchanged rows are left alone (no version bump)."""
    extra_cols, extra_vals, extra_set, extra_where = "", "", "", ""
    if level.name == "grid":
        extra_cols, extra_vals = ", kind", ", %(kind)s"
    if level.name == "community":
        extra_cols, extra_vals = ", class", ", %(class)s"
        extra_set = ", class = coalesce(EXCLUDED.class, t.class)"
        extra_where = ("\n           OR (EXCLUDED.class IS NOT NULL"
                       " AND t.class IS DISTINCT FROM EXCLUDED.class)")
    parent_cols = "parent_id, parent_code" if level.parent else "parent_code"
    parent_vals = "%(parent_id)s, %(parent_code)s" if level.parent else "%(parent_code)s"
    parent_set = ("parent_id = EXCLUDED.parent_id, parent_code = EXCLUDED.parent_code"
                  if level.parent else "parent_code = EXCLUDED.parent_code")
    sql = f"""
        INSERT INTO {level.table} AS t (code, name, {parent_cols}, geom, attributes{extra_cols})
        VALUES (%(code)s, %(name)s, {parent_vals}, ST_GeomFromWKB(%(wkb)s, 4326),
                %(attributes)s{extra_vals})
        ON CONFLICT (code) WHERE valid_to IS NULL DO UPDATE SET
            name = EXCLUDED.name, {parent_set}, geom = EXCLUDED.geom,
            attributes = EXCLUDED.attributes, version = t.version + 1{extra_set}
        WHERE t.name IS DISTINCT FROM EXCLUDED.name{extra_where}
           OR t.parent_code IS DISTINCT FROM EXCLUDED.parent_code
           OR NOT ST_OrderingEquals(t.geom, EXCLUDED.geom)
           OR t.attributes IS DISTINCT FROM EXCLUDED.attributes
        RETURNING (xmax = 0) AS inserted"""
    for r in records:
        params = {**r, "wkb": r["geom"].wkb, "attributes": json.dumps(r["attributes"],
                                                                       default=str),
                  "kind": "dedicated" if r["code"][-3:] >= "901" else "standard"}
        row = conn.execute(sql, params).fetchone()
        if row is None:
            report.unchanged += 1
        elif row[0]:
            report.inserted += 1
        else:
            report.updated += 1

