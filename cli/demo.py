"""`wangge demo`: load the demo district."""

from __future__ import annotations

from datetime import date

import typer

from cli import db
from cli.console import fail, say


def demo(reset: bool = typer.Option(False, "--reset", help="replace all existing data"),
         seed: int = typer.Option(1, help="random seed (same seed, same district)"),
         anchor: str = typer.Option(None, help="last day of the 30 days of activity "
                                    "(YYYY-MM-DD, default today)")) -> None:
    """Load the deterministic demo district (migrating the database first)."""
    from gis import migrate
    from gis.demo import load_demo

    url = db.ensure_database()
    migrate.upgrade(url)
    try:
        anchor_day = date.fromisoformat(anchor) if anchor else None
    except ValueError:
        fail(f"--anchor {anchor!r} is not a date like 2026-11-22")
    try:
        load_demo(url, say, seed=seed, anchor=anchor_day, reset=reset)
    except RuntimeError as exc:
        fail(str(exc))
