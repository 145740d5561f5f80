"""择优: ranking by the call's weights and selection up to the quota (the public notice and objections
are in `pilot_notice`, designation and the two-year pilot in `pilot_designations`).

Ranking: final score = w × diagnosis score + (1 − w) × expert score, with w the call's diagnosis weight.
Ties are broken by the higher expert score, then the higher diagnosis score, then the earlier
submission, then the lower application number.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from competency.extensions import db
from competency.models import (
    PilotApplication,
    PilotCall,
    User,
    utcnow,
)
from competency.services import audit
from competency.services.errors import Conflict, ServiceError

RANKABLE = ("reviewed", "selected", "not_selected")


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


def rank_key(application: PilotApplication, call: PilotCall) -> tuple:
    """The order of the ranking (see the module's docstring for the tie rules)."""
    return (
        -final_score(application, call),
        -(application.expert_score or 0),
        -(application.diagnosis_score or 0),
        application.submitted_at or utcnow(),
        application.id,
    )


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
    apps.sort(key=lambda a: rank_key(a, call))
    return [Ranked(a, i + 1, final_score(a, call), settled(a)) for i, a in enumerate(apps)]


def preselected(ranked: list[Ranked], quota: int) -> set[int]:
    """The applications ticked when the ranking opens: the selection saved, else the top up to the quota."""
    return {r.application.id for r in ranked if r.application.status == "selected"} or {
        r.application.id for r in ranked[:quota]
    }


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


def selected(call: PilotCall) -> list[PilotApplication]:
    """The units chosen for the notice, by rank (also those designated or refused after an objection)."""
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
