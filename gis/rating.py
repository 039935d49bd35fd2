"""Evaluation (评): the resident's one-time rating link, and the commander's phone follow-up.

A commander makes a link for a closed case: a random 32-byte token (URL-safe) whose SHA-256
digest alone is stored in rating_links, with an expiry (WANGGE_RATING_LINK_DAYS). The token
starts with the case's street id and a dot ("17.<random>"), so that the link's lookup names the
shard key and Citus reads one shard; the digest covers the prefix, so an altered street finds
no link. A token without the prefix (made before it) is looked up on every shard. Whoever holds
the link may rate once, without logging in: the first valid use stores the score (1-5) and the
comment on the incident (satisfaction_source 'link'), marks the link used and appends a 'rate'
event, all in one transaction with the link's row locked, so two submissions cannot both count.
A used, expired or unknown link, or a case already rated by a resident, is Gone (410). A
commander may record a phone follow-up (回访) instead: the same fields with source 'phone'.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from psycopg import AsyncConnection

from gis.incidents import locked_case, notify_sql, street_match, summary_json
from gis.scope import Principal


class RatingError(ValueError):
    """A refused rating: 409 (case not closed), 410 (link gone), 422 (bad score)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def digest(token: str) -> str:
    """The stored form of a rating token."""
    return hashlib.sha256(token.encode()).hexdigest()


def check_score(score: int, comment: str) -> None:
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise RatingError(422, "the score is a whole number from 1 to 5")
    if len(comment) > 1000:
        raise RatingError(422, "the comment holds at most 1000 characters")


async def _closed_case(conn: AsyncConnection, principal: Principal, incident_id: int
                       ) -> tuple[str, int | None]:
    """(satisfaction source, street) of a closed case in scope, locked."""
    row = await locked_case(conn, principal, incident_id,
                            "i.status, i.satisfaction_source, i.street_id")
    if row[0] != "closed":
        raise RatingError(409, f"the case is {row[0]}: residents rate closed cases")
    return row[1], row[2]


async def create_link(conn: AsyncConnection, principal: Principal, incident_id: int,
                      days: int) -> dict:
    """A new one-time link for a closed case: {token, expires_at} (the token is shown once)."""
    source, street = await _closed_case(conn, principal, incident_id)
    if source in ("link", "phone"):
        raise RatingError(409, "the case is already rated by the resident")
    token = ("" if street is None else f"{street}.") + secrets.token_urlsafe(32)
    cur = await conn.execute(
        "INSERT INTO rating_links (incident_id, street_id, token_sha256, created_by, "
        "expires_at) VALUES (%(id)s, %(street)s, %(sha)s, %(by)s, now() + %(days)s) "
        "RETURNING expires_at",
        {"sha": digest(token), "by": principal.username, "days": timedelta(days=days),
         "id": incident_id, "street": street})
    return {"token": token, "expires_at": (await cur.fetchone())[0]}


_LINK_SQL = """
SELECT l.id, l.incident_id, l.used_at IS NOT NULL AS used, l.expires_at <= now() AS expired,
       i.satisfaction_source IN ('link', 'phone') AS rated, i.code, i.category, i.title,
       i.closed_at, i.street_id
FROM rating_links l JOIN incidents i ON i.id = l.incident_id AND i.street_id = l.street_id
WHERE l.token_sha256 = %(token)s
"""


def _token_street(token: str) -> int | None:
    """The street id a token starts with (None for a token without one)."""
    head, dot, _ = token.partition(".")
    return int(head) if dot and head.isdigit() and len(head) <= 18 else None


async def _live_link(conn: AsyncConnection, token: str, lock: bool) -> tuple:
    street = _token_street(token)
    routed = "" if street is None else " AND l.street_id = %(street)s AND i.street_id = %(street)s"
    cur = await conn.execute(_LINK_SQL + routed, {"token": digest(token), "street": street})
    row = await cur.fetchone()
    if row is not None and lock:  # locked again by the shard key (Citus locks one shard only)
        cur = await conn.execute(
            _LINK_SQL + f" AND {street_match('l', row[9])} FOR UPDATE OF l, i",
            {"token": digest(token), "street": row[9]})
        row = await cur.fetchone()
    if row is None:
        raise RatingError(410, "this rating link is not valid")
    if row[2] or row[4]:
        raise RatingError(410, "this rating link has been used: thank you, the case is rated")
    if row[3]:
        raise RatingError(410, "this rating link has expired")
    return row


async def link_info(conn: AsyncConnection, token: str) -> dict:
    """What the rating page shows about the case (RatingError 410 when the link is gone)."""
    row = await _live_link(conn, token, lock=False)
    return {"code": row[5], "category": row[6], "title": row[7], "closed_at": row[8]}


async def rate(conn: AsyncConnection, token: str, score: int, comment: str = "") -> dict:
    """Use the link once (call inside a transaction): store the resident's score and comment."""
    check_score(score, comment)
    row = await _live_link(conn, token, lock=True)
    link_id, incident_id, code = row[0], row[1], row[5]
    street = row[9]
    await conn.execute(f"UPDATE rating_links i SET used_at = now() WHERE id = %(id)s "
                       f"AND {street_match('i', street)}", {"id": link_id, "street": street})
    await _store(conn, incident_id, street, score, comment, "link", "resident", "rate")
    return {"code": code, "score": score}


async def follow_up(conn: AsyncConnection, principal: Principal, incident_id: int, score: int,
                    comment: str = "") -> dict:
    """回访: a commander records the resident's score given by phone; returns the summary."""
    check_score(score, comment)
    _source, street = await _closed_case(conn, principal, incident_id)
    return await _store(conn, incident_id, street, score, comment, "phone",
                        principal.username, "follow_up")


async def _store(conn: AsyncConnection, incident_id: int, street: int | None, score: int,
                 comment: str, source: str, actor: str, action: str) -> dict:
    cur = await conn.execute(f"""
        WITH u AS (
            UPDATE incidents i SET satisfaction = %(score)s, satisfaction_comment = %(comment)s,
                satisfaction_source = %(source)s, rated_at = now(), updated_at = now()
            WHERE i.id = %(id)s AND {street_match('i', street)} RETURNING i.*
        ), ev AS (
            INSERT INTO incident_events (incident_id, street_id, actor, action, from_status,
                                         to_status, note)
            SELECT id, street_id, %(actor)s, %(action)s, status, status,
                   %(score)s || '/5' || CASE WHEN %(comment)s = '' THEN ''
                                              ELSE ' ' || %(comment)s END FROM u
        )
        SELECT {summary_json('u')}, {notify_sql('u', '%(action)s')} FROM u
        """, {"id": incident_id, "street": street, "score": score, "comment": comment,
              "source": source,
              "actor": actor, "action": action})
    return (await cur.fetchone())[0]
