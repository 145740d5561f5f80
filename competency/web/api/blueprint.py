"""The JSON API's blueprint under /api/v1: bearer tokens instead of cookies, so no CSRF token is needed.

Its own module so the route modules import it without importing the package that imports them.
"""

from __future__ import annotations

from flask import Blueprint

from competency.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
