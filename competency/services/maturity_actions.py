"""The improvement action list: recommendations turned into tracked actions (owner, due date, status).
Actions belong to the institution, so the list carries over into the next diagnosis round."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from competency.extensions import db
from competency.maturity import maturity_model
from competency.models import ACTION_STATUSES, MaturityAction, MaturityRound, User, utcnow
from competency.services import audit
from competency.services.errors import NotFound, ServiceError


def _check(title: str, owner: str, due_on: date | None) -> tuple[str, str]:
    title, owner = (title or "").strip(), (owner or "").strip()
    if not title or len(title) > 300:
        raise ServiceError("invalid_title", _("a title of 1 to 300 characters is required"), "title")
    if not owner or len(owner) > 120:
        raise ServiceError("invalid_owner", _("name who owns the action (up to 120 characters)"), "owner")
    if due_on is None:
        raise ServiceError("invalid_due", _("a due date is required"), "due_on")
    return title, owner


def create(
    rnd: MaturityRound,
    indicator: str,
    title: str,
    owner: str,
    due_on: date | None,
    actor: User,
    commit: bool = True,
) -> MaturityAction:
    ind = maturity_model().indicators.get(indicator)
    if ind is None:
        raise ServiceError("invalid_indicator", _("choose an indicator"), "indicator")
    title, owner = _check(title, owner, due_on)
    result = rnd.result or {}
    level = (result.get("indicators", {}).get(indicator) or {}).get("level") or 1
    action = MaturityAction(
        institution_id=rnd.institution_id,
        round_id=rnd.id,
        indicator=indicator,
        target_level=min(5, level + 1),
        title=title,
        owner=owner,
        due_on=due_on,
        status="planned",
        created_by_id=actor.id,
    )
    db.session.add(action)
    db.session.flush()
    audit.record("maturity_action_create", "maturity_action", action.id, actor, {"indicator": indicator})
    if commit:
        db.session.commit()
    return action


def get(institution_id: int, action_id: int) -> MaturityAction:
    action = db.session.get(MaturityAction, action_id)
    if action is None or action.institution_id != institution_id:
        raise NotFound("action_not_found", _("action not found"))
    return action


def update(action: MaturityAction, status: str, owner: str, due_on: date | None, actor: User) -> None:
    if status not in ACTION_STATUSES:
        raise ServiceError("invalid_status", _("choose a status"), "status")
    _title, owner = _check(action.title, owner, due_on)
    action.status, action.owner, action.due_on, action.updated_at = status, owner, due_on, utcnow()
    audit.record("maturity_action_update", "maturity_action", action.id, actor, {"status": status})
    db.session.commit()
