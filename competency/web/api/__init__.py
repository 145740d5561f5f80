"""The JSON API under /api/v1: bearer tokens instead of cookies, so no CSRF token is needed."""

from __future__ import annotations

from flask import Blueprint

from competency.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

# Routes register on import.
from competency.web.api import assessments, auth, certificates, jobs, pilots, plans  # noqa: E402,F401
