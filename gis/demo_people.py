"""Demo departments (职能部门): three per street and one for the whole district, with one login.

Kept apart from gis/demo.py's geometry; called by the demo loader after the accounts exist.
"""

from __future__ import annotations

import psycopg

from gis.accounts import hash_password

STREET_DEPARTMENTS = [("cg", "城管中队", "urban_management"), ("pcs", "派出所", "police"),
                      ("scjg", "市场监管所", "market_supervision")]
DISTRICT_DEPARTMENTS = [("district-zj", "区住建局", "housing")]
# username, password, department code: the first street's urban management squad logs in
DEMO_DEPARTMENT_ACCOUNTS = [("chengguan_s1", "wangge-department", "s1-cg")]


def add_departments(cur: psycopg.Cursor) -> None:
    """Departments for every street (by code order) and the district, and their demo logins."""
    streets = cur.execute("SELECT id, name FROM streets WHERE valid_to IS NULL "
                          "ORDER BY code").fetchall()
    for n, (street_id, street_name) in enumerate(streets, start=1):
        for suffix, name, kind in STREET_DEPARTMENTS:
            cur.execute("INSERT INTO departments (code, name, kind, street_id) "
                        "VALUES (%s, %s, %s, %s)",
                        (f"s{n}-{suffix}", f"{street_name}{name}", kind, street_id))
    for code, name, kind in DISTRICT_DEPARTMENTS:
        cur.execute("INSERT INTO departments (code, name, kind) VALUES (%s, %s, %s)",
                    (code, name, kind))
    for username, password, code in DEMO_DEPARTMENT_ACCOUNTS:
        cur.execute("INSERT INTO accounts (username, password_hash, role, department_id) "
                    "SELECT %s, %s, 'department', id FROM departments WHERE code = %s",
                    (username, hash_password(password), code))
