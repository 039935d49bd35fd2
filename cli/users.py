"""`wangge user ...`: create, list, disable accounts and revoke their tokens."""

from __future__ import annotations

import sys

import psycopg
import typer
from rich.table import Table

from cli.console import console, fail, say

app = typer.Typer(help="Accounts: admin, planner, commander, worker.", no_args_is_help=True)


def _connect() -> psycopg.Connection:
    from cli.db import ensure_database
    from gis.database import libpq_url

    return psycopg.connect(libpq_url(ensure_database()), autocommit=True)


@app.command()
def add(name: str = typer.Argument(..., help="username"),
        role: str = typer.Option(..., "--role", help="admin, planner, commander or worker"),
        area: list[str] = typer.Option([], "--area", help="area code (repeatable): street 9, "
                                       "community 12, grid 15, micro-grid 18 digits"),
        worker_role: str = typer.Option("full_time", "--worker-role",
                                        help="assignment role of a worker account"),
        password_stdin: bool = typer.Option(False, "--password-stdin",
                                            help="read the password from standard input")) -> None:
    """Create an account (the password is read from stdin, never from the command line)."""
    from gis.accounts import AccountError, create_account, level_of_code

    if not password_stdin:
        fail("give the password on standard input with --password-stdin")
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        areas = [(level_of_code(code), code) for code in area]
        with _connect() as conn:
            create_account(conn, name, password, role, areas, worker_role=worker_role)
    except AccountError as exc:
        fail(str(exc))
    say(f"account {name} ({role}) created" + (f" for {', '.join(area)}" if area else ""))


@app.command("list")
def list_() -> None:
    """List the accounts with their roles and areas."""
    from gis.accounts import list_accounts

    with _connect() as conn:
        rows = list_accounts(conn)
    table = Table("username", "role", "areas", "worker", "disabled")
    for r in rows:
        table.add_row(r["username"], r["role"], " ".join(r["areas"]) or "-",
                      r["worker"] or "-", "yes" if r["disabled"] else "")
    console.print(table)


@app.command()
def disable(name: str = typer.Argument(..., help="username")) -> None:
    """Disable an account; its tokens stop working at once."""
    from gis.accounts import AccountError, disable_account

    try:
        with _connect() as conn:
            disable_account(conn, name)
    except AccountError as exc:
        fail(str(exc))
    say(f"account {name} disabled")


@app.command()
def revoke(name: str = typer.Argument(..., help="username")) -> None:
    """Revoke every token issued to an account so far (it logs in again to get a new one)."""
    from gis.accounts import AccountError, revoke_tokens

    try:
        with _connect() as conn:
            revoke_tokens(conn, name)
    except AccountError as exc:
        fail(str(exc))
    say(f"tokens of {name} revoked")


@app.command()
def key(name: str = typer.Argument(..., help="username"),
        key_name: str = typer.Option("cli", "--name", help="what the key is for, e.g. QGIS"),
        expires: int = typer.Option(None, "--expires", help="lifetime in days (default: until "
                                    "revoked)")) -> None:
    """Create a read-only API key for an account and print it (once: only its hash is kept)."""
    from gis.apikeys import ApiKeyError, create_key

    try:
        with _connect() as conn:
            secret, row = create_key(conn, name, key_name, expires)
    except ApiKeyError as exc:
        fail(str(exc))
    until = f"expires {row['expires_at']}" if row["expires_at"] else "no expiry"
    say(f"API key {row['name']!r} of {name} ({until}); shown once, store it now:")
    print(secret)
