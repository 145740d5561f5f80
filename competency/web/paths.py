"""URL prefixes the request hooks and blueprints agree on (a module of its own, so they need not import
the blueprint package that imports them)."""

# Requests under this path are the JSON API: bearer tokens, JSON errors, no cookie session.
API_PREFIX = "/api/"
