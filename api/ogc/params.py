"""Query parameters of OGC API – Features requests: bbox, bbox-crs, limit, offset, datetime."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from api.problems import Problem

MAX_LIMIT = 10_000
MAX_OFFSET = 100_000  # deeper pages follow keyset `next` links (after=<last id>)
DEFAULT_LIMIT = 100
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
EPSG3857 = "http://www.opengis.net/def/crs/EPSG/0/3857"
EPSG4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"
BBOX_CRS = {CRS84: 4326, EPSG4326: 4326, EPSG3857: 3857}


@dataclass(frozen=True)
class Crs:
    """An output or filter CRS: its URI, SRID, axis order and coordinate precision."""

    uri: str
    srid: int
    lat_first: bool  # EPSG's geographic CRSs list latitude first (OGC API Features Part 2)
    digits: int


CRS_LIST = {c.uri: c for c in (Crs(CRS84, 4326, False, 7), Crs(EPSG4326, 4326, True, 7),
                               Crs(EPSG3857, 3857, False, 2), Crs(EPSG4490, 4490, True, 7))}
DEFAULT_CRS = CRS_LIST[CRS84]
MERC_MAX = 20037508.342789244
EARTH_R = 6378137.0  # metres, the Web Mercator sphere


def bad(detail: str) -> Problem:
    return Problem(400, "Bad Request", detail)


def check_known(query: Mapping[str, str], allowed: set[str]) -> None:
    """400 for any query parameter not in `allowed`."""
    unknown = sorted(set(query) - allowed)
    if unknown:
        raise bad(f"unknown query parameter(s): {', '.join(unknown)}; "
                  f"allowed: {', '.join(sorted(allowed))}")


def parse_int(name: str, text: str | None, default: int, minimum: int) -> int:
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise bad(f"{name} must be an integer, got {text!r}") from None
    if value < minimum:
        raise bad(f"{name} must be >= {minimum}")
    return value


def parse_offset(text: str | None) -> int:
    """The page offset: at most MAX_OFFSET (a deep OFFSET makes the database walk every row
    before it); beyond, the `next` links page by id (`after`)."""
    value = parse_int("offset", text, 0, 0)
    if value > MAX_OFFSET:
        raise bad(f"offset must be at most {MAX_OFFSET:,}; follow the page's `next` link, which "
                  "pages by id (after=<last id>) beyond that")
    return value


def parse_limit(text: str | None) -> int:
    """The page size: default 100; values over the maximum are clamped (OGC API Features)."""
    return min(parse_int("limit", text, DEFAULT_LIMIT, 1), MAX_LIMIT)


@dataclass(frozen=True)
class BBox:
    xmin: float
    ymin: float
    xmax: float
    ymax: float
    srid: int

    def area_km2(self) -> float:
        """The area on the ground (spherical approximation, good to a few per cent)."""
        if self.srid == 3857:
            lat1, lat2 = (math.degrees(math.atan(math.sinh(v / EARTH_R))) for v in
                          (self.ymin, self.ymax))
            lon1, lon2 = (math.degrees(v / EARTH_R) for v in (self.xmin, self.xmax))
        else:
            lon1, lat1, lon2, lat2 = self.xmin, self.ymin, self.xmax, self.ymax
        band = abs(math.sin(math.radians(lat2)) - math.sin(math.radians(lat1)))
        return (EARTH_R / 1000) ** 2 * math.radians(lon2 - lon1) * band


def check_bbox_area(bbox: BBox | None, max_km2: float, collection: str) -> None:
    """400 when a bbox over a detail collection is wider than `max_km2` (0: no limit)."""
    if bbox is None or max_km2 <= 0:
        return
    area = bbox.area_km2()
    if area > max_km2:
        raise bad(f"bbox covers {area:,.1f} km², over the {max_km2:g} km² limit for "
                  f"{collection} feature pages (WANGGE_MAX_BBOX_KM2): ask for a smaller bbox, "
                  "page without one, or use the vector tiles for overview maps")


def parse_bbox(text: str | None, crs: str | None) -> BBox | None:
    """bbox=minx,miny,maxx,maxy (or 6 numbers with heights) in bbox-crs (CRS84 by default)."""
    if crs is not None and crs not in BBOX_CRS:
        raise bad(f"unsupported bbox-crs {crs!r}; one of {', '.join(BBOX_CRS)}")
    if text is None:
        return None
    try:
        nums = [float(v) for v in text.split(",")]
    except ValueError:
        raise bad(f"bbox must be 4 or 6 comma-separated numbers, got {text!r}") from None
    if len(nums) not in (4, 6) or not all(math.isfinite(v) for v in nums):
        raise bad(f"bbox must be 4 or 6 comma-separated numbers, got {text!r}")
    if len(nums) == 6:
        nums = [nums[0], nums[1], nums[3], nums[4]]
    x1, y1, x2, y2 = nums
    if crs == EPSG4326:  # EPSG:4326 has latitude first
        x1, y1, x2, y2 = y1, x1, y2, x2
    if x1 > x2 or y1 > y2:
        raise bad("bbox minimum exceeds maximum")
    srid = BBOX_CRS.get(crs or CRS84, 4326)
    limit_x, limit_y = (180.0, 90.0) if srid == 4326 else (MERC_MAX, MERC_MAX)
    if min(x1, x2) < -limit_x or max(x1, x2) > limit_x or min(y1, y2) < -limit_y \
            or max(y1, y2) > limit_y:
        raise bad("bbox lies outside the world")
    return BBox(x1, y1, x2, y2, srid)


def _instant(text: str) -> datetime | None:
    if text in ("", ".."):
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise bad(f"datetime must be RFC 3339 (e.g. 2024-05-01T08:00:00Z), got {text!r}") \
            from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_datetime(text: str | None) -> tuple[datetime | None, datetime | None] | None:
    """An instant or an interval start/end (open ends as '..' or empty) -> (start, end)."""
    if text is None:
        return None
    if "/" in text:
        start_s, _, end_s = text.partition("/")
        if start_s in ("", "..") and end_s in ("", ".."):
            raise bad("datetime interval needs at least one bound")
        start, end = _instant(start_s), _instant(end_s)
        if start and end and start > end:
            raise bad("datetime interval starts after it ends")
        return start, end
    if text in ("", ".."):
        raise bad(f"malformed datetime {text!r}")
    at = _instant(text)
    return at, at


def parse_crs(name: str, text: str | None) -> Crs:
    """The CRS named by a `crs` or `filter-crs` parameter (CRS84 when absent)."""
    if text is None:
        return DEFAULT_CRS
    crs = CRS_LIST.get(text.strip("<>"))
    if crs is None:
        raise bad(f"unsupported {name} {text!r}; one of {', '.join(CRS_LIST)}")
    return crs
