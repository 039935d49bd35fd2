"""`wangge import LAYER FILE`: load streets, communities, grids, micro-grids, buildings, roads or
incidents from GeoJSON, GeoPackage, Shapefile (.zip too), CSV or OSM .pbf; `workers` reads the
roster from a CSV (importers/workers.py)."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.console import console, fail, say
from gis.settings import get_settings


def import_command(
    layer: str = typer.Argument(..., help="streets, communities, grids, micro-grids, buildings, "
                                "roads, incidents, workers, or basemap (an OSM .osm.pbf for the "
                                "map)"),
    file: Path = typer.Argument(..., help="GeoJSON, GeoPackage, Shapefile/.zip, CSV, .osm.pbf"),
    source_layer: str = typer.Option(None, "--layer", help="layer inside the file"),
    where: str = typer.Option(None, "--where", help="OGR SQL filter, e.g. \"admin_level='10'\""),
    crs: str = typer.Option(None, "--crs", help="override the file's CRS (EPSG:xxxx, gcj02, "
                            "bd09)"),
    code_field: str = typer.Option(None, "--code-field"),
    name_field: str = typer.Option(None, "--name-field"),
    households_field: str = typer.Option(None, "--households-field"),
    parent_field: str = typer.Option(None, "--parent-field", help="parent code column (else "
                                     "the parent is found spatially)"),
    levels_field: str = typer.Option(None, "--levels-field", help="building levels column"),
    class_field: str = typer.Option(None, "--class-field", help="community class column (A-D)"),
    kind_field: str = typer.Option(None, "--kind-field", help="grid kind column (standard or "
                                   "dedicated; dedicated grids take codes from 901)"),
    district_code: str = typer.Option(None, "--district-code", help="6-digit county code for "
                                      "streets without codes"),
    m2_per_household: float = typer.Option(None, "--m2-per-household", help="floor area per "
                                           "household for estimates (default from settings)"),
    source: str = typer.Option("hotline", "--source", help="incident source"),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="write the valid rows even "
                                      "if some are rejected"),
    dry_run: bool = typer.Option(False, "--dry-run", help="show what would change"),
    report: str = typer.Option(None, "--report", help="write the row report (.csv or .json)"),
) -> None:
    """Import a file into one layer, in one transaction (upsert by code)."""
    from cli.db import ensure_database
    from importers.options import ImportFailed, ImportOptions
    from importers.reader import ReadError
    from importers.run import import_file

    if layer == "basemap":
        _import_basemap(ensure_database(), file)
        return

    opts = ImportOptions(
        layer=source_layer, where=where, crs=crs, code_field=code_field, name_field=name_field,
        households_field=households_field, parent_field=parent_field, levels_field=levels_field,
        class_field=class_field, kind_field=kind_field,
        district_code=district_code, source=source, skip_invalid=skip_invalid, dry_run=dry_run,
        m2_per_household=m2_per_household or get_settings().m2_per_household)
    url = ensure_database()
    try:
        with _ProgressBar(file.name) as bar:
            opts.progress = bar.update
            result = import_file(url, layer, file, opts)
    except ImportFailed as exc:
        _show(exc.report, report)
        fail(str(exc))
    except (ReadError, ValueError) as exc:
        fail(str(exc))
    _show(result, report)


LARGE_FILE_ROWS = 2000


class _ProgressBar:
    """A spinner while the file is read; a rich progress bar per phase (validating, writing)
    once a file turns out to hold at least LARGE_FILE_ROWS rows."""

    def __init__(self, name: str):
        self.name = name
        self.status = console.status(f"reading {name} ...")
        self.bar = None
        self.tasks: dict[str, int] = {}

    def __enter__(self) -> _ProgressBar:
        self.status.start()
        return self

    def update(self, phase: str, done: int, total: int) -> None:
        if total < LARGE_FILE_ROWS:
            return
        if self.bar is None:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.status.stop()
            self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                MofNCompleteColumn(), TimeElapsedColumn(), console=console)
            self.bar.start()
        if phase not in self.tasks:
            self.tasks[phase] = self.bar.add_task(f"{phase} {self.name}", total=total)
        self.bar.update(self.tasks[phase], completed=done)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()
        else:
            self.status.stop()


def _show(result, report_path: str | None) -> None:
    for issue in result.issues[:20]:
        color = {"rejected": "red", "repaired": "yellow"}.get(issue.status, "cyan")
        say(f"  [{color}]row {issue.row}[/] {issue.code or ''} {issue.status}: {issue.reason}")
    if len(result.issues) > 20:
        say(f"  ... {len(result.issues) - 20} more (see --report)")
    for note in result.notes:
        say(f"  note: {note}")
    say(result.summary())
    if report_path:
        result.write(report_path)
        say(f"row report written to {report_path}")


def _import_basemap(url: str, file: Path) -> None:
    """`wangge import basemap FILE.osm.pbf`: replace the offline basemap."""
    import psycopg

    from importers.basemap import load_osm
    from importers.reader import ReadError

    try:
        counts = load_osm(url, file, say)
    except ReadError as exc:
        fail(str(exc))
    except psycopg.Error as exc:
        fail(f"{file}: the basemap was not changed: {str(exc).splitlines()[0]}")
    say("basemap: " + ", ".join(f"{n:,} {kind}" for kind, n in sorted(counts.items()))
        + " (served as the `basemap` tile layer, z8-z18)")
