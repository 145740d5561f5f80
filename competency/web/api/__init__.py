"""The JSON API under /api/v1: bearer tokens instead of cookies, so no CSRF token is needed."""

from __future__ import annotations

# Routes register on import.
from competency.web.api import assessments, auth, certificates, jobs, pilots, plans  # noqa: F401
from competency.web.api.blueprint import bp

__all__ = ["bp"]
