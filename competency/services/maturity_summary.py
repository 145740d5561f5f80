"""The interface the pilot programme reads the institution maturity diagnosis through.

PLACEHOLDER: replaced by the maturity diagnosis on merge (issue 18 provides this module with the real
rounds, questionnaires and reports). Until then no institution has a closed round, so
`latest_summary` answers None, and `open_round_for` refuses with a clear message instead of pretending
to open a round. The pilot services call only these two functions, so the merge changes nothing else.
"""

from __future__ import annotations

from flask_babel import gettext as _

from competency.services.errors import ServiceError


def latest_summary(institution_id: int) -> dict | None:
    """The institution's latest closed diagnosis round, or None when it has none:
    {"round_id": int, "closed_at": datetime UTC, "overall_level": int 1..5, "overall_score": float 0..100,
     "areas": [{"code", "name_zh", "name_en", "level", "score"}], "report_url": str}."""
    return None


def open_round_for(institution_id: int, actor, title: str) -> int:
    """Open a diagnosis round for the institution and return its id."""
    raise ServiceError(
        "diagnosis_unavailable",
        _("The maturity diagnosis is not installed on this platform yet, so no round can be opened."),
    )
