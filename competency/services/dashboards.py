"""Institution dashboards: teachers' latest graded levels by department, teacher category and career stage."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select

from competency import graph
from competency.extensions import db
from competency.models import Role, User


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


def institution_dashboard(institution_id: int) -> Dashboard:
    """Counts per group and level from the institution's summary rows (services.summary_rows, moved with
    every graded result): a few hundred rows at most, whatever the head count."""
    from competency.services.summary_rows import institution_counts

    levels = graph.level_scale("teacher").codes
    teachers = db.session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.institution_id == institution_id, User.role == Role.TEACHER)
    )
    keys = ("department", "teacher_category", "career_stage")
    # Counts per combination of the three groupings and level; each breakdown sums its own grouping.
    combos = institution_counts(institution_id)
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
