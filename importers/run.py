"""One import run: read, validate every row, then write everything in one transaction (or
nothing: any rejected row stops the run unless skip_invalid; dry_run rolls back)."""

from __future__ import annotations

from pathlib import Path

import psycopg

from gis.database import libpq_url
from gis.levels import LEVELS
from gis.rollup import rollup_households
from importers import areas, buildings, incidents, roads, workers
from importers.options import ImportFailed, ImportOptions
from importers.reader import read
from importers.validation import ImportReport

LAYERS = ("streets", "communities", "grids", "micro-grids", "buildings", "roads", "incidents",
          "workers")
OSM_LAYERS = {"roads": "lines", "incidents": "points"}
AREA_LEVELS = {"streets": "street", "communities": "community", "grids": "grid",
               "micro-grids": "micro_grid"}


def import_file(url: str, layer: str, path: str | Path, opts: ImportOptions | None = None
                ) -> ImportReport:
    """Import `path` as `layer` (one of LAYERS); returns the report, raises ImportFailed."""
    opts = opts or ImportOptions()
    key = layer.replace("_", "-")
    if key not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}: one of {', '.join(LAYERS)}")
    if key == "workers":  # the roster: a CSV of people, no geometry
        return workers.import_workers_file(url, path, opts)
    src = read(path, opts.layer, opts.where, OSM_LAYERS.get(key, "multipolygons"))
    report = ImportReport(key, str(path), read=len(src.rows), dry_run=opts.dry_run)
    with psycopg.connect(libpq_url(url)) as conn:
        if key == "buildings":
            records = buildings.import_buildings(conn, src, opts, report)
        elif key == "roads":
            records = roads.import_roads(conn, src, opts, report)
        elif key == "incidents":
            records = incidents.import_incidents(conn, src, opts, report)
        else:
            level = LEVELS[AREA_LEVELS[key]]
            records = areas.import_areas(conn, level, src, opts, report)
        if report.rejected and not opts.skip_invalid:
            conn.rollback()
            raise ImportFailed(f"{report.rejected} of {report.read} rows rejected; nothing "
                               "written (fix them or pass --skip-invalid)", report)
        if key == "buildings":
            buildings.write_buildings(conn, records, report, opts)
        elif key == "roads":
            roads.write_roads(conn, records, report)
        elif key == "incidents":
            incidents.write_incidents(conn, records, report)
        else:
            areas.write_areas(conn, level, records, report)
        if key not in ("roads", "incidents"):
            rollup_households(conn)
        if opts.dry_run:
            conn.rollback()
        else:
            conn.commit()
            report.written = True
    return report
