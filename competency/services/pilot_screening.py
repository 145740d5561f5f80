"""初筛 screening: the officer's checklist, and passing, returning (for completion, by a date) or
rejecting a submitted application."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from competency.extensions import db
from competency.models import PilotApplication, User, utcnow
from competency.services import audit, pilot_reviews, pilot_selection
from competency.services.errors import Conflict, ServiceError
from competency.services.pilot_applications import snapshot, tell_applicant

SCREENING_CHECKLIST = {
    "materials_complete": _l("Materials complete (form and stamped scan)"),
    "eligible_type": _l("Eligible institution type (二(一))"),
    "industry_match": _l("Focus industries within the call's key industries (二(二))"),
    "base_conditions": _l("Base conditions meet the call (二(三))"),
    "project_experience": _l("Industry–education project experience (二(四))"),
    "guarantees": _l("Management and operating guarantees in place (二(五))"),
}


def screenable(application: PilotApplication, now: datetime | None = None) -> bool:
    """Submitted, or returned for completion and not completed by the date set (then it may be rejected)."""
    if application.status == "submitted":
        return True
    return (
        application.status == "returned"
        and application.fix_by is not None
        and (now or utcnow()) >= application.fix_by
    )


def screen(
    application: PilotApplication,
    decision: str,
    checklist: dict[str, bool],
    reasons: str,
    fix_by: datetime | None,
    actor: User,
) -> PilotApplication:
    """pass | return (for completion, by `fix_by`) | reject; returning and rejecting need reasons."""
    if not screenable(application):
        raise Conflict("not_submitted", _("Only a submitted application can be screened."))
    if decision not in ("pass", "return", "reject"):
        raise ServiceError("decision", _("Choose pass, return for completion or reject."), "decision")
    reasons = (reasons or "").strip()
    ticks = {key: bool(checklist.get(key)) for key in SCREENING_CHECKLIST}
    if decision == "pass" and not all(ticks.values()):
        unticked = [str(SCREENING_CHECKLIST[k]) for k, v in ticks.items() if not v]
        raise ServiceError(
            "checklist",
            _("To pass, every check must be met. Not ticked: %(items)s.", items="；".join(unticked)),
            "checklist",
        )
    if decision in ("return", "reject") and not reasons:
        raise ServiceError("reasons", _("Give the reasons, so the applicant knows what to do."), "reasons")
    if decision == "return":
        if fix_by is None:
            raise ServiceError("fix_by", _("Set the date by which the applicant must complete it."), "fix_by")
        if fix_by <= utcnow():
            raise ServiceError("fix_by", _("The completion date must be in the future."), "fix_by")
    before = snapshot(application)
    application.status = {"pass": "screened", "return": "returned", "reject": "rejected"}[decision]
    application.fix_by = fix_by if decision == "return" else None
    history = list((application.screening or {}).get("history", []))
    entry = {
        "decision": decision,
        "checklist": ticks,
        "reasons": reasons,
        "by": actor.id,
        "at": utcnow().isoformat(),
    }
    history.append(entry)
    application.screening = {**entry, "history": history}
    audit.record(
        "pilot_application.screen",
        "pilot_application",
        application.id,
        actor,
        {"before": before, "after": {**snapshot(application), "screening": entry}},
    )
    subject = {
        "pass": _l("Application passed the initial screening"),
        "return": _l("Application returned for completion"),
        "reject": _l("Application rejected at the initial screening"),
    }[decision]
    tell_applicant(application, subject, reasons)
    db.session.commit()
    return application


def workbench(application: PilotApplication, experts: list[User]) -> dict:
    """What the officer's workbench shows beside its forms: the checklist, each expert's conflict with the
    applicant and review load, who is assigned, whether a spread flag is settled, whether it can be screened."""
    return {
        "checklist": SCREENING_CHECKLIST,
        "experts": experts,
        "conflicts": {e.id: pilot_reviews.conflict_of(e, application) for e in experts},
        "loads": pilot_reviews.loads(application.call_id),
        "assigned": {r.expert_id for r in application.reviews},
        "settled": pilot_selection.settled(application),
        "screenable": screenable(application),
    }
