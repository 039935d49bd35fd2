"""A shard move on the local Citus cluster keeps the statistics rollup exact and reads routed.

`citus_move_shard_placement` of the shard group holding street A (shard_transfer_mode
'block_writes': the local cluster runs with wal_level = replica, so no logical replication)
moves incidents, their children and the co-located rollup shards together. Citus re-creates the
incidents shard's triggers on the new placement after the copy (the copy itself runs without
them, so nothing is counted twice), the TRUNCATE trigger included, which CREATE TRIGGER never
put on shards; migration 0014 makes that trigger inert on a shard (before, TRUNCATE incidents
ended in a distributed deadlock). After the move: new reports and transitions in A keep the
rollup equal to the counts from the incidents, a case of A is read from the new worker alone,
`wangge db up --citus` (create_database) leaves the registered workers as they are, and TRUNCATE
incidents empties the rollup.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from gis import citus_local
from gis.database import libpq_url
from gis.incidents import detail_sql
from gis.settings import Settings
from tests.conftest import TEST_SECRET, fresh_database
from tests.test_routing_archive import X0, Y0, District, S, _build
from tests.test_stats_rollup import DIRECT, HIST_DIRECT, HIST_ROLLED, ROLLED

pytestmark = [pytest.mark.citus, pytest.mark.citus_only]

TRIGGERS = ("incidents_rollup_del", "incidents_rollup_ins", "incidents_rollup_upd")


@pytest.fixture(scope="module")
def district(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[District]:
    from api.app import create_app

    with fresh_database(server_url, f"wangge_move_{os.getpid()}") as url:
        with psycopg.connect(libpq_url(url), autocommit=True) as conn, conn.transaction():
            ids = _build(conn)
        settings = Settings(database_url=url, secret_key=TEST_SECRET,
                            local_dir=tmp_path_factory.mktemp("move"))
        with TestClient(create_app(settings)) as client:
            d = District(url, client, settings, ids, {})
            d.admin = d.account("admin").headers
            yield d


def _act(d: District, case: int, action: str, **extra) -> None:
    r = d.client.post(f"/incidents/{case}/transitions", headers=d.admin,
                      json={"action": action, **extra})
    assert r.status_code == 200, r.text


def _rollup_exact(d: District) -> None:
    assert d.sql(ROLLED) == d.sql(DIRECT)
    assert d.sql(HIST_ROLLED) == d.sql(HIST_DIRECT)


def _placement(d: District, table: str, street: int) -> tuple[int, int]:
    """(shard id, worker port) of `table`'s shard holding `street`."""
    return d.sql("SELECT shardid, nodeport FROM citus_shards WHERE table_name = %s::regclass "
                 "AND shardid = get_shard_id_for_distribution_column(%s, %s)",
                 (table, table, street))[0]


def _nodes_reached(url: str, sql: str, params: dict) -> set[str]:
    """The worker ports Citus sent `sql`'s remote commands to."""
    async def run() -> set[str]:
        details: list[str] = []
        async with await psycopg.AsyncConnection.connect(libpq_url(url),
                                                         autocommit=True) as conn:
            await conn.execute("SET citus.log_remote_commands = on")
            conn.add_notice_handler(lambda n: details.append(
                f"{n.message_primary} {n.message_detail or ''}"))
            await (await conn.execute(sql, params)).fetchall()
        return {m for text in details if "incidents_" in text
                for m in re.findall(r"@[\d.]+:(\d+)", text)}
    return asyncio.run(run())


def test_a_moved_shard_group_keeps_the_rollup_exact_and_reads_routed(district: District,
                                                                     server_url: str) -> None:
    d = district
    a, b = d.ids["A"], d.ids["B"]
    cases = [d.report(d.admin, X0 + x * S, f"before {x}")["id"] for x in (0.2, 0.4, 1.5)]
    _act(d, cases[0], "accept")
    _rollup_exact(d)

    shard, source = _placement(d, "incidents", a)
    target = d.sql("SELECT nodeport FROM pg_dist_node WHERE groupid <> 0 AND nodeport <> %s "
                   "AND noderole = 'primary'", (source,))[0][0]
    d.sql("SELECT citus_move_shard_placement(%s, '127.0.0.1', %s, '127.0.0.1', %s, "
          "shard_transfer_mode => 'block_writes')", (shard, source, target))
    for table in ("incidents", "incident_events", "incident_rollup", "incident_close_hist",
                  "rating_links", "incident_photos"):  # the whole shard group moved
        assert _placement(d, table, a)[1] == target, table
    _rollup_exact(d)  # the copy ran without the triggers: nothing counted twice

    # the new placement carries the rollup triggers (and an inert TRUNCATE trigger)
    names = d.sql("SELECT result FROM run_command_on_placements('incidents', $$SELECT "
                  "string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger WHERE tgrelid = "
                  "'%%s'::regclass AND NOT tgisinternal$$) WHERE shardid = %s", (shard,))
    assert names and all(f"{t}_{shard}" in names[0][0].split(",") for t in TRIGGERS), names

    # new writes on the moved shards, and on the one that stayed
    new = d.report(d.admin, X0 + 0.6 * S, "after the move")["id"]
    r = d.client.post("/incidents/batch", headers=d.admin, json={"incidents": [
        {"lon": X0 + x * S, "lat": Y0 + S / 2, "category": "noise", "title": "batch"}
        for x in (0.3, 0.7, 1.3)]})
    assert r.status_code == 201, r.text
    _act(d, new, "accept")
    _act(d, cases[1], "reject")
    _rollup_exact(d)
    assert d.sql("SELECT sum(n) FROM incident_rollup WHERE street_id = %s", (a,)) == [(5,)]
    assert d.sql("SELECT status, sum(n) FROM incident_rollup WHERE street_id = %s GROUP BY 1 "
                 "HAVING sum(n) <> 0 ORDER BY 1", (a,)) == [
        ("accepted", 2), ("rejected", 1), ("reported", 2)]

    # reads still route: the case of A is read on the target worker alone
    got = d.client.get(f"/incidents/{new}", headers=d.admin)
    assert got.status_code == 200 and got.json()["street_id"] == a
    sql, params = detail_sql(None, a)
    assert _nodes_reached(d.url, sql, {**params, "id": new}) == {str(target)}

    # `wangge db up --citus` after the move: the database is complete, the workers unchanged
    nodes = d.sql("SELECT nodeid, nodename, nodeport, isactive FROM pg_dist_node ORDER BY 1")
    name = d.url.rsplit("/", 1)[1]
    assert citus_local.create_database(Settings(), name) is False
    assert d.sql("SELECT nodeid, nodename, nodeport, isactive FROM pg_dist_node "
                 "ORDER BY 1") == nodes
    assert d.client.get(f"/incidents/{new}", headers=d.admin).status_code == 200

    # TRUNCATE incidents reaches the moved shard's TRUNCATE trigger, which stays inert
    d.sql("TRUNCATE incidents CASCADE")
    assert d.sql("SELECT (SELECT count(*) FROM incidents), (SELECT count(*) FROM "
                 "incident_rollup), (SELECT count(*) FROM incident_close_hist)") == [(0, 0, 0)]
    assert _placement(d, "incidents", b)[0] != shard
