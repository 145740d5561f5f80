"""Diagnosis rounds: open, invite respondent groups, follow the response rate, assign experts, close.
(The respondents' anonymous answering is in `maturity_respondents`.)"""

from __future__ import annotations

import secrets

from flask_babel import gettext as _
from sqlalchemy import case, func, select

from competency.extensions import db
from competency.maturity import maturity_model, rules
from competency.models import (
    Cohort,
    CohortMembership,
    Institution,
    MaturityExpertAssignment,
    MaturityInvitation,
    MaturityRespondent,
    MaturityRound,
    MaturityTicket,
    Role,
    User,
    utcnow,
)
from competency.services import audit
from competency.services.errors import Conflict, Forbidden, NotFound, ServiceError
from competency.services.maturity_access import PROGRAMME_STAFF, may_manage

# --------------------------------------------------------------------------------------------- rounds


def may_open_for(institution_id: int, actor: User) -> bool:
    return actor.role in PROGRAMME_STAFF or (
        actor.role == Role.INSTITUTION_ADMIN and actor.institution_id == institution_id
    )


def open_round(
    institution_id: int,
    actor: User,
    title: str,
    scenarios: list[str] | None = None,
    weights: dict | None = None,
    synthetic: bool = False,
    commit: bool = True,
) -> MaturityRound:
    """Open a diagnosis round for an institution; one open round at a time. The round remembers the
    model version, the institution's type and scenarios, and the previous closed round (for change)."""
    institution = db.session.get(Institution, institution_id)
    if institution is None or not may_open_for(institution_id, actor):
        raise NotFound("institution_not_found", _("institution not found"))
    title = (title or "").strip()
    if not title or len(title) > 200:
        raise ServiceError("invalid_title", _("a title of 1 to 200 characters is required"), "title")
    model = maturity_model()
    known = {s["code"] for s in model.scenarios}
    chosen = sorted(known if scenarios is None else set(scenarios))
    unknown = [s for s in chosen if s not in known]
    if unknown:
        raise ServiceError("invalid_scenario", _("unknown scenario: %(code)s", code=unknown[0]), "scenarios")
    weights = dict(weights or model.weights)
    if (
        set(weights) != {"questionnaire", "objective", "expert"}
        or any(not isinstance(w, int | float) or w < 0 for w in weights.values())
        or sum(weights.values()) <= 0
    ):
        raise ServiceError(
            "invalid_weights", _("weights must be three non-negative numbers, not all 0"), "weight_expert"
        )
    already = db.session.scalar(
        select(MaturityRound.id).where(
            MaturityRound.institution_id == institution_id, MaturityRound.status == "open"
        )
    )
    if already is not None:
        raise Conflict("round_open", _("this institution already has an open diagnosis round"), "title")
    previous = db.session.scalar(
        select(MaturityRound.id)
        .where(MaturityRound.institution_id == institution_id, MaturityRound.status == "closed")
        .order_by(MaturityRound.closed_at.desc(), MaturityRound.id.desc())
        .limit(1)
    )
    rnd = MaturityRound(
        institution_id=institution_id,
        title=title,
        status="open",
        model_version=model.version,
        institution_type=institution.type,
        scenarios=chosen,
        weights=weights,
        previous_round_id=previous,
        opened_by_id=actor.id,
        synthetic=synthetic,
    )
    db.session.add(rnd)
    db.session.flush()
    audit.record("maturity_round_open", "maturity_round", rnd.id, actor, {"institution_id": institution_id})
    if commit:
        db.session.commit()
    return rnd


def _require_open(rnd: MaturityRound) -> None:
    if rnd.status != "open":
        raise Conflict("round_closed", _("the diagnosis round is closed"))


def close_round(rnd: MaturityRound, actor: User, commit: bool = True) -> MaturityRound:
    """Compute the result from all the evidence and freeze it; nothing can be answered or entered after."""
    from competency.services.maturity_scoring import compute

    if not may_manage(rnd, actor):
        raise Forbidden("forbidden", _("you may not close this round"))
    _require_open(rnd)
    result = compute(rnd)
    if result["overall"]["score"] is None:
        # A closed round always has a level: other parts of the platform (pilot applications) rely on it.
        raise Conflict("no_evidence", _("the round has no evidence yet, so it cannot be closed"))
    rnd.result = result
    rnd.status = "closed"
    rnd.closed_at = utcnow()
    db.session.query(MaturityInvitation).filter(MaturityInvitation.round_id == rnd.id).update(
        {"active": False}
    )
    audit.record(
        "maturity_round_close",
        "maturity_round",
        rnd.id,
        actor,
        {"overall_level": rnd.result["overall"]["level"]},
    )
    if commit:
        db.session.commit()
    return rnd


# ---------------------------------------------------------------------------------------- invitations


def _check_group(rnd: MaturityRound, group: str) -> None:
    allowed = [g["code"] for g in maturity_model().groups_for(rnd.institution_type)]
    if group not in allowed:
        raise ServiceError("invalid_group", _("this respondent group does not apply here"), "group")


def invite_link(
    rnd: MaturityRound, group: str, expected: int, actor: User, label: str = "", commit: bool = True
) -> MaturityInvitation:
    """An open link for one group (for people without an account, such as company mentors).
    ``expected`` is how many people it goes to, for the response rate."""
    _require_open(rnd)
    _check_group(rnd, group)
    if not isinstance(expected, int) or not 1 <= expected <= 100000:
        raise ServiceError("invalid_expected", _("expected respondents must be 1 to 100000"), "expected")
    invitation = MaturityInvitation(
        round_id=rnd.id,
        respondent_group=group,
        kind="link",
        label=(label or "").strip()[:200],
        token=secrets.token_urlsafe(18),
        expected=expected,
    )
    db.session.add(invitation)
    db.session.flush()
    audit.record("maturity_invite", "maturity_round", rnd.id, actor, {"kind": "link", "group": group})
    if commit:
        db.session.commit()
    return invitation


def invite_cohort(
    rnd: MaturityRound, group: str, cohort_id: int, actor: User, commit: bool = True
) -> MaturityInvitation:
    """Invite every member of one of the institution's cohorts: each gets one ticket on their home page."""
    _require_open(rnd)
    _check_group(rnd, group)
    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None or cohort.institution_id != rnd.institution_id:
        raise ServiceError("invalid_cohort", _("choose a cohort of this institution"), "cohort_id")
    members = list(
        db.session.scalars(
            select(CohortMembership.user_id)
            .join(User, User.id == CohortMembership.user_id)
            .where(CohortMembership.cohort_id == cohort.id, User.active.is_(True))
        )
    )
    if not members:
        raise ServiceError("empty_cohort", _("the cohort has no active members"), "cohort_id")
    invitation = MaturityInvitation(
        round_id=rnd.id,
        respondent_group=group,
        kind="cohort",
        label=cohort.name,
        cohort_id=cohort.id,
        expected=len(members),
    )
    db.session.add(invitation)
    db.session.flush()
    db.session.add_all(MaturityTicket(invitation_id=invitation.id, user_id=uid) for uid in members)
    audit.record(
        "maturity_invite",
        "maturity_round",
        rnd.id,
        actor,
        {"kind": "cohort", "group": group, "n": len(members)},
    )
    if commit:
        db.session.commit()
    return invitation


def response_rates(rnd: MaturityRound) -> dict:
    """Live counts per invitation and per group: expected, started, submitted (counted in SQL)."""
    rows = db.session.execute(
        select(
            MaturityRespondent.invitation_id,
            func.count(),
            func.sum(case((MaturityRespondent.submitted.is_(True), 1), else_=0)),
        )
        .where(MaturityRespondent.round_id == rnd.id)
        .group_by(MaturityRespondent.invitation_id)
    ).all()
    counts = {inv: (int(started), int(submitted or 0)) for inv, started, submitted in rows}
    invitations = []
    groups: dict[str, dict] = {}
    for inv in rnd.invitations:
        started, submitted = counts.get(inv.id, (0, 0))
        invitations.append({"invitation": inv, "started": started, "submitted": submitted})
        g = groups.setdefault(inv.respondent_group, {"expected": 0, "submitted": 0})
        g["expected"] += inv.expected
        g["submitted"] += submitted
    for g in groups.values():
        g["rate"] = round(100 * g["submitted"] / g["expected"]) if g["expected"] else None
        g["anonymous_ok"] = g["submitted"] >= rules.MIN_GROUP
    expected = sum(g["expected"] for g in groups.values())
    submitted = sum(g["submitted"] for g in groups.values())
    return {
        "invitations": invitations,
        "groups": groups,
        "expected": expected,
        "submitted": submitted,
        "rate": round(100 * submitted / expected) if expected else None,
    }


# --------------------------------------------------------------------------------------------- experts


def assign_expert(
    rnd: MaturityRound, expert_id: int, actor: User, commit: bool = True
) -> MaturityExpertAssignment:
    if actor.role not in PROGRAMME_STAFF:
        raise Forbidden("forbidden", _("only platform staff assign experts"))
    expert = db.session.get(User, expert_id)
    if expert is None or expert.role != Role.EXPERT or not expert.active:
        raise ServiceError("invalid_expert", _("choose an active expert account"), "expert_id")
    if expert.institution_id is not None and expert.institution_id == rnd.institution_id:
        raise ServiceError(
            "conflict_of_interest", _("an expert may not rate their own institution"), "expert_id"
        )
    existing = db.session.get(MaturityExpertAssignment, {"round_id": rnd.id, "expert_id": expert.id})
    if existing is not None:
        raise Conflict("already_assigned", _("this expert is already assigned"), "expert_id")
    assignment = MaturityExpertAssignment(round_id=rnd.id, expert_id=expert.id, assigned_by_id=actor.id)
    db.session.add(assignment)
    audit.record("maturity_expert_assign", "maturity_round", rnd.id, actor, {"expert_id": expert.id})
    if commit:
        db.session.commit()
    return assignment


def assigned_experts(rnd: MaturityRound) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(MaturityExpertAssignment, MaturityExpertAssignment.expert_id == User.id)
            .where(MaturityExpertAssignment.round_id == rnd.id)
            .order_by(User.username)
        )
    )


def available_experts() -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(User.role == Role.EXPERT, User.active.is_(True)).order_by(User.username)
        )
    )
