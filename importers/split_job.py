"""The split job: load parents, buildings and roads, run the engine, write children in one go.

`split_grids` divides grids into micro-grids (or, with level="grid", communities into grids),
replacing the parents' previous children, assigning buildings and rolling households up, all in
one transaction. Children still referenced by incidents or patrol points are retired (valid_to)
rather than deleted, so history keeps its ids.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field

import numpy as np
import psycopg
import shapely

from gis.cluster import SEQUENTIAL
from gis.codes import assign_codes
from gis.database import libpq_url
from gis.editing import succession
from gis.levels import LEVELS
from gis.levels import level as get_level
from gis.partition.engines import splitter, splitter_many
from gis.rollup import rollup_households
from gis.settings import get_settings

PARALLEL_FROM = 16
# parents a worker divides together at most: the fixed costs of the steps run over a batch at
# once (the unit graphs, the boundaries pulled taut) are shared among them
# (bench/batch_bench.py, split_one_by_one/batched); fewer where a worker would otherwise get
# fewer than eight batches, which keeps the workers' loads even at the end
BATCH = 32


@dataclass
class ParentQuality:
    """One parent's division: parts, households per part and compactness."""

    code: str
    name: str
    households: int
    parts: int
    min_households: int
    max_households: int
    mean_households: float
    pp_mean: float
    pp_min: float
    violations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    part_reasons: list[str] = field(default_factory=list)


def reason_lines(reasons: list[list[dict]]) -> list[str]:
    """"part N: why" for every part that is out of bounds or thin."""
    return [f"part {i + 1}: {r['text']}" for i, rs in enumerate(reasons) for r in rs]


@dataclass
class SplitRunReport:
    """What a split run did (or, with dry_run, would do)."""

    level: str
    min_households: int
    max_households: int
    dry_run: bool
    rows: list[ParentQuality] = field(default_factory=list)
    created: int = 0
    removed: int = 0
    retired: int = 0
    moved: int = 0  # assignments that followed their area to a new child

    @property
    def parts(self) -> int:
        return sum(r.parts for r in self.rows)

    @property
    def violations(self) -> int:
        return sum(len(r.violations) for r in self.rows)

    def to_dict(self) -> dict:
        return {"level": self.level, "min": self.min_households, "max": self.max_households,
                "dry_run": self.dry_run, "created": self.created, "removed": self.removed,
                "retired": self.retired, "moved": self.moved,
                "parents": [asdict(r) for r in self.rows]}

    def write(self, path: str) -> None:
        """Write the report as JSON (.json) or CSV (anything else)."""
        if path.endswith(".json"):
            with open(path, "w", encoding="utf-8") as fh:
                json.dump(self.to_dict(), fh, ensure_ascii=False, indent=1)
            return
        import csv

        with open(path, "w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(["code", "name", "households", "parts", "min", "max", "mean",
                          "pp_mean", "pp_min", "violations", "parts out of bounds or thin"])
            for r in self.rows:
                out.writerow([r.code, r.name, r.households, r.parts, r.min_households,
                              r.max_households, f"{r.mean_households:.1f}", f"{r.pp_mean:.3f}",
                              f"{r.pp_min:.3f}", "; ".join(r.violations),
                              "; ".join(r.part_reasons)])

    def table(self):
        """The quality table as a rich Table."""
        from rich.table import Table

        child = LEVELS[self.level].en.lower()
        title = (f"{'dry run: ' if self.dry_run else ''}{len(self.rows)} parents -> "
                 f"{self.parts} {child}s ({self.min_households}-{self.max_households} households)")
        table = Table(title=title)
        for col in ("parent", "households", "parts", "min", "max", "mean", "PP mean", "PP min"):
            table.add_column(col, justify="left" if col == "parent" else "right")
        table.add_column("violations")
        table.add_column("why (parts out of bounds or thin)")
        for r in self.rows:
            style = "red" if r.violations else None
            table.add_row(r.code, str(r.households), str(r.parts), str(r.min_households),
                          str(r.max_households), f"{r.mean_households:.1f}", f"{r.pp_mean:.2f}",
                          f"{r.pp_min:.2f}", "; ".join(r.violations) or "-",
                          "\n".join(r.part_reasons) or "-", style=style)
        return table


def _task(job: tuple) -> tuple[tuple, dict]:
    """A job's split (engine name and level, as splitter takes them) and its arguments."""
    parent_wkb, building_wkbs, households, road_wkbs, lo, hi, seed, *engine = job
    buildings = shapely.from_wkb(np.asarray(building_wkbs, dtype=object)) if building_wkbs else []
    roads = shapely.from_wkb(np.asarray(road_wkbs, dtype=object)) if road_wkbs else ()
    return tuple(engine), {"parent": shapely.from_wkb(parent_wkb), "buildings": list(buildings),
                           "households": households, "barriers": roads, "min_households": lo,
                           "max_households": hi, "seed": seed}


def _out(result) -> tuple:
    return ([p.wkb for p in result.parts], result.assignment.tolist(), result.households,
            result.polsby_popper, result.violations, result.notes, result.part_reasons)


def _split_one(job: tuple) -> tuple:
    """Worker: split one parent given as WKB; returns part WKBs, assignment and quality.

    A job is (parent, buildings, households, roads, min, max, seed[, engine name[, level]])
    (gis.partition.engines.splitter: the default engine and "micro_grid" when left out)."""
    engine, task = _task(job)
    return _out(splitter(*engine)(**task))


def _split_batch(jobs: list[tuple]) -> list[tuple]:
    """Worker: `_split_one` of each job, the same results, with the jobs of one engine and
    level divided together (gis.partition.engines.splitter_many: their unit graphs built
    and their boundaries pulled taut for all of them at once)."""
    tasks = [_task(job) for job in jobs]
    out: list[tuple | None] = [None] * len(jobs)
    for engine in dict.fromkeys(engine for engine, _ in tasks):
        which = [k for k, (e, _) in enumerate(tasks) if e == engine]
        for k, result in zip(which, splitter_many(*engine)([tasks[k][1] for k in which]),
                             strict=True):
            out[k] = _out(result)
    return out


def batch_size(count: int, workers: int) -> int:
    """Jobs a batch of `count` jobs over `workers` workers holds: BATCH at most, and few
    enough that every worker gets eight batches at least (one worker: `count`//8)."""
    return max(1, min(BATCH, count // (max(workers, 1) * 8)))


def batches(jobs: list, size: int = BATCH) -> list[list]:
    """`jobs` in consecutive batches of `size` (the last one shorter)."""
    return [jobs[i:i + size] for i in range(0, len(jobs), size)]


def run_splits(jobs: list[tuple], processes: int | None = None) -> list[tuple]:
    """Run the split of every job in batches (`_split_batch`; BATCH jobs at most, eight
    batches a worker at least), in worker processes when there are many."""
    if len(jobs) < PARALLEL_FROM:
        return _split_batch(jobs)
    workers = processes or min(os.cpu_count() or 1, 8)
    size = batch_size(len(jobs), workers)
    with ProcessPoolExecutor(workers) as pool:
        return [out for batch in pool.map(_split_batch, batches(jobs, size)) for out in batch]


# Dedicated grids (专属网格, kind 'dedicated', codes from 901) are kept by a community's split
# into grids: their polygons leave the region divided, their buildings stay theirs.
DEDICATED = ("SELECT {what} FROM grids d WHERE d.parent_id = {parent}.id "
             "AND d.valid_to IS NULL AND d.kind = 'dedicated'")


def _load(conn, parent_table: str, codes: list[str] | None):
    geom = "geom"
    if parent_table == "communities":
        union = DEDICATED.format(what="ST_Union(d.geom)", parent="communities")
        geom = f"coalesce(ST_Difference(geom, ({union})), geom)"
    sql = (f"SELECT id, code, name, ST_AsBinary({geom}) FROM {parent_table} "
           "WHERE valid_to IS NULL")
    params: list = []
    if codes:
        sql += " AND code = ANY(%s)"
        params.append(list(codes))
    parents = conn.execute(sql + " ORDER BY code", params).fetchall()
    if codes:
        missing = sorted(set(codes) - {p[1] for p in parents})
        if missing:
            raise ValueError(f"no current {parent_table} with code(s) {', '.join(missing)}")
    return parents


def _buildings(conn, parent_table: str, ids: list[int]):
    """Buildings by the parent holding their representative point (lowest parent id on ties)."""
    keep = ""
    if parent_table == "communities":
        keep = "AND NOT EXISTS ({} AND ST_Intersects(d.geom, ST_PointOnSurface(b.geom)))".format(
            DEDICATED.format(what="1", parent="p"))
    return conn.execute(
        f"""SELECT DISTINCT ON (b.id) p.id, b.id, b.households, ST_AsBinary(b.geom)
            FROM buildings b JOIN {parent_table} p
              ON p.id = ANY(%s) AND ST_Intersects(p.geom, ST_PointOnSurface(b.geom))
            WHERE TRUE {keep}
            ORDER BY b.id, p.id""", (ids,)).fetchall()


def _roads(conn, parent_table: str, ids: list[int]):
    return conn.execute(
        f"""SELECT p.id, ST_AsBinary(ST_Intersection(r.geom, p.geom))
            FROM roads r JOIN {parent_table} p
              ON p.id = ANY(%s) AND ST_Intersects(r.geom, p.geom)
            ORDER BY p.id, r.id""", (ids,)).fetchall()


def _remove_children(conn, table: str, parent_ids: list[int]) -> tuple[int, int]:
    """Delete the parents' current children, retiring those that history still references."""
    standard = " AND kind <> 'dedicated'" if table == "grids" else ""
    rows = conn.execute(f"SELECT id FROM {table} WHERE parent_id = ANY(%s) AND valid_to IS NULL"
                        + standard, (parent_ids,)).fetchall()
    ids = [r[0] for r in rows]
    if not ids:
        return 0, 0
    column = "micro_grid_id" if table == "micro_grids" else "grid_id"
    if table == "grids":
        _remove_children(conn, "micro_grids", ids)
    conn.execute(f"UPDATE buildings SET {column} = NULL WHERE {column} = ANY(%s)", (ids,))
    referenced = {r[0] for r in conn.execute(
        f"""SELECT {column} FROM incidents WHERE {column} = ANY(%(ids)s)
            UNION SELECT {column} FROM patrol_points WHERE {column} = ANY(%(ids)s)""",
        {"ids": ids}).fetchall()}
    if table == "grids":
        referenced |= {r[0] for r in conn.execute(
            "SELECT DISTINCT parent_id FROM micro_grids WHERE parent_id = ANY(%s)",
            (ids,)).fetchall()}
    keep = sorted(referenced)
    drop = [i for i in ids if i not in referenced]
    if keep:
        conn.execute(f"UPDATE {table} SET valid_to = now() WHERE id = ANY(%s)", (keep,))
    if drop:
        conn.execute(f"DELETE FROM {table} WHERE id = ANY(%s)", (drop,))
    return len(drop), len(keep)


def _assign_buildings(conn, child: str, rows: list[tuple[int, int, int]]) -> None:
    """Set each building's new child (and, for micro-grids, its grid) in one UPDATE from arrays
    (a temporary table would be a coordinator table, which Citus joins with no reference
    table); rows are (building id, child id, parent id)."""
    if not rows:
        return
    building, kid, parent = (list(col) for col in zip(*rows, strict=True))
    sets = ("micro_grid_id = a.child, grid_id = a.parent" if child == "micro_grid"
            else "grid_id = a.child")
    conn.execute(f"""UPDATE buildings b SET {sets}
                     FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[])
                          AS a(building, child, parent)
                     WHERE b.id = a.building""", (building, kid, parent))


def split_grids(url: str, grid_codes: list[str] | None = None, *, level: str = "micro_grid",
                min_households: int | None = None, max_households: int | None = None,
                seed: int = 0, dry_run: bool = False, processes: int | None = None,
                engine: str | None = None) -> SplitRunReport:
    """Split the given (or all current) parents into children of `level` in one transaction.

    level "micro_grid": grids -> micro-grids; level "grid": communities -> grids. Bounds left
    out are the level's settings (30-50 and 300-500 by default). Roads crossing a parent are
    barrier lines the cuts prefer. With dry_run nothing is written. `engine` names the split
    engine (gis.partition.engines; the default when None).
    """
    splitter(engine)  # an unknown name fails here, before anything is read
    child = get_level(level)
    if child.parent is None or child.name == "community":
        raise ValueError("split level must be micro_grid or grid")
    if min_households is None or max_households is None:
        settings = get_settings()
        if min_households is None:
            min_households = getattr(settings, f"{child.name}_min")
        if max_households is None:
            max_households = getattr(settings, f"{child.name}_max")
    parent_level = LEVELS[child.parent]
    if not 0 < min_households <= max_households:
        raise ValueError(f"bounds must satisfy 0 < min <= max, got {min_households}.."
                         f"{max_households}")
    report = SplitRunReport(child.name, min_households, max_households, dry_run)
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute(SEQUENTIAL)  # reads incidents across shards, then deletes areas
        parents = _load(conn, parent_level.table, grid_codes)
        if not parents:
            return report
        ids = [p[0] for p in parents]
        blds: dict[int, list] = {i: [] for i in ids}
        for pid, bid, hh, wkb in _buildings(conn, parent_level.table, ids):
            blds[pid].append((bid, hh, bytes(wkb)))
        roads: dict[int, list] = {i: [] for i in ids}
        for pid, wkb in _roads(conn, parent_level.table, ids):
            roads[pid].append(bytes(wkb))
        jobs = [(bytes(p[3]), [b[2] for b in blds[p[0]]], [b[1] for b in blds[p[0]]],
                 roads[p[0]], min_households, max_households, seed, engine, child.name)
                for p in parents]
        results = run_splits(jobs, processes)
        followers = succession.capture(conn, child.table, ids)
        removed, retired = _remove_children(conn, child.table, ids)
        assignments: list[tuple[int, int, int]] = []
        report.removed, report.retired = removed, retired
        for parent, result in zip(parents, results, strict=True):
            pid, code, name = parent[0], parent[1], parent[2]
            part_wkbs, assignment, households, pp, violations, notes, reasons = result
            parts = shapely.from_wkb(np.asarray(part_wkbs, dtype=object))
            taken = [r[0] for r in conn.execute(
                f"SELECT code FROM {child.table} WHERE parent_code = %s AND valid_to IS NULL",
                (code,)).fetchall()]
            codes = assign_codes(code, list(parts), taken=taken)
            kind = ", kind" if child.name == "grid" else ""
            kind_value = ", 'standard'" if kind else ""
            insert = (f"INSERT INTO {child.table} (code, name, parent_id, parent_code, households,"
                      f" geom, attributes{kind}) VALUES (%s, %s, %s, %s, %s,"
                      f" ST_Multi(ST_GeomFromWKB(%s, 4326)), %s{kind_value}) RETURNING id")
            rows = [(part_code, f"{name} {part_code[-3:]}".strip(), pid, code, hh, wkb,
                     json.dumps({"polsby_popper": round(score, 4), "split_seed": seed}))
                    for part_code, wkb, hh, score in zip(codes, part_wkbs, households, pp,
                                                         strict=True)]
            with conn.cursor() as cur:
                cur.executemany(insert, rows, returning=True)
                new_ids = []
                while True:
                    new_ids.append(cur.fetchone()[0])
                    if not cur.nextset():
                        break
            assignments += [(b[0], new_ids[a], pid)
                            for a, b in zip(assignment, blds[pid], strict=True)]
            report.created += len(new_ids)
            counts = households or [0]
            report.rows.append(ParentQuality(
                code, name, int(sum(households)), len(new_ids), int(min(counts)),
                int(max(counts)), float(np.mean(counts)), float(np.mean(pp)), float(np.min(pp)),
                list(violations), list(notes), reason_lines(reasons)))
        _assign_buildings(conn, child.name, assignments)
        report.moved = len(succession.follow_split(conn, child.table, followers))
        rollup_households(conn)
        if dry_run:
            conn.rollback()
        else:
            conn.commit()
    return report
