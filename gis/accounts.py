"""Accounts: password hashing (argon2) and signed, expiring bearer tokens (JWT, HS256)."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError

from gis.settings import Settings

_hasher = PasswordHasher()
ALGORITHM = "HS256"
ISSUER = "wangge"


class InvalidToken(ValueError):
    """The token is malformed, forged or expired."""


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches `password_hash`."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


def secret_key(settings: Settings) -> str:
    """The signing key: WANGGE_SECRET_KEY, else one generated once into the local folder."""
    if settings.secret_key:
        return settings.secret_key
    path: Path = settings.local_dir / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def issue_token(settings: Settings, account_id: int, username: str, role: str,
                generation: int, minutes: int | None = None) -> tuple[str, int]:
    """A signed token for the account and its lifetime in seconds."""
    lifetime = timedelta(minutes=minutes or settings.token_minutes)
    now = datetime.now(UTC)
    claims = {"sub": str(account_id), "name": username, "role": role, "gen": generation,
              "jti": uuid.uuid4().hex, "iat": now, "exp": now + lifetime, "iss": ISSUER}
    return jwt.encode(claims, secret_key(settings), algorithm=ALGORITHM), int(
        lifetime.total_seconds())


def decode_token(settings: Settings, token: str) -> dict:
    """The claims of a valid token, or InvalidToken."""
    try:
        return jwt.decode(token, secret_key(settings), algorithms=[ALGORITHM], issuer=ISSUER,
                          options={"require": ["exp", "sub", "jti"]})
    except jwt.ExpiredSignatureError:
        raise InvalidToken("token expired") from None
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"invalid token: {exc}") from None


# --- account management (sync; used by the CLI and the demo loader) -------------------------

WORKER_ROLES = ("grid_leader", "full_time", "part_time", "micro_grid_leader", "household_leader")
_CODE_LEVELS = {9: "street", 12: "community", 15: "grid", 18: "micro_grid"}


class AccountError(ValueError):
    """A bad account request (unknown role or area, duplicate name, weak password)."""


def _dbapi(conn):
    """The psycopg connection behind `conn` (a psycopg.Connection or a SQLAlchemy Connection)."""
    if hasattr(conn, "exec_driver_sql"):  # SQLAlchemy Connection: same transaction, raw psycopg
        return conn.connection.driver_connection
    return conn


def level_of_code(code: str) -> str:
    """The level an area code belongs to, from its length (9, 12, 15 or 18 digits)."""
    if not code.isdigit() or len(code) not in _CODE_LEVELS:
        raise AccountError(f"area code {code!r} is not 9, 12, 15 or 18 digits")
    return _CODE_LEVELS[len(code)]


def resolve_area(conn, level: str, code: str) -> int:
    """The id of the current area with `code` at `level` (AccountError when there is none)."""
    from gis.levels import level as level_spec

    try:
        table = level_spec(level).table
    except KeyError as exc:
        raise AccountError(str(exc)) from None
    row = _dbapi(conn).execute(
        f"SELECT id FROM {table} WHERE code = %s AND valid_to IS NULL", (code,)).fetchone()
    if row is None:
        raise AccountError(f"no current {level} with code {code}")
    return row[0]


def create_account(conn, username: str, password: str, role: str,
                   areas=(), worker_id: int | None = None,
                   worker_role: str = "full_time") -> int:
    """Create an account and return its id.

    `conn` is a sync psycopg 3 connection (a SQLAlchemy Connection is accepted too; its
    underlying psycopg connection is used, inside the caller's transaction). `areas` are
    (level, area code) pairs. A worker account is linked to `worker_id` (a workers row is
    created when None) and its areas become current assignments with `worker_role`; for the
    other roles they are the account's jurisdiction (account_areas). Admins take no areas.
    """
    from gis.scope import ROLES

    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    if worker_role not in WORKER_ROLES:
        raise AccountError(f"unknown worker role {worker_role!r}: one of {', '.join(WORKER_ROLES)}")
    if len(password) < 8:
        raise AccountError("the password needs at least 8 characters")
    if role == "department":
        raise AccountError("a department's account is made with its department (POST "
                           "/people/departments, or the roster page)")
    if role == "admin" and areas:
        raise AccountError("an admin sees everything: give no areas")
    db = _dbapi(conn)
    ids = [(lv, resolve_area(db, lv, code)) for lv, code in areas]
    if db.execute("SELECT 1 FROM accounts WHERE lower(username) = lower(%s)",
                  (username,)).fetchone():
        raise AccountError(f"account {username!r} exists")
    with db.transaction():
        if role == "worker" and worker_id is None:
            worker_id = db.execute("INSERT INTO workers (name) VALUES (%s) RETURNING id",
                                   (username,)).fetchone()[0]
        account_id = db.execute(
            "INSERT INTO accounts (username, password_hash, role, worker_id) "
            "VALUES (%s, %s, %s, %s) RETURNING id",
            (username, hash_password(password), role, worker_id)).fetchone()[0]
        for lv, area_id in ids:
            if role == "worker":
                db.execute("INSERT INTO assignments (worker_id, level, area_id, role) "
                           "VALUES (%s, %s, %s, %s)", (worker_id, lv, area_id, worker_role))
            else:
                db.execute("INSERT INTO account_areas (account_id, level, area_id) "
                           "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING", (account_id, lv, area_id))
    return account_id


LIST_SQL = """
SELECT a.username, a.role, a.disabled, a.created_at, w.name AS worker,
       ARRAY(SELECT x.code FROM (
           SELECT aa.level, aa.area_id FROM account_areas aa WHERE aa.account_id = a.id
           UNION SELECT s.level, s.area_id FROM assignments s
           WHERE s.worker_id = a.worker_id
             AND (s.ends_on IS NULL OR s.ends_on > wangge_local_date())
       ) d CROSS JOIN LATERAL (
           SELECT code FROM streets WHERE d.level = 'street' AND id = d.area_id
           UNION ALL SELECT code FROM communities WHERE d.level = 'community' AND id = d.area_id
           UNION ALL SELECT code FROM grids WHERE d.level = 'grid' AND id = d.area_id
           UNION ALL SELECT code FROM micro_grids WHERE d.level = 'micro_grid' AND id = d.area_id
       ) x ORDER BY x.code) AS areas
FROM accounts a LEFT JOIN workers w ON w.id = a.worker_id
ORDER BY lower(a.username)
"""


def list_accounts(conn) -> list[dict]:
    """Every account: username, role, disabled, created_at, worker, area codes."""
    cur = _dbapi(conn).execute(LIST_SQL)
    names = [c.name for c in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def disable_account(conn, username: str) -> None:
    """Disable an account; its tokens stop working at once (token generation bumped)."""
    row = _dbapi(conn).execute(
        "UPDATE accounts SET disabled = true, token_generation = token_generation + 1 "
        "WHERE lower(username) = lower(%s) RETURNING id", (username,)).fetchone()
    if row is None:
        raise AccountError(f"no account {username!r}")


def revoke_tokens(conn, username: str) -> None:
    """Revoke every token issued so far to an account (token generation bumped)."""
    row = _dbapi(conn).execute(
        "UPDATE accounts SET token_generation = token_generation + 1 "
        "WHERE lower(username) = lower(%s) RETURNING id", (username,)).fetchone()
    if row is None:
        raise AccountError(f"no account {username!r}")
