"""Programme officers run calls: screening, diagnosis, expert assignment, ranking and selection, the
public notice and objections, designation and tracking; dashboards with exports.

One blueprint, its routes registered by the modules below, one use case each.
"""

from __future__ import annotations

# The routes register on the blueprint as their modules are imported.
from competency.web.pilot_office import calls, dashboard, selection, tracking, workbench  # noqa: F401
from competency.web.pilot_office.common import bp

__all__ = ["bp"]
