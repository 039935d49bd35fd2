"""A local Citus cluster: one coordinator and N workers on this machine, under .local/citus/.

`wangge db up --citus` calls :func:`up`: Citus is built when missing (gis.citus_build), then node
0 (the coordinator) and nodes 1..N (workers) are each an initdb'd cluster of their own in
.local/citus/node<i>/ on port WANGGE_CITUS_PORT + i (default WANGGE_PG_PORT + 100), all with the
same superuser password, `shared_preload_libraries = 'citus'`. A database is made on every node
with the citus and postgis extensions, and the workers are registered on the coordinator of that
database (Citus keeps its node list per database). Each step checks first, like `wangge db up`.
"""

from __future__ import annotations

import time

import psycopg

from gis import localdb
from gis.citus_build import ensure_citus
from gis.database import libpq_url
from gis.localdb import DB_SUPERUSER, LocalDbError, Say
from gis.settings import Settings

HOST = "127.0.0.1"
NODE_CONF = (
    "shared_preload_libraries = 'citus'\n"
    "shared_buffers = '256MB'\n"
    "max_prepared_transactions = 200\n"  # Citus commits multi-node writes with 2PC
    "citus.log_remote_commands = off\n"
)

# Set on the coordinator's database by every `up` (create_database): how a multi-shard query
# reaches the workers. Citus's defaults open up to 16 connections per worker for a query's tasks
# and keep one between queries, so a tile or a bbox page over 32 shards set up new worker
# backends (each loading PostGIS) on every request; with the workers sharing this machine's
# cores, two connections per worker, both kept, run the shards' tasks without that set-up
# (docs/scale.md, "Measured").
EXECUTOR_SETTINGS = {
    "citus.max_adaptive_executor_pool_size": "2",
    "citus.max_cached_conns_per_worker": "2",
}


def node_settings(settings: Settings, node: int) -> Settings:
    """Settings whose local cluster is node `node` (0 = coordinator) of the Citus cluster."""
    return settings.model_copy(update={
        "local_dir": settings.local_dir / "citus" / f"node{node}",
        "pg_port": settings.citus_coordinator_port + node,
    })


def nodes(settings: Settings, workers: int | None = None) -> list[Settings]:
    """The coordinator then the workers."""
    count = settings.citus_workers if workers is None else workers
    return [node_settings(settings, i) for i in range(count + 1)]


def _password(settings: Settings) -> str | None:
    path = localdb.password_file(node_settings(settings, 0))
    return path.read_text().strip() if path.exists() else None


def coordinator_url(settings: Settings, db_name: str | None = None) -> str:
    """URL of the coordinator's database (the app and the migrations connect here)."""
    return localdb.local_url(node_settings(settings, 0), db_name)


def _connect(node: Settings, db_name: str) -> psycopg.Connection:
    password = localdb.password_file(node).read_text().strip()
    return psycopg.connect(host=HOST, port=node.pg_port, user=DB_SUPERUSER, password=password,
                           dbname=db_name, autocommit=True)


def worker_count(settings: Settings) -> int:
    """Workers created by an earlier `up` (the node folders present)."""
    root = settings.local_dir / "citus"
    if not root.exists():
        return 0
    return len([p for p in root.glob("node*") if p.name != "node0"])


def create_database(settings: Settings, name: str, workers: int | None = None,
                    say: Say | None = None) -> bool:
    """Database `name` on every node with citus + postgis, workers registered; False if it was
    already complete."""
    members = nodes(settings, worker_count(settings) if workers is None else workers)
    password = _password(settings)
    created = False
    for node in members:
        with _connect(node, "postgres") as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                (name,)).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
                created = True
        with _connect(node, name) as conn:
            if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'citus'").fetchone():
                continue  # set up before (a registered worker refuses DDL of its own)
            conn.execute("CREATE EXTENSION citus")
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            # how this node's Citus reaches the others (node id 0: every node)
            conn.execute("INSERT INTO pg_dist_authinfo (nodeid, rolename, authinfo) "
                         "VALUES (0, %s, %s)", (DB_SUPERUSER, f"password={password}"))
            created = True
    coordinator, workers_ = members[0], members[1:]
    with _connect(coordinator, name) as conn:
        _move_registered_workers(conn, [w.pg_port for w in workers_])
        conn.execute("SELECT citus_set_coordinator_host(%s, %s)", (HOST, coordinator.pg_port))
        for setting, value in EXECUTOR_SETTINGS.items():
            conn.execute(f'ALTER DATABASE "{name}" SET {setting} = {value}')
        known = {row[0] for row in conn.execute(
            "SELECT nodeport FROM pg_dist_node WHERE noderole = 'primary'")}
        for worker in workers_:
            if worker.pg_port not in known:
                conn.execute("SELECT citus_add_node(%s, %s)", (HOST, worker.pg_port))
                created = True
    if created and say:
        say(f"created database {name} on the coordinator and {len(workers_)} workers "
            "(citus, postgis)")
    return created


def _move_registered_workers(conn: psycopg.Connection, ports: list[int]) -> None:
    """Point workers registered on ports no longer used (the cluster's ports were changed, e.g.
    WANGGE_PG_PORT) at the current ones, in node order: the metadata, not the data, names them."""
    stale = [row for row in conn.execute(
        "SELECT nodeid, nodeport FROM pg_dist_node WHERE groupid <> 0 AND noderole = 'primary' "
        "ORDER BY nodeport").fetchall() if row[1] not in ports]
    known = {row[0] for row in conn.execute(
        "SELECT nodeport FROM pg_dist_node WHERE groupid <> 0").fetchall()}
    free = [port for port in ports if port not in known]
    moved = list(zip(stale, free, strict=False))
    for (nodeid, _old), port in moved:
        conn.execute("SELECT citus_update_node(%s, %s, %s)", (nodeid, HOST, port))
    if moved:  # the workers' copies of the metadata name the old ports until synced
        conn.execute("SELECT start_metadata_sync_to_all_nodes()")


DROP_ATTEMPTS = 5


def drop_database(settings: Settings, name: str) -> None:
    """Drop database `name` on every node (closing its connections).

    FORCE waits 5 s for the sessions it ends; a busy machine, or Citus reconnecting to the
    database (its maintenance daemon, the coordinator's connections to a worker) in that window,
    can leave one, so the drop is tried again a few times before it fails.
    """
    for node in nodes(settings, worker_count(settings)):
        if not localdb.is_running(node):
            continue
        for attempt in range(1, DROP_ATTEMPTS + 1):
            try:
                with _connect(node, "postgres") as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                break
            except psycopg.errors.ObjectInUse:
                if attempt == DROP_ATTEMPTS:
                    raise
                time.sleep(1)


def up(settings: Settings, say: Say, workers: int | None = None) -> str:
    """Build Citus if needed, create and start the nodes, make the database; its URL."""
    count = settings.citus_workers if workers is None else workers
    if count < 1:
        raise LocalDbError("a Citus cluster needs at least one worker (--workers 1 or more)")
    have = worker_count(settings)
    if have and have != count:
        raise LocalDbError(f"the local Citus cluster has {have} workers, not {count}: use "
                           f"--workers {have}, or `wangge db down` and remove "
                           f"{settings.local_dir / 'citus'} to start afresh")
    localdb.ensure_packages(say)
    if ensure_citus(settings.citus_source, say):
        _restart_running(settings, say)
    password = _password(settings)
    for i, node in enumerate(nodes(settings, count)):
        if not (localdb.data_dir(node) / "PG_VERSION").exists():
            localdb.init_cluster(node, localdb.os_user(node), say, password=password,
                                 extra_conf=NODE_CONF)
            password = password or _password(settings)
        if localdb.start(node, lambda _m: None):
            say(f"started Citus {'coordinator' if i == 0 else f'worker {i}'} on "
                f"{HOST}:{node.pg_port}")
    create_database(settings, settings.db_name, count, say)
    return coordinator_url(settings)


def _restart_running(settings: Settings, say: Say) -> None:
    """After the build's apt-get changed the server packages, restart clusters that ran."""
    for node in [settings, *nodes(settings, worker_count(settings))]:
        if localdb.is_running(node):
            localdb.restart(node)
            say(f"restarted the PostgreSQL on port {node.pg_port} (server packages changed)")


def stop(settings: Settings, say: Say) -> bool:
    """Stop every node; False when none was running."""
    stopped = False
    for node in reversed(nodes(settings, worker_count(settings))):
        if localdb.stop(node, lambda _m: None):
            stopped = True
    if stopped:
        say("stopped the local Citus cluster")
    return stopped


def stop_node(settings: Settings, node: int) -> None:
    """Stop one node (fault tests: a worker down)."""
    localdb.stop(node_settings(settings, node), lambda _m: None)


def start_node(settings: Settings, node: int) -> None:
    """Start one node again."""
    localdb.start(node_settings(settings, node), lambda _m: None)


def is_citus(url: str) -> bool:
    """True when the database at `url` has the citus extension."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'citus'"
                            ).fetchone() is not None
