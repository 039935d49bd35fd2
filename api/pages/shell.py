"""The HTML shell of the plain (non-folium) pages: head, page config and scripts, all served by
the app itself (no CDN).

Login, account, roster, rating, statistics and report pages share it, so the stylesheet order,
the font and the way the page's configuration reaches the shared client (`window.WG_CONFIG`,
read by wangge.js) are written once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

BASE_STYLES = ("/static/vendor/bootstrap/bootstrap.min.css",
               "/static/vendor/noto-sans-sc/noto-sans-sc-400.css")
SITE_STYLE = "/static/css/wangge.css"
CLIENT = "/static/js/wangge.js"


def config_json(config: dict) -> str:
    """The page configuration as JSON safe to place inside a <script> element."""
    return json.dumps(config, ensure_ascii=False, default=str).replace("</", "<\\/")


def page_html(*, title: str, config: dict, body: str, body_class: str,
              styles: Sequence[str] = (), page_styles: Sequence[str] = (),
              libraries: Sequence[str] = (), scripts: Sequence[str] = (),
              meta: str = "") -> str:
    """A whole page: `styles` load before the site's stylesheet and `page_styles` after it;
    `libraries` load before the configuration and the shared client, `scripts` after them."""
    links = [*BASE_STYLES, *styles, SITE_STYLE, *page_styles]
    head = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        *([meta] if meta else []),
        f"<title>{title}</title>",
        '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">',
        *(f'<link rel="stylesheet" href="{href}">' for href in links),
        *(f'<script src="{src}"></script>' for src in libraries),
        f"<script>window.WG_CONFIG = {config_json(config)};</script>",
        *(f'<script src="{src}"></script>' for src in (CLIENT, *scripts)),
        f'</head><body class="{body_class}">',
    ]
    return "\n".join(head) + "\n" + body.strip("\n") + "\n</body></html>"
