"""Local copies of every script and style the pages load (folium's CDN links replaced)."""

from __future__ import annotations

import folium
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.plugins import HeatMap, MarkerCluster, VectorGridProtobuf

V = "/static/vendor"

# folium.Map's default assets, same names, served by the app.
MAP_JS = [
    ("leaflet", f"{V}/leaflet/leaflet.js"),
    ("jquery", f"{V}/jquery/jquery.min.js"),
    ("bootstrap", f"{V}/bootstrap/bootstrap.bundle.min.js"),
    ("awesome_markers", f"{V}/awesome-markers/leaflet.awesome-markers.js"),
]
MAP_CSS = [
    ("leaflet_css", f"{V}/leaflet/leaflet.css"),
    ("bootstrap_css", f"{V}/bootstrap/bootstrap.min.css"),
    ("glyphicons_css", f"{V}/glyphicons/glyphicons.css"),
    ("awesome_markers_font_css", f"{V}/fontawesome/css/all.min.css"),
    ("awesome_markers_css", f"{V}/awesome-markers/leaflet.awesome-markers.css"),
]
# The plugins' assets.
VECTORGRID_JS = [("vectorGrid", f"{V}/vectorgrid/Leaflet.VectorGrid.bundled.min.js")]
MARKERCLUSTER_JS = [("markerclusterjs", f"{V}/markercluster/leaflet.markercluster.js")]
MARKERCLUSTER_CSS = [
    ("markerclustercss", f"{V}/markercluster/MarkerCluster.css"),
    ("markerclusterdefaultcss", f"{V}/markercluster/MarkerCluster.Default.css"),
]
HEAT_JS = [("leaflet-heat.js", f"{V}/heat/leaflet-heat.js")]

# Class-level defaults too, so any folium element built elsewhere in the app stays offline.
folium.Map.default_js = MAP_JS
folium.Map.default_css = MAP_CSS
VectorGridProtobuf.default_js = VECTORGRID_JS
MarkerCluster.default_js = MARKERCLUSTER_JS
MarkerCluster.default_css = MARKERCLUSTER_CSS
HeatMap.default_js = HEAT_JS


def localize(m: folium.Map) -> folium.Map:
    """Point the map's own asset lists at the local copies (per instance, no shared mutation)."""
    m.default_js = list(MAP_JS)
    m.default_css = list(MAP_CSS)
    return m


class VectorGridAssets(JSCSSMixin, MacroElement):
    """Leaflet.VectorGrid on every page (the offline basemap draws with it), loaded once even
    where the page's own tile layers ask for it too."""

    default_js = VECTORGRID_JS
