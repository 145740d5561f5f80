"""What a cohort achieved in an assignment: counts, level distributions and indicator cells from the
summary rows kept at grading time, member lists a page at a time, export rows streamed.

Nothing here loads every member or every result: the statements sent are the same for ten members and
for a hundred thousand, and so is the memory a page needs. Level counts read the assignment's summary
rows (services/summary_rows), not every member's result. Each member's result is their newest graded
attempt that started inside the window (as in ``cohort_results.results``); lists and exports choose it
with a window function.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import aliased

from competency import graph
from competency.extensions import db
from competency.models import (
    AssignmentMember,
    Attempt,
    CohortAssignment,
    CohortMembership,
    Response,
    User,
)
from competency.services import paging
from competency.services.cohort_results import _in_window, chosen_attempts, member_ids
from competency.services.institutions import member_count
from competency.services.streaming import stream

STREAM_BATCH = 1000  # rows fetched per round trip from the server-side cursor of an export
SORTS = {"username": User.username, "name": User.display_name}


@dataclass
class Summary:
    assignment: CohortAssignment
    scale: graph.LevelScale
    members: int
    graded: int
    in_progress: int
    not_started: int
    dimensions: list[dict] = field(default_factory=list)  # [{code, name_zh, name_en}], report order
    indicators: list[str] = field(default_factory=list)
    # {"overall" | dimension code: {level: members}}, every level of the scale present.
    distribution: dict[str, dict[str, int]] = field(default_factory=dict)
    # {indicator code: {level: members}}: the heat map's cells summed over the cohort.
    indicator_levels: dict[str, dict[str, int]] = field(default_factory=dict)


def _dimension_names(assignment: CohortAssignment) -> dict[str, dict]:
    """Names of the dimensions as one counted result spells them (every result of an assessment agrees)."""
    from competency.services.summary_rows import sample_graded_attempt

    attempt_id = sample_graded_attempt(assignment)
    sample = db.session.scalar(select(Attempt.result).where(Attempt.id == attempt_id)) if attempt_id else None
    return {
        d["code"]: {"code": d["code"], "name_zh": d.get("name_zh", ""), "name_en": d.get("name_en", "")}
        for d in (sample or {}).get("dimensions", [])
    }


def summary(assignment: CohortAssignment) -> Summary:
    """Counts and level distributions of the whole cohort from its summary rows (services.summary_rows,
    moved with every graded result): a few rows per level, whatever the cohort's size."""
    from competency.services.summary_rows import assignment_counts

    scale = graph.level_scale(assignment.assessment.scale)
    members = db.session.scalar(
        select(func.count())
        .select_from(CohortMembership)
        .where(CohortMembership.cohort_id == assignment.cohort_id)
    )
    counts: dict[str, list[tuple[str, str | None, int]]] = {"s": [], "o": [], "d": [], "i": []}
    for kind, code, level, n in assignment_counts(assignment):
        counts.setdefault(kind, []).append((code, level, n))
    started = sum(n for _code, _level, n in counts["s"])
    overall = {level: n for _code, level, n in counts["o"]}
    n_graded = sum(overall.values())
    dims = _dimension_names(assignment) if n_graded else {}
    dist: dict[str, dict[str, int]] = {"overall": {lv: overall.get(lv, 0) for lv in scale.codes}}
    for code, level, n in counts["d"]:
        dims.setdefault(code, {"code": code, "name_zh": code, "name_en": code})
        dist.setdefault(code, {lv: 0 for lv in scale.codes})
        if level in dist[code]:
            dist[code][level] += n
    for code in assignment.assessment.dimensions or []:
        dims.setdefault(code, {"code": code, "name_zh": code, "name_en": code})
        dist.setdefault(code, {lv: 0 for lv in scale.codes})
    cells: dict[str, dict[str, int]] = {}
    for code, level, n in counts["i"]:
        if level:
            cells.setdefault(code, {lv: 0 for lv in scale.codes})
            if level in cells[code]:
                cells[code][level] += n
    ordered = sorted(dims.values(), key=lambda d: graph.code_key(d["code"]))
    return Summary(
        assignment=assignment,
        scale=scale,
        members=members or 0,
        graded=n_graded,
        in_progress=started - n_graded,
        not_started=(members or 0) - started,
        dimensions=ordered,
        indicators=sorted(cells, key=graph.code_key),
        distribution={k: dist[k] for k in ["overall", *[d["code"] for d in ordered]]},
        indicator_levels={k: cells[k] for k in sorted(cells, key=graph.code_key)},
    )


def _members(assignment: CohortAssignment) -> Select:
    return (
        select(User)
        .join(CohortMembership, CohortMembership.user_id == User.id)
        .where(CohortMembership.cohort_id == assignment.cohort_id)
    )


def _page(stmt: Select, sort: str, total: int | None = None, **args) -> paging.Page:
    key = SORTS.get(sort, User.username)

    def boundary(row) -> tuple:
        return getattr(row[0], key.key), row[0].id

    return paging.keyset(stmt, key, User.id, boundary, total=total, **args)


def _counted(assignment: CohortAssignment):
    """The member's row in the assignment's summary (present once they started; it names their
    counted graded attempt): pages join it by primary key instead of choosing attempts again."""
    return (AssignmentMember.assignment_id == assignment.id) & (AssignmentMember.user_id == User.id)


def graded_page(assignment: CohortAssignment, q=None, sort="username", **args) -> paging.Page:
    """A page of graded members with their result: rows are (User, result dict)."""
    from competency.services.summary_rows import assignment_totals

    _started, graded = assignment_totals(assignment)
    stmt = (
        _members(assignment)
        .add_columns(Attempt.result)
        .join(AssignmentMember, _counted(assignment))
        .join(Attempt, Attempt.id == AssignmentMember.graded_attempt_id)
    )
    return _page(_search(stmt, q), sort, None if q else graded, **args)


def waiting_page(assignment: CohortAssignment, state: str, q=None, sort="username", **args) -> paging.Page:
    """A page of members who have not started (``state="not_started"``) or not finished ("in_progress")."""
    from competency.services.summary_rows import assignment_totals

    started, graded = assignment_totals(assignment)
    stmt = _members(assignment)
    if state == "not_started":
        stmt = stmt.outerjoin(AssignmentMember, _counted(assignment)).where(
            AssignmentMember.user_id.is_(None)
        )
        total = member_count(assignment.cohort_id) - started
    else:
        stmt = stmt.join(AssignmentMember, _counted(assignment)).where(
            AssignmentMember.graded_attempt_id.is_(None)
        )
        total = started - graded
    return _page(_search(stmt, q), sort, None if q else total, **args)


def _search(stmt: Select, q: str | None) -> Select:
    pattern = paging.search_pattern(q)
    if pattern:
        stmt = stmt.where(
            User.username.ilike(pattern, escape="\\") | User.display_name.ilike(pattern, escape="\\")
        )
    return stmt


@dataclass
class ResultRow:
    username: str
    display_name: str
    state: str  # "graded" | "in_progress" | "not_started"
    attempt_id: int | None
    finished_at: object
    overall_level: str | None
    result: dict


def result_rows(assignment: CohortAssignment) -> Iterator[ResultRow]:
    """Every member with their result or latest attempt, by user name, streamed from the database."""
    graded = chosen_attempts(assignment, graded=True)
    latest = chosen_attempts(assignment, graded=False)
    g, last = aliased(Attempt), aliased(Attempt)
    stmt = (
        select(
            User.username,
            User.display_name,
            g.id,
            g.finished_at,
            g.overall_level,
            g.result,
            last.id,
            last.finished_at,
        )
        .join(CohortMembership, CohortMembership.user_id == User.id)
        .where(CohortMembership.cohort_id == assignment.cohort_id)
        .outerjoin(graded, graded.c.user_id == User.id)
        .outerjoin(g, g.id == graded.c.attempt_id)
        .outerjoin(latest, latest.c.user_id == User.id)
        .outerjoin(last, last.id == latest.c.attempt_id)
        .order_by(User.username)
    )
    for username, name, g_id, g_done, g_level, g_result, l_id, l_done in stream(stmt, STREAM_BATCH):
        if g_id is not None:
            yield ResultRow(username, name, "graded", g_id, g_done, g_level, g_result or {})
        elif l_id is not None:
            yield ResultRow(username, name, "in_progress", l_id, l_done, None, {})
        else:
            yield ResultRow(username, name, "not_started", None, None, None, {})


def response_rows(assignment: CohortAssignment) -> Iterator[tuple]:
    """Every response of the members' graded attempts in the window, by attempt and position, streamed."""
    stmt = (
        select(
            Attempt.user_id,
            Response.attempt_id,
            Response.position,
            Response.item_code,
            Response.param_version,
            Response.score,
            Response.pilot,
            Response.answer,
            Response.answered_at,
        )
        .join(Attempt, Attempt.id == Response.attempt_id)
        .where(
            *_in_window(assignment),
            Attempt.user_id.in_(member_ids(assignment.cohort_id)),
            Attempt.status == "graded",
        )
        .order_by(Response.attempt_id, Response.position)
    )
    yield from stream(stmt, STREAM_BATCH)


@dataclass
class ComparisonPage:
    page: paging.Page  # rows: {user, before, after, change}
    mean_change: float | None
    baseline_id: int


def comparison(assignment: CohortAssignment, q=None, sort="username", **args) -> ComparisonPage | None:
    """Before (the baseline assignment) and after (this one) for members graded in both: the mean
    change over everyone in one aggregate, the rows a page at a time."""
    baseline = assignment.baseline
    if baseline is None:
        return None
    scale = graph.level_scale(assignment.assessment.scale)
    rank = {code: i for i, code in enumerate(scale.codes)}
    now_g, then_g = chosen_attempts(assignment, graded=True), chosen_attempts(baseline, graded=True)
    after, before = aliased(Attempt), aliased(Attempt)
    change = case(rank, value=after.overall_level) - case(rank, value=before.overall_level)
    pairs = (
        _members(assignment)
        .join(now_g, now_g.c.user_id == User.id)
        .join(after, after.id == now_g.c.attempt_id)
        .join(then_g, then_g.c.user_id == User.id)
        .join(before, before.id == then_g.c.attempt_id)
    )
    mean = db.session.scalar(pairs.with_only_columns(func.avg(change)))
    stmt = _search(pairs.add_columns(before.overall_level, after.overall_level), q)
    page = _page(stmt, sort, **args)
    page.rows = [
        {
            "user": user,
            "before": lb,
            "after": la,
            "change": rank[la] - rank[lb] if la in rank and lb in rank else None,
        }
        for user, lb, la in page.rows
    ]
    return ComparisonPage(page, None if mean is None else round(float(mean), 2), baseline.id)
