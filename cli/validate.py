"""`wangge validate`: check every invariant of DESIGN §2 in the database."""

from __future__ import annotations

import psycopg
import typer
from rich.table import Table

from cli import db
from cli.console import console, say
from gis.database import libpq_url
from gis.invariants import check_invariants


def validate() -> None:
    """List violated invariants (containment, overlap, gap, roll-up, contiguity, buildings)."""
    url = db.ensure_database()
    with psycopg.connect(libpq_url(url)) as conn:
        violations = check_invariants(conn)
    if not violations:
        say("all invariants hold")
        return
    table = Table("check", "areas", "message")
    for v in violations:
        table.add_row(v.check, ", ".join(v.codes), v.message)
    console.print(table)
    raise typer.Exit(1)
