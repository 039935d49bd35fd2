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
