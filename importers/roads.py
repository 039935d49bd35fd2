"""Import roads (barrier lines for the split): lines with a name and a kind (OSM highway=*).

Each road keeps a reference (OSM id, a code field, or a hash of its geometry) in attributes.ref;
re-importing replaces the roads with the same references."""

from __future__ import annotations

import hashlib
import json

import psycopg
import shapely
from shapely.geometry import MultiLineString

from importers.options import ImportOptions, features
from importers.reader import Source
from importers.validation import ImportReport, Rejected, clean_geometry, text


def import_roads(conn: psycopg.Connection, src: Source, opts: ImportOptions,
                 report: ImportReport) -> list[dict]:
    records = []
    for i, props, raw in features(src, opts):
        try:
            geom, note = clean_geometry(raw, "line", opts.crs or src.crs)
        except Rejected as exc:
            report.issue(i, None, "rejected", str(exc))
            continue
        if src.is_osm and not props.get("highway"):
            continue
        if geom.geom_type == "LineString":
            geom = MultiLineString([geom])
        ref = (text(props.get(opts.code_field)) if opts.code_field else None) or (
            f"osm:w{props['osm_id']}" if src.is_osm and props.get("osm_id") else
            "g:" + hashlib.sha1(shapely.to_wkb(geom)).hexdigest()[:20])
        name = text(props.get(opts.name_field or "name")) or ""
        records.append({"ref": ref, "name": name, "kind": text(props.get("highway")) or
                        "residential", "geom": geom})
    return records


def write_roads(conn: psycopg.Connection, records: list[dict], report: ImportReport) -> None:
    """Replace the roads whose reference is re-imported with a different geometry and insert the
    new ones (one DELETE, one batched INSERT)."""
    refs = [r["ref"] for r in records]
    existing = {r[0]: r[1] for r in conn.execute(
        "SELECT attributes->>'ref', ST_AsBinary(geom) FROM roads WHERE attributes->>'ref' = "
        "ANY(%s)", (refs,)).fetchall()}
    replaced, rows = [], []
    for r in records:
        old = existing.get(r["ref"])
        if old is not None and bytes(old) == r["geom"].wkb:
            report.unchanged += 1
            continue
        if old is not None:
            replaced.append(r["ref"])
            report.updated += 1
        else:
            report.inserted += 1
        rows.append((r["name"], r["kind"], r["geom"].wkb, json.dumps({"ref": r["ref"]})))
    if replaced:
        conn.execute("DELETE FROM roads WHERE attributes->>'ref' = ANY(%s)", (replaced,))
    if rows:
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO roads (name, kind, geom, attributes) VALUES "
                            "(%s, %s, ST_GeomFromWKB(%s, 4326), %s)", rows)
