"""`wangge split`: divide grids into micro-grids (or communities into grids) and print quality."""

from __future__ import annotations

import typer

from cli.console import console, fail, say


def split_command(
    level: str = typer.Option("micro-grid", "--level", help="micro-grid (split grids) or grid "
                              "(split communities)"),
    grid: list[str] = typer.Option(None, "--grid", help="parent code (repeatable)"),
    community: str = typer.Option(None, "--community", help="every grid of this community "
                                  "(or, with --level grid, the community itself)"),
    all_parents: bool = typer.Option(False, "--all", help="every current parent"),
    min_households: int = typer.Option(None, "--min"),
    max_households: int = typer.Option(None, "--max"),
    seed: int = typer.Option(0, "--seed"),
    dry_run: bool = typer.Option(False, "--dry-run", help="compute and report, write nothing"),
    report: str = typer.Option(None, "--report", help="write the quality report (.csv/.json)"),
    engine: str = typer.Option("graph", "--engine", help="graph (sweeps and moves on the unit "
                               "graph, polygons once; the default), cuts (straight cuts) or "
                               "growth (parts grown over building cells)"),
) -> None:
    """Split parents into children of 30-50 (micro-grid) or 300-500 (grid) households."""
    import psycopg

    from cli.db import ensure_database
    from gis.database import libpq_url
    from gis.partition.engines import ENGINES
    from importers.split_job import split_grids

    if engine not in ENGINES:
        fail(f"--engine must be one of {', '.join(ENGINES)}")
    key = level.replace("-", "_")
    if key not in ("micro_grid", "grid"):
        fail("--level must be micro-grid or grid")
    if sum(bool(x) for x in (grid, community, all_parents)) != 1:
        fail("give exactly one of --grid CODE ..., --community CODE or --all")
    url = ensure_database()
    codes = list(grid) if grid else None
    if community and key == "grid":
        codes = [community]
    elif community:
        with psycopg.connect(libpq_url(url)) as conn:
            codes = [r[0] for r in conn.execute(
                "SELECT code FROM grids WHERE parent_code = %s AND valid_to IS NULL "
                "ORDER BY code", (community,)).fetchall()]
        if not codes:
            fail(f"community {community} has no current grids")
    try:
        with console.status("splitting ..."):
            # bounds not given (or 0) are the level's settings, as split_grids takes them
            result = split_grids(url, codes, level=key, min_households=min_households or None,
                                 max_households=max_households or None, seed=seed,
                                 dry_run=dry_run, engine=engine)
    except ValueError as exc:
        fail(str(exc))
    console.print(result.table())
    say(f"{'would create' if dry_run else 'created'} {result.created}, removed {result.removed}, "
        f"retired {result.retired}; {result.violations} violation(s); "
        f"{result.moved} assignment(s) moved to the new areas")
    if report:
        result.write(report)
        say(f"quality report written to {report}")
