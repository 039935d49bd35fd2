"""`wangge db ...`: the local PostGIS (or a check of DATABASE_URL)."""

from __future__ import annotations

import typer

from cli.console import fail, say
from gis import citus_local, localdb
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


def ensure_database(citus: bool = False, workers: int | None = None) -> str:
    """Make the database ready (local cluster, local Citus cluster or DATABASE_URL); its URL."""
    settings = get_settings()
    try:
        if citus and settings.database_url:
            fail("DATABASE_URL is set: point it at your Citus coordinator and drop --citus")
        if citus:
            url = citus_local.up(settings, say, workers)
            version = check_connection(url)
            say(f"Citus coordinator on 127.0.0.1:{settings.citus_coordinator_port} with "
                f"{citus_local.worker_count(settings)} workers (PostGIS {version})")
            return url
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


CITUS_OPTION = typer.Option(False, "--citus", help="a local Citus cluster (coordinator and "
                            "workers; Citus is built from vendor/citus on first use, as root)")
WORKERS_OPTION = typer.Option(None, "--workers", min=1,
                              help="Citus workers (default WANGGE_CITUS_WORKERS, 2)")


@app.command()
def up(citus: bool = CITUS_OPTION, workers: int = WORKERS_OPTION) -> None:
    """Make the database ready: install PostGIS if needed, create and start the local cluster."""
    ensure_database(citus, workers)


@app.command()
def down() -> None:
    """Stop the local cluster and the local Citus cluster, if running."""
    settings = get_settings()
    if settings.database_url:
        fail("DATABASE_URL is set: that database is not ours to stop")
    try:
        stopped_single = localdb.stop(settings, say)
        stopped_citus = citus_local.stop(settings, say)
        if not (stopped_single or stopped_citus):
            say("local PostGIS is not running")
    except DatabaseError as exc:
        fail(str(exc))


@app.command()
def url(sqlalchemy: bool = typer.Option(
        False, "--sqlalchemy", help="print the SQLAlchemy form (postgresql+psycopg://...)"),
        citus: bool = typer.Option(False, "--citus", help="the local Citus coordinator's URL"),
        ) -> None:
    """Print the database URL as libpq wants it (psql "$(wangge db url)", psycopg.connect)."""
    settings = get_settings()
    raw = citus_local.coordinator_url(settings) if citus else database_url(settings)
    print(sqlalchemy_url(raw) if sqlalchemy else libpq_url(raw))
