"""Patrol visits (migration 0015_patrol_visits): patrol points per UTC day, micro-grid and street.

The statistics' patrol rate reads `patrol_visits` for the period's whole days instead of every
patrol point (gis/stats.py). One node keeps it by statement triggers on patrol_points; on Citus
the triggers of patrol_points run on the workers' shards and cannot write the coordinator's
table, so the writers call RECORD_SQL in the transaction that stores the points (the upload in
gis/patrols.py), and writers outside the application run REBUILD_SQL after loading (the demo,
the scale bench). On one node RECORD_SQL does nothing (the triggers have counted the points).
"""

from __future__ import annotations

from gis.cluster import CITUS

# The stored points of one statement, grouped: parameters days (date[]), micro_grids, streets
# (bigint[], a street may be NULL) and counts (bigint[]), in the same order.
RECORD_SQL = ("SELECT wangge_patrol_visits_add(%(days)s::date[], %(micro_grids)s::bigint[], "
              f"%(streets)s::bigint[], %(counts)s::bigint[]) WHERE {CITUS}")

# Recounts the whole table from patrol_points (after a load that bypassed RECORD_SQL, or a
# deletion of points on Citus). On one node the triggers keep it; the call is exact on both.
REBUILD_SQL = "SELECT wangge_patrol_visits_rebuild()"

# REBUILD_SQL where no trigger keeps the table (Citus); nothing on one node.
REBUILD_IF_CITUS_SQL = f"{REBUILD_SQL} WHERE {CITUS}"
