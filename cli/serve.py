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
    """Make the database ready and run the whole test suite (pytest)."""
    db.ensure_database()
    cmd = [sys.executable, "-m", "pytest", *(pytest_args or [])]
    say("running " + " ".join(cmd[2:]))
    raise typer.Exit(subprocess.call(cmd, cwd=PROJECT_ROOT, env=os.environ.copy()))
