"""`wangge db ...`: the local PostGIS (or a check of DATABASE_URL)."""

from __future__ import annotations

import typer

from cli.console import fail, say
from gis import localdb
from gis.database import (
    DatabaseError,
    check_connection,
    database_url,
    libpq_url,
    redact,
    sqlalchemy_url,
)
from gis.settings import get_settings

app = typer.Typer(help="Start, stop and locate the database.", no_args_is_help=True)


def ensure_database() -> str:
    """Make the database ready (local cluster or DATABASE_URL) and return its URL."""
    settings = get_settings()
    try:
        if settings.database_url:
            version = check_connection(settings.database_url)
            say(f"using DATABASE_URL {redact(settings.database_url)} (PostGIS {version})")
            return settings.database_url
        changed = localdb.up(settings, say)
        url = database_url(settings)
        version = check_connection(url)
        if not changed:
            say(f"local PostGIS already up on 127.0.0.1:{settings.pg_port} (PostGIS {version})")
        return url
    except DatabaseError as exc:
        fail(str(exc))


@app.command()
def up() -> None:
    """Make the database ready: install PostGIS if needed, create and start the local cluster."""
    ensure_database()


@app.command()
def down() -> None:
    """Stop the local cluster."""
    settings = get_settings()
    if settings.database_url:
        fail("DATABASE_URL is set: that database is not ours to stop")
    try:
        if not localdb.stop(settings, say):
            say("local PostGIS is not running")
    except DatabaseError as exc:
        fail(str(exc))


@app.command()
def url(sqlalchemy: bool = typer.Option(
        False, "--sqlalchemy", help="print the SQLAlchemy form (postgresql+psycopg://...)")
        ) -> None:
    """Print the database URL as libpq wants it (psql "$(wangge db url)", psycopg.connect)."""
    raw = database_url(get_settings())
    print(sqlalchemy_url(raw) if sqlalchemy else libpq_url(raw))
