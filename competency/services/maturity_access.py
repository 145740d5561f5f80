"""Who may see and change which diagnosis round: one place, so every view asks the same question."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from competency.extensions import db
from competency.models import MaturityExpertAssignment, MaturityRound, Role, User
from competency.services.errors import NotFound

# Platform-wide staff who may open rounds for any institution and assign experts to them.
PROGRAMME_STAFF = (Role.PLATFORM_ADMIN.value, Role.PROGRAMME_OFFICER.value)


def is_assigned(round_id: int, expert: User) -> bool:
    return (
        db.session.get(MaturityExpertAssignment, {"round_id": round_id, "expert_id": expert.id}) is not None
    )


def may_manage(rnd: MaturityRound, actor: User) -> bool:
    """Run the round (invite, enter evidence, close, track actions): the institution's own admin,
    or platform-wide programme staff."""
    if actor.role in PROGRAMME_STAFF:
        return True
    return actor.role == Role.INSTITUTION_ADMIN and actor.institution_id == rnd.institution_id


def may_view(rnd: MaturityRound, actor: User) -> bool:
    if may_manage(rnd, actor):
        return True
    return actor.role == Role.EXPERT and is_assigned(rnd.id, actor)


def round_for(round_id: int, actor: User, manage: bool = False) -> MaturityRound:
    """A round the actor may see (or manage); any other is reported missing, not forbidden, so its
    existence is not confirmed to outsiders."""
    rnd = db.session.get(MaturityRound, round_id)
    if rnd is None or not (may_manage(rnd, actor) if manage else may_view(rnd, actor)):
        raise NotFound("round_not_found", _("diagnosis round not found"))
    return rnd


def visible_rounds(actor: User) -> list[MaturityRound]:
    stmt = select(MaturityRound).order_by(MaturityRound.opened_at.desc(), MaturityRound.id.desc())
    if actor.role == Role.EXPERT:
        stmt = stmt.join(
            MaturityExpertAssignment, MaturityExpertAssignment.round_id == MaturityRound.id
        ).where(MaturityExpertAssignment.expert_id == actor.id)
    elif actor.role not in PROGRAMME_STAFF:
        stmt = stmt.where(MaturityRound.institution_id == actor.institution_id)
    return list(db.session.scalars(stmt))
