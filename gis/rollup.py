"""Household roll-up: buildings -> micro-grids -> grids -> communities -> streets (exact sums)."""

from __future__ import annotations

ROLLUP_SQL = [
    """UPDATE micro_grids m SET households = coalesce(
           (SELECT sum(b.households) FROM buildings b WHERE b.micro_grid_id = m.id), 0)
       WHERE m.valid_to IS NULL""",
    """UPDATE grids g SET households = coalesce(
           (SELECT sum(b.households) FROM buildings b WHERE b.grid_id = g.id), 0)
       WHERE g.valid_to IS NULL""",
    """UPDATE communities c SET households = coalesce(
           (SELECT sum(g.households) FROM grids g
            WHERE g.parent_id = c.id AND g.valid_to IS NULL), 0)
       WHERE c.valid_to IS NULL""",
    """UPDATE streets s SET households = coalesce(
           (SELECT sum(c.households) FROM communities c
            WHERE c.parent_id = s.id AND c.valid_to IS NULL), 0)
       WHERE s.valid_to IS NULL""",
]


def rollup_households(conn) -> None:
    """Recompute every current area's households from its buildings (any DB-API connection)."""
    for statement in ROLLUP_SQL:
        conn.execute(statement)
