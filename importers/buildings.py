"""Import buildings: footprints or points with households; OSM buildings without a count get an
estimate from footprint area x levels / m² per household (flagged households_estimated)."""

from __future__ import annotations

import hashlib
import json
import math

import psycopg
import shapely

from gis.attribution import locate_expr
from gis.partition.quality import metric_scale, to_metric
from importers.options import ImportOptions, features
from importers.reader import Source, osm_tags
from importers.validation import ImportReport, Rejected, clean_geometry, text, whole_number


def floor_area_m2(geom) -> float:
    """Footprint area in m² (local metric frame)."""
    return float(shapely.area(to_metric(geom, metric_scale(geom))))


def estimate_households(geom, levels: int, m2_per_household: float) -> int:
    """Households of a building from its footprint and levels (at least 1)."""
    if geom.geom_type == "Point":
        return 1
    return max(1, math.floor(floor_area_m2(geom) * levels / m2_per_household + 0.5))


def _code(props: dict, geom, opts: ImportOptions, is_osm: bool) -> str:
    if opts.code_field:
        code = text(props.get(opts.code_field))
        if code is None:
            raise Rejected(f"no value in code field {opts.code_field!r}")
        return code
    if is_osm and props.get("osm_way_id"):
        return f"osm:w{props['osm_way_id']}"
    if is_osm and props.get("osm_id"):
        return f"osm:r{props['osm_id']}"
    return "g:" + hashlib.sha1(shapely.to_wkb(geom, hex=False)).hexdigest()[:20]


def import_buildings(conn: psycopg.Connection, src: Source, opts: ImportOptions,
                     report: ImportReport) -> list[dict]:
    """Validate rows into building records."""
    records, seen, estimated = [], {}, 0
    for i, props, raw in features(src, opts):
        code = None
        try:
            geom, note = clean_geometry(raw, "building", opts.crs or src.crs)
            code = _code(props, geom, opts, src.is_osm)
            if code in seen:
                raise Rejected(f"duplicate code {code} (also row {seen[code]})")
            tags = osm_tags(props.get("other_tags")) if src.is_osm else {}
            levels = whole_number(props.get(opts.levels_field) if opts.levels_field
                                  else tags.get("building:levels"), "levels")
            households = None
            if opts.households_field:
                households = whole_number(props.get(opts.households_field), "households")
        except Rejected as exc:
            report.issue(i, code, "rejected", str(exc))
            continue
        if note:
            report.issue(i, code, "repaired", note)
        seen[code] = i
        is_estimate = households is None
        if is_estimate:
            households = estimate_households(geom, levels or opts.default_levels,
                                             opts.m2_per_household)
            estimated += 1
        name = text(props.get(opts.name_field)) if opts.name_field else text(props.get("name"))
        records.append({"code": code, "households": households, "estimated": is_estimate,
                        "floors": levels, "address": name, "geom": geom,
                        "attributes": {k: v for k, v in props.items()
                                       if v is not None and k != "other_tags"} | (
                            {"tags": tags} if tags else {})})
    if estimated:
        report.notes.append(
            f"{estimated} buildings had no household count: estimated as footprint area x "
            f"levels (default {opts.default_levels}) / {opts.m2_per_household:g} m² per household")
    return records


def write_buildings(conn: psycopg.Connection, records: list[dict], report: ImportReport,
                    opts: ImportOptions | None = None) -> None:
    """Upsert by code (COPY into a temporary table, then one INSERT ... SELECT), then attribute
    grid and micro-grid by representative point."""
    progress = opts.progress if opts else None
    conn.execute("""CREATE TEMP TABLE import_buildings (code text, households integer,
                        estimated boolean, floors integer, address text, wkb bytea,
                        attributes jsonb) ON COMMIT DROP""")
    with conn.cursor() as cur, cur.copy("COPY import_buildings FROM STDIN") as copy:
        for n, r in enumerate(records, start=1):
            copy.write_row((r["code"], r["households"], r["estimated"], r["floors"],
                            r["address"], r["geom"].wkb,
                            json.dumps(r["attributes"], default=str)))
            if progress and (n % 1000 == 0 or n == len(records)):
                progress("writing", n, len(records))
    inserted = conn.execute("""
        WITH up AS (
            INSERT INTO buildings AS t (code, households, households_estimated, floors, address,
                                        geom, attributes)
            SELECT code, households, estimated, floors, address, ST_GeomFromWKB(wkb, 4326),
                   attributes FROM import_buildings
            ON CONFLICT (code) DO UPDATE SET
                households = EXCLUDED.households,
                households_estimated = EXCLUDED.households_estimated,
                floors = EXCLUDED.floors, address = EXCLUDED.address, geom = EXCLUDED.geom,
                attributes = EXCLUDED.attributes, version = t.version + 1
            WHERE t.households IS DISTINCT FROM EXCLUDED.households
               OR t.floors IS DISTINCT FROM EXCLUDED.floors
               OR t.address IS DISTINCT FROM EXCLUDED.address
               OR NOT ST_OrderingEquals(t.geom, EXCLUDED.geom)
            RETURNING (xmax = 0) AS inserted)
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up
        """).fetchone()
    report.inserted += inserted[0]
    report.updated += inserted[1]
    report.unchanged += len(records) - inserted[0] - inserted[1]
    point = "ST_PointOnSurface(buildings.geom)"
    conn.execute(f"""UPDATE buildings SET grid_id = {locate_expr('grid_id', point)},
                         micro_grid_id = {locate_expr('micro_grid_id', point)}
                     WHERE code IN (SELECT code FROM import_buildings)""")
    conn.execute("DROP TABLE import_buildings")
