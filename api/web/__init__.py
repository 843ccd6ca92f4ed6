"""The web dashboard: read-only pages of the caller's own record, served by the API's Flask app.

``register(flask_app)`` (called by ``api.app.create_app``) adds the ``web``
blueprint: ``/`` (sign in with a device token), ``/program`` (with a date picker
for as-of and known-at), ``/history``, ``/recap``, ``/conflicts``,
``/signature`` (with its candidates) and ``/signature/explain``, ``/outcomes``,
``/charts``, the insight pages (``/day``, ``/breaks``, ``/fitting``, ``/flares``,
``/pending``: ``api.web.insights``) and ``POST /signout``. Pages are
Jinja2 templates (autoescaped) under ``templates/web``, styled by one
stylesheet under ``static``; no page runs a script. The pages read through the
same functions as the JSON endpoints (``api.reads``, ``api.outcomes``), so a
date, a page or an error is read and refused the same way. Signing in, the
session cookie and CSRF: ``api.web.guard``.
"""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/web/static")


def register(flask_app: Flask) -> None:
    from api.web import charts, guard, insights, pages, signin  # noqa: F401  (their routes join ``bp``)

    flask_app.config.setdefault("SECURE_COOKIE", False)
    flask_app.extensions["backstory_web"] = guard.SessionsHolder()
    flask_app.register_blueprint(bp)
