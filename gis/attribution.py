"""Attribution: which street, community, grid and micro-grid contain a point (SQL, GiST lookups).

Each level is looked up on its own current polygons, so a point is attributed as far down as the
data goes (a grid not yet split leaves micro_grid_id empty). Ties on a shared edge go to the
lowest id, deterministically.
"""

from __future__ import annotations

AREA_ID_COLUMNS = ("street_id", "community_id", "grid_id", "micro_grid_id")
_TABLES = {"street_id": "streets", "community_id": "communities", "grid_id": "grids",
           "micro_grid_id": "micro_grids"}


def locate_expr(column: str, point_sql: str) -> str:
    """A scalar subquery giving the id of the `column`'s area containing `point_sql`."""
    table = _TABLES[column]
    return (f"(SELECT a.id FROM {table} a WHERE a.valid_to IS NULL "
            f"AND ST_Intersects(a.geom, {point_sql}) ORDER BY a.id LIMIT 1)")


def attribute_sql(table: str, where: str = "TRUE", geom: str = "geom") -> str:
    """UPDATE statement setting the four area ids of `table` rows matching `where`."""
    sets = ", ".join(f"{col} = {locate_expr(col, f'{table}.{geom}')}" for col in AREA_ID_COLUMNS)
    return f"UPDATE {table} SET {sets} WHERE {where}"


def locate_select(point_sql: str) -> str:
    """SELECT list of the four area ids for one point expression."""
    return ", ".join(f"{locate_expr(col, point_sql)} AS {col}" for col in AREA_ID_COLUMNS)
