"""``/docs``: Swagger UI on the OpenAPI spec, with every asset served by us.

The assets come from the flask-swagger-ui package (Swagger UI's own build; 5.x reads
OpenAPI 3.1), so the page works on a machine without internet and loads nothing from
elsewhere; its Content-Security-Policy allows only this server and the page's one inline
script, by a per-response nonce.
"""

from __future__ import annotations

import secrets
from importlib.resources import files
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template, send_from_directory, url_for

ASSETS = Path(str(files("flask_swagger_ui") / "dist"))

docs = Blueprint("docs", __name__, url_prefix="/docs", template_folder="templates")


@docs.get("")
def swagger_ui() -> Response:
    nonce = secrets.token_urlsafe(16)
    html = render_template(
        "api_docs.html",
        title=current_app.config["API_TITLE"],
        spec_url=url_for("api-docs.openapi_json"),
        nonce=nonce,
    )
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
    return response


@docs.get("/assets/<path:filename>")
def asset(filename: str) -> Response:
    return send_from_directory(ASSETS, filename)
