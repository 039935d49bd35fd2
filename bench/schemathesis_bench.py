"""Schema fuzzing: every operation of the API's own OpenAPI document, as every role.

Schemathesis generates requests for each operation from the published /openapi.json (valid data
and data that breaks the schema), sends them to a live server on a copy of the
demo district with a valid token of each role (admin, planner, commander, and a worker assigned
to one grid), and checks every answer: no 5xx, a status code the document declares, the declared
content type, and a body that conforms to the declared schema. The live incident feed (an endless
event stream) and POST /auth/revoke (it would log the run out) are left out; their own tests
cover them.

    python bench/schemathesis_bench.py            # 60 examples per operation, role and mode
    python bench/schemathesis_bench.py --quick    # 8 examples; the last line holds the counts
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.app import create_app  # noqa: E402
from gis.accounts import hash_password, issue_token  # noqa: E402
from gis.database import libpq_url  # noqa: E402
from gis.settings import Settings  # noqa: E402
from tests.serving import serve  # noqa: E402

SECRET = "fuzz-bench-secret-0123456789abcdef0123456789ab"
ROLES = ("admin", "planner", "commander", "worker")
# an endless event stream, and logging out (it would end the run's own session); their own
# tests cover both
SKIP = {("GET", "/incidents/feed"), ("POST", "/auth/revoke")}


@dataclass
class Figures:
    """What the fuzzing saw."""

    operations: int = 0
    requests: int = 0
    server_errors: int = 0
    nonconforming: int = 0
    statuses: Counter = field(default_factory=Counter)
    failures: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def line(self) -> str:
        return (f"fuzz: operations={self.operations} requests={self.requests} "
                f"5xx={self.server_errors} nonconforming={self.nonconforming}")


def make_tokens(url: str, settings: Settings) -> dict[str, str]:
    """One fresh account per role (the worker assigned to the first current grid)."""
    tag = f"fuzz{os.getpid()}_{int(time.time() * 1000) % 10**8}"
    tokens = {}
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        grid = conn.execute("SELECT id FROM grids WHERE valid_to IS NULL ORDER BY code "
                            "LIMIT 1").fetchone()
        for role in ROLES:
            name = f"{role}_{tag}"
            worker_id = None
            if role == "worker":
                worker_id = conn.execute("INSERT INTO workers (name) VALUES (%s) RETURNING id",
                                         (name,)).fetchone()[0]
                if grid:
                    conn.execute("INSERT INTO assignments (worker_id, level, area_id, role) "
                                 "VALUES (%s, 'grid', %s, 'full_time')", (worker_id, grid[0]))
            account = conn.execute(
                "INSERT INTO accounts (username, password_hash, role, worker_id) "
                "VALUES (%s, %s, %s, %s) RETURNING id",
                (name, hash_password("fuzz-" + name), role, worker_id)).fetchone()[0]
            tokens[role] = issue_token(settings, account, name, role, 0)[0]
    return tokens


def fuzz(base_url: str, tokens: dict[str, str], max_examples: int, negative: bool = False,
         seed: int = 1) -> Figures:
    """Run every operation for every role; count requests, 5xx and nonconforming answers."""
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed
    from schemathesis.checks import not_a_server_error
    from schemathesis.generation import GenerationMode
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [status_code_conformance, content_type_conformance, response_schema_conformance]
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    figures = Figures()
    modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if negative else [])
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIP:
            continue
        figures.operations += 1
        label = f"{operation.method.upper()} {operation.path}"
        for role, token in tokens.items():
            headers = {"Authorization": f"Bearer {token}"}
            for mode in modes:
                _fuzz_one(operation.as_strategy(generation_mode=mode), base_url, headers,
                          max_examples, seed, figures, label, role, checks, not_a_server_error,
                          (HealthCheck, Phase, given, hseed, settings))
    return figures


def _fuzz_one(strategy, base_url, headers, max_examples, seed, figures, label, role, checks,
              server_check, hyp) -> None:
    """Feed `max_examples` generated cases to one operation; record, never raise."""
    from hypothesis.errors import Unsatisfiable

    HealthCheck, Phase, given, hseed, settings = hyp

    @hseed(seed)
    @settings(max_examples=max_examples, deadline=None, database=None, derandomize=False,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case) -> None:
        try:
            response = case.call(base_url=base_url, headers=headers, timeout=60)
        except Exception as exc:  # a hung or dropped connection counts as a server error
            figures.requests += 1
            figures.server_errors += 1
            figures.failures.setdefault((label, role, "transport"), repr(exc)[:300])
            return
        figures.requests += 1
        figures.statuses[response.status_code] += 1
        if response.status_code >= 500:
            figures.server_errors += 1
            figures.failures.setdefault((label, role, str(response.status_code)),
                                        f"{_request(case)} -> {response.text[:300]}")
            return
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except (Exception, BaseExceptionGroup) as exc:
            figures.nonconforming += 1
            figures.failures.setdefault((label, role, f"{response.status_code} nonconforming"),
                                        f"{_request(case)} -> {str(exc)[:600]}")

    with suppress(Unsatisfiable):  # nothing to break (no parameters and no body)
        run()


def _request(case) -> str:
    parts = [case.method.upper(), case.formatted_path]
    if case.query:
        parts.append(f"query={case.query}")
    if case.body is not None and type(case.body).__name__ != "NotSet":
        parts.append(f"body={str(case.body)[:200]}")
    return " ".join(str(p) for p in parts)


def copy_demo(server_url: str, name: str) -> str:
    """A fresh database `name` holding the demo district; returns its URL."""
    from gis import localdb, migrate
    from gis.demo import load_demo

    head, _, _ = server_url.rpartition("/")
    localdb.drop_database(server_url, name)
    localdb.create_database(server_url, name)
    url = f"{head}/{name}"
    migrate.upgrade(url)
    load_demo(url, lambda _msg: None, seed=1, anchor=date(2026, 11, 1))
    return url


def report(figures: Figures, seconds: float) -> None:
    """Print the statuses, each distinct failure and the summary line."""
    print(f"statuses: {dict(sorted(figures.statuses.items()))}")
    for (label, role, kind), text in sorted(figures.failures.items()):
        print(f"  {kind:>20}  {label} as {role}: {text}")
    print(f"time {seconds:.0f} s")
    print(figures.line())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 examples per operation and role")
    parser.add_argument("--examples", type=int, default=None)
    parser.add_argument("--positive-only", action="store_true",
                        help="only data that fits the schema (default: also data that breaks it)")
    args = parser.parse_args()
    examples = args.examples or (8 if args.quick else 60)

    from gis import localdb
    from gis.database import database_url

    base = Settings()
    if not base.database_url:
        localdb.up(base, lambda _msg: None)
    server_url = database_url(base)
    name = f"wangge_fuzzbench_{os.getpid()}"
    print("loading the demo district ...", flush=True)
    url = copy_demo(server_url, name)
    try:
        settings = Settings(database_url=url, secret_key=SECRET, local_dir=base.local_dir)
        tokens = make_tokens(url, settings)
        started = time.monotonic()
        with serve(create_app(settings), log_level="critical") as base_url:
            figures = fuzz(base_url, tokens, examples, negative=not args.positive_only)
        report(figures, time.monotonic() - started)
    finally:
        localdb.drop_database(server_url, name)


if __name__ == "__main__":
    main()
