"""公示: the public notice of the selected units, objections from anyone during the publicity period,
and the officer's resolution of each objection."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from competency.extensions import db
from competency.models import PilotApplication, PilotCall, PilotObjection, User, utcnow
from competency.services import audit
from competency.services.errors import Conflict, NotFound, ServiceError
from competency.services.pilot_applications import tell_applicant
from competency.services.pilot_selection import selected


def published(call_id: int) -> PilotCall:
    """A call whose notice is published (running, upcoming or over); NotFound for any other (to the public,
    a call without a notice does not exist)."""
    call = db.session.get(PilotCall, call_id)
    if call is None or call.notice_starts_at is None:
        raise NotFound("not_found", _("No such call."))
    return call


def objectable_units(call: PilotCall) -> list[tuple[int, str]]:
    """The units of the notice one may object to (id, name as applied), in rank order."""
    return [
        (a.id, (a.form or {}).get("unit_name") or a.institution.name)
        for a in selected(call)
        if a.status == "selected"
    ]


def objections(call: PilotCall) -> list[PilotObjection]:
    """The objections to the call's selected units, with their applications, in ranking order (one query)."""
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
