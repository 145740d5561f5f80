"""试点单位: designation of the selected units after the publicity period, the public register and its
verification by code, revocation, and the two-year pilot (milestones, mid-term and final reviews with a
re-diagnosis)."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from competency.extensions import db
from competency.models import PilotApplication, PilotCall, PilotDesignation, PilotMilestone, User, utcnow
from competency.services import audit, maturity_summary
from competency.services.errors import Conflict, NotFound, ServiceError
from competency.services.pilot_applications import tell_applicant
from competency.services.pilot_notice import notice_state
from competency.services.pilot_selection import selected

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
PILOT_YEARS = 2


def _add_months(moment: datetime, months: int) -> datetime:
    year, month = divmod(moment.month - 1 + months, 12)
    day = min(moment.day, 28)
    return moment.replace(year=moment.year + year, month=month + 1, day=day)


def new_code(year: int) -> str:
    return f"SD{year}" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


MILESTONES = (
    ("milestone", 3, "建设方案细化并启动（Implementation plan and launch）"),
    ("midterm", 12, "中期评估与再诊断（Mid-term review with re-diagnosis）"),
    ("milestone", 18, "阶段成果报告（Progress report）"),
    ("final", 24, "终期验收与再诊断（Final review with re-diagnosis）"),
)


def new_designation(application: PilotApplication, at: datetime) -> PilotDesignation:
    """The 试点单位 record of an application, designated at ``at``, with its two-year milestones (no commit)."""
    form = application.form or {}
    designation = PilotDesignation(
        code=new_code(at.year),
        application_id=application.id,
        institution_id=application.institution_id,
        institution_name=form.get("unit_name") or application.institution.name,
        institution_type=form.get("institution_type") or application.institution.type,
        industries=list(form.get("industries") or []),
        designated_at=at,
        ends_at=_add_months(at, 12 * PILOT_YEARS),
    )
    db.session.add(designation)
    db.session.flush()
    for kind, months, title in MILESTONES:
        db.session.add(
            PilotMilestone(
                designation_id=designation.id, kind=kind, title=title, due_at=_add_months(at, months)
            )
        )
    return designation


def designate(call: PilotCall, actor: User, now: datetime | None = None) -> list[PilotDesignation]:
    """After the publicity period, every selected unit without an upheld objection becomes a 试点单位."""
    now = now or utcnow()
    if notice_state(call, now) != "over":
        raise Conflict("notice_running", _("Units are designated after the publicity period ends."))
    open_objections = [o for a in selected(call) for o in a.objections if o.status == "open"]
    if open_objections:
        raise Conflict("open_objections", _("Resolve every objection before designating the units."))
    made = []
    for application in selected(call):
        if application.status != "selected":
            continue
        designation = new_designation(application, now)
        application.status = "designated"
        audit.record(
            "pilot_designation.create",
            "pilot_designation",
            designation.id,
            actor,
            {"before": {"status": "selected"}, "after": {"status": "designated", "code": designation.code}},
        )
        tell_applicant(
            application,
            _l("Designated as a pilot unit"),
            _l(
                "Your unit is designated as a pilot unit for two years. Verification code: %(code)s",
                code=designation.code,
            ),
        )
        made.append(designation)
    db.session.commit()
    return made


def designation_status(designation: PilotDesignation, now: datetime | None = None) -> str:
    if designation.revoked_at is not None:
        return "revoked"
    if (now or utcnow()) >= designation.ends_at:
        return "ended"
    return "active"


def normalise_code(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())[:32]


def find_designation(code: str) -> PilotDesignation:
    designation = db.session.scalar(
        select(PilotDesignation).where(PilotDesignation.code == normalise_code(code))
    )
    if designation is None:
        raise NotFound("not_found", _("No designated pilot unit has this code."))
    return designation


def public_record(designation: PilotDesignation) -> dict:
    """The record of the public contract: {code, institution, institution_type, industries, designated_at,
    ends_at, status}; industries are the codes of the ten key industries."""
    return {
        "code": designation.code,
        "institution": designation.institution_name,
        "institution_type": designation.institution_type,
        "industries": list(designation.industries),
        "designated_at": designation.designated_at.isoformat(),
        "ends_at": designation.ends_at.isoformat(),
        "status": designation_status(designation),
    }


def designations() -> list[PilotDesignation]:
    return list(
        db.session.scalars(
            select(PilotDesignation).order_by(PilotDesignation.designated_at.desc(), PilotDesignation.id)
        )
    )


def designations_of(institution_id: int) -> list[PilotDesignation]:
    return [d for d in designations() if d.institution_id == institution_id]


def designation_of(application: PilotApplication) -> PilotDesignation | None:
    return db.session.scalar(
        select(PilotDesignation).where(PilotDesignation.application_id == application.id)
    )


def designations_for_call(call: PilotCall) -> list[PilotDesignation]:
    return list(
        db.session.scalars(
            select(PilotDesignation)
            .join(PilotApplication, PilotApplication.id == PilotDesignation.application_id)
            .where(PilotApplication.call_id == call.id)
            .order_by(PilotDesignation.id)
        )
    )


def get_designation(designation_id: int) -> PilotDesignation:
    designation = db.session.get(PilotDesignation, designation_id)
    if designation is None:
        raise NotFound("not_found", _("No such designation."))
    return designation


def revoke(designation: PilotDesignation, reason: str, actor: User) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("reason", _("Give the reason for revocation."), "reason")
    if designation.revoked_at is not None:
        raise Conflict("revoked", _("This designation is already revoked."))
    designation.revoked_at, designation.revoke_reason = utcnow(), reason[:2000]
    audit.record(
        "pilot_designation.revoke",
        "pilot_designation",
        designation.id,
        actor,
        {"before": {"status": "active"}, "after": {"status": "revoked", "reason": designation.revoke_reason}},
    )
    tell_applicant(designation.application, _l("Pilot designation revoked"), reason)
    db.session.commit()


def update_milestone(milestone_id: int, action: str, note: str, actor: User) -> PilotMilestone:
    """done (with a note) | rediagnose (open a maturity round) | attach (the round's result, once closed)."""
    milestone = db.session.get(PilotMilestone, milestone_id)
    if milestone is None:
        raise NotFound("not_found", _("No such milestone."))
    designation = milestone.designation
    before = {
        "done_at": milestone.done_at.isoformat() if milestone.done_at else None,
        "diagnosis_round_id": milestone.diagnosis_round_id,
    }
    if designation.revoked_at is not None:
        raise Conflict("revoked", _("This designation is revoked."))
    if action == "done":
        note = (note or "").strip()
        if not note:
            raise ServiceError("note", _("Write what was reviewed or achieved."), "note")
        if milestone.kind in ("midterm", "final") and not milestone.diagnosis:
            raise Conflict("needs_diagnosis", _("A review is completed with its re-diagnosis attached."))
        milestone.done_at, milestone.note = utcnow(), note[:5000]
        tell_applicant(designation.application, _l("Pilot milestone recorded"), milestone.title)
    elif action == "rediagnose":
        if milestone.kind not in ("midterm", "final"):
            raise ServiceError("action", _("Only reviews have a re-diagnosis."), "action")
        milestone.diagnosis_round_id = maturity_summary.open_round_for(
            designation.institution_id, actor, milestone.title
        )
        tell_applicant(designation.application, _l("Re-diagnosis requested"), milestone.title)
    elif action == "attach":
        summary = maturity_summary.latest_summary(designation.institution_id)
        if not summary or summary.get("round_id") != milestone.diagnosis_round_id:
            raise Conflict("not_closed", _("The re-diagnosis round is not closed yet."))
        closed = summary.get("closed_at")
        milestone.diagnosis = {
            "round_id": summary["round_id"],
            "closed_at": closed.isoformat() if hasattr(closed, "isoformat") else closed,
            "overall_level": summary.get("overall_level"),
            "overall_score": summary.get("overall_score"),
            "report_url": summary.get("report_url", ""),
        }
    else:
        raise ServiceError("action", _("Unknown action."), "action")
    audit.record(
        f"pilot_milestone.{action}",
        "pilot_milestone",
        milestone.id,
        actor,
        {
            "before": before,
            "after": {
                "done_at": milestone.done_at.isoformat() if milestone.done_at else None,
                "diagnosis_round_id": milestone.diagnosis_round_id,
                "note": milestone.note,
            },
        },
    )
    db.session.commit()
    return milestone
