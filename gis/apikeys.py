"""Personal API keys: read-only credentials for clients that cannot send a bearer token.

Desktop GIS clients (QGIS's OGC API – Features provider, GDAL) can send HTTP Basic credentials
or a query parameter, but not `Authorization: Bearer`. An account therefore makes named keys:
`wgk_<prefix>_<secret>`, the secret 32 random bytes (256 bits, so a plain SHA-256 is a safe
verifier: nothing to brute-force). The key is shown once; the database keeps its SHA-256 and the
8-character prefix that finds the row, and the check compares digests in constant time. A key
acts as its account, with the account's scope, and only reads: the API accepts it for GET and
HEAD on the OGC API, the tiles, TileJSON and exports, and refuses it for every write. A key stops
working when it expires, when it is revoked, or when its account is disabled; the notification
sent by those commits makes the API forget the callers it remembered.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from datetime import datetime

KEY_PREFIX = "wgk_"
PREFIX_LEN = 8
MAX_EXPIRES_DAYS = 3650
_ALNUM = string.ascii_letters + string.digits
_KEY_RE = re.compile(r"^wgk_([A-Za-z0-9]{8})_[A-Za-z0-9_-]{43}$")

COLUMNS = "id, name, prefix, created_at, expires_at, revoked_at, last_used_at"

CREATE_SQL = f"""
INSERT INTO api_keys (account_id, name, key_hash, prefix, expires_at)
VALUES (%(account_id)s, %(name)s, %(key_hash)s, %(prefix)s,
        CASE WHEN %(days)s::int IS NULL THEN NULL ELSE now() + make_interval(days => %(days)s) END)
RETURNING {COLUMNS}
"""
LIST_SQL = f"SELECT {COLUMNS} FROM api_keys WHERE account_id = %(account_id)s ORDER BY id"
REVOKE_SQL = f"""
UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
WHERE id = %(id)s AND account_id = %(account_id)s RETURNING {COLUMNS}
"""
# the key's row and its account, for a credential check (prefix from the presented key)
LOOKUP_SQL = """
SELECT k.id, k.key_hash, k.expires_at <= now() AS expired, k.revoked_at IS NOT NULL AS revoked,
       extract(epoch FROM k.expires_at) AS expires_epoch,
       a.id, a.username, a.role, a.worker_id, a.disabled
FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.prefix = %(prefix)s
"""
# last use, recorded at most once a minute per key (does not notify: see the migration)
TOUCH_SQL = """
UPDATE api_keys SET last_used_at = now()
WHERE id = %(id)s AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
"""


class ApiKeyError(ValueError):
    """A bad key request (empty name, bad expiry, unknown account)."""


def new_key() -> tuple[str, str, bytes]:
    """A fresh key, its public prefix and the SHA-256 digest to store."""
    prefix = "".join(secrets.choice(_ALNUM) for _ in range(PREFIX_LEN))
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return key, prefix, digest(key)


def digest(key: str) -> bytes:
    """The stored verifier of a key."""
    return hashlib.sha256(key.encode()).digest()


def looks_like_key(text: str | None) -> bool:
    """True when `text` has a key's shape (then it is checked as a key, never as a token)."""
    return bool(text) and text.startswith(KEY_PREFIX)


def prefix_of(key: str) -> str | None:
    """The prefix of a well-formed key, else None."""
    match = _KEY_RE.match(key)
    return match.group(1) if match else None


def matches(stored: bytes, key: str) -> bool:
    """Constant-time comparison of a presented key with the stored digest."""
    return hmac.compare_digest(bytes(stored), digest(key))


def check_request(name: str, expires_days: int | None) -> str:
    """The cleaned key name (ApiKeyError on a bad name or expiry)."""
    name = (name or "").strip()
    if not 1 <= len(name) <= 100:
        raise ApiKeyError("a key needs a name of 1 to 100 characters")
    if expires_days is not None and not 1 <= expires_days <= MAX_EXPIRES_DAYS:
        raise ApiKeyError(f"expiry must be 1 to {MAX_EXPIRES_DAYS} days")
    return name


def row_dict(row) -> dict:
    """A key's public fields (never the digest)."""
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {"id": row[0], "name": row[1], "prefix": row[2], "created_at": iso(row[3]),
            "expires_at": iso(row[4]), "revoked_at": iso(row[5]), "last_used_at": iso(row[6])}


def create_key(conn, username: str, name: str, expires_days: int | None = None) -> tuple[str, dict]:
    """Create a key for `username` (sync psycopg connection); returns the key (shown once) and
    its public fields."""
    name = check_request(name, expires_days)
    row = conn.execute("SELECT id FROM accounts WHERE lower(username) = lower(%s)",
                       (username,)).fetchone()
    if row is None:
        raise ApiKeyError(f"no account {username!r}")
    key, prefix, key_hash = new_key()
    with conn.transaction():
        created = conn.execute(CREATE_SQL, {"account_id": row[0], "name": name,
                                            "key_hash": key_hash, "prefix": prefix,
                                            "days": expires_days}).fetchone()
    return key, row_dict(created)
