"""`wangge serve`, `wangge up` and `wangge test`: run the API, the main job, the test suite."""

from __future__ import annotations

import os
import subprocess
import sys

import typer

from cli import db
from cli.console import say
from gis.settings import PROJECT_ROOT, get_settings


def serve(host: str = typer.Option(None, help="bind address (default WANGGE_HOST)"),
          port: int = typer.Option(None, help="port (default WANGGE_PORT, 8000)"),
          workers: int = typer.Option(1, help="uvicorn worker processes")) -> None:
    """Serve the API and map pages with uvicorn."""
    import uvicorn

    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    say(f"API on http://{host}:{port}  (OpenAPI docs: http://{host}:{port}/docs, "
        f"map: http://{host}:{port}/map)")
    uvicorn.run("api.main:app", host=host, port=port, workers=workers, log_level="info",
                proxy_headers=True)


def up(host: str = typer.Option(None), port: int = typer.Option(None)) -> None:
    """The main job: database, migrations, demo data (once), then the API and map."""
    from gis import migrate as migrations
    from gis.demo import has_data, load_demo

    url = db.ensure_database()
    migrations.upgrade(url)
    say(f"schema at revision {migrations.current(url)}")
    if has_data(url):
        say("data present: demo not reloaded (wangge demo --reset reloads it)")
    else:
        load_demo(url, say)
    serve(host=host, port=port, workers=1)


def test(pytest_args: list[str] = typer.Argument(None, help="extra pytest arguments")) -> None:
    """Make the database ready and run the test suite (pytest).

    With no arguments (what CI runs) the whole suite runs on the local PostGIS, then the tests
    marked `citus` run again on a local Citus cluster (built on first use; WANGGE_TEST_CITUS=0
    skips that stage). WANGGE_TEST_CITUS=1 with arguments runs just those on Citus.
    """
    citus_env = os.environ.get("WANGGE_TEST_CITUS")
    stages: list[tuple[bool, list[str]]] = []
    if pytest_args:
        stages.append((citus_env == "1", list(pytest_args)))
    else:
        stages.append((False, []))
        if citus_env != "0" and get_settings().database_url:
            say("DATABASE_URL is set: the Citus stage is skipped (it needs the local cluster)")
        elif citus_env != "0":
            stages.append((True, ["-m", "citus and not qgis"]))
    status = 0
    for on_citus, args in stages:
        db.ensure_database(citus=on_citus)
        cmd = [sys.executable, "-m", "pytest", *args]
        env = {**os.environ, "WANGGE_TEST_CITUS": "1" if on_citus else "0"}
        say(("on the local Citus cluster: " if on_citus else "") + "running " + " ".join(cmd[2:]))
        status = subprocess.call(cmd, cwd=PROJECT_ROOT, env=env) or status
    raise typer.Exit(status)
