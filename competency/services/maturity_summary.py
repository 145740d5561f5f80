"""The maturity diagnosis as other parts of the platform use it (the pilot-application workflow)."""

from __future__ import annotations

from datetime import datetime

from flask import has_request_context, url_for
from sqlalchemy import select

from competency.extensions import db
from competency.maturity import maturity_model
from competency.models import MaturityRound, User
from competency.services import maturity_rounds


def latest_summary(institution_id: int) -> dict | None:
    """The institution's latest CLOSED diagnosis round, or None.
    {"round_id": int, "closed_at": datetime (UTC), "overall_level": int 1..5, "overall_score": float (0..100),
     "areas": [{"code": str, "name_zh": str, "name_en": str, "level": int 1..5, "score": float 0..100}],
     "report_url": str (url path of the report page)}"""
    rnd = db.session.scalar(
        select(MaturityRound)
        .where(
            MaturityRound.institution_id == institution_id,
            MaturityRound.status == "closed",
            MaturityRound.result.is_not(None),
        )
        .order_by(MaturityRound.closed_at.desc(), MaturityRound.id.desc())
        .limit(1)
    )
    if rnd is None:
        return None
    result = rnd.result
    closed_at: datetime = rnd.closed_at
    areas = []
    for area in maturity_model().areas:
        got = result["areas"].get(area["code"])
        if not got or got["score"] is None:
            continue  # an area with no evidence at all has no level to report
        areas.append(
            {
                "code": area["code"],
                "name_zh": area["name_zh"],
                "name_en": area["name_en"],
                "level": int(got["level"]),
                "score": float(got["percent"]),
            }
        )
    overall = result["overall"]
    return {
        "round_id": rnd.id,
        "closed_at": closed_at,
        "overall_level": int(overall["level"] or 1),
        "overall_score": float(overall["percent"] or 0.0),
        "areas": areas,
        # Outside a request (a CLI job, a scheduled task) there is no script root to build from.
        "report_url": url_for("maturity.report", round_id=rnd.id)
        if has_request_context()
        else f"/maturity/rounds/{rnd.id}/report",
    }


def open_round_for(institution_id: int, actor, title: str) -> int:
    """Open a new diagnosis round for the institution (as the institution's admin or a programme officer would ask
    it to); returns the round id; audited."""
    if not isinstance(actor, User):
        raise TypeError("actor must be a User")
    return maturity_rounds.open_round(institution_id, actor, title).id
