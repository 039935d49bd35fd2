"""Export benchmark: a whole collection downloaded through /collections/incidents/export
(CSV, GeoJSON, GeoPackage) against the peer a client has without it, paging through
/collections/incidents/items?limit=10000, on the same incidents, the same server.

Builds its own database with the incidents benchmark's generated district and N incidents
(--quick: 50,000 and 2 runs; else 1,000,000 and 5), serves the API with uvicorn in a separate
process, and
reports per format the median seconds of `runs` downloads, the rows per second, the ratio of the
paged items' time to the streamed CSV's and the growth of the server's peak resident memory
(VmHWM) over the whole run: a streamed export holds one batch at a time, so it stays small
whatever N is. A run whose downloads fail prints no ratio. The last line holds the figures:

    export: rows=... csv_s=... geojson_s=... gpkg_s=... paged_items_s=... paging_vs_csv=...x ...

Usage: .venv/bin/python bench/export_bench.py [--quick] [--keep]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.incidents_bench import SECRET, build_district, bulk_incidents, serve  # noqa: E402
from gis import localdb, migrate  # noqa: E402
from gis.accounts import hash_password, issue_token  # noqa: E402
from gis.database import database_url, libpq_url  # noqa: E402
from gis.settings import Settings  # noqa: E402

ITEMS = "/collections/incidents/items"


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set size (VmHWM) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def download(http: httpx.Client, path: str) -> tuple[float, int]:
    """(seconds, bytes) of one streamed download; raises on a non-200."""
    t0 = time.perf_counter()
    size = 0
    with http.stream("GET", path) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            size += len(chunk)
    return time.perf_counter() - t0, size


def paged(http: httpx.Client) -> tuple[float, int]:
    """(seconds, features) to read every incident through the items pages."""
    t0 = time.perf_counter()
    path, total = f"{ITEMS}?limit=10000", 0
    while path:
        page = http.get(path)
        page.raise_for_status()
        body = page.json()
        total += body["numberReturned"]
        nxt = [x["href"] for x in body["links"] if x["rel"] == "next"]
        path = nxt[0].split("://", 1)[1].split("/", 1)[1] if nxt else None
        path = "/" + path if path else None
    return time.perf_counter() - t0, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 incidents (under 5 min)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    n = 50_000 if args.quick else 1_000_000
    runs = 2 if args.quick else 5

    settings = Settings()
    server = database_url(settings)
    if not settings.database_url:
        localdb.up(settings, lambda _m: None)
    name = f"wangge_bench_export_{os.getpid()}"
    localdb.drop_database(server, name)
    localdb.create_database(server, name)
    url = server.rsplit("/", 1)[0] + "/" + name
    proc = None
    errors = 0
    times: dict[str, list[float]] = {"csv": [], "geojson": [], "gpkg": [], "items": []}
    try:
        migrate.upgrade(url)
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            build_district(conn)
            secs = bulk_incidents(conn, n, 2025)
            print(f"generated {n:,} incidents in {secs:.0f} s", flush=True)
            account = conn.execute(
                "INSERT INTO accounts (username, password_hash, role) VALUES "
                "('bench', %s, 'admin') RETURNING id", (hash_password("bench-pass"),)
            ).fetchone()[0]
        token = issue_token(Settings(secret_key=SECRET), account, "bench", "admin", 0)[0]
        proc, base = serve(url, Path(os.environ.get("TMPDIR", "/tmp")))
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                          timeout=600) as http:
            http.get(f"{ITEMS}?limit=10").raise_for_status()  # warm up
            rss_start = peak_rss_mb(proc.pid)
            for _ in range(runs):
                for fmt in ("csv", "geojson", "gpkg"):
                    try:
                        secs, size = download(http, f"/collections/incidents/export?format={fmt}")
                    except httpx.HTTPError as exc:
                        errors += 1
                        print(f"{fmt}: error {exc}", flush=True)
                        continue
                    times[fmt].append(secs)
                    print(f"{fmt}: {secs:.2f} s, {size / 1e6:.1f} MB", flush=True)
                try:
                    secs, got = paged(http)
                except httpx.HTTPError as exc:
                    errors += 1
                    print(f"paged items: error {exc}", flush=True)
                    continue
                if got != n:
                    errors += 1
                    print(f"paged items: {got} features, expected {n}", flush=True)
                times["items"].append(secs)
                print(f"paged items: {secs:.2f} s for {got:,} features", flush=True)
            rss_growth = peak_rss_mb(proc.pid) - rss_start
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        if not args.keep:
            localdb.drop_database(server, name)
    med = {k: statistics.median(v) if v else float("nan") for k, v in times.items()}
    line = (f"export: rows={n} runs={runs} csv_s={med['csv']:.2f} geojson_s={med['geojson']:.2f} "
            f"gpkg_s={med['gpkg']:.2f} paged_items_s={med['items']:.2f} "
            f"csv_rows_per_s={n / med['csv']:.0f} rss_growth_mb={rss_growth:.0f} errors={errors}")
    if not errors:
        line += f" paging_vs_csv={med['items'] / med['csv']:.2f}x"
    print(line)


if __name__ == "__main__":
    main()
