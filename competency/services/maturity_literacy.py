"""Measured digital literacy of an institution's teachers and students, for the 数字化素养提升 area.

Counted in the database (GROUP BY), never by loading attempts: each person's latest graded attempt of
the kind, its overall level, and how many of the institution's active people of that role were tested.
"""

from __future__ import annotations

from sqlalchemy import func, select

from competency import graph
from competency.extensions import db
from competency.models import Assessment, Attempt, User

POPULATIONS = {"teacher": "teacher_graded", "student": "student_literacy"}


def measure(institution_id: int) -> dict:
    """{population: {people, tested, coverage, distribution: {scale: {level: n}}, proficient(from): n,
    as_of}}: ``as_of`` is when the newest counted attempt finished (the date of the data)."""
    out = {}
    for role, kind in POPULATIONS.items():
        people = db.session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.institution_id == institution_id, User.role == role, User.active.is_(True))
        )
        latest = (
            select(func.max(Attempt.id).label("attempt_id"))
            .join(Assessment, Assessment.id == Attempt.assessment_id)
            .join(User, User.id == Attempt.user_id)
            .where(
                User.institution_id == institution_id,
                User.role == role,
                User.active.is_(True),
                Assessment.kind == kind,
                Attempt.status == "graded",
                Attempt.overall_level.is_not(None),
            )
            .group_by(Attempt.user_id)
            .subquery()
        )
        rows = db.session.execute(
            select(Assessment.scale, Attempt.overall_level, func.count(), func.max(Attempt.finished_at))
            .join(latest, latest.c.attempt_id == Attempt.id)
            .join(Assessment, Assessment.id == Attempt.assessment_id)
            .group_by(Assessment.scale, Attempt.overall_level)
        ).all()
        distribution: dict[str, dict[str, int]] = {}
        as_of = None
        for scale, level, n, finished in rows:
            distribution.setdefault(scale, {})[level] = int(n)
            if finished is not None and (as_of is None or finished > as_of):
                as_of = finished
        tested = sum(n for levels in distribution.values() for n in levels.values())
        out[role] = {
            "people": int(people or 0),
            "tested": tested,
            "coverage": round(100 * tested / people, 1) if people else None,
            "distribution": distribution,
            "as_of": as_of.isoformat() if as_of else None,
        }
    return out


def share_at_or_above(population: dict, level_code: str) -> float | None:
    """Percent of the tested people whose level is ``level_code`` or higher on its scale."""
    tested = population["tested"]
    if not tested:
        return None
    reached = 0
    for scale_name, levels in population["distribution"].items():
        codes = list(graph.level_scale(scale_name).codes)
        if level_code not in codes:
            continue
        floor = codes.index(level_code)
        reached += sum(n for code, n in levels.items() if code in codes and codes.index(code) >= floor)
    return round(100 * reached / tested, 1)


def metric(measured: dict, spec: dict) -> float | None:
    """The value a literacy indicator reads: coverage or the share at a proficient level, in percent."""
    population = measured[spec["population"]]
    if spec["metric"] == "coverage":
        return population["coverage"]  # nobody tested is a real 0 %, the lowest level's situation
    return share_at_or_above(population, spec["proficient_from"])
