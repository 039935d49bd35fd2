"""Open Wangge in QGIS, headless: run with Debian's /usr/bin/python3 (python3-qgis), not the venv.

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 tests/qgis_client.py '{"base": ..., ...}'

Arguments (one JSON object): base (API URL), username, key (an API key), collections (OGC API
collection ids), tiles (a tile layer id), zoom ([min, max]), png (image path). It stores an HTTP
Basic auth configuration holding the key in a throw-away QGIS auth database, loads each
collection through QGIS's OGC API – Features provider with it, loads the vector tiles through
an XYZ vector tile layer whose URL carries `?apikey=`, renders them all into the PNG and prints
one JSON object: features per collection, and the painted pixels of the tile layer alone.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile

ARGS = json.loads(sys.argv[1])
PROFILE = tempfile.mkdtemp(prefix="qgis-profile-")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["QGIS_AUTH_DB_DIR_PATH"] = PROFILE

from qgis.core import (  # noqa: E402
    QgsApplication,
    QgsAuthMethodConfig,
    QgsDataSourceUri,
    QgsFillSymbol,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsMarkerSymbol,
    QgsProject,
    QgsRectangle,
    QgsSingleSymbolRenderer,
    QgsVectorLayer,
    QgsVectorTileBasicRenderer,
    QgsVectorTileBasicRendererStyle,
    QgsVectorTileLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QSize  # noqa: E402
from qgis.PyQt.QtGui import QColor, QImage  # noqa: E402

BACKGROUND = QColor(255, 255, 255)


def basic_auth(app_auth, username: str, password: str) -> str:
    """An HTTP Basic auth configuration (what a QGIS user creates in the dialog); its id."""
    app_auth.setMasterPassword("qgis-test-master", True)
    config = QgsAuthMethodConfig("Basic")
    config.setName("wangge")
    config.setConfig("username", username)
    config.setConfig("password", password)
    ok, stored = app_auth.storeAuthenticationConfig(config)
    if not ok:
        raise SystemExit("could not store the auth configuration")
    return stored.id()


def oapif_layer(base: str, collection: str, authcfg: str) -> QgsVectorLayer:
    uri = QgsDataSourceUri()
    uri.setParam("url", base)
    uri.setParam("typename", collection)
    uri.setParam("restrictToRequestBBOX", "0")
    uri.setAuthConfigId(authcfg)
    return QgsVectorLayer(uri.uri(False), collection, "OAPIF")


def tile_layer(base: str, layer: str, key: str, zoom: list[int]) -> QgsVectorTileLayer:
    uri = QgsDataSourceUri()
    uri.setParam("type", "xyz")
    uri.setParam("url", f"{base}/tiles/{layer}/{{z}}/{{x}}/{{y}}.pbf?apikey={key}")
    uri.setParam("zmin", str(zoom[0]))
    uri.setParam("zmax", str(zoom[1]))
    tiles = QgsVectorTileLayer(bytes(uri.encodedUri()).decode(), f"{layer} (vector tiles)")
    style = QgsVectorTileBasicRendererStyle("outline", None, QgsWkbTypes.PolygonGeometry)
    style.setSymbol(QgsFillSymbol.createSimple({"color": "0,0,0,0", "outline_color": "200,0,0",
                                                "outline_width": "0.8"}))
    renderer = QgsVectorTileBasicRenderer()
    renderer.setStyles([style])
    tiles.setRenderer(renderer)
    return tiles


def render(layers: list, extent: QgsRectangle, crs, size: int = 800) -> QImage:
    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(crs)
    settings.setOutputSize(QSize(size, size))
    settings.setBackgroundColor(BACKGROUND)
    settings.setExtent(extent)
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    return job.renderedImage()


def painted(image: QImage) -> int:
    """Pixels that are not the background (sampled every 2 px)."""
    bg = BACKGROUND.rgb()
    return sum(1 for x in range(0, image.width(), 2) for y in range(0, image.height(), 2)
               if image.pixel(x, y) != bg)


def main() -> None:
    app = QgsApplication([], False)
    app.initQgis()
    try:
        authcfg = basic_auth(QgsApplication.authManager(), ARGS["username"], ARGS["key"])
        out: dict = {"qgis": app.applicationVersion() if hasattr(app, "applicationVersion")
                     else "", "features": {}, "errors": {}}
        layers = []
        for collection in ARGS["collections"]:
            layer = oapif_layer(ARGS["base"], collection, authcfg)
            if not layer.isValid():
                out["errors"][collection] = layer.dataProvider().error().summary() \
                    if layer.dataProvider() else "invalid layer"
                continue
            out["features"][collection] = sum(1 for _ in layer.getFeatures())
            layers.append(layer)
        QgsProject.instance().addMapLayers(layers)
        tiles = tile_layer(ARGS["base"], ARGS["tiles"], ARGS["key"], ARGS["zoom"])
        out["tiles_valid"] = tiles.isValid()
        web_mercator = tiles.crs()
        area = layers[0] if layers else None
        if area is None:
            print(json.dumps(out))
            return
        from qgis.core import QgsCoordinateTransform

        to_3857 = QgsCoordinateTransform(area.crs(), web_mercator, QgsProject.instance())
        extent = to_3857.transformBoundingBox(area.extent())
        extent.scale(1.1)
        out["tile_pixels"] = painted(render([tiles], extent, web_mercator))
        for layer in layers:
            if layer.geometryType() == QgsWkbTypes.PointGeometry:
                layer.setRenderer(QgsSingleSymbolRenderer(QgsMarkerSymbol.createSimple(
                    {"name": "circle", "color": "255,140,0", "size": "2.4"})))
            else:
                layer.setRenderer(QgsSingleSymbolRenderer(QgsFillSymbol.createSimple(
                    {"color": "70,130,180,60", "outline_color": "30,60,120",
                     "outline_width": "0.5"})))
        image = render([tiles, *reversed(layers)], extent, web_mercator)  # first = on top
        out["png_saved"] = image.save(ARGS["png"], "PNG")
        print(json.dumps(out))
    finally:
        app.exitQgis()


if __name__ == "__main__":
    main()
