"""Assessments assigned to cohorts with a window, and what the cohort achieved in it."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select

from competency import graph
from competency.extensions import db
from competency.models import (
    ACTIVE_STATUSES,
    Assessment,
    Attempt,
    Cohort,
    CohortAssignment,
    CohortMembership,
    Role,
    User,
)
from competency.services import audit
from competency.services.errors import NotFound, ServiceError


def assignable_assessments(actor: User) -> list[Assessment]:
    """Published assessments the actor's institution may use (platform-wide or its own)."""
    stmt = select(Assessment).where(Assessment.status == "published").order_by(Assessment.code)
    if actor.role == Role.PLATFORM_ADMIN:
        return list(db.session.scalars(stmt))
    stmt = stmt.where(
        (Assessment.institution_id.is_(None)) | (Assessment.institution_id == actor.institution_id)
    )
    # An assessment its managers kept to other institutions cannot be opened to this one by assigning it.
    return [
        a
        for a in db.session.scalars(stmt)
        if not (a.audience or {}).get("institution_ids")
        or actor.institution_id in (a.audience or {}).get("institution_ids")
    ]


def assignments(cohort: Cohort) -> list[CohortAssignment]:
    stmt = (
        select(CohortAssignment)
        .where(CohortAssignment.cohort_id == cohort.id)
        .order_by(CohortAssignment.opens_at, CohortAssignment.id)
    )
    return list(db.session.scalars(stmt))


def get_assignment(cohort: Cohort, assignment_id: int) -> CohortAssignment:
    row = db.session.get(CohortAssignment, assignment_id)
    if row is None or row.cohort_id != cohort.id:
        raise NotFound("assignment_not_found", _("assignment not found"))
    return row


def assign(
    cohort: Cohort,
    assessment_id: int,
    opens_at: datetime,
    closes_at: datetime,
    actor: User,
    baseline_id: int | None = None,
) -> CohortAssignment:
    """Assign an assessment to a cohort for a window; with ``baseline_id`` it is a re-assessment."""
    assessment = db.session.get(Assessment, assessment_id)
    if assessment is None or assessment not in assignable_assessments(actor):
        raise ServiceError("unknown_assessment", _("choose a published assessment"), "assessment_id")
    if closes_at <= opens_at:
        raise ServiceError("invalid_window", _("the window must close after it opens"), "closes_at")
    baseline = None
    if baseline_id:
        baseline = db.session.get(CohortAssignment, baseline_id)
        if baseline is None or baseline.cohort_id != cohort.id:
            raise ServiceError(
                "unknown_baseline", _("the earlier assignment is not in this cohort"), "baseline_id"
            )
        if baseline.assessment.scale != assessment.scale:
            raise ServiceError(
                "baseline_scale",
                _("a re-assessment must use the same level scale as the first"),
                "baseline_id",
            )
        if opens_at < baseline.closes_at:
            raise ServiceError(
                "invalid_window", _("a re-assessment opens after the first window closes"), "opens_at"
            )
    row = CohortAssignment(
        cohort_id=cohort.id,
        assessment_id=assessment.id,
        opens_at=opens_at,
        closes_at=closes_at,
        baseline_id=baseline.id if baseline else None,
        created_by_id=actor.id,
    )
    db.session.add(row)
    # Members may start it through the assignment (audience.is_open_to); the assessment's own
    # audience is its managers' to set and is never touched here, so no one else loses access.
    db.session.flush()
    audit.record(
        "cohort.assign",
        "cohort",
        cohort.id,
        actor=actor,
        detail={"assignment_id": row.id, "assessment_id": assessment.id, "baseline_id": row.baseline_id},
    )
    db.session.commit()
    return row


@dataclass
class MemberResult:
    user: User
    state: str  # "graded" | "in_progress" | "not_started"
    attempt: Attempt | None = None

    @property
    def result(self) -> dict:
        return (self.attempt.result or {}) if self.attempt else {}

    def dimension_levels(self) -> dict[str, str]:
        return {d["code"]: d.get("level") for d in self.result.get("dimensions", [])}

    def indicator_levels(self) -> dict[str, str]:
        return {i["code"]: i.get("level") for i in self.result.get("indicators", [])}


@dataclass
class CohortResults:
    assignment: CohortAssignment
    members: list[MemberResult]
    scale: graph.LevelScale
    dimensions: list[dict] = field(default_factory=list)  # [{code, name_zh, name_en}]
    indicators: list[str] = field(default_factory=list)

    @property
    def graded(self) -> list[MemberResult]:
        return [m for m in self.members if m.state == "graded"]

    @property
    def not_started(self) -> list[MemberResult]:
        return [m for m in self.members if m.state == "not_started"]

    @property
    def in_progress(self) -> list[MemberResult]:
        return [m for m in self.members if m.state == "in_progress"]

    def distribution(self) -> dict[str, dict[str, int]]:
        """Members per level, per dimension (plus "overall")."""
        out: dict[str, Counter] = defaultdict(Counter)
        for m in self.graded:
            out["overall"][m.attempt.overall_level or m.result.get("overall_level")] += 1
            for code, level in m.dimension_levels().items():
                out[code][level] += 1
        return {
            key: {lv: out[key].get(lv, 0) for lv in self.scale.codes}
            for key in ["overall", *[d["code"] for d in self.dimensions]]
        }

    def heatmap(self) -> list[tuple[User, dict[str, str | None]]]:
        """Rows of members × indicator levels (None where an indicator was not measured)."""
        return [
            (m.user, {code: m.indicator_levels().get(code) for code in self.indicators}) for m in self.graded
        ]


def member_ids(cohort_id: int):
    """The cohort's member ids as a subquery, so no statement carries one parameter per member."""
    return select(CohortMembership.user_id).where(CohortMembership.cohort_id == cohort_id)


def _members(cohort: Cohort) -> list[User]:
    stmt = (
        select(User)
        .join(CohortMembership, CohortMembership.user_id == User.id)
        .where(CohortMembership.cohort_id == cohort.id)
        .order_by(User.username)
    )
    return list(db.session.scalars(stmt))


def _in_window(assignment: CohortAssignment):
    return (
        Attempt.assessment_id == assignment.assessment_id,
        Attempt.started_at >= assignment.opens_at,
        Attempt.started_at <= assignment.closes_at,
    )


def member_attempts(
    assignment: CohortAssignment, users: list[User] | None = None
) -> dict[int, list[Attempt]]:
    """Each member's attempts at the assessment that started inside the window, newest first.

    Without ``users`` every member of the assignment's cohort counts (one statement, whatever the size).
    """
    if users is not None and not users:
        return {}
    who = member_ids(assignment.cohort_id) if users is None else [u.id for u in users]
    stmt = (
        select(Attempt)
        .where(*_in_window(assignment), Attempt.user_id.in_(who))
        .order_by(Attempt.started_at.desc(), Attempt.id.desc())
    )
    by_user: dict[int, list[Attempt]] = defaultdict(list)
    for attempt in db.session.scalars(stmt):
        by_user[attempt.user_id].append(attempt)
    return by_user


def results(assignment: CohortAssignment) -> CohortResults:
    """Every member with their result, in memory: for layering, which must touch each member anyway.

    Pages and exports use the set-based queries in ``cohort_summary`` instead.
    """
    users = _members(assignment.cohort)
    attempts = member_attempts(assignment)
    members = []
    for user in users:
        mine = attempts.get(user.id, [])
        graded = next((a for a in mine if a.status == "graded" and a.result), None)
        if graded is not None:
            members.append(MemberResult(user, "graded", graded))
        elif mine:
            members.append(MemberResult(user, "in_progress", mine[0]))
        else:
            members.append(MemberResult(user, "not_started"))
    assessment = assignment.assessment
    scale = graph.level_scale(assessment.scale)
    dims: dict[str, dict] = {}
    indicators: set[str] = set()
    for m in members:
        for d in m.result.get("dimensions", []):
            dims.setdefault(
                d["code"],
                {"code": d["code"], "name_zh": d.get("name_zh", ""), "name_en": d.get("name_en", "")},
            )
        indicators |= {i["code"] for i in m.result.get("indicators", []) if i.get("level")}
    for code in assessment.dimensions or []:
        dims.setdefault(code, {"code": code, "name_zh": code, "name_en": code})
    ordered = sorted(dims.values(), key=lambda d: graph.code_key(d["code"]))
    return CohortResults(assignment, members, scale, ordered, sorted(indicators, key=graph.code_key))


@dataclass
class Comparison:
    rows: list[dict]  # {user, before, after, change, dimensions: {code: (before, after)}}
    mean_change: float | None


def compare(assignment: CohortAssignment) -> Comparison | None:
    """Before (the baseline assignment) and after (this one), per member with both results."""
    if assignment.baseline is None:
        return None
    before = {m.user.id: m for m in results(assignment.baseline).graded}
    after = results(assignment)
    scale = after.scale
    rows = []
    for m in after.graded:
        b = before.get(m.user.id)
        if b is None:
            continue
        lb, la = b.attempt.overall_level, m.attempt.overall_level
        change = scale.index(la) - scale.index(lb) if lb in scale and la in scale else None
        dims = {code: (b.dimension_levels().get(code), level) for code, level in m.dimension_levels().items()}
        rows.append({"user": m.user, "before": lb, "after": la, "change": change, "dimensions": dims})
    changes = [r["change"] for r in rows if r["change"] is not None]
    return Comparison(rows, round(sum(changes) / len(changes), 2) if changes else None)


def not_started_users(assignment: CohortAssignment) -> list[User]:
    return [m.user for m in results(assignment).not_started]


def active_attempt_count(assignment: CohortAssignment) -> int:
    stmt = (
        select(func.count())
        .select_from(Attempt)
        .where(
            *_in_window(assignment),
            Attempt.user_id.in_(member_ids(assignment.cohort_id)),
            Attempt.status.in_(ACTIVE_STATUSES),
        )
    )
    return db.session.scalar(stmt) or 0


def chosen_attempts(assignment: CohortAssignment, graded: bool):
    """(user_id, attempt_id) of each member's newest attempt in the window (newest graded one if asked)."""
    rank = func.row_number().over(
        partition_by=Attempt.user_id, order_by=(Attempt.started_at.desc(), Attempt.id.desc())
    )
    stmt = select(Attempt.user_id.label("user_id"), Attempt.id.label("attempt_id"), rank.label("rn")).where(
        *_in_window(assignment), Attempt.user_id.in_(member_ids(assignment.cohort_id))
    )
    if graded:
        stmt = stmt.where(Attempt.status == "graded", Attempt.result.is_not(None))
    ranked = stmt.subquery()
    return select(ranked.c.user_id, ranked.c.attempt_id).where(ranked.c.rn == 1).subquery()
