"""Query-string arguments of a paginated list: search text, sort key and direction, keyset cursors."""

from __future__ import annotations

from flask import request


def list_args(sorts: dict, prefix: str = "") -> dict:
    """Arguments for a service's ``*_page`` function; unknown sort keys fall back to the first."""
    sort = request.args.get(f"{prefix}sort", "")
    return {
        "q": request.args.get(f"{prefix}q", "")[:80] or None,
        "sort": sort if sort in sorts else next(iter(sorts)),
        "descending": request.args.get(f"{prefix}order") == "desc",
        "after": request.args.get(f"{prefix}after") or None,
        "before": request.args.get(f"{prefix}before") or None,
    }
