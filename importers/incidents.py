"""Import incidents (points): category, title, optional report time; attributed at write time to
the micro-grid, grid, community and street holding them. Existing codes are left untouched."""

from __future__ import annotations

import hashlib

import psycopg

from gis.attribution import AREA_ID_COLUMNS, locate_select
from gis.categories import load_categories
from gis.cluster import CITUS
from gis.routing import RECORD_SQL, REPORTS_SQL
from importers.options import ImportOptions, features
from importers.reader import Source
from importers.validation import ImportReport, Rejected, clean_geometry, text

SOURCES = ("worker", "hotline", "app", "camera")
GEOM = "ST_GeomFromWKB(%(wkb)s, 4326)"


def import_incidents(conn: psycopg.Connection, src: Source, opts: ImportOptions,
                     report: ImportReport) -> list[dict]:
    if opts.source not in SOURCES:
        raise ValueError(f"--source must be one of {', '.join(SOURCES)}")
    categories = load_categories()
    records, seen = [], {}
    for i, props, raw in features(src, opts):
        code = text(props.get(opts.code_field)) if opts.code_field else None
        try:
            geom, note = clean_geometry(raw, "point", opts.crs or src.crs)
            category = text(props.get(opts.category_field))
            if category not in categories:
                raise Rejected(f"unknown category {category!r}")
            title = text(props.get(opts.title_field)) or categories[category].zh
            reported = text(props.get("reported_at"))
            code = code or "IMP-" + hashlib.sha1(
                f"{geom.wkt}|{category}|{title}|{reported}".encode()).hexdigest()[:16]
            if code in seen:
                raise Rejected(f"duplicate code {code} (also row {seen[code]})")
        except Rejected as exc:
            report.issue(i, code, "rejected", str(exc))
            continue
        seen[code] = i
        records.append({"row": i, "code": code, "category": category, "title": title,
                        "description": text(props.get("description")) or "",
                        "reported_at": reported, "source": opts.source, "geom": geom})
    return records


def write_incidents(conn: psycopg.Connection, records: list[dict], report: ImportReport) -> None:
    """Attribute each new incident, then store it with its report event (codes already stored
    are left untouched) and record its street for routing (gis/routing.py). On Citus (incidents
    distributed by street) a point outside every street is rejected, since it has no shard."""
    citus = conn.execute(f"SELECT {CITUS}").fetchone()[0]
    routes: dict[str, list] = {k: [] for k in ("id", *AREA_ID_COLUMNS, "reported_at")}
    for r in records:
        if conn.execute("SELECT 1 FROM incidents WHERE code = %s", (r["code"],)).fetchone():
            report.unchanged += 1
            continue
        params = {**r, "wkb": r["geom"].wkb}
        areas = dict(zip(AREA_ID_COLUMNS, conn.execute(f"SELECT {locate_select(GEOM)}",
                                                       params).fetchone(), strict=True))
        if areas["street_id"] is None and citus:
            report.issue(r["row"], r["code"], "rejected", "the point lies outside every street (a "
                         "distributed database keeps incidents by street)")
            continue
        new_id, reported_at = conn.execute(f"""
            WITH new AS (
                INSERT INTO incidents (code, category, title, description, geom, reported_at,
                                       source, reporter, street_id, community_id, grid_id,
                                       micro_grid_id)
                SELECT %(code)s, %(category)s, %(title)s, %(description)s, {GEOM},
                       coalesce(%(reported_at)s::timestamptz, now()), %(source)s, 'import',
                       %(street_id)s, %(community_id)s, %(grid_id)s, %(micro_grid_id)s
                RETURNING id, street_id, reported_at)
            INSERT INTO incident_events (incident_id, street_id, at, actor, action, to_status)
            SELECT id, street_id, reported_at, 'import', 'report', 'reported' FROM new
            RETURNING incident_id, at""", {**params, **areas}).fetchone()
        routes["id"].append(new_id)
        routes["reported_at"].append(reported_at)
        for column, area_id in areas.items():
            routes[column].append(area_id)
        report.inserted += 1
    if routes["id"]:
        conn.execute(RECORD_SQL, routes)
        conn.execute(REPORTS_SQL, {**routes, "actor": ["import"] * len(routes["id"])})
        conn.execute("SELECT wangge_touch('incidents')")  # see gis/changes.py
