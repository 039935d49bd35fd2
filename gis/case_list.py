"""The case list of a period (for exports): incidents reported in [start, end) in the caller's
scope, optionally under one area and of some categories, oldest first."""

from __future__ import annotations

from datetime import datetime

from gis.report_columns import CASE_COLUMNS
from gis.routing import street_condition
from gis.scope import Principal, scope_filter
from gis.stats import _AREA_COL


def case_list_sql(principal: Principal | None, start: datetime, end: datetime,
                  parent: tuple[str, int] | None = None, categories: list[str] | None = None,
                  count: bool = False, streets: tuple[int | None, ...] | None = None
                  ) -> tuple[str, dict]:
    """One statement selecting the CASE_COLUMNS of each case (or their count); `streets`:
    gis.routing.scope_streets of the caller (names the shard key; same rows)."""
    where, params = scope_filter("incidents", "i", principal, shard_key="street_id")
    route, route_params = street_condition("i", streets)
    params.update(route_params)
    clauses = [where, route, "i.reported_at >= %(start)s", "i.reported_at < %(end)s"]
    params.update(start=start, end=end)
    if categories:
        clauses.append("i.category = ANY(%(categories)s)")
        params["categories"] = list(categories)
    if parent is not None:
        clauses.append(f"i.{_AREA_COL[parent[0]]} = %(parent_id)s")
        params["parent_id"] = parent[1]
    cond = " AND ".join(clauses)
    if count:
        return f"SELECT count(*) FROM incidents i WHERE {cond}", params
    cols = ", ".join(expr for _k, _zh, _en, expr in CASE_COLUMNS)
    sql = f"""
    SELECT {cols} FROM incidents i
    LEFT JOIN streets s ON s.id = i.street_id LEFT JOIN communities c ON c.id = i.community_id
    LEFT JOIN grids g ON g.id = i.grid_id LEFT JOIN micro_grids m ON m.id = i.micro_grid_id
    WHERE {cond} ORDER BY i.reported_at, i.id
    """
    return sql, params
