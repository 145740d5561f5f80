"""Digital-maturity diagnosis pages: institution admins run rounds, respondents answer anonymously,
experts rate, platform staff assign experts; the report as a page and a PDF.

One blueprint, its routes registered by the modules below, one use case each.
"""

from __future__ import annotations

# The routes register on the blueprint as their modules are imported.
from competency.web.maturity import evidence, rating, report, respond, rounds  # noqa: F401
from competency.web.maturity.common import bp

__all__ = ["bp"]
