"""`wangge demo`: load a deterministic demo district (演示区) into the database.

One district, 3 streets, 10 communities (classes A–D), 40 grids of 330–470 households (two of them
dedicated grids: a school and a hospital), ~840 buildings (low-rise of 6–24 households and towers
of 60–120), roads, micro-grids from the split engine when it is available, workers with
assignments, one account per role, and 30 days of patrols and incidents in every workflow state.
The same seed and anchor date give the same data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import psycopg
import shapely
import shapely.affinity
from pyproj import Transformer
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Point, Polygon

from gis.accounts import create_account
from gis.attribution import attribute_sql, locate_select
from gis.categories import load_categories
from gis.codes import assign_codes
from gis.database import libpq_url
from gis.demo_geometry import METRIC_CRS, ORIGIN, DemoArea, generate
from gis.demo_people import DEMO_DEPARTMENT_ACCOUNTS, add_departments
from gis.patrol_visits import REBUILD_IF_CITUS_SQL as VISITS_REBUILD_SQL
from gis.rollup import rollup_households
from gis.routing import RECORD_SQL, REPORTS_SQL
from gis.workflow import TRANSITIONS

DISTRICT_CODE = "330199"  # fictional county-level code under Hangzhou (3301xx)
DISTRICT_NAME = "演示区"
STREET_NAMES = ["东湖街道", "西溪街道", "南山街道"]
COMMUNITY_NAMES = [("翠苑社区", "A"), ("文新社区", "B"), ("古荡社区", "B"), ("嘉绿社区", "A"),
                   ("北山社区", "B"), ("留下村", "D"), ("小和山社区", "C"), ("西湖社区", "B"),
                   ("龙井村", "D"), ("转塘社区", "C")]
FACILITY_NAMES = {"school": "实验中学专属网格", "hospital": "区人民医院专属网格"}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
DEMO_ACCOUNTS = [  # username, password, role, jurisdiction (level, index path) or None
    ("admin", "wangge-admin", "admin", None),
    ("planner", "wangge-planner", "planner", None),
    ("commander", "wangge-commander", "commander", None),
    ("commander_s1", "wangge-commander", "commander", ("street", (0,))),
    ("worker", "wangge-worker", "worker", None),  # the first grid's full-time worker
]

Say = Callable[[str], None]
_to_wgs84 = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)


def _affine_to_wgs84() -> tuple[float, float, float, float, float, float]:
    """A local affine map metres -> degrees fitted at the district's origin.

    Affine, so straight shared edges and T-junctions stay exactly shared after the transform (a
    true projection bends them by nanometres and breaks exact tiling); over 4 km it departs from
    the UTM inverse by well under a millimetre.
    """
    x0, y0 = ORIGIN
    lon0, lat0 = _to_wgs84.transform(x0, y0)
    lon_x, lat_x = _to_wgs84.transform(x0 + 1000.0, y0)
    lon_y, lat_y = _to_wgs84.transform(x0, y0 + 1000.0)
    return ((lon_x - lon0) / 1000, (lon_y - lon0) / 1000, (lat_x - lat0) / 1000,
            (lat_y - lat0) / 1000, lon0 - x0 * (lon_x - lon0) / 1000 - y0 * (lon_y - lon0) / 1000,
            lat0 - x0 * (lat_x - lat0) / 1000 - y0 * (lat_y - lat0) / 1000)


_AFFINE = _affine_to_wgs84()


def _wgs84(geom):
    return shapely.affinity.affine_transform(geom, _AFFINE)


def _multi(poly: Polygon) -> MultiPolygon:
    return MultiPolygon([poly]) if isinstance(poly, Polygon) else poly


def _name(rng: np.random.Generator) -> str:
    return (SURNAMES[rng.integers(len(SURNAMES))] + GIVEN[rng.integers(len(GIVEN))]
            + GIVEN[rng.integers(len(GIVEN))])


def has_data(url: str) -> bool:
    """True when the database already holds streets."""
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute("SELECT EXISTS (SELECT 1 FROM streets)").fetchone()[0]


RESET_TABLES = ("audit_log, edit_log, boundary_versions, plans, idempotency_keys, "
                "rating_links, incident_events, incidents, patrol_points, patrols, assignments, "
                "account_areas, accounts, departments, workers, buildings, roads, micro_grids, "
                "grids, communities, streets, incident_streets, incident_area_streets, "
                "incident_actor_streets, patrol_visits")


@dataclass
class _Ids:
    streets: list[int]
    communities: list[list[int]]
    grids: list[list[list[int]]]


def _insert_areas(cur: psycopg.Cursor, district: DemoArea) -> _Ids:
    wgs_streets = [_wgs84(s.polygon) for s in district.children]
    street_codes = assign_codes(DISTRICT_CODE, wgs_streets)
    ids = _Ids([], [], [])
    for s_i, street in enumerate(district.children):
        cur.execute(
            "INSERT INTO streets (code, name, parent_code, geom) "
            "VALUES (%s, %s, %s, ST_GeomFromWKB(%s, 4326)) RETURNING id",
            (street_codes[s_i], STREET_NAMES[s_i], DISTRICT_CODE,
             _multi(wgs_streets[s_i]).wkb))
        street_id = cur.fetchone()[0]
        ids.streets.append(street_id)
        wgs_comms = [_wgs84(c.polygon) for c in street.children]
        comm_codes = assign_codes(street_codes[s_i], wgs_comms)
        ids.communities.append([])
        ids.grids.append([])
        for c_i, community in enumerate(street.children):
            name, klass = COMMUNITY_NAMES[sum(len(s.children) for s in district.children[:s_i])
                                          + c_i]
            cur.execute(
                "INSERT INTO communities (code, name, parent_id, parent_code, class, geom) "
                "VALUES (%s, %s, %s, %s, %s, ST_GeomFromWKB(%s, 4326)) RETURNING id",
                (comm_codes[c_i], name, street_id, street_codes[s_i], klass,
                 _multi(wgs_comms[c_i]).wkb))
            community_id = cur.fetchone()[0]
            ids.communities[-1].append(community_id)
            wgs_grids = [_wgs84(g.polygon) for g in community.children]
            grid_codes = assign_codes(comm_codes[c_i], wgs_grids,
                                      dedicated=[g.dedicated is not None
                                                 for g in community.children])
            ids.grids[-1].append([])
            for g_i, grid in enumerate(community.children):
                seq = int(grid_codes[g_i][-3:])
                gname = (FACILITY_NAMES[grid.dedicated] if grid.dedicated
                         else f"{name}第{seq}网格")
                cur.execute(
                    "INSERT INTO grids (code, name, parent_id, parent_code, kind, geom, "
                    "attributes) VALUES (%s, %s, %s, %s, %s, ST_GeomFromWKB(%s, 4326), %s) "
                    "RETURNING id",
                    (grid_codes[g_i], gname, community_id, comm_codes[c_i],
                     "dedicated" if grid.dedicated else "standard", _multi(wgs_grids[g_i]).wkb,
                     psycopg.types.json.Jsonb({"facility": grid.dedicated}
                                              if grid.dedicated else {})))
                grid_id = cur.fetchone()[0]
                ids.grids[-1][-1].append(grid_id)
                rows = []
                for b_i, b in enumerate(grid.buildings):
                    rows.append((f"{grid_codes[g_i]}B{b_i + 1:03d}", grid_id, b.households,
                                 b.floors, max(1, b.households // 12) if b.households else None,
                                 f"{name}{seq}网格{b_i + 1}幢", _wgs84(b.footprint).wkb,
                                 psycopg.types.json.Jsonb({"kind": b.kind})))
                cur.executemany(
                    "INSERT INTO buildings (code, grid_id, households, floors, units, address, "
                    "geom, attributes) VALUES (%s, %s, %s, %s, %s, %s, "
                    "ST_GeomFromWKB(%s, 4326), %s)", rows)
    return ids


def _insert_roads(cur: psycopg.Cursor, roads: list) -> None:
    rows = []
    for i, road in enumerate(roads):
        geom = _wgs84(road)
        if isinstance(geom, LineString):
            geom = MultiLineString([geom])
        elif geom.geom_type not in ("MultiLineString",):
            lines = [g for g in getattr(geom, "geoms", [geom]) if isinstance(g, LineString)]
            if not lines:
                continue
            geom = MultiLineString(lines)
        rows.append((f"演示路{i + 1}", "primary" if i < 14 else "residential", geom.wkb))
    cur.executemany("INSERT INTO roads (name, kind, geom) VALUES (%s, %s, "
                    "ST_Multi(ST_GeomFromWKB(%s, 4326)))", rows)


def _split_micro_grids(url: str, say: Say) -> bool:
    try:
        from importers.split_job import split_grids
    except ImportError:
        say("split engine not available: micro-grids skipped")
        return False
    report = split_grids(url)
    say(f"split grids into micro-grids: {getattr(report, 'summary', lambda: '')() or 'done'}")
    return True


def _basemap(url: str, say: Say) -> None:
    """The offline basemap drawn from the demo's roads, buildings and area names."""
    from importers.basemap import load_from_district

    counts = load_from_district(url)
    say("basemap from the district's roads and buildings: "
        + ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())))


def _random_point_in(poly, rng: np.random.Generator) -> Point:
    minx, miny, maxx, maxy = poly.bounds
    for _ in range(200):
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if poly.contains(p):
            return p
    return poly.representative_point()


def _people(cur: psycopg.Cursor, district: DemoArea, ids: _Ids, rng: np.random.Generator
            ) -> list[tuple[int, int, str]]:
    """Workers and assignments; returns (worker_id, grid_id, name) of grid patrollers."""
    patrollers = []
    for s_i, street in enumerate(district.children):
        for c_i, community in enumerate(street.children):
            name = _name(rng)
            cur.execute("INSERT INTO workers (code, name) VALUES (%s, %s) RETURNING id",
                        (f"W-C{ids.communities[s_i][c_i]}", name))
            wid = cur.fetchone()[0]
            cur.execute("INSERT INTO assignments (worker_id, level, area_id, role, starts_on) "
                        "VALUES (%s, 'community', %s, 'part_time', %s)",
                        (wid, ids.communities[s_i][c_i], date(2026, 1, 1)))
            for g_i, _grid in enumerate(community.children):
                grid_id = ids.grids[s_i][c_i][g_i]
                for role in ("grid_leader", "full_time"):
                    wname = _name(rng)
                    cur.execute("INSERT INTO workers (code, name, phone) VALUES (%s, %s, %s) "
                                "RETURNING id", (f"W-G{grid_id}-{role}", wname,
                                                 f"138{rng.integers(10**7, 10**8)}"))
                    wid = cur.fetchone()[0]
                    cur.execute(
                        "INSERT INTO assignments (worker_id, level, area_id, role, starts_on) "
                        "VALUES (%s, 'grid', %s, %s, %s)", (wid, grid_id, role, date(2026, 1, 1)))
                    if role == "full_time":
                        patrollers.append((wid, grid_id, wname))
    cur.execute("""
        WITH m AS (SELECT id, code FROM micro_grids WHERE valid_to IS NULL ORDER BY code),
        w AS (INSERT INTO workers (code, name)
              SELECT 'W-M' || m.code, '微网格长' || right(m.code, 6) FROM m RETURNING id, code)
        INSERT INTO assignments (worker_id, level, area_id, role, starts_on)
        SELECT w.id, 'micro_grid', m.id, 'micro_grid_leader', DATE '2026-01-01'
        FROM w JOIN m ON w.code = 'W-M' || m.code""")
    return patrollers


def _accounts(cur: psycopg.Cursor, ids: _Ids, patrollers: list[tuple[int, int, str]]) -> None:
    street_codes = dict(cur.execute("SELECT id, code FROM streets").fetchall())
    for username, password, role, area in DEMO_ACCOUNTS:
        worker_id, areas = None, []
        if role == "worker":  # the full-time worker of the first grid (already assigned)
            worker_id = next(w for w, g, _ in patrollers if g == ids.grids[0][0][0])
        elif area:  # a street's commander
            areas = [(area[0], street_codes[ids.streets[area[1][0]]])]
        create_account(cur.connection, username, password, role, areas, worker_id=worker_id)


def _patrols(cur: psycopg.Cursor, grid_polys: dict[int, Polygon], patrollers, anchor: datetime,
             rng: np.random.Generator) -> None:
    for wid, grid_id, _ in patrollers:
        poly = grid_polys[grid_id]
        for day in range(30):
            if rng.random() < 0.15:  # days off
                continue
            start = anchor - timedelta(days=30 - day) + timedelta(hours=9,
                                                                  minutes=int(rng.integers(60)))
            pts = [_random_point_in(poly, rng) for _ in range(10)]
            times = [start + timedelta(minutes=8 * i) for i in range(len(pts))]
            track = LineString(pts)
            cur.execute("INSERT INTO patrols (worker_id, started_at, ended_at, track) VALUES "
                        "(%s, %s, %s, ST_GeomFromWKB(%s, 4326)) RETURNING id",
                        (wid, times[0], times[-1], track.wkb))
            pid = cur.fetchone()[0]
            cur.executemany("INSERT INTO patrol_points (patrol_id, t, accuracy, geom) VALUES "
                            "(%s, %s, %s, ST_GeomFromWKB(%s, 4326))",
                            [(pid, t, float(rng.uniform(3, 15)), p.wkb)
                             for t, p in zip(times, pts, strict=True)])


# How far along the workflow a case of a given age has got (weights over final statuses).
_FINAL = ["reported", "accepted", "rejected", "dispatched", "in_progress", "resolved",
          "verified", "closed"]
_PATH = {t.target: t for t in TRANSITIONS if t.action != "send_back" and t.source in (
    "reported", "accepted", "dispatched", "in_progress", "resolved", "verified")
    and not (t.action == "dispatch" and t.source != "accepted")}


def _event_chain(final: str) -> list[tuple[str, str, str]]:
    chain: list[tuple[str, str, str]] = []
    status = final
    while status != "reported":
        t = _PATH[status]
        chain.append((t.action, t.source, t.target))
        status = t.source
    return list(reversed(chain))


def _incidents(cur: psycopg.Cursor, grid_polys: dict[int, Polygon], patrollers, anchor: datetime,
               rng: np.random.Generator) -> None:
    categories = list(load_categories().values())
    sources = ["worker", "hotline", "app", "camera"]
    seq = 0
    routes: list[tuple] = []
    reports: list[tuple] = []  # (incident, street, reported, actor) of each report event
    for _wid, grid_id, wname in patrollers:
        poly = grid_polys[grid_id]
        for _ in range(int(rng.integers(10, 20))):
            seq += 1
            age_h = float(rng.uniform(1, 30 * 24))
            reported = anchor - timedelta(hours=age_h)
            cat = categories[int(rng.integers(len(categories)))]
            if age_h < 24:
                weights = [4, 3, 0.5, 2, 2, 1, 0.5, 0.5]
            elif age_h < 24 * 7:
                weights = [1, 1, 1, 2, 2, 2, 2, 4]
            else:
                weights = [0.2, 0.2, 1, 0.5, 0.5, 1, 1, 10]
            w = np.array(weights) / sum(weights)
            final = _FINAL[int(rng.choice(len(_FINAL), p=w))]
            chain = _event_chain(final)
            source = sources[int(rng.integers(len(sources)))]
            point = _random_point_in(poly, rng)
            times = [reported]
            for _step in chain:
                times.append(times[-1] + timedelta(hours=float(rng.uniform(0.2, 1.2))
                                                   * cat.due.total_seconds() / 3600 / 3))
            times = [min(t, anchor - timedelta(minutes=1)) for t in times]
            stamp = {target: times[i + 1] for i, (_a, _s, target) in enumerate(chain)}
            cur.execute(  # attributed as it is written (on Citus the street is the shard key)
                "WITH p AS (SELECT ST_GeomFromWKB(%s, 4326) AS g) "
                "INSERT INTO incidents (code, category, title, description, geom, reported_at, "
                "reporter, source, status, due_at, accepted_at, resolved_at, closed_at, "
                "updated_at, assignee, satisfaction, respond_by, street_id, community_id, "
                "grid_id, micro_grid_id) SELECT %s, %s, %s, %s, p.g, %s, %s, %s, %s, %s, %s, "
                f"%s, %s, %s, %s, %s, %s, {locate_select('p.g')} FROM p "
                "RETURNING id, street_id, community_id, grid_id, micro_grid_id",
                (point.wkb, f"SJ{reported:%Y%m%d}{seq:05d}", cat.key, f"{cat.zh}（演示）",
                 f"演示数据：{cat.zh}", reported,
                 wname if source == "worker" else "", source, final, reported + cat.due,
                 stamp.get("accepted"), stamp.get("resolved"), stamp.get("closed"),
                 times[-1], wname if final not in ("reported", "accepted", "rejected") else None,
                 int(rng.integers(3, 6)) if final == "closed" else None,
                 reported + cat.response))
            routes.append(cur.fetchone())
            iid, street = routes[-1][:2]
            events = [(iid, street, reported, wname if source == "worker" else source, "report",
                       None, "reported", "")]
            reports.append(events[0][:4])
            for i, (action, src, target) in enumerate(chain):
                events.append((iid, street, times[i + 1], "commander", action, src, target, ""))
            cur.executemany("INSERT INTO incident_events (incident_id, street_id, at, actor, "
                            "action, from_status, to_status, note) "
                            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", events)
    if routes:  # each incident's street for routing (gis/routing.py)
        columns = ("id", "street_id", "community_id", "grid_id", "micro_grid_id")
        cur.execute(RECORD_SQL, {c: [r[k] for r in routes] for k, c in enumerate(columns)})
        cur.execute(REPORTS_SQL, {c: [r[k] for r in reports] for k, c in
                                  ((1, "street_id"), (2, "reported_at"), (3, "actor"))})


def load_demo(url: str, say: Say = print, seed: int = 1, anchor: date | None = None,
              reset: bool = False) -> None:
    """Load the demo district into the (migrated) database at `url`."""
    rng = np.random.default_rng(seed)
    district, roads = generate(seed)
    anchor_dt = datetime.combine(anchor or datetime.now(UTC).date(), datetime.min.time(), UTC)
    with psycopg.connect(libpq_url(url)) as conn, conn.transaction():
        cur = conn.cursor()
        if reset:
            cur.execute(f"TRUNCATE {RESET_TABLES} RESTART IDENTITY CASCADE")
        elif cur.execute("SELECT EXISTS (SELECT 1 FROM streets)").fetchone()[0]:
            raise RuntimeError("the database already holds areas: use --reset to replace them")
        ids = _insert_areas(cur, district)
        _insert_roads(cur, roads)
        rollup_households(conn)
    n_buildings = sum(len(g.buildings) for s in district.children for c in s.children
                      for g in c.children)
    say(f"demo district {DISTRICT_NAME} ({DISTRICT_CODE}): 3 streets, 10 communities, 40 grids, "
        f"{n_buildings} buildings")
    _split_micro_grids(url, say)
    grid_polys = {ids.grids[s][c][g]: _wgs84(grid.polygon)
                  for s, street in enumerate(district.children)
                  for c, comm in enumerate(street.children)
                  for g, grid in enumerate(comm.children)}
    with psycopg.connect(libpq_url(url)) as conn, conn.transaction():
        cur = conn.cursor()
        patrollers = _people(cur, district, ids, rng)
        _accounts(cur, ids, patrollers)
        add_departments(cur)
        _patrols(cur, grid_polys, patrollers, anchor_dt, rng)
        _incidents(cur, grid_polys, patrollers, anchor_dt, rng)
        cur.execute(attribute_sql("patrol_points"))
        cur.execute(VISITS_REBUILD_SQL)  # the patrol rate's rollup (Citus: no trigger keeps it)
        n_inc = cur.execute("SELECT count(*) FROM incidents").fetchone()[0]
        n_pts = cur.execute("SELECT count(*) FROM patrol_points").fetchone()[0]
    say(f"workers with assignments, {n_pts} patrol points and {n_inc} incidents over 30 days")
    _basemap(url, say)
    say("demo accounts (username / password): "
        + ", ".join(f"{u} / {p}" for u, p, *_ in DEMO_ACCOUNTS + DEMO_DEPARTMENT_ACCOUNTS)
        + " — log in at /login or POST /auth/token")
