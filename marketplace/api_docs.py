"""A browsable API reference at /api/docs: Swagger UI over /api/v1/openapi.json.

Its assets come from the swagger-ui-bundle package, not a CDN, so the reference works offline.
"""

import swagger_ui_bundle
from flask import Blueprint, render_template, send_from_directory

bp = Blueprint("api_reference", __name__, url_prefix="/api/docs")


@bp.route("")
def reference():
    return render_template("api_docs.html")


@bp.route("/assets/<path:filename>")
def asset(filename: str):
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)
