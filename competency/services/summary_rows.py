"""Per-assignment and per-institution level counts, moved with every graded result in its transaction.

The cohort results page and the institution dashboard read these counts (a few rows per level and
group) instead of choosing every member's newest result with a window over all their attempts.

A flush hook (like services.result_levels) sees every way an attempt, a membership, an assignment or
a teacher's profile changes, so no caller needs to know: for each person touched it works out what they
contribute now (started?, which graded attempt, its levels; for teachers the department, category,
stage and latest overall level), compares it with what the *_member / *_teacher row says they
contributed, and adds the difference to the counts. Each scope's `summary_scope` row is locked first
(PostgreSQL: FOR UPDATE), so concurrent gradings of one cohort apply their differences one after the
other, and counts are upserted in key order (no deadlocks between them).

A scope without a `summary_scope` row is built from scratch, set-based, when first read (and after
`flask seed-scale`, whose COPY bypasses the hook); `rebuild_*` also repair a scope by hand.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sqlalchemy import Connection, delete, event, func, insert, literal, select, union_all
from sqlalchemy.orm import Session, attributes

from competency.extensions import db
from competency.models import (
    Assessment,
    AssignmentLevelCount,
    AssignmentMember,
    Attempt,
    CohortAssignment,
    CohortMembership,
    Institution,
    InstitutionLevelCount,
    InstitutionTeacher,
    ResultLevel,
    Role,
    SummaryScope,
    User,
    utcnow,
)
from competency.services.cohort_results import chosen_attempts
from competency.services.result_levels import rows_for

BULK_MEMBERS = 50  # membership changes of one cohort in one flush above which its summaries are rebuilt
PROFILE = ("department", "teacher_category", "career_stage", "role", "institution_id")
Key = tuple[str, ...]


def _scope(kind: str, ident: int) -> str:
    return f"{kind}:{ident}"


def _lock(conn: Connection, scope: str) -> bool:
    """True when the scope is summarised; its row stays locked until the transaction ends."""
    stmt = select(SummaryScope.scope).where(SummaryScope.scope == scope)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first() is not None


def _insert(conn: Connection):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert


def _add(conn: Connection, model, fixed: dict, keys: tuple[str, ...], column: str, deltas: Counter) -> None:
    """counts[key] += delta for every non-zero delta, one upsert, rows in key order."""
    rows = [
        {**fixed, **dict(zip(keys, key, strict=True)), column: n} for key, n in sorted(deltas.items()) if n
    ]
    if not rows:
        return
    table = model.__table__
    stmt = _insert(conn)(table).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=[*fixed, *keys], set_={column: table.c[column] + stmt.excluded[column]}
    )
    conn.execute(stmt)


def _diff(new: Iterable[Key], old: Iterable[Key]) -> Counter:
    deltas = Counter(new)
    deltas.subtract(Counter(old))
    return deltas


# ----------------------------------------------------------------------------- assignments


def _levels(conn: Connection, attempt_id: int | None, results: dict[int, dict | None]) -> list[Key]:
    """(kind, code, level) of a graded attempt: from `results` when this flush changed it, else its rows."""
    if attempt_id is None:
        return []
    if attempt_id in results:
        return [(r["kind"], r["code"], r["level"] or "") for r in rows_for(attempt_id, results[attempt_id])]
    stmt = select(ResultLevel.kind, ResultLevel.code, ResultLevel.level).where(
        ResultLevel.attempt_id == attempt_id
    )
    return [(k, c, lv or "") for k, c, lv in conn.execute(stmt)]


def _chosen(conn: Connection, asg, user_id: int) -> tuple[bool, int | None]:
    """(started, newest graded attempt) of a member in the assignment's window."""
    stmt = (
        select(Attempt.id, Attempt.status, Attempt.result.is_not(None))
        .where(
            Attempt.assessment_id == asg.assessment_id,
            Attempt.user_id == user_id,
            Attempt.started_at >= asg.opens_at,
            Attempt.started_at <= asg.closes_at,
        )
        .order_by(Attempt.started_at.desc(), Attempt.id.desc())
    )
    rows = conn.execute(stmt).all()
    graded = next((i for i, status, has in rows if status == "graded" and has), None)
    return bool(rows), graded


def _refresh_member(conn: Connection, asg, user_id: int, new: dict, old: dict, member: bool = True) -> None:
    if not _lock(conn, _scope("a", asg.id)):
        return  # not built yet: the build will count this member
    key = (AssignmentMember.assignment_id == asg.id, AssignmentMember.user_id == user_id)
    row = conn.execute(select(AssignmentMember.graded_attempt_id).where(*key)).first()
    started, graded = _chosen(conn, asg, user_id) if member else (False, None)
    if row is not None and started and row[0] == graded and graded not in new:
        return  # nothing this member contributes has changed
    before = [("s", "started", "")] + _levels(conn, row[0], old) if row is not None else []
    after = [("s", "started", "")] + _levels(conn, graded, new) if started else []
    _add(conn, AssignmentLevelCount, {"assignment_id": asg.id}, ("kind", "code", "level"), "members",
         _diff(after, before))  # fmt: skip
    if row is not None:
        conn.execute(delete(AssignmentMember).where(*key))
    if started:
        conn.execute(
            insert(AssignmentMember).values(assignment_id=asg.id, user_id=user_id, graded_attempt_id=graded)
        )


def _assignment_rows(conn: Connection, *where):
    a = CohortAssignment
    cols = (a.id, a.cohort_id, a.assessment_id, a.opens_at, a.closes_at)
    return conn.execute(select(*cols).where(*where).order_by(CohortAssignment.id)).all()


def rebuild_assignment(conn: Connection, assignment) -> None:
    """Count the assignment from scratch (set-based: a few statements whatever the cohort's size);
    `assignment` is a CohortAssignment or a row with its id, cohort_id, assessment_id and window."""

    aid = assignment.id
    conn.execute(delete(AssignmentLevelCount).where(AssignmentLevelCount.assignment_id == aid))
    conn.execute(delete(AssignmentMember).where(AssignmentMember.assignment_id == aid))
    latest, graded = chosen_attempts(assignment, graded=False), chosen_attempts(assignment, graded=True)
    members = select(literal(aid), latest.c.user_id, graded.c.attempt_id).outerjoin(
        graded, graded.c.user_id == latest.c.user_id
    )
    conn.execute(
        insert(AssignmentMember).from_select(["assignment_id", "user_id", "graded_attempt_id"], members)
    )
    m = AssignmentMember
    level = func.coalesce(ResultLevel.level, "")
    counts = union_all(
        select(literal(aid), literal("s"), literal("started"), literal(""), func.count()).where(
            m.assignment_id == aid
        ),
        select(literal(aid), ResultLevel.kind, ResultLevel.code, level, func.count())
        .join(m, m.graded_attempt_id == ResultLevel.attempt_id)
        .where(m.assignment_id == aid)
        .group_by(ResultLevel.kind, ResultLevel.code, level),
    )
    conn.execute(
        insert(AssignmentLevelCount).from_select(
            ["assignment_id", "kind", "code", "level", "members"], counts
        )
    )
    _mark_built(conn, _scope("a", aid))


def _mark_built(conn: Connection, scope: str) -> None:
    stmt = _insert(conn)(SummaryScope.__table__).values(scope=scope, built_at=utcnow())
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["scope"]))


# ----------------------------------------------------------------------------- institutions


def _latest_teacher_level(conn: Connection, user_id: int) -> tuple[int, str] | None:
    stmt = (
        select(Attempt.id, Attempt.overall_level)
        .join(Assessment, Attempt.assessment_id == Assessment.id)
        .where(
            Attempt.user_id == user_id,
            Attempt.status == "graded",
            Attempt.overall_level.is_not(None),
            Assessment.scale == "teacher",
        )
        .order_by(Attempt.finished_at.desc(), Attempt.id.desc())
        .limit(1)
    )
    row = conn.execute(stmt).first()
    return None if row is None else (row[0], row[1])


def _refresh_teacher(conn: Connection, user_id: int) -> None:
    cols = (User.role, User.institution_id, User.department, User.teacher_category, User.career_stage)
    person = conn.execute(select(*cols).where(User.id == user_id)).first()
    t = InstitutionTeacher
    old = conn.execute(
        select(t.institution_id, t.department, t.teacher_category, t.career_stage, t.level).where(
            t.user_id == user_id
        )
    ).first()
    latest = _latest_teacher_level(conn, user_id) if person and person.role == Role.TEACHER else None
    new = None
    if latest is not None and person.institution_id is not None:
        new = (person.institution_id, person.department or "", person.teacher_category or "",
               person.career_stage or "", latest[1])  # fmt: skip
    if old is not None and new is not None and tuple(old) == new:
        conn.execute(t.__table__.update().where(t.user_id == user_id).values(attempt_id=latest[0]))
        return
    keys = ("department", "teacher_category", "career_stage", "level")
    for inst in sorted({row[0] for row in (old, new) if row is not None}):
        if not _lock(conn, _scope("i", inst)):
            continue
        deltas = _diff(
            [new[1:]] if new and new[0] == inst else [], [tuple(old[1:])] if old and old[0] == inst else []
        )
        _add(conn, InstitutionLevelCount, {"institution_id": inst}, keys, "teachers", deltas)
    conn.execute(delete(t).where(t.user_id == user_id))
    if new is not None and _lock(conn, _scope("i", new[0])):
        values = dict(zip(("institution_id", *keys), new, strict=True))
        conn.execute(insert(t).values(user_id=user_id, attempt_id=latest[0], **values))


def rebuild_institution(conn: Connection, institution_id: int) -> None:
    """Count the institution's teachers from scratch (set-based)."""
    conn.execute(delete(InstitutionLevelCount).where(InstitutionLevelCount.institution_id == institution_id))
    conn.execute(delete(InstitutionTeacher).where(InstitutionTeacher.institution_id == institution_id))
    rank = func.row_number().over(
        partition_by=Attempt.user_id, order_by=(Attempt.finished_at.desc(), Attempt.id.desc())
    )
    ranked = (
        select(
            Attempt.user_id.label("user_id"),
            Attempt.id.label("attempt_id"),
            Attempt.overall_level.label("level"),
            rank.label("rn"),
        )  # fmt: skip
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
    rows = select(
        User.id, literal(institution_id), func.coalesce(User.department, ""), func.coalesce(User.teacher_category, ""),
        func.coalesce(User.career_stage, ""), ranked.c.level, ranked.c.attempt_id,
    ).join(ranked, (ranked.c.user_id == User.id) & (ranked.c.rn == 1))  # fmt: skip
    t = InstitutionTeacher
    cols = [
        "user_id",
        "institution_id",
        "department",
        "teacher_category",
        "career_stage",
        "level",
        "attempt_id",
    ]
    conn.execute(insert(t).from_select(cols, rows))
    groups = (t.department, t.teacher_category, t.career_stage, t.level)
    counts = (
        select(literal(institution_id), *groups, func.count())
        .where(t.institution_id == institution_id)
        .group_by(*groups)
    )
    conn.execute(
        insert(InstitutionLevelCount).from_select(["institution_id", *cols[2:6], "teachers"], counts)
    )
    _mark_built(conn, _scope("i", institution_id))


# ----------------------------------------------------------------------------- the hook


def _changed(obj, name: str) -> bool:
    return attributes.get_history(obj, name).has_changes()


def _old(obj, name: str):
    deleted = attributes.get_history(obj, name).deleted
    return deleted[0] if deleted else None


def _after_flush(session: Session, _context) -> None:
    attempts = {}  # (user_id, assessment_id) touched
    new_results: dict[int, dict | None] = {}
    old_results: dict[int, dict | None] = {}
    members: dict[int, set[int]] = {}  # cohort_id -> user ids joining or leaving
    teachers: set[int] = set()
    assignments, institutions = [], []
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Attempt):
            graded_flip = _changed(obj, "status") and "graded" in (obj.status, _old(obj, "status"))
            if obj in session.new or obj in session.deleted or graded_flip or _changed(obj, "result") \
                    or _changed(obj, "started_at"):  # fmt: skip
                attempts[(obj.user_id, obj.assessment_id)] = True
                teachers.add(obj.user_id)
                if obj in session.deleted:  # its result-level rows went with it (ON DELETE CASCADE)
                    new_results[obj.id], old_results[obj.id] = None, obj.result
                elif _changed(obj, "result") or obj in session.new:
                    new_results[obj.id] = obj.result if obj.status == "graded" else None
                    old_results[obj.id] = _old(obj, "result")
        elif isinstance(obj, CohortMembership) and (obj in session.new or obj in session.deleted):
            members.setdefault(obj.cohort_id, set()).add(obj.user_id)
        elif isinstance(obj, User) and obj in session.dirty and any(_changed(obj, n) for n in PROFILE):
            teachers.add(obj.id)
        elif (
            isinstance(obj, CohortAssignment)
            and obj not in session.deleted
            and (
                obj in session.new
                or any(_changed(obj, n) for n in ("opens_at", "closes_at", "assessment_id"))
            )
        ):
            assignments.append(obj)
        elif isinstance(obj, Institution) and obj in session.new:
            institutions.append(obj.id)
    if not (attempts or members or teachers or assignments or institutions):
        return
    conn = session.connection()
    for inst in institutions:
        _mark_built(conn, _scope("i", inst))  # a new institution has no teachers with results yet
    for assignment in assignments:
        rebuild_assignment(conn, assignment)
    rebuilt = {a.id for a in assignments}
    done: set[tuple[int, int]] = set()  # (assignment, member) refreshed in this flush: once is right
    for user_id, assessment_id in sorted(attempts):
        stmt_where = (
            CohortAssignment.assessment_id == assessment_id,
            CohortAssignment.cohort_id.in_(
                select(CohortMembership.cohort_id).where(CohortMembership.user_id == user_id)
            ),
        )
        for asg in _assignment_rows(conn, *stmt_where):
            if asg.id not in rebuilt and (asg.id, user_id) not in done:
                done.add((asg.id, user_id))
                _refresh_member(conn, asg, user_id, new_results, old_results)
    for cohort_id, user_ids in sorted(members.items()):
        for asg in _assignment_rows(conn, CohortAssignment.cohort_id == cohort_id):
            if asg.id in rebuilt:
                continue
            if len(user_ids) > BULK_MEMBERS:
                rebuild_assignment(conn, asg)
                continue
            current = set(conn.scalars(select(CohortMembership.user_id).where(
                CohortMembership.cohort_id == cohort_id, CohortMembership.user_id.in_(user_ids))))  # fmt: skip
            for user_id in sorted(user_ids):
                if (asg.id, user_id) not in done:
                    done.add((asg.id, user_id))
                    _refresh_member(conn, asg, user_id, new_results, old_results, member=user_id in current)
    for user_id in sorted(teachers):
        _refresh_teacher(conn, user_id)


def install() -> None:
    """Listen on every ORM session (idempotent); app.py installs the cohorts' composition rows too."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)


# ----------------------------------------------------------------------------- reading


def _ensure(scope: str, build) -> None:
    if db.session.execute(select(SummaryScope.scope).where(SummaryScope.scope == scope)).first() is None:
        build(db.session.connection())
        db.session.commit()


def ensure_assignment(assignment: CohortAssignment) -> None:
    """Build the assignment's summary if it has none yet (commits then)."""
    _ensure(_scope("a", assignment.id), lambda conn: rebuild_assignment(conn, assignment))


def assignment_counts(assignment: CohortAssignment) -> list[tuple[str, str, str | None, int]]:
    """[(kind, code, level or None, members)] of the assignment (built on first use)."""
    ensure_assignment(assignment)
    c = AssignmentLevelCount
    stmt = select(c.kind, c.code, c.level, c.members).where(c.assignment_id == assignment.id, c.members != 0)
    return [(k, code, lv or None, n) for k, code, lv, n in db.session.execute(stmt)]


def assignment_totals(assignment: CohortAssignment) -> tuple[int, int]:
    """(members who started, members graded) from the summary rows."""
    ensure_assignment(assignment)
    c = AssignmentLevelCount
    stmt = (
        select(c.kind, func.sum(c.members))
        .where(c.assignment_id == assignment.id, c.kind.in_(("s", "o")))
        .group_by(c.kind)
    )
    sums = dict(db.session.execute(stmt).all())
    return int(sums.get("s") or 0), int(sums.get("o") or 0)


def sample_graded_attempt(assignment: CohortAssignment) -> int | None:
    """One member's counted graded attempt (its result names the dimensions)."""
    m = AssignmentMember
    stmt = select(m.graded_attempt_id).where(
        m.assignment_id == assignment.id, m.graded_attempt_id.is_not(None)
    )
    return db.session.scalar(stmt.limit(1))


def institution_counts(institution_id: int) -> list[tuple[str, str, str, str, int]]:
    """[(department, teacher category, career stage, level, teachers)] with "" for none (built on first use)."""
    _ensure(_scope("i", institution_id), lambda conn: rebuild_institution(conn, institution_id))
    c = InstitutionLevelCount
    stmt = select(c.department, c.teacher_category, c.career_stage, c.level, c.teachers).where(
        c.institution_id == institution_id, c.teachers != 0
    )
    return [tuple(row) for row in db.session.execute(stmt)]
