"""Swagger UI for the portal API at ``/api/docs``, from local files: it works offline.

FastAPI's own docs page loads Swagger UI from a CDN and starts it with an inline script, which
the portal's Content-Security-Policy (``script-src 'self'``) blocks, and a closed government
network has no CDN anyway. Here the Swagger UI 5 distribution comes from the
``swagger-ui-bundle-v2`` package (Apache-2.0, its licence ships with the package) and is served
under ``/api/docs/assets/``; the page loads it and a small start script from this origin, so
the CSP stays as strict as everywhere else (no inline script, no other origin).
"""

from __future__ import annotations

import json

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

DOCS_PATH = "/api/docs"
ASSETS_PATH = f"{DOCS_PATH}/assets"
START_PATH = f"{DOCS_PATH}/start.js"

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — API documentation</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{start}"></script>
</body>
</html>
"""

_START = """"use strict";
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: %s,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
"""


def install(app: FastAPI) -> None:
    """Serve the docs page, its start script and the Swagger UI files (call with
    ``docs_url=None`` on the app, so FastAPI's CDN page is not served)."""
    page = _PAGE.format(title=app.title, assets=ASSETS_PATH, start=START_PATH)
    start = _START % json.dumps(app.openapi_url or "/openapi.json")

    @app.get(DOCS_PATH, include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get(START_PATH, include_in_schema=False)
    def api_docs_start() -> Response:
        return Response(start, media_type="text/javascript")

    app.mount(ASSETS_PATH, StaticFiles(directory=swagger_ui_path), name="swagger-ui")
