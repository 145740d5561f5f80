"""Anonymous answering of a diagnosis round's questionnaires: starting one from a group's link or from
one's cohort ticket, finding it again by its own token, saving and submitting the answers.

A respondent is known only by the hash of their questionnaire's token: nothing links the answers to a
person or to the ticket they started from.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

from flask_babel import gettext as _
from sqlalchemy import select

from competency.extensions import db
from competency.maturity import maturity_model, rules
from competency.models import (
    MaturityInvitation,
    MaturityRespondent,
    MaturityRound,
    MaturityTicket,
    User,
)
from competency.services.errors import Conflict, NotFound, ServiceError


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_respondent(rnd: MaturityRound, group: str, invitation_id: int | None) -> str:
    token = secrets.token_urlsafe(24)
    db.session.add(
        MaturityRespondent(
            round_id=rnd.id,
            invitation_id=invitation_id,
            respondent_group=group,
            token_hash=token_digest(token),
        )
    )
    return token


def invitation_by_link(token: str) -> MaturityInvitation:
    invitation = db.session.scalar(
        select(MaturityInvitation).where(MaturityInvitation.token == token, MaturityInvitation.kind == "link")
    )
    if invitation is None:
        raise NotFound("invitation_not_found", _("this invitation link is not valid"))
    return invitation


def start_from_link(token: str) -> str:
    """Anyone holding a group's link gets a fresh anonymous questionnaire; returns its own token."""
    invitation = invitation_by_link(token)
    if not invitation.active or invitation.round.status != "open":
        raise Conflict("round_closed", _("this diagnosis round no longer takes answers"))
    own = _new_respondent(invitation.round, invitation.respondent_group, invitation.id)
    db.session.commit()
    return own


def join(token: str, remembered: Iterable[str]) -> str:
    """The questionnaire the holder of a group's link answers: the same browser's unfinished one for this
    link (``remembered`` are the tokens its session keeps, oldest first), else a fresh one."""
    invitation = invitation_by_link(token)
    for mine in reversed(list(remembered)):
        earlier = db.session.scalar(
            select(MaturityRespondent).where(MaturityRespondent.token_hash == token_digest(mine or ""))
        )
        if earlier is not None and earlier.invitation_id == invitation.id and not earlier.submitted:
            return mine
    return start_from_link(token)


def my_tickets(user: User) -> list[MaturityTicket]:
    """The cohort invitations of open rounds waiting for this person."""
    return list(
        db.session.scalars(
            select(MaturityTicket)
            .join(MaturityInvitation, MaturityInvitation.id == MaturityTicket.invitation_id)
            .join(MaturityRound, MaturityRound.id == MaturityInvitation.round_id)
            .where(
                MaturityTicket.user_id == user.id,
                MaturityTicket.used.is_(False),
                MaturityInvitation.active.is_(True),
                MaturityRound.status == "open",
            )
        )
    )


def start_from_ticket(invitation_id: int, user: User) -> str:
    """Use one's cohort ticket: the ticket is marked used and an unlinked questionnaire is created."""
    ticket = db.session.get(MaturityTicket, {"invitation_id": invitation_id, "user_id": user.id})
    if ticket is None:
        raise NotFound("ticket_not_found", _("no questionnaire is waiting for you here"))
    if ticket.used:
        raise Conflict("ticket_used", _("you have already started this questionnaire"))
    invitation = ticket.invitation
    if not invitation.active or invitation.round.status != "open":
        raise Conflict("round_closed", _("this diagnosis round no longer takes answers"))
    ticket.used = True
    own = _new_respondent(invitation.round, invitation.respondent_group, invitation.id)
    db.session.commit()
    return own


def respondent_by_token(token: str) -> MaturityRespondent:
    respondent = db.session.scalar(
        select(MaturityRespondent).where(MaturityRespondent.token_hash == token_digest(token or ""))
    )
    if respondent is None:
        raise NotFound("questionnaire_not_found", _("questionnaire not found"))
    return respondent


def questionnaire_items(rnd: MaturityRound, group: str) -> list:
    """The statements this group answers in this round: applicable indicators asked of the group."""
    return [
        ind
        for ind in maturity_model().applicable(rnd.institution_type, rnd.scenarios)
        if ind.questionnaire and group in ind.questionnaire["groups"]
    ]


def save_answers(respondent: MaturityRespondent, form: dict[str, str], submit: bool) -> list[str]:
    """Store a respondent's answers (a draft, or submitted). Returns the codes left unanswered when
    submitting, in which case nothing is submitted; a malformed value is refused naming its statement."""
    rnd = db.session.get(MaturityRound, respondent.round_id)
    if rnd.status != "open":
        raise Conflict("round_closed", _("this diagnosis round no longer takes answers"))
    answers: dict = {}
    missing = []
    for ind in questionnaire_items(rnd, respondent.respondent_group):
        raw = (form.get(ind.code) or "").strip()
        if not raw:
            missing.append(ind.code)
            continue
        value = int(raw) if raw.isdigit() else raw
        try:
            answers[ind.code] = rules.check_answer(value)
        except ValueError:
            raise ServiceError(
                "invalid_answer", _("statement %(code)s: choose one of the answers", code=ind.code), ind.code
            ) from None
    respondent.answers = answers
    if submit and missing:
        db.session.commit()
        return missing
    if submit:
        respondent.submitted = True
    db.session.commit()
    return []
