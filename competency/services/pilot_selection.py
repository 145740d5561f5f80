"""择优 and 公示: ranking, selection up to the quota, the public notice and objections, designation of
试点单位 and the two-year pilot (milestones, mid-term and final reviews with a re-diagnosis).

Ranking: final score = w × diagnosis score + (1 − w) × expert score, with w the call's diagnosis weight.
Ties are broken by the higher expert score, then the higher diagnosis score, then the earlier
submission, then the lower application number.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from competency.extensions import db
from competency.models import (
    PilotApplication,
    PilotCall,
    PilotDesignation,
    PilotMilestone,
    PilotObjection,
    User,
    utcnow,
)
from competency.services import audit, maturity_summary
from competency.services.errors import Conflict, NotFound, ServiceError
from competency.services.pilot_applications import tell_applicant

RANKABLE = ("reviewed", "selected", "not_selected")
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
PILOT_YEARS = 2


@dataclass
class Ranked:
    application: PilotApplication
    rank: int
    final: float
    settled: bool  # spread flag resolved (or never raised)


def settled(application: PilotApplication) -> bool:
    """A spread flag is settled by a panel note, or by a second round that brought five or more experts
    (whose trimmed mean drops the extreme totals)."""
    submitted = [r for r in application.reviews if r.submitted_at is not None]
    return not application.spread_flag or bool(application.panel_note) or len(submitted) >= 5


def final_score(application: PilotApplication, call: PilotCall) -> float:
    w = call.weight_diagnosis / 100
    return round(w * (application.diagnosis_score or 0.0) + (1 - w) * (application.expert_score or 0.0), 2)


def ranking(call: PilotCall) -> list[Ranked]:
    apps = [
        a
        for a in db.session.scalars(
            select(PilotApplication)
            .where(PilotApplication.call_id == call.id)
            .options(joinedload(PilotApplication.institution), selectinload(PilotApplication.reviews))
        )
        if a.status in RANKABLE and a.expert_score is not None
    ]
    apps.sort(
        key=lambda a: (
            -final_score(a, call),
            -(a.expert_score or 0),
            -(a.diagnosis_score or 0),
            a.submitted_at or utcnow(),
            a.id,
        )
    )
    return [Ranked(a, i + 1, final_score(a, call), settled(a)) for i, a in enumerate(apps)]


def select_units(call: PilotCall, chosen_ids: list[int], reasons: dict[int, str], actor: User) -> list[int]:
    """Select up to the quota; each departure from the ranking (a unit chosen below the line, or one
    above it passed over) needs a recorded reason. Returns the ids of the departures."""
    if call.notice_starts_at is not None:
        raise Conflict("notice_published", _("The public notice is published; the selection is fixed."))
    ranked = ranking(call)
    if not ranked:
        raise Conflict("nothing_to_rank", _("No reviewed application to select from."))
    unsettled = [r for r in ranked if not r.settled]
    if unsettled:
        raise Conflict(
            "spread_unsettled",
            _(
                "Application %(id)s is flagged for a wide spread of expert scores: record the panel's note or "
                "hold a second round first.",
                id=unsettled[0].application.id,
            ),
        )
    by_id = {r.application.id: r for r in ranked}
    chosen = [i for i in dict.fromkeys(chosen_ids) if i in by_id]
    if len(chosen) > call.quota:
        raise ServiceError(
            "over_quota", _("Select at most %(n)s units (the quota).", n=call.quota), "selected"
        )
    if not chosen:
        raise ServiceError("none_selected", _("Select at least one unit."), "selected")
    expected = {r.application.id for r in ranked[: call.quota]}
    departures = sorted((set(chosen) - expected) | (expected - set(chosen)))
    missing = [i for i in departures if not (reasons.get(i) or "").strip()]
    if missing:
        raise ServiceError(
            "reason_required",
            _("Application %(id)s departs from the ranking: record the reason.", id=missing[0]),
            f"reason_{missing[0]}",
        )
    for r in ranked:
        a = r.application
        before = {"status": a.status, "rank": a.rank}
        a.rank = r.rank
        a.final_score = r.final
        a.status = "selected" if a.id in chosen else "not_selected"
        a.selection_reason = (reasons.get(a.id) or "").strip()[:2000] if a.id in departures else ""
        audit.record(
            "pilot_application.select",
            "pilot_application",
            a.id,
            actor,
            {
                "before": before,
                "after": {
                    "status": a.status,
                    "rank": a.rank,
                    "final_score": a.final_score,
                    "reason": a.selection_reason,
                },
            },
        )
    db.session.commit()
    return departures


# ----------------------------------------------------------------------------- 公示


def selected(call: PilotCall) -> list[PilotApplication]:
    return [
        a
        for a in db.session.scalars(
            select(PilotApplication)
            .where(PilotApplication.call_id == call.id)
            .options(selectinload(PilotApplication.objections))
            .order_by(PilotApplication.rank)
        )
        if a.status in ("selected", "designated", "objection_upheld")
    ]


def objections(call: PilotCall) -> list[PilotObjection]:
    """The objections to the call's selected units, with their applications, in ranking order."""
    return list(
        db.session.scalars(
            select(PilotObjection)
            .join(PilotObjection.application)
            .where(
                PilotApplication.call_id == call.id,
                PilotApplication.status.in_(("selected", "designated", "objection_upheld")),
            )
            .options(contains_eager(PilotObjection.application))
            .order_by(PilotApplication.rank, PilotObjection.id)
        )
    )


def publish_notice(
    call: PilotCall, starts_at: datetime, ends_at: datetime, procedure: str, actor: User
) -> None:
    if call.notice_starts_at is not None:
        raise Conflict("notice_published", _("The notice is already published."))
    if not any(a.status == "selected" for a in selected(call)):
        raise Conflict("nothing_selected", _("Select the units before publishing the notice."))
    if starts_at is None:
        raise ServiceError("missing_field", _("The start of the publicity period is required."), "starts_at")
    if ends_at is None:
        raise ServiceError("missing_field", _("The end of the publicity period is required."), "ends_at")
    if ends_at <= starts_at:
        raise ServiceError("dates_order", _("The publicity period must end after it starts."), "ends_at")
    procedure = (procedure or "").strip()
    if not procedure:
        raise ServiceError("missing_field", _("Describe how to object."), "procedure")
    call.notice_starts_at, call.notice_ends_at, call.objection_procedure = (
        starts_at,
        ends_at,
        procedure[:5000],
    )
    audit.record(
        "pilot_call.notice",
        "pilot_call",
        call.id,
        actor,
        {"before": None, "after": {"starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()}},
    )
    for a in selected(call):
        tell_applicant(a, _l("Public notice published"), _l("Your unit is listed in the public notice."))
    db.session.commit()


def notice_state(call: PilotCall, now: datetime | None = None) -> str:
    """none | upcoming | running | over."""
    now = now or utcnow()
    if call.notice_starts_at is None:
        return "none"
    if now < call.notice_starts_at:
        return "upcoming"
    if now < call.notice_ends_at:
        return "running"
    return "over"


def object_to(
    call: PilotCall, application_id: int, name: str, contact: str, text: str, ip: str | None = None
) -> PilotObjection:
    """An objection from anyone during the publicity period; named and reachable, as the procedure asks."""
    if notice_state(call) != "running":
        raise Conflict("not_running", _("Objections are accepted only during the publicity period."))
    application = next((a for a in selected(call) if a.id == application_id and a.status == "selected"), None)
    if application is None:
        raise ServiceError("unit", _("Choose a unit from the notice."), "application_id")
    name, contact, text = (name or "").strip(), (contact or "").strip(), (text or "").strip()
    for field, value, label in (
        ("name", name, _l("Your name")),
        ("contact", contact, _l("How to reach you")),
        ("text", text, _l("Your objection and its facts")),
    ):
        if not value:
            raise ServiceError("missing_field", _("%(field)s is required.", field=label), field)
    objection = PilotObjection(
        application_id=application.id, name=name[:120], contact=contact[:200], text=text[:5000]
    )
    db.session.add(objection)
    db.session.flush()
    audit.record(
        "pilot_objection.create",
        "pilot_objection",
        objection.id,
        None,
        {"before": None, "after": {"application": application.id, "name": objection.name}},
        ip=ip,  # anonymous: the address is the trace the audit keeps
    )
    db.session.commit()
    return objection


def resolve_objection(objection_id: int, outcome: str, resolution: str, actor: User) -> PilotObjection:
    objection = db.session.get(PilotObjection, objection_id)
    if objection is None:
        raise NotFound("not_found", _("No such objection."))
    if objection.status != "open":
        raise Conflict("resolved", _("This objection is already resolved."))
    if outcome not in ("upheld", "dismissed"):
        raise ServiceError("outcome", _("Choose upheld or dismissed."), "outcome")
    resolution = (resolution or "").strip()
    if not resolution:
        raise ServiceError(
            "resolution", _("Record how the objection was checked and answered."), "resolution"
        )
    objection.status, objection.resolution = outcome, resolution[:5000]
    objection.resolved_at, objection.resolved_by = utcnow(), actor.id
    application = objection.application
    before = {"status": application.status}
    if outcome == "upheld" and application.status == "selected":
        application.status = "objection_upheld"
        tell_applicant(application, _l("An objection against your unit was upheld"), resolution)
    audit.record(
        "pilot_objection.resolve",
        "pilot_objection",
        objection.id,
        actor,
        {
            "before": {"status": "open", "application_status": before["status"]},
            "after": {
                "status": outcome,
                "resolution": objection.resolution,
                "application_status": application.status,
            },
        },
    )
    db.session.commit()
    return objection


# ----------------------------------------------------------------------------- designation and tracking


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
            PilotMilestone(designation_id=designation.id, kind=kind, title=title, due_at=_add_months(at, months))
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
