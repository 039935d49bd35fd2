"""`wangge import workers FILE`: the roster from a CSV (UTF-8, a header row), all or nothing.

Columns: code (roster number, the key: a re-imported code updates that worker), name, phone,
username (a worker account is created when the worker has none; it logs in once a password is
set), role (grid_leader, full_time, part_time, micro_grid_leader, household_leader), area (a 9,
12, 15 or 18-digit code), starts_on and ends_on (YYYY-MM-DD; ends_on is the first day without
access). A worker with several areas takes one row per area. Every row is checked first (gis.
roster.import_workers); any rejected row means nothing is written, and the row report says why.
"""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import psycopg

from gis.database import libpq_url
from gis.roster import IMPORT_COLUMNS, import_workers
from gis.scope import Principal
from importers.options import ImportFailed, ImportOptions
from importers.validation import ImportReport

CLI_PRINCIPAL = Principal(0, "cli", "admin")  # the command line acts as an admin


def read_rows(path: str | Path) -> list[dict]:
    """The CSV's rows as dicts (BOM tolerated; column names lower-cased and stripped)."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None:
            raise ValueError(f"{path}: empty file (a header row is needed: "
                             f"{','.join(IMPORT_COLUMNS)})")
        names = [(n or "").strip().lower() for n in reader.fieldnames]
        missing = [c for c in ("code", "name", "role", "area") if c not in names]
        if missing:
            raise ValueError(f"{path}: missing columns {', '.join(missing)} (expected "
                             f"{','.join(IMPORT_COLUMNS)})")
        return [{names[i]: v for i, v in enumerate(row.values()) if i < len(names)}
                for row in reader]


async def _run(url: str, rows: list[dict], dry_run: bool):
    async with await psycopg.AsyncConnection.connect(libpq_url(url)) as conn:
        result = await import_workers(conn, CLI_PRINCIPAL, rows, dry_run)
        if result.issues or dry_run:
            await conn.rollback()
        else:
            await conn.commit()
        return result


def import_workers_file(url: str, path: str | Path, opts: ImportOptions) -> ImportReport:
    """Import the roster CSV `path`; returns the report, raises ImportFailed (nothing written)."""
    rows = read_rows(path)
    result = asyncio.run(_run(url, rows, opts.dry_run))
    report = ImportReport("workers", str(path), read=result.read, dry_run=opts.dry_run,
                          inserted=result.created, updated=result.updated)
    for issue in result.issues:
        report.issue(issue["row"], issue["code"], "rejected", issue["reason"])
    report.notes.append(f"{result.accounts} accounts created, {result.assigned} assignments "
                        "added" + (" (dry run)" if opts.dry_run else ""))
    if result.issues:
        raise ImportFailed(f"{report.rejected} of {report.read} rows rejected; nothing written",
                           report)
    report.written = result.written
    return report
