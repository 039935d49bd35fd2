"""Import incidents (points): category, title, optional report time; attributed at write time to
the micro-grid, grid, community and street holding them. Existing codes are left untouched."""

from __future__ import annotations

import hashlib

import psycopg

from gis.attribution import attribute_sql
from gis.categories import load_categories
from importers.options import ImportOptions, features
from importers.reader import Source
from importers.validation import ImportReport, Rejected, clean_geometry, text

SOURCES = ("worker", "hotline", "app", "camera")


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
        records.append({"code": code, "category": category, "title": title,
                        "description": text(props.get("description")) or "",
                        "reported_at": reported, "source": opts.source, "geom": geom})
    return records


def write_incidents(conn: psycopg.Connection, records: list[dict], report: ImportReport) -> None:
    new = []
    for r in records:
        row = conn.execute(
            """INSERT INTO incidents (code, category, title, description, geom, reported_at,
                                      source, reporter)
               VALUES (%(code)s, %(category)s, %(title)s, %(description)s,
                       ST_GeomFromWKB(%(wkb)s, 4326), coalesce(%(reported_at)s::timestamptz,
                       now()), %(source)s, 'import')
               ON CONFLICT (code) DO NOTHING RETURNING id""",
            {**r, "wkb": r["geom"].wkb}).fetchone()
        if row is None:
            report.unchanged += 1
        else:
            report.inserted += 1
            new.append(row[0])
    if new:
        conn.execute(attribute_sql("incidents", "id = ANY(%s)"), (new,))
        conn.execute("""INSERT INTO incident_events (incident_id, at, actor, action, to_status)
                        SELECT id, reported_at, 'import', 'report', 'reported'
                        FROM incidents WHERE id = ANY(%s)""", (new,))
