"""评估诊断 and 专家评审: the maturity diagnosis attached to an application, expert assignment with
conflict-of-interest exclusion, independent scoring, and aggregation.

Aggregation rule (documented in the README): an expert's total is the sum of the points given per
rubric criterion (the criteria's maxima add up to 100). The application's expert score is the
trimmed mean of the submitted totals: with five or more experts the single highest and single lowest
totals are dropped, then the rest are averaged; with three or four experts it is their plain mean
(trimming three would leave one opinion). The spread is the highest total minus the lowest; above the
call's threshold the application is flagged, and it cannot be ranked until a second round (more
experts) or a panel discussion note settles it.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from competency.extensions import db
from competency.models import ExpertTie, Institution, PilotApplication, PilotReview, Role, User, utcnow
from competency.services import audit, maturity_summary
from competency.services.errors import Conflict, NotFound, ServiceError
from competency.services.pilot_applications import tell_applicant

MIN_EXPERTS = 3


# ----------------------------------------------------------------------------- 评估诊断


def _as_utc(value) -> datetime | None:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value


def _attach(application: PilotApplication, summary: dict) -> None:
    closed = _as_utc(summary.get("closed_at"))
    application.diagnosis = {
        "round_id": summary["round_id"],
        "closed_at": closed.isoformat() if closed else None,
        "overall_level": summary.get("overall_level"),
        "overall_score": summary.get("overall_score"),
        "areas": summary.get("areas", []),
        "report_url": summary.get("report_url", ""),
    }
    application.diagnosis_round_id = summary["round_id"]
    application.diagnosis_score = float(summary["overall_score"])
    application.status = "diagnosed"


def request_diagnosis(application: PilotApplication, actor: User) -> PilotApplication:
    """Ask a screened applicant for a maturity diagnosis; a round closed since the call opened counts at once."""
    if application.status != "screened":
        raise Conflict(
            "not_screened", _("Only an application that passed screening can be sent to diagnosis.")
        )
    before = {"status": application.status, "diagnosis_round_id": application.diagnosis_round_id}
    summary = maturity_summary.latest_summary(application.institution_id)
    closed = _as_utc(summary.get("closed_at")) if summary else None
    if summary and closed and closed >= application.call.opens_at:
        _attach(application, summary)
        message = _l("Your recent maturity diagnosis was attached to the application.")
    else:
        round_id = maturity_summary.open_round_for(
            application.institution_id, actor, _("Pilot application: %(call)s", call=application.call.title)
        )
        application.diagnosis_round_id = round_id
        application.status = "diagnosing"
        message = _l(
            "Please run the maturity diagnosis round opened for your institution; its result feeds the ranking."
        )
    audit.record(
        "pilot_application.diagnosis",
        "pilot_application",
        application.id,
        actor,
        {
            "before": before,
            "after": {"status": application.status, "diagnosis_round_id": application.diagnosis_round_id},
        },
    )
    tell_applicant(application, _l("Maturity diagnosis"), message)
    db.session.commit()
    return application


def refresh_diagnosis(application: PilotApplication, actor: User) -> bool:
    """Attach the requested round's result once it is closed; False while it is still open."""
    if application.status != "diagnosing":
        raise Conflict("not_diagnosing", _("No diagnosis is pending for this application."))
    summary = maturity_summary.latest_summary(application.institution_id)
    if not summary or summary.get("round_id") != application.diagnosis_round_id:
        return False
    before = {"status": application.status, "diagnosis_score": application.diagnosis_score}
    _attach(application, summary)
    audit.record(
        "pilot_application.diagnosed",
        "pilot_application",
        application.id,
        actor,
        {
            "before": before,
            "after": {"status": application.status, "diagnosis_score": application.diagnosis_score},
        },
    )
    tell_applicant(application, _l("Maturity diagnosis attached"))
    db.session.commit()
    return True


# ----------------------------------------------------------------------------- experts


def experts() -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(User.role == Role.EXPERT.value, User.active.is_(True)).order_by(User.username)
        )
    )


def conflict_of(expert: User, application: PilotApplication) -> str | None:
    """Why an expert may not review this application, or None."""
    if expert.institution_id is not None and expert.institution_id == application.institution_id:
        return str(_l("works at the applicant institution"))
    tie = db.session.scalar(
        select(ExpertTie).where(
            ExpertTie.expert_id == expert.id, ExpertTie.institution_id == application.institution_id
        )
    )
    if tie is not None:
        return str(_l("declared a tie: %(note)s", note=tie.note or "—"))
    return None


def loads(call_id: int) -> dict[int, int]:
    """Reviews assigned per expert in one call."""
    rows = db.session.execute(
        select(PilotReview.expert_id, func.count())
        .join(PilotApplication, PilotApplication.id == PilotReview.application_id)
        .where(PilotApplication.call_id == call_id)
        .group_by(PilotReview.expert_id)
    )
    return {expert_id: count for expert_id, count in rows}


def load_warning(call_id: int) -> str | None:
    """A warning when one expert carries far more of the call than another (more than 1.5× the mean and
    at least two reviews more than the least loaded eligible expert)."""
    counts = loads(call_id)
    pool = [counts.get(e.id, 0) for e in experts()]
    if len(pool) < 2 or not any(pool):
        return None
    mean = sum(pool) / len(pool)
    if max(pool) > 1.5 * mean and max(pool) - min(pool) >= 2:
        return _(
            "Load imbalance: one expert has %(high)s reviews in this call, another %(low)s (mean %(mean)s).",
            high=max(pool),
            low=min(pool),
            mean=f"{mean:.1f}",
        )
    return None


def assign(application: PilotApplication, expert_ids: list[int], actor: User) -> str | None:
    """Add experts to the application; returns a load-imbalance warning, if any."""
    if application.status not in ("diagnosed", "in_review", "reviewed"):
        raise Conflict("not_ready", _("Experts are assigned after the diagnosis is attached."))
    current = {r.expert_id for r in application.reviews}
    chosen = [i for i in dict.fromkeys(expert_ids) if i not in current]
    people = {e.id: e for e in experts()}
    for expert_id in chosen:
        expert = people.get(expert_id)
        if expert is None:
            raise ServiceError("expert", _("Choose experts from the list."), "experts")
        reason = conflict_of(expert, application)
        if reason:
            raise ServiceError(
                "conflict_of_interest",
                _(
                    "%(name)s cannot review this application: %(reason)s.",
                    name=expert.display_name,
                    reason=reason,
                ),
                "experts",
            )
    if len(current) + len(chosen) < MIN_EXPERTS:
        raise ServiceError(
            "too_few_experts",
            _("Assign at least %(n)s experts to each application.", n=MIN_EXPERTS),
            "experts",
        )
    if not chosen:
        raise ServiceError("no_change", _("Choose at least one expert not yet assigned."), "experts")
    before = {"status": application.status, "experts": sorted(current)}
    for expert_id in chosen:
        db.session.add(PilotReview(application_id=application.id, expert_id=expert_id))
    application.status = "in_review"
    db.session.flush()
    audit.record(
        "pilot_application.assign_experts",
        "pilot_application",
        application.id,
        actor,
        {"before": before, "after": {"status": application.status, "experts": sorted(current | set(chosen))}},
    )
    if before["status"] == "diagnosed":
        tell_applicant(application, _l("Expert review started"))
    db.session.commit()
    return load_warning(application.call_id)


def declare_tie(expert: User, institution_id: int, note: str) -> ExpertTie:
    institution = db.session.get(Institution, institution_id)
    if institution is None:
        raise ServiceError("institution", _("Choose an institution."), "institution_id")
    existing = db.session.scalar(
        select(ExpertTie).where(ExpertTie.expert_id == expert.id, ExpertTie.institution_id == institution_id)
    )
    if existing is not None:
        raise ServiceError(
            "duplicate", _("You already declared a tie with this institution."), "institution_id"
        )
    tie = ExpertTie(expert_id=expert.id, institution_id=institution_id, note=(note or "").strip()[:300])
    db.session.add(tie)
    db.session.flush()
    audit.record(
        "expert_tie.declare",
        "expert_tie",
        tie.id,
        expert,
        {"before": None, "after": {"institution": institution_id, "note": tie.note}},
    )
    db.session.commit()
    return tie


def ties_of(expert: User) -> list[ExpertTie]:
    return list(
        db.session.scalars(select(ExpertTie).where(ExpertTie.expert_id == expert.id).order_by(ExpertTie.id))
    )


def reviews_of(expert: User) -> list[PilotReview]:
    return list(
        db.session.scalars(
            select(PilotReview)
            .where(PilotReview.expert_id == expert.id)
            .options(
                joinedload(PilotReview.application).joinedload(PilotApplication.call),
                joinedload(PilotReview.application).joinedload(PilotApplication.institution),
            )
            .order_by(PilotReview.id.desc())
        )
    )


def review_for(review_id: int, expert: User) -> PilotReview:
    review = db.session.get(PilotReview, review_id)
    if review is None or review.expert_id != expert.id:
        raise NotFound("not_found", _("No such review."))
    return review


def visible_peer_reviews(review: PilotReview) -> list[PilotReview]:
    """Other experts' submitted reviews of the same application: shown only after this one is submitted."""
    if review.submitted_at is None:
        return []
    return [r for r in review.application.reviews if r.id != review.id and r.submitted_at is not None]


# ----------------------------------------------------------------------------- scoring and aggregation


def trimmed_mean(totals: list[float]) -> float:
    values = sorted(totals)
    if len(values) >= 5:
        values = values[1:-1]
    return sum(values) / len(values)


def submit_review(review: PilotReview, scores: dict, comments: dict, expert: User) -> PilotReview:
    if review.expert_id != expert.id:
        raise NotFound("not_found", _("No such review."))
    # Lock the application: when the last two experts submit at once, the second waits and then sees
    # the first's review, so exactly one of them completes the aggregation.
    application = db.session.scalars(
        select(PilotApplication)
        .where(PilotApplication.id == review.application_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    list(
        db.session.scalars(
            select(PilotReview)
            .where(PilotReview.application_id == application.id)
            .execution_options(populate_existing=True)
        )
    )
    db.session.expire(application, ["reviews"])
    if review.submitted_at is not None:
        raise Conflict("already_submitted", _("This review was already submitted and cannot change."))
    if application.status != "in_review":
        raise Conflict("not_in_review", _("This application is not in expert review."))
    cleaned_scores, cleaned_comments = {}, {}
    for criterion in application.call.rubric:
        code = criterion["code"]
        raw = scores.get(code)
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise ServiceError(
                "score", _("Give a score for “%(name)s”.", name=criterion["name"]), f"score_{code}"
            ) from None
        if not 0 <= value <= criterion["max"]:
            raise ServiceError(
                "score",
                _(
                    "The score for “%(name)s” must be between 0 and %(max)s.",
                    name=criterion["name"],
                    max=criterion["max"],
                ),
                f"score_{code}",
            )
        comment = (comments.get(code) or "").strip()
        if not comment:
            raise ServiceError(
                "comment", _("Write a comment for “%(name)s”.", name=criterion["name"]), f"comment_{code}"
            )
        cleaned_scores[code] = value
        cleaned_comments[code] = comment[:3000]
    review.scores = cleaned_scores
    review.comments = cleaned_comments
    review.total = round(sum(cleaned_scores.values()), 2)
    review.submitted_at = utcnow()
    audit.record(
        "pilot_review.submit",
        "pilot_review",
        review.id,
        expert,
        {
            "before": None,
            "after": {"application": application.id, "scores": cleaned_scores, "total": review.total},
        },
    )
    _aggregate(application, expert)
    db.session.commit()
    return review


def _aggregate(application: PilotApplication, actor: User) -> None:
    """When every assigned expert has submitted: the expert score, the spread, and the flag."""
    if not application.reviews or any(r.submitted_at is None for r in application.reviews):
        return
    totals = [r.total for r in application.reviews]
    before = {"status": application.status, "expert_score": application.expert_score}
    application.expert_score = round(trimmed_mean(totals), 2)
    application.spread = round(max(totals) - min(totals), 2)
    application.spread_flag = application.spread > application.call.spread_threshold
    application.status = "reviewed"
    audit.record(
        "pilot_application.reviewed",
        "pilot_application",
        application.id,
        actor,
        {
            "before": before,
            "after": {
                "status": "reviewed",
                "expert_score": application.expert_score,
                "spread": application.spread,
                "spread_flag": application.spread_flag,
            },
        },
    )
    tell_applicant(application, _l("Expert review completed"))


def record_panel_note(application: PilotApplication, note: str, actor: User) -> PilotApplication:
    note = (note or "").strip()
    if not note:
        raise ServiceError("note", _("Write the panel's conclusion."), "note")
    if not application.spread_flag:
        raise Conflict("not_flagged", _("Only an application flagged for spread needs a panel note."))
    before = {"panel_note": application.panel_note}
    application.panel_note = note[:5000]
    audit.record(
        "pilot_application.panel_note",
        "pilot_application",
        application.id,
        actor,
        {"before": before, "after": {"panel_note": application.panel_note}},
    )
    db.session.commit()
    return application
