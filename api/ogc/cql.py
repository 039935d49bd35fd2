"""CQL2 filters (OGC API – Features Part 3) translated to parameterized SQL.

A `filter` arrives as CQL2 text or CQL2 JSON. The `cql2` package (the maintained reference
parser, in Rust) parses and validates either form and hands back the canonical CQL2-JSON tree;
this module walks that tree and emits a SQL fragment over the collection's alias `t`. Only the
collection's queryables can be named (each maps to a fixed SQL expression from the registry);
every literal becomes a psycopg placeholder (`%(cql_N)s`), never text in the statement. Anything
outside Basic CQL2 plus the spatial (S_*) and temporal (T_*) functions handled here, a type
mismatch or an unknown property is a `CqlError`, which the router turns into a 400.

pygeofilter's CQL2-text grammar (0.4) only takes infix temporal operators (`a T_INTERSECTS b`),
not the standard `T_INTERSECTS(a, b)`, which is why `cql2` parses here.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count
from typing import Any

import cql2
import orjson

from api.ogc.registry import Collection

TEXT_LANGS = {"cql2-text", "cql-text"}  # cql-text: the draft name GDAL 3.6 sends
JSON_LANGS = {"cql2-json"}
FILTER_LANGS = sorted(TEXT_LANGS | JSON_LANGS)
DATETIME = ("reported_at", "due_at", "valid_from", "t")
GEOMETRY = "geometry"


class CqlError(ValueError):
    """A filter that cannot be run: malformed, unsupported or naming a non-queryable."""


@dataclass(frozen=True)
class Queryable:
    """A property a filter may name: its SQL over alias t and its JSON Schema type."""

    name: str
    sql: str
    type: str  # string, integer, number, boolean, datetime, geometry

    def schema(self, geometry_type: str) -> dict:
        if self.type == "geometry":
            return {"title": "geometry", "format": "geometry-" + geometry_type.lower(),
                    "x-ogc-role": "primary-geometry"}
        if self.type == "datetime":
            return {"title": self.name, "type": "string", "format": "date-time"}
        return {"title": self.name, "type": self.type}


def queryables(c: Collection) -> dict[str, Queryable]:
    """The collection's queryables: its properties (not computed ones) and its geometry."""
    out = {GEOMETRY: Queryable(GEOMETRY, "t.geom", "geometry")}
    for name, expr in c.properties.items():
        if not expr.startswith("t.") or " " in expr:
            continue  # computed (e.g. overdue): not a column
        kind = "datetime" if name in DATETIME else c.types.get(name, "string")
        out[name] = Queryable(name, expr, kind)
    return out


def parse(text: str, lang: str | None) -> dict:
    """The canonical CQL2-JSON tree of a filter in `lang` (cql2-text by default)."""
    lang = lang or "cql2-text"
    try:
        if lang in TEXT_LANGS:
            expr = cql2.parse_text(text)
        elif lang in JSON_LANGS:
            expr = cql2.parse_json(text)
        else:
            raise CqlError(f"unsupported filter-lang {lang!r}; one of {', '.join(FILTER_LANGS)}")
        expr.validate()
    except (cql2.ParseError, cql2.ValidationError, ValueError) as exc:
        if isinstance(exc, CqlError):
            raise
        first = " ".join(str(exc).split())[:300]
        raise CqlError(f"malformed {lang} filter: {first}") from None
    tree = expr.to_json()
    if not isinstance(tree, dict):
        raise CqlError("a filter must be a boolean expression")
    return tree


class _Sql:
    """One translation: the queryables, the filter CRS and the parameters collected so far."""

    def __init__(self, names: dict[str, Queryable], srid: int, swap_axes: bool) -> None:
        self.names, self.srid, self.swap = names, srid, swap_axes
        self.params: dict[str, Any] = {}
        self._n = count()

    def param(self, value: Any, cast: str = "") -> str:
        key = f"cql_{next(self._n)}"
        self.params[key] = value
        return f"%({key})s{cast}"

    # -- operands ------------------------------------------------------------------------------
    def prop(self, node: Any) -> Queryable | None:
        if isinstance(node, dict) and set(node) == {"property"}:
            name = node["property"]
            found = self.names.get(name) or (self.names.get(GEOMETRY) if name == "geom" else None)
            if found is None:
                raise CqlError(f"{name!r} is not queryable here; queryables: "
                               f"{', '.join(sorted(self.names))}")
            return found
        return None

    def scalar(self, node: Any, kind: str) -> str:
        """A literal as a placeholder cast to the column's type, after checking it fits."""
        if isinstance(node, dict) and set(node) <= {"timestamp", "date"} and len(node) == 1:
            if kind != "datetime":
                raise CqlError(f"a {next(iter(node))} cannot be compared with a {kind} property")
            if "date" in node:
                return self.param(node["date"], "::date")
            return self.param(node["timestamp"], "::timestamptz")
        if isinstance(node, bool):
            if kind != "boolean":
                raise CqlError(f"true/false cannot be compared with a {kind} property")
            return self.param(node)
        if isinstance(node, int | float):
            if kind not in ("integer", "number"):
                raise CqlError(f"the number {node:g} cannot be compared with a {kind} property")
            return self.param(node, "::numeric")
        if isinstance(node, str):
            if kind == "datetime":
                return self.param(node, "::timestamptz")
            if kind != "string":
                raise CqlError(f"the string {node!r} cannot be compared with a {kind} property")
            return self.param(node)
        if node is None:
            raise CqlError("use IS NULL to test for a missing value")
        raise CqlError(f"unsupported operand {orjson.dumps(node).decode()[:80]}")

    def operands(self, args: list) -> tuple[str, str]:
        """Two comparable operands: property/property or property/literal (either side)."""
        if len(args) != 2:
            raise CqlError("a comparison takes two operands")
        left, right = (self.prop(a) for a in args)
        if left is None and right is None:
            raise CqlError("a comparison needs a queryable property on one side")
        for q in (left, right):
            if q is not None and q.type == "geometry":
                raise CqlError("compare geometries with the S_ functions (S_INTERSECTS ...)")
        if left is not None and right is not None:
            if (left.type in ("integer", "number")) != (right.type in ("integer", "number")) \
                    or (left.type not in ("integer", "number") and left.type != right.type):
                raise CqlError(f"{left.name} ({left.type}) and {right.name} ({right.type}) "
                               "cannot be compared")
            return left.sql, right.sql
        if left is not None:
            return left.sql, self.scalar(args[1], left.type)
        return self.scalar(args[0], right.type), right.sql

    def geometry(self, node: Any) -> str:
        if isinstance(node, dict) and "bbox" in node:
            box = node["bbox"]
            if not (isinstance(box, list) and len(box) in (4, 6)):
                raise CqlError("a bbox literal takes 4 or 6 numbers")
            x1, y1, x2, y2 = (box[0], box[1], box[3], box[4]) if len(box) == 6 else box
            if self.swap:
                x1, y1, x2, y2 = y1, x1, y2, x2
            env = (f"ST_MakeEnvelope({self.param(float(x1))}, {self.param(float(y1))}, "
                   f"{self.param(float(x2))}, {self.param(float(y2))}, {self.srid})")
            return env if self.srid == 4326 else f"ST_Transform({env}, 4326)"
        if isinstance(node, dict) and "type" in node and "coordinates" in node \
                or isinstance(node, dict) and node.get("type") == "GeometryCollection":
            geom = f"ST_SetSRID(ST_GeomFromGeoJSON({self.param(orjson.dumps(node).decode())}), " \
                   f"{self.srid})"
            if self.swap:
                geom = f"ST_FlipCoordinates({geom})"
            return geom if self.srid == 4326 else f"ST_Transform({geom}, 4326)"
        raise CqlError("a spatial function takes the geometry property and a geometry literal")

    def interval(self, node: Any) -> tuple[str | None, str | None]:
        """(start SQL, end-exclusive-or-inclusive SQL) of a temporal literal; None is open."""
        if isinstance(node, dict) and "interval" in node:
            ends = node["interval"]
            if not (isinstance(ends, list) and len(ends) == 2):
                raise CqlError("an interval takes two ends")
            out = []
            for end in ends:
                if end == "..":
                    out.append(None)
                elif isinstance(end, dict) and ("date" in end or "timestamp" in end):
                    out.append(self.scalar(end, "datetime"))
                elif isinstance(end, str):
                    cast = "::date" if len(end) == 10 else "::timestamptz"
                    out.append(self.param(end, cast))
                else:
                    raise CqlError("interval ends are dates, timestamps or '..'")
            return out[0], out[1]
        if isinstance(node, dict) and ("date" in node or "timestamp" in node):
            at = self.scalar(node, "datetime")
            return at, at
        raise CqlError("a temporal function takes a datetime property and a date, timestamp "
                       "or interval")

    # -- predicates ----------------------------------------------------------------------------
    def expr(self, node: Any) -> str:
        if isinstance(node, bool):
            return "TRUE" if node else "FALSE"
        if not isinstance(node, dict) or "op" not in node:
            raise CqlError("expected a predicate")
        op, args = str(node["op"]).lower(), node.get("args", [])
        if op in ("and", "or"):
            if len(args) < 2:
                raise CqlError(f"{op.upper()} takes two or more predicates")
            return "(" + f" {op.upper()} ".join(self.expr(a) for a in args) + ")"
        if op == "not":
            return f"(NOT {self.expr(args[0])})"
        if op in _COMPARE:
            left, right = self.operands(args)
            return f"({left} {_COMPARE[op]} {right})"
        if op == "like":
            q = self.prop(args[0])
            if q is None or q.type != "string" or not isinstance(args[1], str):
                raise CqlError("LIKE takes a string property and a pattern")
            return f"({q.sql} LIKE {self.param(args[1])})"
        if op == "between":
            q = self.prop(args[0])
            if q is None or len(args) != 3:
                raise CqlError("BETWEEN takes a property and two bounds")
            return f"({q.sql} BETWEEN {self.scalar(args[1], q.type)} AND " \
                   f"{self.scalar(args[2], q.type)})"
        if op == "in":
            q = self.prop(args[0])
            if q is None or len(args) != 2 or not isinstance(args[1], list) or not args[1]:
                raise CqlError("IN takes a property and a non-empty list")
            return f"({q.sql} IN ({', '.join(self.scalar(v, q.type) for v in args[1])}))"
        if op == "isnull":
            q = self.prop(args[0])
            if q is None:
                raise CqlError("IS NULL takes a property")
            return f"({q.sql} IS NULL)"
        if op in _SPATIAL:
            q = self.prop(args[0])
            if q is None or q.type != "geometry" or len(args) != 2:
                raise CqlError(f"{op.upper()} takes the geometry property and a geometry")
            return f"{_SPATIAL[op]}({q.sql}, {self.geometry(args[1])})"
        if op in _TEMPORAL:
            q = self.prop(args[0])
            if q is None or q.type != "datetime" or len(args) != 2:
                raise CqlError(f"{op.upper()} takes a datetime property and a date, timestamp "
                               "or interval")
            return _TEMPORAL[op](q.sql, *self.interval(args[1]))
        raise CqlError(f"unsupported operator {op!r}; supported: Basic CQL2, LIKE, BETWEEN, "
                       f"IN, {', '.join(k.upper() for k in (*_SPATIAL, *_TEMPORAL))}")


def _t_intersects(col: str, start: str | None, end: str | None) -> str:
    parts = [f"{col} >= {start}" if start else "", _until(col, end) if end else ""]
    inner = " AND ".join(p for p in parts if p) or f"{col} IS NOT NULL"
    return f"({inner})"


def _until(col: str, end: str) -> str:
    # a date end covers its whole day
    return f"{col} < ({end} + 1)" if end.endswith("::date") else f"{col} <= {end}"


_COMPARE = {"=": "=", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_SPATIAL = {"s_intersects": "ST_Intersects", "s_within": "ST_Within",
            "s_contains": "ST_Contains", "s_disjoint": "ST_Disjoint", "s_touches": "ST_Touches",
            "s_crosses": "ST_Crosses", "s_overlaps": "ST_Overlaps", "s_equals": "ST_Equals"}
_TEMPORAL = {
    "t_intersects": _t_intersects,
    "t_before": lambda col, start, end: f"({col} < {start or end})",
    "t_after": lambda col, start, end: f"({col} > {end or start})",
    "t_during": lambda col, start, end: _t_intersects(col, start, end),
}


def to_sql(tree: dict, c: Collection, srid: int = 4326,
           swap_axes: bool = False) -> tuple[str, dict[str, Any]]:
    """(SQL fragment over alias t, its parameters) for a parsed filter on collection `c`.

    Geometry literals are in `srid` (lat/lon order when `swap_axes`, as EPSG:4326 has it)."""
    sql = _Sql(queryables(c), srid, swap_axes)
    return sql.expr(tree), sql.params
