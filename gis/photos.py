"""Incident photos: checked by their magic bytes, decoded, stripped of metadata, stored as bytea.

A photo is accepted only when its first bytes say JPEG or PNG (the declared content type and the
file name are not trusted), it is within the size limit and Pillow can decode it. It is then
re-encoded: EXIF is dropped except the time it was taken (DateTimeOriginal, else DateTime), the
orientation is applied to the pixels first so nothing turns sideways, and anything larger than
MAX_SIDE pixels is scaled down (the worker app already resizes on the device). The stored bytes'
SHA-256 is kept as the checksum and served as the ETag. Reads are confined by the incident's
scope: a photo of an incident the caller may not see does not exist for them.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from PIL import Image, ImageOps, UnidentifiedImageError
from psycopg import AsyncConnection

from gis.incidents import NotFound, locked_case, street_match, street_of
from gis.scope import Principal, scope_filter

MAGIC = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}
MAX_SIDE = 1600
MAX_PER_INCIDENT = 5  # per purpose: a report's photos, a resolution's photos
PURPOSES = ("report", "resolution")
EXIF_DATETIME, EXIF_IFD, EXIF_DATETIME_ORIGINAL = 0x0132, 0x8769, 0x9003
LOCAL_TZ = ZoneInfo("Asia/Shanghai")  # EXIF times carry no zone; phones write local time
Image.MAX_IMAGE_PIXELS = 40_000_000  # a decompression bomb is refused, not decoded


class PhotoError(ValueError):
    """A photo that cannot be taken; `status` is the HTTP-like status, `title` its kind."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title = status, title


@dataclass(frozen=True)
class CleanPhoto:
    """A checked, re-encoded photo ready to store."""

    data: bytes
    content_type: str
    width: int
    height: int
    sha256: str
    taken_at: datetime | None


def sniff(data: bytes) -> str | None:
    """The content type the magic bytes announce (JPEG or PNG), else None."""
    return next((ctype for magic, ctype in MAGIC.items() if data.startswith(magic)), None)


def _taken_at(img: Image.Image) -> tuple[str | None, datetime | None]:
    exif = img.getexif()
    text = exif.get_ifd(EXIF_IFD).get(EXIF_DATETIME_ORIGINAL) or exif.get(EXIF_DATETIME)
    if not isinstance(text, str):
        return None, None
    try:
        when = datetime.strptime(text.strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None, None
    return text, when.replace(tzinfo=LOCAL_TZ)


def clean(data: bytes, max_bytes: int, taken_at: datetime | None = None) -> CleanPhoto:
    """Check and re-encode an uploaded photo (PhotoError when it is not an acceptable image).

    `taken_at` (the device's word) is kept when the photo's EXIF has no time."""
    if not data:
        raise PhotoError(422, "Not an image", "the photo is empty")
    if len(data) > max_bytes:
        raise PhotoError(413, "Photo too large",
                         f"a photo is limited to {max_bytes} bytes, got {len(data)}")
    ctype = sniff(data)
    if ctype is None:
        raise PhotoError(415, "Not an image", "only JPEG and PNG photos are accepted "
                         "(checked by the file's content, not its name)")
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            time_text, exif_time = _taken_at(img)
            img = ImageOps.exif_transpose(img)
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise PhotoError(422, "Not an image", f"the photo cannot be decoded: {exc}") from None
    if max(img.size) > MAX_SIDE:
        img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if ctype == "image/jpeg":
        exif = Image.Exif()
        if time_text:
            exif[EXIF_DATETIME] = time_text
        img.convert("RGB").save(out, "JPEG", quality=85, exif=exif.tobytes())
    else:
        img.save(out, "PNG", optimize=True)  # no text chunks: nothing but pixels
    stored = out.getvalue()
    return CleanPhoto(stored, ctype, img.width, img.height, hashlib.sha256(stored).hexdigest(),
                      exif_time or taken_at)


PHOTO_JSON = """json_build_object(
    'id', p.id, 'incident_id', p.incident_id, 'purpose', p.purpose,
    'content_type', p.content_type, 'size', p.size, 'sha256', p.sha256,
    'width', p.width, 'height', p.height, 'taken_at', p.taken_at, 'created_at', p.created_at,
    'url', '/incidents/' || p.incident_id || '/photos/' || p.id)"""


async def _case_street(conn: AsyncConnection, principal: Principal, incident_id: int,
                       lock: bool = False) -> int | None:
    """The street of an incident in scope (its photos' shard key), PhotoError 404 otherwise."""
    try:
        row = await locked_case(conn, principal, incident_id, "i.street_id",
                                "FOR SHARE" if lock else "")
    except NotFound:
        raise PhotoError(404, "Not Found", f"no incident {incident_id}") from None
    return row[0]


async def add(conn: AsyncConnection, principal: Principal, incident_id: int, purpose: str,
              photo: CleanPhoto) -> dict:
    """Store a photo with an incident in scope (inside a transaction); returns its record."""
    if purpose not in PURPOSES:
        raise PhotoError(422, "Invalid photo", f"purpose is one of {', '.join(PURPOSES)}")
    street = await _case_street(conn, principal, incident_id, lock=True)
    cur = await conn.execute(
        "SELECT count(*) FROM incident_photos p WHERE p.incident_id = %(id)s "
        f"AND {street_match('p', street)} AND p.purpose = %(purpose)s",
        {"id": incident_id, "street": street, "purpose": purpose})
    if (await cur.fetchone())[0] >= MAX_PER_INCIDENT:
        raise PhotoError(409, "Too many photos",
                         f"an incident's {purpose} holds at most {MAX_PER_INCIDENT} photos")
    cur = await conn.execute("""
        INSERT INTO incident_photos AS p (incident_id, street_id, account_id, purpose,
                                          content_type, data, size, sha256, width, height,
                                          taken_at)
        VALUES (%(id)s, %(street)s, %(account)s, %(purpose)s, %(ctype)s, %(data)s, %(size)s,
                %(sha256)s, %(width)s, %(height)s, %(taken_at)s::timestamptz)
        RETURNING p.id""",
        {"account": principal.account_id, "purpose": purpose, "ctype": photo.content_type,
         "data": photo.data, "size": len(photo.data), "sha256": photo.sha256,
         "width": photo.width, "height": photo.height, "taken_at": photo.taken_at,
         "id": incident_id, "street": street})
    # read back (a VALUES insert, routed by its street, returns only immutable expressions)
    cur = await conn.execute(
        f"SELECT {PHOTO_JSON} FROM incident_photos p WHERE p.id = %(photo)s "
        f"AND {street_match('p', street)}", {"photo": (await cur.fetchone())[0], "street": street})
    return (await cur.fetchone())[0]


async def listing(conn: AsyncConnection, principal: Principal, incident_id: int) -> list[dict]:
    """The photos of an incident in scope (PhotoError 404 otherwise)."""
    street = await _case_street(conn, principal, incident_id)
    cur = await conn.execute(
        f"SELECT coalesce(json_agg({PHOTO_JSON} ORDER BY p.id), '[]'::json) "
        f"FROM incident_photos p WHERE p.incident_id = %(id)s AND {street_match('p', street)}",
        {"id": incident_id, "street": street})
    return (await cur.fetchone())[0]


async def read(conn: AsyncConnection, principal: Principal, incident_id: int,
               photo_id: int) -> tuple[bytes, str, str] | None:
    """(bytes, content type, sha256) of a photo whose incident is in scope, else None."""
    where, params = scope_filter("incidents", "i", principal)
    try:
        street = await street_of(conn, incident_id)
    except NotFound:
        return None
    cur = await conn.execute(
        f"SELECT p.data, p.content_type, p.sha256 FROM incident_photos p "
        f"JOIN incidents i ON i.id = p.incident_id AND i.street_id = p.street_id "
        f"WHERE p.id = %(photo)s AND p.incident_id = %(id)s AND {street_match('i', street)} "
        f"AND {where}", {**params, "photo": photo_id, "id": incident_id, "street": street})
    row = await cur.fetchone()
    return (bytes(row[0]), row[1], row[2]) if row else None
