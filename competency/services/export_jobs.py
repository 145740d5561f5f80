"""Cohort exports too large for a request run as background jobs; smaller ones stream directly.

A 100,000-member cohort's responses are two million rows: about 70 s as CSV and many minutes as XLSX,
far past a web worker's timeout. Above a row threshold (estimated from the member count, one cheap
COUNT) the view enqueues a job instead; the trainer follows its progress on the job page and downloads
the file there. The job re-checks that its owner may still see the cohort before reading anything.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from competency.extensions import db
from competency.localtime import DEFAULT_ZONE
from competency.models import (
    Attempt,
    Cohort,
    CohortAssignment,
    CohortMembership,
    Job,
    Response,
    User,
)
from competency.services import cohort_results, exports, institutions
from competency.services.cohort_results import _in_window, member_ids
from competency.services.jobs import JobContext, enqueue, job_handler

KIND = "cohort_export"
WHAT = ("members", "results", "responses")
FORMATS = ("csv", "xlsx")
# Rows above which an export becomes a job: CSV streams at 20,000–50,000 rows/s, openpyxl writes
# about 20,000 cells/s (a results row has 6 + 3 per dimension cells), so both stay near 2–3 s.
DEFAULT_THRESHOLDS = {"csv": 50_000, "xlsx": 5_000}
SAME_JOB_SECONDS = 300  # the same export asked again within this window is the same job
ITEMS_PER_ATTEMPT = 20  # a response estimate when the assessment does not say its maximum length


def threshold(fmt: str) -> int:
    return int(current_app.config.get(f"EXPORT_JOB_ROWS_{fmt.upper()}", DEFAULT_THRESHOLDS[fmt]))


def _members(cohort_id: int) -> int:
    stmt = select(func.count()).select_from(CohortMembership).where(CohortMembership.cohort_id == cohort_id)
    return db.session.scalar(stmt) or 0


def estimated_rows(cohort: Cohort, what: str, assignment: CohortAssignment | None) -> int:
    """Rows the export will have, from the member count alone (responses: members × test length)."""
    members = _members(cohort.id)
    if what != "responses" or assignment is None:
        return members
    engine = assignment.assessment.engine or {}
    return members * int(engine.get("max_items") or ITEMS_PER_ATTEMPT)


def needs_job(cohort: Cohort, what: str, fmt: str, assignment: CohortAssignment | None) -> bool:
    return estimated_rows(cohort, what, assignment) > threshold(fmt)


def table(cohort: Cohort, what: str, assignment: CohortAssignment | None, zone_name: str) -> exports.Table:
    if what == "members":
        return exports.members_table(cohort)
    if what == "results":
        return exports.results_table(assignment, zone_name)
    return exports.responses_table(assignment, zone_name)


def file_name(cohort_id: int, what: str, fmt: str) -> str:
    return f"cohort-{cohort_id}-{what}.{fmt}"


def start(
    actor: User, cohort: Cohort, what: str, fmt: str, assignment: CohortAssignment | None, zone_name: str
) -> Job:
    """Enqueue the export as the actor's job (the same request within five minutes: the same job)."""
    payload = {
        "cohort_id": cohort.id,
        "what": what,
        "format": fmt,
        "assignment_id": assignment.id if assignment else None,
        "zone": zone_name,
    }
    window = int(time.time() // SAME_JOB_SECONDS)
    key = f"{cohort.id}:{what}:{fmt}:{payload['assignment_id'] or '-'}:{zone_name}:{window}"
    return enqueue(KIND, payload, owner_id=actor.id, idempotency_key=key)


def _exact_rows(cohort: Cohort, what: str, assignment: CohortAssignment | None) -> int:
    if what != "responses":
        return _members(cohort.id)
    stmt = (
        select(func.count())
        .select_from(Response)
        .join(Attempt, Attempt.id == Response.attempt_id)
        .where(
            *_in_window(assignment), Attempt.user_id.in_(member_ids(cohort.id)), Attempt.status == "graded"
        )
    )
    return db.session.scalar(stmt) or 0


def _counted(rows: Iterable, ctx: JobContext, total: int, tally: list[int]) -> Iterator:
    for row in rows:
        tally[0] += 1
        if tally[0] % 1000 == 0:
            ctx.progress(tally[0], max(total, tally[0]))
        yield row


@job_handler(KIND, label=_l("Cohort export"))
def run_export(ctx: JobContext, payload: dict) -> dict:
    what, fmt = payload.get("what"), payload.get("format")
    if what not in WHAT or fmt not in FORMATS:
        raise ValueError(f"not an export: {what!r} as {fmt!r}")
    owner = db.session.get(User, ctx.owner_id) if ctx.owner_id else None
    if owner is None or not owner.active:
        raise ValueError("the person who asked for this export no longer has an active account")
    cohort = institutions.get_cohort(int(payload["cohort_id"]), owner)
    assignment = None
    if what != "members":
        assignment = cohort_results.get_assignment(cohort, int(payload["assignment_id"]))
    total = _exact_rows(cohort, what, assignment)
    ctx.progress(0, total)
    header, rows = table(cohort, what, assignment, payload.get("zone") or DEFAULT_ZONE)
    tally = [0]
    path = ctx.file(file_name(cohort.id, what, fmt))
    with path.open("wb") as fh:
        if fmt == "csv":
            for chunk in exports.csv_chunks(header, _counted(rows, ctx, total, tally)):
                fh.write(chunk)
        else:
            exports.write_xlsx(header, _counted(rows, ctx, total, tally), fh, what)
    ctx.progress(tally[0], tally[0])
    return {"rows": tally[0], "bytes": path.stat().st_size, "what": what, "format": fmt}
