"""Applications (申报表): drafts, submission, withdrawal, who may see them, and the applicant's notifications
(attachments: `pilot_attachments`; 初筛 screening: `pilot_screening`).

The application window is enforced here, by the server's clock: an applicant may change an application
only while it is a draft (or withdrawn) before the call's deadline, or while it is returned for
completion before the date the officer set. Everything else is read-only.
"""

from __future__ import annotations

from datetime import datetime

from flask import url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from competency.extensions import db
from competency.models import (
    PilotApplication,
    PilotCall,
    PilotReview,
    Role,
    User,
    utcnow,
)
from competency.services import audit, notify
from competency.services.errors import Conflict, NotFound, ServiceError
from competency.services.pilot_form import (
    ATTACHMENT_KINDS,
    FIELD_BY_KEY,
    PROJECT_ROWS,
    missing_fields,
)

STATUS_LABELS = {
    "draft": _l("Draft"),
    "withdrawn": _l("Withdrawn"),
    "submitted": _l("Submitted"),
    "returned": _l("Returned for completion"),
    "rejected": _l("Rejected at screening"),
    "screened": _l("Passed screening"),
    "diagnosing": _l("Diagnosis requested"),
    "diagnosed": _l("Diagnosed"),
    "in_review": _l("In expert review"),
    "reviewed": _l("Reviewed"),
    "selected": _l("Selected"),
    "not_selected": _l("Not selected"),
    "objection_upheld": _l("Objection upheld"),
    "designated": _l("Designated pilot unit"),
}
# How far along the procedure each status is; the funnel counts an application in every stage it reached.
STAGE = {
    "draft": 0,
    "withdrawn": 0,
    "submitted": 1,
    "returned": 1,
    "rejected": 1,
    "screened": 2,
    "diagnosing": 2,
    "diagnosed": 3,
    "in_review": 3,
    "reviewed": 4,
    "not_selected": 4,
    "selected": 5,
    "objection_upheld": 5,
    "designated": 6,
}
OFFICERS = (Role.PROGRAMME_OFFICER.value, Role.PLATFORM_ADMIN.value)


# ----------------------------------------------------------------------------- who may see what


def is_officer(user: User) -> bool:
    return user.role in OFFICERS


def is_applicant_of(user: User, application: PilotApplication) -> bool:
    return user.role == Role.INSTITUTION_ADMIN and user.institution_id == application.institution_id


def review_of(user: User, application: PilotApplication) -> PilotReview | None:
    if user.role != Role.EXPERT:
        return None
    return next((r for r in application.reviews if r.expert_id == user.id), None)


def can_view(user: User, application: PilotApplication) -> bool:
    return is_officer(user) or is_applicant_of(user, application) or review_of(user, application) is not None


def get_visible(application_id: int, user: User) -> PilotApplication:
    """The application if the user may see it; NotFound otherwise (its existence is not revealed)."""
    application = db.session.get(PilotApplication, application_id)
    if application is None or not can_view(user, application):
        raise NotFound("not_found", _("No such application."))
    return application


def for_institution(institution_id: int) -> list[PilotApplication]:
    return list(
        db.session.scalars(
            select(PilotApplication)
            .where(PilotApplication.institution_id == institution_id)
            .order_by(PilotApplication.id.desc())
        )
    )


def for_call(call: PilotCall) -> list[PilotApplication]:
    return list(
        db.session.scalars(
            select(PilotApplication).where(PilotApplication.call_id == call.id).order_by(PilotApplication.id)
        )
    )


def filtered_for_call(
    call: PilotCall, status: str = "", kind: str = "", industry: str = ""
) -> tuple[list[PilotApplication], dict[str, int]]:
    """A call's applications of one status, institution type and industry (an empty filter takes all), and
    the count of all its applications per status."""
    everything = for_call(call)
    shown = [
        a
        for a in everything
        if (not status or a.status == status)
        and (not kind or (a.form or {}).get("institution_type") == kind)
        and (not industry or industry in ((a.form or {}).get("industries") or []))
    ]
    counts: dict[str, int] = {}
    for a in everything:
        counts[a.status] = counts.get(a.status, 0) + 1
    return shown, counts


# ----------------------------------------------------------------------------- the window


def editable(application: PilotApplication, now: datetime | None = None) -> bool:
    now = now or utcnow()
    call = application.call
    if application.status in ("draft", "withdrawn"):
        return call.opens_at <= now < call.closes_at
    if application.status == "returned":
        return application.fix_by is not None and now < application.fix_by
    return False


def can_withdraw(application: PilotApplication, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return application.status == "submitted" and now < application.call.closes_at


def require_editable(application: PilotApplication) -> None:
    if not editable(application):
        raise Conflict(
            "read_only",
            _("This application can no longer be changed: the deadline has passed or it is under review."),
        )


def snapshot(application: PilotApplication) -> dict:
    return {"status": application.status, "form": application.form, "fix_by": _iso(application.fix_by)}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# ----------------------------------------------------------------------------- notifications


def applicant_contacts(application: PilotApplication) -> tuple[list[User], list[str]]:
    admins = list(
        db.session.scalars(
            select(User).where(
                User.institution_id == application.institution_id,
                User.role == Role.INSTITUTION_ADMIN.value,
                User.active.is_(True),
            )
        )
    )
    email = (application.form or {}).get("contact_email") or ""
    return admins, [email] if "@" in email else []


def tell_applicant(application: PilotApplication, subject, body="") -> None:
    """Every status change reaches the applicant's admins in the message centre and the contact by e-mail.

    Subject and body are lazy strings (or the officer's own words), rendered in Chinese: the applicants'
    working language, and a stored message cannot change language later.
    """
    users, emails = applicant_contacts(application)
    call = application.call
    with force_locale("zh_Hans_CN"):
        status = str(STATUS_LABELS.get(application.status, application.status))
        text_subject = f"{subject} · {call.title}"
        text_body = "\n".join(
            part
            for part in (
                _(
                    "Application %(id)s to “%(call)s”: %(status)s.",
                    id=application.id,
                    call=call.title,
                    status=status,
                ),
                str(body) if body else "",
            )
            if part
        )
    try:
        link = url_for("pilots.application", application_id=application.id)
    except RuntimeError:  # outside a request (seed-demo): a path is enough
        link = f"/pilots/applications/{application.id}"
    notify.notify(users, text_subject, text_body, link=link, emails=emails)


# ----------------------------------------------------------------------------- applicant actions


def start(call: PilotCall, actor: User) -> PilotApplication:
    """Open (or reopen) the applicant institution's application to the call."""
    if actor.role != Role.INSTITUTION_ADMIN or actor.institution_id is None:
        raise ServiceError("not_applicant", _("Only an institution admin can apply for the institution."))
    existing = db.session.scalar(
        select(PilotApplication).where(
            PilotApplication.call_id == call.id, PilotApplication.institution_id == actor.institution_id
        )
    )
    if existing is not None:
        return existing
    now = utcnow()
    if not call.opens_at <= now < call.closes_at:
        raise Conflict("call_closed", _("This call is not open for applications."))
    institution = actor.institution
    if institution.type not in call.eligible_types:
        raise ServiceError(
            "not_eligible", _("Institutions of your type are not eligible for this call."), "institution_type"
        )
    application = PilotApplication(
        call_id=call.id,
        institution_id=actor.institution_id,
        created_by=actor.id,
        form={
            "unit_name": institution.name,
            "institution_type": institution.type,
            "industries": [],
            "projects": [],
        },
    )
    db.session.add(application)
    try:
        db.session.flush()
    except IntegrityError:  # a second click raced the first: the application exists now
        db.session.rollback()
        return db.session.scalar(
            select(PilotApplication).where(
                PilotApplication.call_id == call.id, PilotApplication.institution_id == actor.institution_id
            )
        )
    audit.record(
        "pilot_application.create",
        "pilot_application",
        application.id,
        actor,
        {"before": None, "after": snapshot(application)},
    )
    db.session.commit()
    return application


def clean_form(call: PilotCall, data: dict) -> dict:
    """Keep only known fields, trimmed; a bad value names its field."""
    form: dict = {}
    for key in FIELD_BY_KEY:
        if key in ("industries", "projects"):
            continue
        value = data.get(key)
        form[key] = (value or "").strip()[:5000] if isinstance(value, str) or value is None else ""
    if form["institution_type"] and form["institution_type"] not in call.eligible_types:
        raise ServiceError(
            "not_eligible", _("This institution type is not eligible for the call."), "institution_type"
        )
    chosen = data.get("industries") or []
    unknown = [c for c in chosen if c not in call.industries]
    if unknown:
        raise ServiceError("industries", _("Choose focus industries from the call's list."), "industries")
    form["industries"] = list(dict.fromkeys(chosen))
    email = form["contact_email"]
    if email and ("@" not in email or " " in email or len(email) > 200):
        raise ServiceError("email", _("Enter a valid e-mail address."), "contact_email")
    projects = []
    for row in (data.get("projects") or [])[:PROJECT_ROWS]:
        cleaned = {k: (row.get(k) or "").strip()[:2000] for k in ("partner", "period", "outcomes")}
        if any(cleaned.values()):
            projects.append(cleaned)
    form["projects"] = projects
    return form


def save_draft(application: PilotApplication, data: dict, actor: User) -> PilotApplication:
    require_editable(application)
    before = snapshot(application)
    application.form = clean_form(application.call, data)
    application.updated_at = utcnow()
    audit.record(
        "pilot_application.save",
        "pilot_application",
        application.id,
        actor,
        {"before": before, "after": snapshot(application)},
    )
    db.session.commit()
    return application


def missing(application: PilotApplication) -> list[str]:
    """Labels of what is still missing: every required field, every required attachment, each by name."""
    call = application.call
    labels = [
        str(FIELD_BY_KEY[k].label) for k in missing_fields(application.form or {}, call.required_fields)
    ]
    kinds = {a.kind for a in application.attachments}
    labels += [str(ATTACHMENT_KINDS[k]) for k in call.required_attachments if k not in kinds]
    return labels


def submit(application: PilotApplication, actor: User, data: dict | None = None) -> PilotApplication:
    """Save what was sent (if anything) and submit; refused, with each missing field named, when incomplete."""
    require_editable(application)
    before = snapshot(application)
    form = clean_form(application.call, data) if data is not None else application.form
    trial = dict(form)
    gaps = [str(FIELD_BY_KEY[k].label) for k in missing_fields(trial, application.call.required_fields)]
    kinds = {a.kind for a in application.attachments}
    gaps += [str(ATTACHMENT_KINDS[k]) for k in application.call.required_attachments if k not in kinds]
    if gaps:
        raise ServiceError(
            "incomplete",
            _("The application is incomplete. Missing: %(fields)s.", fields="、".join(gaps)),
            "form",
        )
    application.form = form
    application.status = "submitted"
    application.submitted_at = utcnow()
    application.updated_at = application.submitted_at
    application.fix_by = None
    audit.record(
        "pilot_application.submit",
        "pilot_application",
        application.id,
        actor,
        {"before": before, "after": snapshot(application)},
    )
    tell_applicant(application, _l("Application submitted"))
    db.session.commit()
    return application


def withdraw(application: PilotApplication, actor: User) -> PilotApplication:
    if not can_withdraw(application):
        raise Conflict(
            "cannot_withdraw",
            _("Only a submitted application can be withdrawn, and only before the deadline."),
        )
    before = snapshot(application)
    application.status = "withdrawn"
    application.updated_at = utcnow()
    audit.record(
        "pilot_application.withdraw",
        "pilot_application",
        application.id,
        actor,
        {"before": before, "after": snapshot(application)},
    )
    tell_applicant(
        application,
        _l("Application withdrawn"),
        _l("You may change it and submit it again until the deadline."),
    )
    db.session.commit()
    return application
