"""Which kind of database the session runs on (one node, or a Citus cluster: see docs/scale.md)."""

from __future__ import annotations

import psycopg

from gis.cluster import CITUS


def on_citus(conn: psycopg.Connection) -> bool:
    """True when the test database has the citus extension (its tables are distributed)."""
    return bool(conn.execute(f"SELECT {CITUS}").fetchone()[0])


def announce(conn: psycopg.Connection, table: str) -> None:
    """What a writer outside the API does on Citus after changing a reference table by hand:
    call wangge_touch (on one node the table's own trigger has done it)."""
    if on_citus(conn):
        conn.execute("SELECT wangge_touch(%s)", (table,))
