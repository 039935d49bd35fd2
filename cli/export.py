"""`wangge export ...`: files for other tools (an area's vector tiles as MBTiles or PMTiles)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import typer

from cli.console import fail, say
from cli.db import ensure_database
from gis.database import libpq_url

app = typer.Typer(help="Export data to files for phones, QGIS and GDAL.", no_args_is_help=True)


@app.command("tiles")
def tiles(file: Path = typer.Argument(..., help="the file to write: .mbtiles or .pmtiles"),
          area: str = typer.Option(..., "--area", help="code of a street, community, grid or "
                                   "micro-grid"),
          zoom: str = typer.Option("12-18", "--zoom", help="zoom range, e.g. 12-18")) -> None:
    """Write the vector tiles (all layers) over an area into an MBTiles or PMTiles file (by the
    file's suffix)."""
    from tiles import area_tiles, mbtiles, pmtiles_file

    writers = {".mbtiles": mbtiles.write, ".pmtiles": pmtiles_file.write}
    write = writers.get(file.suffix.lower())
    if write is None:
        fail(f"{file.name}: the file must end in .mbtiles or .pmtiles")
    try:
        zmin, zmax = area_tiles.parse_zoom(zoom)
    except ValueError as exc:
        fail(str(exc))
    url = ensure_database()
    with psycopg.connect(libpq_url(url)) as conn:
        try:
            found = area_tiles.find_area(conn, area)
            stored, size = write(conn, file, found, zmin, zmax)
        except (area_tiles.UnknownArea, area_tiles.TooLarge,
                pmtiles_file.NothingToDraw) as exc:
            fail(str(exc))
    planned = area_tiles.count_tiles(found.bounds, zmin, zmax)
    say(f"wrote {file}: {stored:,} tiles with data of {planned:,} over {found.level} "
        f"{found.code} at z{zmin}-{zmax}, {size / 1024:,.0f} KiB")
