"""Institution dashboards: teachers' latest graded levels by department, teacher category and career stage."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select

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


def _latest_levels(institution_id: int):
    """(user_id, overall level) of each teacher's most recent graded teacher assessment, as a subquery."""
    rank = func.row_number().over(
        partition_by=Attempt.user_id, order_by=(Attempt.finished_at.desc(), Attempt.id.desc())
    )
    ranked = (
        select(Attempt.user_id.label("user_id"), Attempt.overall_level.label("level"), rank.label("rn"))
        .join(User, Attempt.user_id == User.id)
        .join(Assessment, Attempt.assessment_id == Assessment.id)
        .where(
            User.institution_id == institution_id,
            User.role == Role.TEACHER,
            Attempt.status == "graded",
            Attempt.overall_level.is_not(None),
            Assessment.scale == "teacher",
        )
        .subquery()
    )
    return select(ranked.c.user_id, ranked.c.level).where(ranked.c.rn == 1).subquery()


def latest_teacher_levels(institution_id: int) -> dict[User, str]:
    """Each teacher's overall level in their most recent graded teacher assessment."""
    latest = _latest_levels(institution_id)
    stmt = select(User, latest.c.level).join(latest, latest.c.user_id == User.id)
    return {user: level for user, level in db.session.execute(stmt)}


def institution_dashboard(institution_id: int) -> Dashboard:
    """Counts per group and level, summed by the database: the same few statements for any head count."""
    levels = graph.level_scale("teacher").codes
    teachers = db.session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.institution_id == institution_id, User.role == Role.TEACHER)
    )
    latest = _latest_levels(institution_id)
    keys = ("department", "teacher_category", "career_stage")
    # One pass over the teachers: counts per combination of the three groupings and level (a few
    # hundred rows at most), then each breakdown sums its own grouping from them.
    stmt = (
        select(User.department, User.teacher_category, User.career_stage, latest.c.level, func.count())
        .join(latest, latest.c.user_id == User.id)
        .group_by(User.department, User.teacher_category, User.career_stage, latest.c.level)
    )
    combos = db.session.execute(stmt).all()
    overall: Counter = Counter()
    for *_values, level, n in combos:
        overall[level] += n
    breakdowns = []
    for i, key in enumerate(keys):
        groups: dict[str, Counter] = defaultdict(Counter)
        for row in combos:
            groups[row[i] or ""][row[3]] += row[4]
        breakdowns.append(
            Breakdown(
                key, levels, {g: {lv: c.get(lv, 0) for lv in levels} for g, c in sorted(groups.items())}
            )
        )
    assessed = sum(overall.values())
    return Dashboard(teachers or 0, assessed, {lv: overall.get(lv, 0) for lv in levels}, breakdowns)
