"""`wangge export ...`: files for other tools (an area's vector tiles as MBTiles)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import typer

from cli.console import fail, say
from cli.db import ensure_database
from gis.database import libpq_url

app = typer.Typer(help="Export data to files for phones, QGIS and GDAL.", no_args_is_help=True)


@app.command("tiles")
def tiles(file: Path = typer.Argument(..., help="the .mbtiles file to write"),
          area: str = typer.Option(..., "--area", help="code of a street, community, grid or "
                                   "micro-grid"),
          zoom: str = typer.Option("12-18", "--zoom", help="zoom range, e.g. 12-18")) -> None:
    """Write the vector tiles (all layers) over an area into an MBTiles file."""
    from tiles import mbtiles

    try:
        zmin, zmax = mbtiles.parse_zoom(zoom)
    except ValueError as exc:
        fail(str(exc))
    url = ensure_database()
    with psycopg.connect(libpq_url(url)) as conn:
        try:
            found = mbtiles.find_area(conn, area)
            stored, size = mbtiles.write(conn, file, found, zmin, zmax)
        except (mbtiles.UnknownArea, mbtiles.TooLarge) as exc:
            fail(str(exc))
    planned = mbtiles.count_tiles(found.bounds, zmin, zmax)
    say(f"wrote {file}: {stored:,} tiles with data of {planned:,} over {found.level} "
        f"{found.code} at z{zmin}-{zmax}, {size / 1024:,.0f} KiB")
