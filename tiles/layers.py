"""Tile SQL per layer: ST_TileEnvelope, ST_AsMVTGeom (extent 4096, buffer 64), ST_AsMVT.

The index filter runs on the stored EPSG:3857 column (`geom_3857`, its own GiST index), so nothing
is reprojected per request (bench/layers_bench.py measures it against ST_Transform(geom)).
Polygons are simplified to a quarter pixel below z14 before clipping. Features are ordered by
id, so a tile's bytes are stable.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from gis.scope import Principal, scope_fragment

EXTENT = 4096
BUFFER = 64
MARGIN = BUFFER / EXTENT
MAX_ZOOM = 22
SIMPLIFY_BELOW = 14
WORLD = 40075016.68557849


@dataclass(frozen=True)
class Layer:
    """One tile layer: source table, zoom range and the attributes a map needs."""

    id: str  # collection id and MVT layer name
    table: str
    minzoom: int
    attributes: dict[str, str]  # name -> SQL over alias t
    fields: dict[str, str]  # name -> TileJSON field type
    polygons: bool = True
    current_only: bool = True
    time_dependent: bool = False  # attributes change with the clock (due state)
    # Distributed on Citus: the rows are gathered first (a MATERIALIZED CTE, run on the
    # shards), then encoded on the coordinator, since Citus cannot ship ST_AsMVT's row type.
    distributed: bool = False


def _area(cid: str, table: str, minzoom: int, extra: dict[str, str] | None = None) -> Layer:
    attrs = {"code": "t.code", "name": "t.name", "households": "t.households", **(extra or {})}
    fields = {"code": "String", "name": "String", "households": "Number",
              **{k: "String" for k in extra or {}}}
    return Layer(cid, table, minzoom, attrs, fields)


OVERDUE = ("(t.due_at IS NOT NULL AND t.due_at < now() AND t.status IN "
           "('reported', 'accepted', 'dispatched', 'in_progress'))")

LAYERS: dict[str, Layer] = {lay.id: lay for lay in (
    _area("streets", "streets", 8),
    _area("communities", "communities", 10, {"class": "t.class"}),
    _area("grids", "grids", 12, {"kind": "t.kind"}),
    _area("micro-grids", "micro_grids", 14),
    Layer("buildings", "buildings", 14,
          {"code": "t.code", "households": "t.households", "floors": "t.floors"},
          {"code": "String", "households": "Number", "floors": "Number"}, current_only=False),
    Layer("incidents", "incidents", 14,
          {"code": "t.code", "category": "t.category", "status": "t.status",
           "priority": "t.priority", "overdue": OVERDUE},
          {"code": "String", "category": "String", "status": "String", "priority": "Number",
           "overdue": "Boolean"}, polygons=False, current_only=False, time_dependent=True,
          distributed=True),
    Layer("patrol-points", "patrol_points", 15,
          {"patrol_id": "t.patrol_id", "t": "to_char(t.t AT TIME ZONE 'UTC', "
                                              "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"},
          {"patrol_id": "Number", "t": "String"}, polygons=False, current_only=False,
          distributed=True),
)}
ALL = "all"


def layers_at(layer_id: str, z: int) -> list[Layer]:
    """The layers drawn in tile `layer_id` at zoom z (a combined tile draws every layer)."""
    chosen = LAYERS.values() if layer_id == ALL else [LAYERS[layer_id]]
    return [lay for lay in chosen if z >= lay.minzoom]


# The tile's envelope, and with the buffer's margin, written out in a distributed layer's query
# rather than read from the CTE `e`: Citus would send `e` to every node as an intermediate result
# and scan each shard without its GiST index (the envelope unknown when the shard plans).
ENV_SQL = "ST_TileEnvelope(%(z)s::int, %(x)s::int, %(y)s::int)"
ENV_M_SQL = f"ST_TileEnvelope(%(z)s::int, %(x)s::int, %(y)s::int, margin => {MARGIN})"


def _layer_sql(lay: Layer, scoped: bool, n: int, reproject: bool, simplify: bool) -> str:
    env, env_m, tol = ((ENV_SQL, ENV_M_SQL, "%(tol)s::float8") if lay.distributed
                       else ("e.env", "e.env_m", "e.tol"))
    where = [scope_fragment(lay.table, "t") if scoped else "TRUE"]
    if lay.current_only:
        where.append("t.valid_to IS NULL")
    if reproject:
        geom = "ST_Transform(t.geom, 3857)"
        where.append(f"t.geom && ST_Transform({env_m}, 4326)")
    else:
        geom = "t.geom_3857"
        where.append(f"t.geom_3857 && {env_m}")
    if lay.polygons and simplify:
        geom = f"ST_Simplify({geom}, {tol}, true)"
    attrs = ", ".join(f"{expr} AS \"{name}\"" for name, expr in lay.attributes.items())
    if lay.distributed:
        return f"""r{n} AS MATERIALIZED (
            SELECT t.id, {attrs},
                   ST_AsMVTGeom({geom}, {env}, {EXTENT}, {BUFFER}, true) AS geom
            FROM {lay.table} t WHERE {' AND '.join(where)}
        ),
        l{n} AS (
            SELECT ST_AsMVT(q, '{lay.id}', {EXTENT}, 'geom', 'id') AS mvt FROM (
                SELECT * FROM r{n} WHERE geom IS NOT NULL ORDER BY id) q)"""
    return f"""l{n} AS (
        SELECT ST_AsMVT(q, '{lay.id}', {EXTENT}, 'geom', 'id') AS mvt FROM (
            SELECT t.id, {attrs},
                   ST_AsMVTGeom({geom}, e.env, {EXTENT}, {BUFFER}, true) AS geom
            FROM {lay.table} t, e WHERE {' AND '.join(where)} ORDER BY t.id
        ) q WHERE q.geom IS NOT NULL)"""


def tile_params(z: int, x: int, y: int) -> dict:
    """The parameters of :func:`tile_sql` for one tile (tolerance: a quarter pixel)."""
    return {"z": z, "x": x, "y": y, "tol": WORLD / EXTENT / 4 / (1 << z)}


def tile_sql(layers: list[Layer], principal: Principal, z: int,
             reproject: bool = False) -> tuple[str, dict]:
    """One query giving the MVT bytes of `layers` for tile %(z)s/%(x)s/%(y)s (empty: b'').

    Below SIMPLIFY_BELOW polygons are simplified first; from there on the snapping to the
    4096 grid done by ST_AsMVTGeom is all they need. The text depends only on the layers, the
    zoom band and whether the caller is scoped, so it is built once per combination.
    """
    scoped = principal is not None and principal.scope is not None
    sql = _tile_sql_text(tuple(lay.id for lay in layers), scoped, z < SIMPLIFY_BELOW, reproject)
    return sql, (dict(principal.scope.params()) if scoped else {})


@lru_cache(maxsize=512)
def _tile_sql_text(layer_ids: tuple[str, ...], scoped: bool, simplify: bool,
                   reproject: bool) -> str:
    env = (f"e AS (SELECT {ENV_SQL} AS env, {ENV_M_SQL} AS env_m, %(tol)s::float8 AS tol)")
    local = [n for n, lid in enumerate(layer_ids) if not LAYERS[lid].distributed]
    spread = [n for n, lid in enumerate(layer_ids) if LAYERS[lid].distributed]
    if not spread:  # one query over reference (or plain) tables: Citus routes it to one node
        parts = [_layer_sql(LAYERS[layer_ids[n]], scoped, n, reproject, simplify) for n in local]
        concat = " || ".join(f"COALESCE((SELECT mvt FROM l{n}), ''::bytea)" for n in local)
        return f"WITH {env}, {', '.join(parts)} SELECT {concat}"
    # With distributed layers, Citus plans every CTE of the statement as a query of its own:
    # the other layers are therefore nested in one CTE (one query on one node), and each
    # distributed layer is one multi-shard query; the tile's bytes are the same.
    mvt = {n: f"COALESCE((SELECT mvt FROM l{n}), ''::bytea)" for n in spread}
    ctes = [_layer_sql(LAYERS[layer_ids[n]], scoped, n, reproject, simplify) for n in spread]
    if local:
        inner = [_layer_sql(LAYERS[layer_ids[n]], scoped, n, reproject, simplify)
                 for n in local]
        columns = ", ".join(f"COALESCE((SELECT mvt FROM l{n}), ''::bytea) AS m{n}"
                            for n in local)
        ctes.insert(0, f"other_layers AS MATERIALIZED (WITH {env}, {', '.join(inner)} "
                       f"SELECT {columns})")
        mvt.update({n: f"(SELECT m{n} FROM other_layers)" for n in local})
    concat = " || ".join(mvt[n] for n in range(len(layer_ids)))
    return f"WITH {', '.join(ctes)} SELECT {concat}"
