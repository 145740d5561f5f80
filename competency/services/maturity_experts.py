"""Expert rating: each assigned expert rates each indicator's level with a reason, independently;
indicators rated more than one level apart need a consensus level before the round's result is final."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from competency.extensions import db
from competency.maturity import maturity_model, rules
from competency.models import MaturityConsensus, MaturityRating, MaturityRound, User, utcnow
from competency.services import audit
from competency.services.errors import Conflict, Forbidden, ServiceError
from competency.services.maturity_access import is_assigned


def _require(rnd: MaturityRound, expert: User) -> None:
    if not is_assigned(rnd.id, expert):
        raise Forbidden("not_assigned", _("you are not assigned to this round"))
    if rnd.status != "open":
        raise Conflict("round_closed", _("the diagnosis round is closed"))


def my_ratings(rnd: MaturityRound, expert: User) -> dict[str, MaturityRating]:
    rows = db.session.scalars(
        select(MaturityRating).where(MaturityRating.round_id == rnd.id, MaturityRating.expert_id == expert.id)
    )
    return {r.indicator: r for r in rows}


def rate(rnd: MaturityRound, expert: User, form: dict[str, str], commit: bool = True) -> int:
    """Store the expert's levels and comments (``level-<code>``, ``comment-<code>``); a blank level
    leaves that indicator unrated. A level outside 1–5, or a level without a comment, is refused and
    nothing is stored. Returns how many indicators are rated."""
    _require(rnd, expert)
    applicable = maturity_model().applicable(rnd.institution_type, rnd.scenarios)
    parsed = {}
    for ind in applicable:
        raw = (form.get(f"level-{ind.code}") or "").strip()
        comment = (form.get(f"comment-{ind.code}") or "").strip()
        if not raw:
            continue
        if raw not in {"1", "2", "3", "4", "5"}:
            raise ServiceError(
                "invalid_level", _("%(code)s: the level must be 1 to 5", code=ind.code), f"level-{ind.code}"
            )
        if not comment:
            raise ServiceError(
                "comment_required",
                _("%(code)s: give a reason for the level", code=ind.code),
                f"comment-{ind.code}",
            )
        parsed[ind.code] = (int(raw), comment[:2000])
    existing = my_ratings(rnd, expert)
    for code, (level, comment) in parsed.items():
        rating = existing.get(code)
        if rating is None:
            rating = MaturityRating(round_id=rnd.id, expert_id=expert.id, indicator=code)
            db.session.add(rating)
        rating.level, rating.comment, rating.rated_at = level, comment, utcnow()
    audit.record("maturity_rate", "maturity_round", rnd.id, expert, {"rated": len(parsed)})
    if commit:
        db.session.commit()
    return len(parsed) + len([c for c in existing if c not in parsed])


def ratings_by_indicator(rnd: MaturityRound) -> dict[str, dict[int, MaturityRating]]:
    out: dict[str, dict[int, MaturityRating]] = {}
    for r in db.session.scalars(select(MaturityRating).where(MaturityRating.round_id == rnd.id)):
        out.setdefault(r.indicator, {})[r.expert_id] = r
    return out


def consensus_of(rnd: MaturityRound) -> dict[str, MaturityConsensus]:
    rows = db.session.scalars(select(MaturityConsensus).where(MaturityConsensus.round_id == rnd.id))
    return {c.indicator: c for c in rows}


def summaries(rnd: MaturityRound) -> dict[str, dict]:
    """Per indicator: the experts' levels, spread, flag and consensus (rules.expert_summary)."""
    agreed = consensus_of(rnd)
    out = {}
    for code, ratings in ratings_by_indicator(rnd).items():
        consensus = agreed.get(code)
        out[code] = rules.expert_summary(
            {eid: r.level for eid, r in ratings.items()}, consensus.level if consensus else None
        )
    return out


def record_consensus(
    rnd: MaturityRound, expert: User, indicator: str, level: str, comment: str, commit: bool = True
) -> None:
    """The consensus step: an assigned expert records the level the experts agreed on for a flagged
    indicator (after discussing it), with the reasoning."""
    _require(rnd, expert)
    summary = summaries(rnd).get(indicator)
    if summary is None or not summary["flagged"]:
        raise ServiceError(
            "not_flagged", _("only indicators the experts disagree on need a consensus"), "indicator"
        )
    if level not in {"1", "2", "3", "4", "5"}:
        raise ServiceError("invalid_level", _("the level must be 1 to 5"), "level")
    if not (comment or "").strip():
        raise ServiceError("comment_required", _("record how the experts agreed"), "comment")
    row = db.session.get(MaturityConsensus, {"round_id": rnd.id, "indicator": indicator})
    if row is None:
        row = MaturityConsensus(round_id=rnd.id, indicator=indicator)
        db.session.add(row)
    row.level, row.comment, row.recorded_by_id, row.recorded_at = (
        int(level),
        comment.strip()[:2000],
        expert.id,
        utcnow(),
    )
    audit.record(
        "maturity_consensus", "maturity_round", rnd.id, expert, {"indicator": indicator, "level": int(level)}
    )
    if commit:
        db.session.commit()
