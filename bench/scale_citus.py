"""The scale bench's Citus side filled on the workers: each shard runs the generator's own
statement (bench/scale_data.py) for the rows whose distribution key hashes into its range.

Nothing passes through the coordinator: the bench connects to every worker node (the addresses
Citus lists in pg_dist_node, the coordinator's credentials), and there, with the row triggers
off and `citus.enable_manual_changes_to_shards` on, inserts into the shard tables it holds,
reading the areas from its own copy of the reference tables. The workers run side by side, one
connection each; the coordinator then builds the plain indexes (every shard's) and ANALYZEs.
"""

from __future__ import annotations

import concurrent.futures as cf
import time
from collections.abc import Sequence

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from bench import scale_data
from gis.database import libpq_url

REFERENCE = ("streets", "communities", "grids", "micro_grids", "workers", "buildings")


def shards(conn: psycopg.Connection) -> list[tuple[str, int, int, int, str, int]]:
    """(table, shard id, hash min, hash max, node host, node port) of the generated tables'
    shards, by table and hash range."""
    return [tuple(r) for r in conn.execute("""
        SELECT s.logicalrelid::regclass::text, s.shardid, s.shardminvalue::int,
               s.shardmaxvalue::int, n.nodename, n.nodeport
        FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid)
        JOIN pg_dist_node n ON n.groupid = p.groupid
        WHERE s.logicalrelid = ANY (%s::regclass[]) AND n.noderole = 'primary'
        ORDER BY 1, 3""", (list(scale_data.TABLES),))]


def reference_shards(conn: psycopg.Connection) -> dict[str, str]:
    """A reference table's name -> its shard table's name (the same on every node)."""
    return {t: f"{t}_{sid}" for t, sid in conn.execute(
        "SELECT logicalrelid::regclass::text, shardid FROM pg_dist_shard "
        "WHERE logicalrelid = ANY (%s::regclass[])", (list(REFERENCE),))}


def _fill_node(url: str, statements: list[tuple[str, dict, bool]]) -> float:
    """Run a node's shard statements in turn, each with the row triggers off unless it says
    keep them (the incidents: their shards' statement triggers keep the rollup)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET citus.enable_manual_changes_to_shards = on")
        t0 = time.perf_counter()
        for sql, params, triggers in statements:
            conn.execute("SET session_replication_role = "
                         + ("origin" if triggers else "replica"))
            conn.execute(sql, params)
        return time.perf_counter() - t0


def load_buildings(citus_url: str, counties: Sequence[str], per_micro_grid: int) -> float:
    """The buildings (a reference table) made on every node holding a copy, side by side, by
    the single node's statement; their plain indexes built after. Seconds taken."""
    base = conninfo_to_dict(libpq_url(citus_url))
    params = {"counties": [c + "%" for c in counties]}
    t0 = time.perf_counter()
    with psycopg.connect(libpq_url(citus_url), autocommit=True) as conn:
        ref = reference_shards(conn)
        names = {**ref, "buildings": conn.execute(
            "SELECT shard_name('buildings', shardid) FROM pg_dist_shard "
            "WHERE logicalrelid = 'buildings'::regclass").fetchone()[0]}
        nodes = conn.execute(
            "SELECT n.nodename, n.nodeport FROM pg_dist_shard s JOIN pg_dist_placement p "
            "USING (shardid) JOIN pg_dist_node n ON n.groupid = p.groupid "
            "WHERE s.logicalrelid = 'buildings'::regclass").fetchall()
        indexes = scale_data.drop_plain_indexes(conn, ("buildings",))
        sql = scale_data.buildings_sql(per_micro_grid, tables=names)
        urls = [make_conninfo(**{**base, "host": h, "port": str(p)}) for h, p in nodes]
        with cf.ThreadPoolExecutor(len(urls)) as pool:
            list(pool.map(_fill_node, urls, [[(sql, params, False)]] * len(urls)))
        scale_data.build_indexes(conn, indexes)
        seq = conn.execute("SELECT pg_get_serial_sequence('buildings', 'id')").fetchone()[0]
        conn.execute("SELECT setval(%s, (SELECT coalesce(max(id), 0) + 1 FROM buildings), "
                     "false)", (seq,))
        conn.execute("ANALYZE buildings")
    return time.perf_counter() - t0


def load_facts(citus_url: str, counties: Sequence[str], per_district: int, year: int,
               days: int, per_patrol: int, micro: int) -> dict[str, float]:
    """The incidents, patrols and patrol points of `counties` into the Citus database, each
    shard's rows made on its worker. Seconds per step (`workers`: the slowest node)."""
    took: dict[str, float] = {}
    base = conninfo_to_dict(libpq_url(citus_url))
    params = {"counties": [c + "%" for c in counties]}
    with psycopg.connect(libpq_url(citus_url), autocommit=True) as conn:
        ref = reference_shards(conn)
        plan = shards(conn)
        t0 = time.perf_counter()
        indexes = scale_data.drop_plain_indexes(conn)
        by_node: dict[tuple[str, int], list[tuple[str, dict, bool]]] = {}
        # the incidents keep their triggers where a rollup trigger is on the shards (its
        # statement triggers, one per shard statement, fill the co-located rollup shard exactly)
        rollup_on_shards = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'incidents'::regclass "
            "AND NOT tgisinternal AND tgname = 'incidents_rollup_ins')").fetchone()[0]
        inc_sql_params = None
        for table, sid, lo, hi, host, port in plan:
            names = {**ref, table: f"{table}_{sid}"}
            if table == "incidents":
                sql, extra = scale_data.incidents_sql(per_district, year, tables=names,
                                                      hash_range=(lo, hi))
                inc_sql_params = extra
                item = (sql, {**params, **extra}, rollup_on_shards)
            elif table == "patrols":
                item = (scale_data.patrols_sql(year, days, tables=names, hash_range=(lo, hi)),
                        params, False)
            else:
                item = (scale_data.patrol_points_sql(year, days, per_patrol, micro,
                                                     tables=names, hash_range=(lo, hi)),
                        params, False)
            by_node.setdefault((host, port), []).append(item)
        assert inc_sql_params is not None, "no incidents shards"
        urls = [make_conninfo(**{**base, "host": h, "port": str(p)}) for h, p in by_node]
        with cf.ThreadPoolExecutor(len(urls)) as pool:
            took["workers"] = max(pool.map(_fill_node, urls, by_node.values()))
        t0 = time.perf_counter()
        scale_data.build_indexes(conn, indexes)
        took["indexes"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        took["rollup"] = (time.perf_counter() - t0
                          if scale_data.fill_rollup(conn, counties, per_district) else 0.0)
        t0 = time.perf_counter()
        if scale_data.fill_visits(conn):  # on the coordinator, from every shard's points
            conn.execute("ANALYZE patrol_visits")
            took["visits"] = time.perf_counter() - t0
        scale_data.move_sequences(conn, per_district)
    return took
