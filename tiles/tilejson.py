"""TileJSON 3.0.0 and OGC API – Tiles documents (tile matrix set, tilesets)."""

from __future__ import annotations

from tiles.layers import ALL, LAYERS, MAX_ZOOM, WORLD

HALF = WORLD / 2
WEB_MERCATOR_QUAD = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"


def vector_layers(layer_id: str) -> list[dict]:
    chosen = LAYERS.values() if layer_id == ALL else [LAYERS[layer_id]]
    return [{"id": lay.id, "fields": lay.fields, "minzoom": lay.minzoom, "maxzoom": MAX_ZOOM}
            for lay in chosen]


def tilejson(base: str, layer_id: str, bounds: list[float] | None) -> dict:
    """TileJSON 3.0.0 for one layer (or the combined one)."""
    layers = vector_layers(layer_id)
    doc = {
        "tilejson": "3.0.0",
        "name": layer_id,
        "description": f"Wangge {layer_id} vector tiles",
        "version": "1.0.0",
        "scheme": "xyz",
        "tiles": [f"{base}/tiles/{layer_id}/{{z}}/{{x}}/{{y}}.pbf"],
        "minzoom": min(lay["minzoom"] for lay in layers),
        "maxzoom": MAX_ZOOM,
        "vector_layers": layers,
    }
    if bounds:
        doc["bounds"] = bounds
        doc["center"] = [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2,
                         max(doc["minzoom"], 12)]
    return doc


def tile_matrix_set() -> dict:
    """OGC 2D Tile Matrix Set 2.0 definition of WebMercatorQuad."""
    matrices = []
    for z in range(MAX_ZOOM + 1):
        n = 1 << z
        cell = WORLD / 256 / n
        matrices.append({"id": str(z), "scaleDenominator": cell / 0.00028, "cellSize": cell,
                         "cornerOfOrigin": "topLeft", "pointOfOrigin": [-HALF, HALF],
                         "tileWidth": 256, "tileHeight": 256, "matrixWidth": n,
                         "matrixHeight": n})
    return {"id": WEB_MERCATOR_QUAD, "title": "Google Maps Compatible for the World",
            "uri": TMS_URI, "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
            "orderedAxes": ["X", "Y"], "tileMatrices": matrices}


def tileset(base: str, cid: str, bounds: list[float] | None) -> dict:
    """OGC API – Tiles tileset metadata of one collection's vector tiles."""
    lay = LAYERS[cid]
    url = f"{base}/collections/{cid}/tiles/{WEB_MERCATOR_QUAD}"
    doc = {
        "title": f"{cid} vector tiles", "dataType": "vector", "crs":
        "http://www.opengis.net/def/crs/EPSG/0/3857", "tileMatrixSetURI": TMS_URI,
        "tileMatrixSetLimits": [
            {"tileMatrix": str(z), "minTileRow": 0, "maxTileRow": (1 << z) - 1,
             "minTileCol": 0, "maxTileCol": (1 << z) - 1}
            for z in range(lay.minzoom, MAX_ZOOM + 1)],
        "layers": [{"id": lay.id, "dataType": "vector", "geometryType":
                    "polygons" if lay.polygons else "points",
                    "minTileMatrix": str(lay.minzoom), "maxTileMatrix": str(MAX_ZOOM),
                    "propertiesSchema": {"type": "object", "properties": {
                        k: {"type": v.lower()} for k, v in lay.fields.items()}}}],
        "links": [
            {"href": url, "rel": "self", "type": "application/json", "title": "this tileset"},
            {"href": f"{base}/tileMatrixSets/{WEB_MERCATOR_QUAD}",
             "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
             "type": "application/json", "title": "the tile matrix set"},
            {"href": f"{url}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}", "rel": "item",
             "type": "application/vnd.mapbox-vector-tile", "templated": True,
             "title": "tiles"},
        ],
    }
    if bounds:
        doc["boundingBox"] = {"lowerLeft": bounds[:2], "upperRight": bounds[2:],
                              "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}
    return doc
