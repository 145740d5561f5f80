"""Institution dashboards: teachers' latest graded levels by department, teacher category and career stage."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlalchemy import select

from competency import graph
from competency.extensions import db
from competency.models import Assessment, Attempt, Role, User


@dataclass
class Breakdown:
    """Counts of teachers per overall level, for each value of one grouping (e.g. each department)."""

    key: str
    levels: tuple[str, ...]
    groups: dict[str, dict[str, int]]


@dataclass
class Dashboard:
    teachers: int
    assessed: int
    overall: dict[str, int]
    breakdowns: list[Breakdown]


def latest_teacher_levels(institution_id: int) -> dict[User, str]:
    """Each teacher's overall level in their most recent graded teacher assessment."""
    stmt = (
        select(Attempt, User)
        .join(User, Attempt.user_id == User.id)
        .join(Assessment, Attempt.assessment_id == Assessment.id)
        .where(
            User.institution_id == institution_id,
            User.role == Role.TEACHER,
            Attempt.status == "graded",
            Assessment.scale == "teacher",
        )
        .order_by(Attempt.finished_at.desc(), Attempt.id.desc())
    )
    latest: dict[User, str] = {}
    for attempt, user in db.session.execute(stmt):
        if user not in latest and attempt.overall_level:
            latest[user] = attempt.overall_level
    return latest


def institution_dashboard(institution_id: int) -> Dashboard:
    levels = graph.level_scale("teacher").codes
    teachers = db.session.scalar(
        select(db.func.count())
        .select_from(User)
        .where(User.institution_id == institution_id, User.role == Role.TEACHER)
    )
    latest = latest_teacher_levels(institution_id)
    breakdowns = []
    for key in ("department", "teacher_category", "career_stage"):
        groups: dict[str, Counter] = defaultdict(Counter)
        for user, level in latest.items():
            groups[getattr(user, key) or ""][level] += 1
        breakdowns.append(
            Breakdown(
                key, levels, {g: {lv: c.get(lv, 0) for lv in levels} for g, c in sorted(groups.items())}
            )
        )
    overall = Counter(latest.values())
    return Dashboard(teachers or 0, len(latest), {lv: overall.get(lv, 0) for lv in levels}, breakdowns)
