"""The `wangge` command."""

from __future__ import annotations

import typer

from cli import db, demo, importing, serve, split, users, validate
from cli import export as export_cli
from cli.console import fail, say
from gis.database import DatabaseError

app = typer.Typer(help="Wangge (网格): grid-management GIS service.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
app.add_typer(db.app, name="db")
app.add_typer(users.app, name="user")
app.add_typer(export_cli.app, name="export")
app.command()(serve.serve)
app.command()(serve.up)
app.command()(demo.demo)
app.command()(validate.validate)
app.command("import")(importing.import_command)
app.command("split")(split.split_command)
app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(
    serve.test)


@app.command()
def migrate(revision: str = typer.Argument("head", help="target revision"),
            down: bool = typer.Option(False, "--down", help="downgrade to the revision instead")
            ) -> None:
    """Upgrade (or with --down, downgrade) the schema with alembic."""
    from gis import migrate as migrations

    url = db.ensure_database()
    try:
        if down:
            migrations.downgrade(url, "base" if revision == "head" else revision)
        else:
            migrations.upgrade(url, revision)
    except DatabaseError as exc:
        fail(str(exc))
    say(f"schema at revision {migrations.current(url) or 'base'}")


if __name__ == "__main__":
    app()
