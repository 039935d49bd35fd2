"""Rebuild OSM buildings and streets from a Tilezen (Nextzen) vector-tile JSON dump wrapped in a
JavaScript file (`var x = [ {buildings: FeatureCollection, roads: ..., ...}, ... ]`, one entry per
tile) into one GeoJSON file: the pieces of each OSM way clipped by tile edges are joined again by
OSM id (footprints unioned, lines merged), and only the fields the split bench needs are kept.

    .venv/bin/python bench/data/convert_tilezen.py shangHai.js bench/data/shanghai_bund.geojson
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict

import shapely
from shapely.geometry import mapping, shape

KEY = re.compile(r"([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)\s*:")
TRAILING = re.compile(r",(\s*[}\]])")
PRECISION = 1e-7


def load_tiles(path: str) -> list[dict]:
    """The tiles of a `var name = [...]` JavaScript file as JSON objects."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    body = text[text.index("["):].rstrip().rstrip(";")
    return json.loads(TRAILING.sub(r"\1", KEY.sub(r'\1"\2":', body)))


def joined(tiles: list[dict], layer: str) -> list[tuple[dict, object]]:
    """Features of `layer` with the tile pieces of one OSM id joined into one geometry."""
    pieces: dict[int, list] = defaultdict(list)
    props: dict[int, dict] = {}
    for tile in tiles:
        for feature in tile.get(layer, {}).get("features", []):
            osm_id = feature["properties"].get("id")
            if osm_id is None:
                continue
            pieces[osm_id].append(shapely.set_precision(shape(feature["geometry"]), PRECISION))
            props.setdefault(osm_id, feature["properties"])
    out = []
    for osm_id, geoms in pieces.items():
        geom = shapely.union_all(geoms)
        if geom.geom_type in ("LineString", "MultiLineString"):
            geom = shapely.line_merge(geom)
        out.append((props[osm_id], geom))
    return out


def main(src: str, dst: str) -> None:
    tiles = load_tiles(src)
    features = []
    for props, geom in joined(tiles, "buildings"):
        if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
            continue
        features.append({"type": "Feature", "geometry": mapping(geom), "properties": {
            "osm_id": props["id"], "layer": "building",
            "building": props.get("kind_detail") or "yes", "height": props.get("height"),
            "name": props.get("name")}})
    for props, geom in joined(tiles, "roads"):
        if geom.geom_type not in ("LineString", "MultiLineString") or geom.is_empty:
            continue
        features.append({"type": "Feature", "geometry": mapping(geom), "properties": {
            "osm_id": props["id"], "layer": "road",
            "highway": props.get("kind_detail") or props.get("kind"), "name": props.get("name")}})
    with open(dst, "w", encoding="utf-8") as fh:
        json.dump({"type": "FeatureCollection", "features": features}, fh, ensure_ascii=False,
                  separators=(",", ":"))
    print(f"{dst}: {len(features)} features")


if __name__ == "__main__":
    main(*sys.argv[1:3])
