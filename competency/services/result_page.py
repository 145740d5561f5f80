"""A graded result as its page plots it: where a level sits on the chart's axis, and the growth of θ
over the person's graded attempts of the same assessment."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from competency import graph
from competency.extensions import db
from competency.models import Assessment, Attempt, User


def _from_zero(scale: graph.LevelScale) -> bool:
    return scale.lowest.code.endswith("0")


def level_position(scale: graph.LevelScale, code: str) -> int:
    """A level's place on the chart's axis, equal to its number: a scale that begins at level 0 (the
    student scale's "not yet") plots from 0, any other from 1, so L3 sits at 3 on both."""
    return scale[code].index + (0 if _from_zero(scale) else 1)


def axis_top(scale: graph.LevelScale) -> int:
    """The highest position on the axis (the top level's number)."""
    return len(scale) - (1 if _from_zero(scale) else 0)


def graded_history(user: User, assessment: Assessment) -> list[Attempt]:
    """The person's graded attempts of this assessment, oldest first."""
    stmt = (
        select(Attempt)
        .where(Attempt.user_id == user.id, Attempt.assessment_id == assessment.id, Attempt.status == "graded")
        .order_by(Attempt.started_at)
    )
    return [a for a in db.session.scalars(stmt) if a.result]


@dataclass(frozen=True)
class Growth:
    labels: list[str]  # per attempt: the day it finished (month-day), else its number
    points: list[list[float | None]]  # per dimension, θ at each attempt (None: not measured then)


def growth(history: list[Attempt], codes: list[str]) -> Growth | None:
    """θ per dimension over the attempts; None when there is only one attempt (no growth to show)."""
    if len(history) < 2:
        return None
    labels = [a.finished_at.strftime("%m-%d") if a.finished_at else str(i + 1) for i, a in enumerate(history)]
    points = [
        [next((d["theta"] for d in a.result["dimensions"] if d["code"] == code), None) for a in history]
        for code in codes
    ]
    return Growth(labels, points)
