"""The roster (花名册): workers and departments with their accounts, and workers' assignments.

All SQL for workers, departments and assignments as people lives here (async psycopg; the CLI
runs it under asyncio.run). A caller confined to areas (a street commander) sees and changes only
the workers with an assignment inside its jurisdiction (and workers not yet assigned), and may
assign only to areas inside it (RosterError 403). Edits of a worker or department carry the
version the caller saw; a stale one is a 409, so two people never silently overwrite each other.
An assignment runs from starts_on up to, not including, ends_on (dates in the district's time
zone, see gis.scope.CURRENT_ASSIGNMENT); ending one is setting ends_on, never deleting it.
Bulk import (:func:`import_workers`) checks every row first and writes all or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from psycopg import AsyncConnection

from gis.accounts import WORKER_ROLES, hash_password
from gis.levels import LEVEL_ORDER, LEVELS
from gis.scope import CURRENT_ASSIGNMENT, Principal

ROLE_LABELS = {"grid_leader": ("网格长", "Grid leader"),
               "full_time": ("专职网格员", "Full-time grid worker"),
               "part_time": ("兼职网格员", "Part-time grid worker"),
               "micro_grid_leader": ("微网格长", "Micro-grid leader"),
               "household_leader": ("联户长", "Household leader")}
DEPARTMENT_KINDS = {"urban_management": ("城管", "Urban management"),
                    "police": ("公安", "Police"),
                    "market_supervision": ("市场监管", "Market supervision"),
                    "housing": ("住建", "Housing and construction"),
                    "environment": ("生态环境", "Environment"),
                    "health": ("卫健", "Health"), "fire": ("消防", "Fire and rescue"),
                    "other": ("其他", "Other")}
CODE_LEVELS = {LEVELS[lv].code_digits: lv for lv in LEVEL_ORDER}
UNUSABLE_PASSWORD = "!"  # never verifies: an imported account logs in once a password is set


class RosterError(ValueError):
    """A refused roster request: status 403 (outside jurisdiction), 404, 409 (stale), 422."""

    def __init__(self, status: int, message: str, **extra) -> None:
        super().__init__(message)
        self.status, self.extra = status, extra


def _area_sql(level_col: str, id_col: str) -> str:
    """A LATERAL subquery giving (code, name) of the area (level_col, id_col)."""
    parts = [f"SELECT code, name FROM {LEVELS[lv].table} WHERE {level_col} = '{lv}' "
             f"AND id = {id_col}" for lv in LEVEL_ORDER]
    return "(" + " UNION ALL ".join(parts) + ")"


def _in_scope_sql(level_col: str, id_col: str) -> str:
    return " OR ".join(f"({level_col} = '{lv}' AND {id_col} = ANY(%(scope_{lv})s))"
                       for lv in LEVEL_ORDER)


def _scope_params(principal: Principal) -> dict:
    if principal.scope is None:
        return {f"scope_{lv}": None for lv in LEVEL_ORDER} | {"unrestricted": True}
    return principal.scope.params() | {"unrestricted": False}


WORKER_JSON = f"""json_build_object(
    'kind', 'worker', 'id', w.id, 'code', w.code, 'name', w.name, 'phone', w.phone,
    'active', w.active, 'version', w.version,
    'account', (SELECT json_build_object('id', a.id, 'username', a.username,
                                         'disabled', a.disabled)
                FROM accounts a WHERE a.worker_id = w.id ORDER BY a.id LIMIT 1),
    'assignments', (SELECT coalesce(json_agg(json_build_object(
            'id', s.id, 'level', s.level, 'area_id', s.area_id, 'code', ar.code,
            'name', ar.name, 'role', s.role, 'starts_on', s.starts_on, 'ends_on', s.ends_on,
            'current', {CURRENT_ASSIGNMENT.format(a="s")}) ORDER BY s.starts_on, s.id), '[]')
        FROM assignments s CROSS JOIN LATERAL {_area_sql('s.level', 's.area_id')} ar
        WHERE s.worker_id = w.id))"""

# A confined caller sees workers assigned inside its jurisdiction (now or later) and workers
# with no assignment at all.
WORKER_VISIBLE = f"""(%(unrestricted)s OR NOT EXISTS (
        SELECT 1 FROM assignments s0 WHERE s0.worker_id = w.id)
    OR EXISTS (SELECT 1 FROM assignments s1 WHERE s1.worker_id = w.id
               AND (s1.ends_on IS NULL OR s1.ends_on > wangge_local_date())
               AND ({_in_scope_sql('s1.level', 's1.area_id')})))"""

DEPARTMENT_JSON = """json_build_object(
    'kind', 'department', 'id', d.id, 'code', d.code, 'name', d.name,
    'department_kind', d.kind, 'active', d.active, 'version', d.version,
    'street', (SELECT json_build_object('id', st.id, 'code', st.code, 'name', st.name)
               FROM streets st WHERE st.id = d.street_id),
    'accounts', (SELECT coalesce(json_agg(json_build_object('id', a.id, 'username', a.username,
                                                            'disabled', a.disabled)
                                          ORDER BY a.id), '[]')
                 FROM accounts a WHERE a.department_id = d.id))"""

DEPARTMENT_VISIBLE = "(%(unrestricted)s OR d.street_id = ANY(%(scope_street)s))"


async def list_people(conn: AsyncConnection, principal: Principal, q: str = "",
                      limit: int = 500) -> dict:
    """Workers and departments the caller may see, by name; `q` filters name, code, phone,
    username."""
    params = _scope_params(principal) | {"q": f"%{q.strip()}%", "limit": limit}
    cur = await conn.execute(f"""
        SELECT (SELECT coalesce(json_agg(x.j ORDER BY x.name, x.id), '[]') FROM (
                    SELECT w.id, w.name, {WORKER_JSON} AS j FROM workers w
                    WHERE {WORKER_VISIBLE} AND (w.name ILIKE %(q)s OR coalesce(w.code, '')
                          ILIKE %(q)s OR coalesce(w.phone, '') ILIKE %(q)s OR EXISTS (
                          SELECT 1 FROM accounts a WHERE a.worker_id = w.id
                          AND a.username ILIKE %(q)s))
                    ORDER BY w.name, w.id LIMIT %(limit)s) x),
               (SELECT coalesce(json_agg(x.j ORDER BY x.name, x.id), '[]') FROM (
                    SELECT d.id, d.name, {DEPARTMENT_JSON} AS j FROM departments d
                    WHERE {DEPARTMENT_VISIBLE} AND (d.name ILIKE %(q)s OR d.code ILIKE %(q)s)
                    ORDER BY d.name, d.id LIMIT %(limit)s) x)
        """, params)
    workers, departments = await cur.fetchone()
    return {"workers": workers, "departments": departments}


async def get_worker(conn: AsyncConnection, principal: Principal, worker_id: int) -> dict:
    """One worker the caller may see (RosterError 404 otherwise)."""
    cur = await conn.execute(f"SELECT {WORKER_JSON} FROM workers w WHERE w.id = %(id)s "
                             f"AND {WORKER_VISIBLE}", _scope_params(principal) | {"id": worker_id})
    row = await cur.fetchone()
    if row is None:
        raise RosterError(404, f"no worker {worker_id}")
    return row[0]


async def get_department(conn: AsyncConnection, principal: Principal, dept_id: int) -> dict:
    """One department the caller may see (RosterError 404 otherwise)."""
    cur = await conn.execute(f"SELECT {DEPARTMENT_JSON} FROM departments d WHERE d.id = %(id)s "
                             f"AND {DEPARTMENT_VISIBLE}",
                             _scope_params(principal) | {"id": dept_id})
    row = await cur.fetchone()
    if row is None:
        raise RosterError(404, f"no department {dept_id}")
    return row[0]


async def _username_free(conn: AsyncConnection, username: str) -> None:
    cur = await conn.execute("SELECT 1 FROM accounts WHERE lower(username) = lower(%s)",
                             (username,))
    if await cur.fetchone():
        raise RosterError(409, f"account {username!r} exists")


async def _create_account(conn: AsyncConnection, username: str, password: str | None,
                          role: str, worker_id: int | None = None,
                          department_id: int | None = None) -> int:
    await _username_free(conn, username)
    if password is not None and len(password) < 8:
        raise RosterError(422, "the password needs at least 8 characters")
    digest = hash_password(password) if password else UNUSABLE_PASSWORD
    cur = await conn.execute(
        "INSERT INTO accounts (username, password_hash, role, worker_id, department_id) "
        "VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (username, digest, role, worker_id, department_id))
    return (await cur.fetchone())[0]


async def create_worker(conn: AsyncConnection, principal: Principal, name: str,
                        phone: str | None = None, code: str | None = None,
                        username: str | None = None, password: str | None = None) -> dict:
    """A new worker (with a worker account when `username` is given). Call in a transaction."""
    if code:
        cur = await conn.execute("SELECT 1 FROM workers WHERE code = %s", (code,))
        if await cur.fetchone():
            raise RosterError(409, f"a worker with code {code!r} exists")
    cur = await conn.execute("INSERT INTO workers (code, name, phone) VALUES (%s, %s, %s) "
                             "RETURNING id", (code or None, name, phone or None))
    worker_id = (await cur.fetchone())[0]
    if username:
        await _create_account(conn, username, password, "worker", worker_id=worker_id)
    return await get_worker(conn, principal, worker_id)


async def _check_version(conn: AsyncConnection, table: str, row_id: int,
                         version: int | None) -> None:
    if version is None:
        raise RosterError(428, "give the version you saw (If-Match or \"version\")")
    cur = await conn.execute(f"SELECT version FROM {table} WHERE id = %s FOR UPDATE", (row_id,))
    row = await cur.fetchone()
    if row is None:
        raise RosterError(404, f"no {table[:-1]} {row_id}")
    if row[0] != version:
        raise RosterError(409, f"version {version} is stale: it is at {row[0]}",
                          current_version=row[0])


async def _set_accounts_active(conn: AsyncConnection, owner_column: str, owner_id: int,
                               active: bool) -> None:
    """Enable or disable the accounts of a worker or department (`owner_column` worker_id or
    department_id); disabling also ends their tokens at once."""
    await conn.execute(
        f"UPDATE accounts SET disabled = NOT %(active)s, token_generation = token_generation "
        f"+ CASE WHEN %(active)s THEN 0 ELSE 1 END WHERE {owner_column} = %(id)s",
        {"active": active, "id": owner_id})


async def update_worker(conn: AsyncConnection, principal: Principal, worker_id: int,
                        version: int | None, name: str | None = None, phone: str | None = None,
                        active: bool | None = None, password: str | None = None) -> dict:
    """Edit a worker; disabling also disables its account and ends its tokens at once."""
    await get_worker(conn, principal, worker_id)
    await _check_version(conn, "workers", worker_id, version)
    if password is not None and len(password) < 8:
        raise RosterError(422, "the password needs at least 8 characters")
    await conn.execute(
        "UPDATE workers SET name = coalesce(%(name)s, name), phone = coalesce(%(phone)s, phone), "
        "active = coalesce(%(active)s, active), version = version + 1 WHERE id = %(id)s",
        {"name": name, "phone": phone, "active": active, "id": worker_id})
    if active is not None:
        await _set_accounts_active(conn, "worker_id", worker_id, active)
    if password is not None:
        await conn.execute("UPDATE accounts SET password_hash = %s WHERE worker_id = %s",
                           (hash_password(password), worker_id))
    return await get_worker(conn, principal, worker_id)


async def _street_id(conn: AsyncConnection, code: str | None) -> int | None:
    if not code:
        return None
    cur = await conn.execute("SELECT id FROM streets WHERE code = %s AND valid_to IS NULL",
                             (code,))
    row = await cur.fetchone()
    if row is None:
        raise RosterError(422, f"no current street with code {code}")
    return row[0]


async def create_department(conn: AsyncConnection, principal: Principal, code: str, name: str,
                            kind: str, street_code: str | None = None,
                            username: str | None = None, password: str | None = None) -> dict:
    """A new department (职能部门), optionally with its own login. Call in a transaction."""
    if kind not in DEPARTMENT_KINDS:
        raise RosterError(422, f"unknown department kind {kind!r}: one of "
                          f"{', '.join(DEPARTMENT_KINDS)}")
    street_id = await _street_id(conn, street_code)
    if principal.scope is not None and street_id not in principal.scope.street:
        raise RosterError(403, "a department outside your jurisdiction (give one of your "
                          "streets)")
    cur = await conn.execute("SELECT 1 FROM departments WHERE lower(code) = lower(%s)", (code,))
    if await cur.fetchone():
        raise RosterError(409, f"a department with code {code!r} exists")
    cur = await conn.execute("INSERT INTO departments (code, name, kind, street_id) "
                             "VALUES (%s, %s, %s, %s) RETURNING id",
                             (code, name, kind, street_id))
    dept_id = (await cur.fetchone())[0]
    if username:
        await _create_account(conn, username, password, "department", department_id=dept_id)
    return await get_department(conn, principal, dept_id)


async def update_department(conn: AsyncConnection, principal: Principal, dept_id: int,
                            version: int | None, name: str | None = None,
                            kind: str | None = None, active: bool | None = None) -> dict:
    """Edit a department; disabling it disables its accounts."""
    await get_department(conn, principal, dept_id)
    if kind is not None and kind not in DEPARTMENT_KINDS:
        raise RosterError(422, f"unknown department kind {kind!r}")
    await _check_version(conn, "departments", dept_id, version)
    await conn.execute(
        "UPDATE departments SET name = coalesce(%(name)s, name), kind = coalesce(%(kind)s, kind),"
        " active = coalesce(%(active)s, active), version = version + 1 WHERE id = %(id)s",
        {"name": name, "kind": kind, "active": active, "id": dept_id})
    if active is not None:
        await _set_accounts_active(conn, "department_id", dept_id, active)
    return await get_department(conn, principal, dept_id)


# --- assignments --------------------------------------------------------------------------------

def check_dates(starts_on: date | None, ends_on: date | None) -> None:
    """RosterError 422 when an assignment would end before (or as) it starts."""
    if starts_on and ends_on and ends_on <= starts_on:
        raise RosterError(422, f"the assignment ends ({ends_on}) before it starts "
                          f"({starts_on}): the end date is the first day without access")


AREA_LOOKUP_SQL = " UNION ALL ".join(
    f"SELECT '{lv}' AS level, id, code, name FROM {LEVELS[lv].table} "
    f"WHERE code = %(code)s AND valid_to IS NULL" for lv in LEVEL_ORDER)


async def resolve_area(conn: AsyncConnection, principal: Principal, code: str) -> tuple[str, int]:
    """(level, id) of the current area with `code`, checked against the caller's jurisdiction."""
    code = (code or "").strip()
    if len(code) not in CODE_LEVELS or not code.isdigit():
        raise RosterError(422, f"area code {code!r} is not 9, 12, 15 or 18 digits")
    cur = await conn.execute(AREA_LOOKUP_SQL, {"code": code})
    row = await cur.fetchone()
    if row is None:
        raise RosterError(422, f"no current area with code {code}")
    level, area_id = row[0], row[1]
    if principal.scope is not None and area_id not in principal.scope.ids(level):
        raise RosterError(403, f"area {code} lies outside your jurisdiction")
    return level, area_id


async def assign(conn: AsyncConnection, principal: Principal, worker_id: int, area_code: str,
                 role: str, starts_on: date | None = None, ends_on: date | None = None) -> dict:
    """Assign a worker to an area with dates (starts today in the district when not given)."""
    if role not in WORKER_ROLES:
        raise RosterError(422, f"unknown worker role {role!r}: one of {', '.join(WORKER_ROLES)}")
    await get_worker(conn, principal, worker_id)
    level, area_id = await resolve_area(conn, principal, area_code)
    if starts_on is None:
        starts_on = (await (await conn.execute("SELECT wangge_local_date()")).fetchone())[0]
    check_dates(starts_on, ends_on)
    await conn.execute("INSERT INTO assignments (worker_id, level, area_id, role, starts_on, "
                       "ends_on) VALUES (%s, %s, %s, %s, %s, %s)",
                       (worker_id, level, area_id, role, starts_on, ends_on))
    await conn.execute("UPDATE workers SET version = version + 1 WHERE id = %s", (worker_id,))
    return await get_worker(conn, principal, worker_id)


async def end_assignment(conn: AsyncConnection, principal: Principal, assignment_id: int,
                         ends_on: date | None = None) -> dict:
    """End an assignment on `ends_on` (default: today in the district, i.e. at once)."""
    cur = await conn.execute("SELECT worker_id, level, area_id, starts_on FROM assignments "
                             "WHERE id = %s FOR UPDATE", (assignment_id,))
    row = await cur.fetchone()
    if row is None:
        raise RosterError(404, f"no assignment {assignment_id}")
    worker_id, level, area_id, starts_on = row
    if principal.scope is not None and area_id not in principal.scope.ids(level):
        raise RosterError(403, "that assignment lies outside your jurisdiction")
    if ends_on is None:
        ends_on = (await (await conn.execute("SELECT wangge_local_date()")).fetchone())[0]
        ends_on = max(ends_on, starts_on)
    if ends_on < starts_on:
        raise RosterError(422, f"the assignment ends ({ends_on}) before it starts ({starts_on})")
    await conn.execute("UPDATE assignments SET ends_on = %s WHERE id = %s",
                       (ends_on, assignment_id))
    await conn.execute("UPDATE workers SET version = version + 1 WHERE id = %s", (worker_id,))
    return await get_worker(conn, principal, worker_id)


async def search_areas(conn: AsyncConnection, principal: Principal, q: str,
                       limit: int = 20) -> list[dict]:
    """Current areas inside the caller's jurisdiction whose code starts with or name holds `q`
    (with their bounding boxes, lon/lat, so a page can show where they are)."""
    parts = []
    for lv in LEVEL_ORDER:
        table = LEVELS[lv].table
        parts.append(f"SELECT '{lv}' AS level, id, code, name, {LEVEL_ORDER.index(lv)} AS depth, "
                     "ARRAY[ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom)] AS bbox "
                     f"FROM {table} WHERE valid_to IS NULL AND (code LIKE %(prefix)s "
                     f"OR name ILIKE %(q)s) AND (%(unrestricted)s OR id = ANY(%(scope_{lv})s))")
    cur = await conn.execute(
        "SELECT coalesce(json_agg(json_build_object('level', level, 'id', id, 'code', code, "
        "'name', name, 'bbox', bbox) ORDER BY depth, code), '[]') FROM (" +
        " UNION ALL ".join(parts) +
        " ORDER BY depth, code LIMIT %(limit)s) x",
        _scope_params(principal) | {"prefix": f"{q.strip()}%", "q": f"%{q.strip()}%",
                                    "limit": limit})
    return (await cur.fetchone())[0]


# --- bulk import --------------------------------------------------------------------------------

IMPORT_COLUMNS = ("code", "name", "phone", "username", "role", "area", "starts_on", "ends_on")


@dataclass
class WorkerImport:
    """The outcome of a worker import: counts, and per-row problems (none when written)."""

    read: int = 0
    created: int = 0
    updated: int = 0
    accounts: int = 0
    assigned: int = 0
    written: bool = False
    dry_run: bool = False
    issues: list[dict] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"read": self.read, "created": self.created, "updated": self.updated,
                "accounts": self.accounts, "assigned": self.assigned, "written": self.written,
                "dry_run": self.dry_run, "rejected": len(self.issues), "issues": self.issues}


def _date(text: str | None) -> date | None:
    text = (text or "").strip()
    return date.fromisoformat(text) if text else None


async def import_workers(conn: AsyncConnection, principal: Principal, rows: list[dict],
                         dry_run: bool = False) -> WorkerImport:
    """Upsert workers by code and add their assignments, all or nothing (call in a transaction;
    the caller rolls back when `issues` is not empty or on a dry run).

    Each row: code (the worker's roster number), name, phone, username (an account is created
    when new), role (a worker role), area (a 9-18 digit code), starts_on, ends_on (ISO dates).
    """
    result = WorkerImport(read=len(rows), dry_run=dry_run)
    seen_codes: dict[str, int] = {}
    seen_users: dict[str, int] = {}
    checked: list[tuple[dict, str, int, date | None, date | None]] = []
    for n, raw in enumerate(rows, start=1):
        row = {k: (str(raw.get(k) or "")).strip() for k in IMPORT_COLUMNS}
        extra = sorted(set(raw) - set(IMPORT_COLUMNS))
        reasons = []
        if extra:
            reasons.append(f"unknown columns {', '.join(extra)}")
        if not row["code"]:
            reasons.append("code is empty")
        elif row["code"] in seen_codes and \
                rows[seen_codes[row["code"]] - 1].get("name") != raw.get("name"):
            first = seen_codes[row["code"]]
            reasons.append(f"code {row['code']} names someone else in row {first}")
        if not row["name"]:
            reasons.append("name is empty")
        if row["role"] not in WORKER_ROLES:
            reasons.append(f"unknown role {row['role']!r}: one of {', '.join(WORKER_ROLES)}")
        if row["username"]:
            key = row["username"].lower()
            if key in seen_users and rows[seen_users[key] - 1].get("code") != raw.get("code"):
                reasons.append(f"username {row['username']} is used in row {seen_users[key]}")
            seen_users.setdefault(key, n)
        seen_codes.setdefault(row["code"], n)
        starts = ends = None
        try:
            starts, ends = _date(row["starts_on"]), _date(row["ends_on"])
            check_dates(starts, ends)
        except ValueError as exc:
            reasons.append(str(exc) if isinstance(exc, RosterError)
                           else f"dates are YYYY-MM-DD: {exc}")
        level = area_id = None
        if row["area"]:
            try:
                level, area_id = await resolve_area(conn, principal, row["area"])
            except RosterError as exc:
                reasons.append(str(exc))
        else:
            reasons.append("area is empty")
        if row["username"] and not reasons:
            cur = await conn.execute(
                "SELECT w.code FROM accounts a LEFT JOIN workers w ON w.id = a.worker_id "
                "WHERE lower(a.username) = lower(%s)", (row["username"],))
            owner = await cur.fetchone()
            if owner is not None and owner[0] != row["code"]:
                reasons.append(f"username {row['username']} belongs to another account")
        if reasons:
            result.issues.append({"row": n, "code": row["code"] or None,
                                  "reason": "; ".join(reasons)})
        else:
            checked.append((row, level, area_id, starts, ends))
    if result.issues:
        return result
    today = (await (await conn.execute("SELECT wangge_local_date()")).fetchone())[0]
    done: set[str] = set()
    for row, level, area_id, starts, ends in checked:
        cur = await conn.execute(
            "INSERT INTO workers (code, name, phone) VALUES (%(code)s, %(name)s, %(phone)s) "
            "ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, "
            "phone = coalesce(EXCLUDED.phone, workers.phone), version = workers.version + 1 "
            "RETURNING id, (xmax = 0) AS inserted",
            {"code": row["code"], "name": row["name"], "phone": row["phone"] or None})
        worker_id, inserted = await cur.fetchone()
        if inserted:
            result.created += 1
        elif row["code"] not in done:
            result.updated += 1
        done.add(row["code"])
        if row["username"]:
            cur = await conn.execute("SELECT 1 FROM accounts WHERE worker_id = %s", (worker_id,))
            if await cur.fetchone() is None:
                await _create_account(conn, row["username"], None, "worker", worker_id=worker_id)
                result.accounts += 1
        cur = await conn.execute(
            "INSERT INTO assignments (worker_id, level, area_id, role, starts_on, ends_on) "
            "SELECT %(w)s, %(lv)s, %(a)s, %(role)s, %(s)s, %(e)s WHERE NOT EXISTS ("
            "SELECT 1 FROM assignments WHERE worker_id = %(w)s AND level = %(lv)s "
            "AND area_id = %(a)s AND role = %(role)s AND starts_on = %(s)s "
            "AND ends_on IS NOT DISTINCT FROM %(e)s)",
            {"w": worker_id, "lv": level, "a": area_id, "role": row["role"],
             "s": starts or today, "e": ends})
        result.assigned += cur.rowcount
    result.written = not dry_run
    return result
