"""Database URLs, the SQLAlchemy engine and connection checks (sync side: CLI, importers, tests)."""

from __future__ import annotations

import re
from functools import lru_cache

import psycopg
from sqlalchemy import Engine, create_engine

from gis.settings import Settings


class DatabaseError(RuntimeError):
    """A database problem explained in one line, with the fix when we know it."""


def sqlalchemy_url(url: str) -> str:
    """The URL with the psycopg 3 driver named, as SQLAlchemy wants it."""
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql+psycopg://", url)


def libpq_url(url: str) -> str:
    """The URL without a driver suffix, as psycopg/libpq want it."""
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", url)


def redact(url: str) -> str:
    """The URL with its password hidden, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def database_url(settings: Settings) -> str:
    """DATABASE_URL if set, else the URL of the project's local PostGIS."""
    if settings.database_url:
        return settings.database_url
    from gis.localdb import local_url

    return local_url(settings)


@lru_cache(maxsize=8)
def _engine(url: str, pool_size: int) -> Engine:
    return create_engine(sqlalchemy_url(url), pool_size=pool_size, pool_pre_ping=True, future=True)


def engine_for(url: str, pool_size: int = 5) -> Engine:
    """A cached SQLAlchemy engine for the URL."""
    return _engine(url, pool_size)


def check_connection(url: str) -> str:
    """Connect and return the PostGIS version, or raise DatabaseError with a one-line reason."""
    try:
        with psycopg.connect(libpq_url(url), connect_timeout=5) as conn:
            row = conn.execute(
                "SELECT extversion FROM pg_extension WHERE extname = 'postgis'"
            ).fetchone()
    except psycopg.OperationalError as exc:
        reason = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        raise DatabaseError(f"cannot connect to {redact(url)}: {reason}") from None
    if row is None:
        raise DatabaseError(
            f"{redact(url)} has no PostGIS: run `CREATE EXTENSION postgis;` in it as a superuser "
            "(on Debian install postgresql-15-postgis-3 first)"
        )
    return row[0]
