"""Everything the diagnosis report shows, for the web page and the PDF alike."""

from __future__ import annotations

from sqlalchemy import func, select

from competency.extensions import db
from competency.maturity import maturity_model, rules
from competency.models import Institution, MaturityAction, MaturityRound
from competency.services.maturity_scoring import result_of


def _area_scores(result: dict) -> dict[str, float | None]:
    return {code: area["score"] for code, area in result["areas"].items()}


def _indicator_scores(result: dict) -> dict[str, float | None]:
    return {code: ind["score"] for code, ind in result["indicators"].items()}


def peer_areas(rnd: MaturityRound) -> list[dict[str, float | None]]:
    """Area scores of the latest closed round of every *other* institution of the same type."""
    latest = (
        select(func.max(MaturityRound.id).label("round_id"))
        .join(Institution, Institution.id == MaturityRound.institution_id)
        .where(
            MaturityRound.status == "closed",
            Institution.type == rnd.institution_type,
            MaturityRound.institution_id != rnd.institution_id,
        )
        .group_by(MaturityRound.institution_id)
        .subquery()
    )
    results = db.session.scalars(
        select(MaturityRound.result).join(latest, latest.c.round_id == MaturityRound.id)
    )
    return [_area_scores(r) for r in results if r]


def previous_result(rnd: MaturityRound) -> tuple[MaturityRound | None, dict | None]:
    if rnd.previous_round_id is None:
        return None, None
    previous = db.session.get(MaturityRound, rnd.previous_round_id)
    return previous, previous.result if previous is not None else None


def actions_of(institution_id: int) -> list[MaturityAction]:
    order = {"in_progress": 0, "planned": 1, "done": 2, "dropped": 3}
    rows = db.session.scalars(select(MaturityAction).where(MaturityAction.institution_id == institution_id))
    return sorted(rows, key=lambda a: (order[a.status], a.due_on, a.id))


def build(rnd: MaturityRound) -> dict:
    model = maturity_model()
    result = result_of(rnd)
    indicator_scores = _indicator_scores(result)
    strengths, gaps = rules.strengths_and_gaps(indicator_scores, k=3)
    previous, before = previous_result(rnd)
    change = None
    if before:
        change = {
            "round": previous,
            "areas": rules.change(_area_scores(before), _area_scores(result)),
            "indicators": rules.change(_indicator_scores(before), indicator_scores),
            "overall": rules.change(
                {"overall": before["overall"]["score"]}, {"overall": result["overall"]["score"]}
            )["overall"],
        }
    peers = peer_areas(rnd)
    return {
        "round": rnd,
        "model": model,
        "result": result,
        "preliminary": rnd.status != "closed",
        "strengths": strengths,
        "gaps": gaps,
        "recommendations": rules.recommendations(indicator_scores, limit=8),
        "change": change,
        "peers": rules.peer_comparison(_area_scores(result), peers),
        "peer_count": len(peers),
        "min_peers": rules.MIN_PEERS,
        "min_group": rules.MIN_GROUP,
        "actions": actions_of(rnd.institution_id),
    }
