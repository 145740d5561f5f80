"""Exports as CSV (UTF-8 with BOM, formula-safe) and XLSX: results, cohort members, per-response data."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from openpyxl import Workbook
from sqlalchemy import select

from competency.extensions import db
from competency.localtime import DEFAULT_ZONE, local_iso, zone
from competency.models import Cohort, CohortAssignment, Response
from competency.services.cohort_results import member_attempts, results
from competency.services.layering import progress

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "−", "@", "\t", "\r", "＝", "＋", "－", "＠")

Table = tuple[list[str], list[list[object]]]


def neutralise(value: object) -> object:
    """Text that a spreadsheet would evaluate gets a leading apostrophe; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow(["" if v is None else neutralise(v) for v in row])
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(header: Sequence[str], rows: Iterable[Sequence[object]], title: str = "data") -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.append([neutralise(h) for h in header])
    for row in rows:
        sheet.append([neutralise(v) for v in row])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def time_column(name: str, zone_name: str) -> str:
    """A time column's header names the zone its values are in (values also carry the offset)."""
    return f"{name} ({zone(zone_name).key})"


def results_table(assignment: CohortAssignment, zone_name: str = DEFAULT_ZONE) -> Table:
    """One row per member: state, overall level and θ/SE/level per dimension; times in ``zone_name``."""
    res = results(assignment)
    dims = [d["code"] for d in res.dimensions]
    header = ["username", "display_name", "state", "attempt_id", time_column("finished_at", zone_name), "overall_level"]  # fmt: skip
    for code in dims:
        header += [f"{code}_level", f"{code}_theta", f"{code}_se"]
    rows = []
    for m in res.members:
        finished = local_iso(m.attempt.finished_at, zone_name) if m.attempt else None
        overall = m.attempt.overall_level if m.state == "graded" else None
        row: list[object] = [
            m.user.username,
            m.user.display_name,
            m.state,
            m.attempt.id if m.attempt else None,
            finished,
            overall,
        ]
        by_code = {d["code"]: d for d in m.result.get("dimensions", [])} if m.state == "graded" else {}
        for code in dims:
            d = by_code.get(code, {})
            row += [d.get("level"), d.get("theta"), d.get("se")]
        rows.append(row)
    return header, rows


def members_table(cohort: Cohort) -> Table:
    header = ["username", "display_name", "role", "department", "layer", "tasks_done", "tasks_total"]
    rows = [
        [p.user.username, p.user.display_name, p.user.role, p.user.department, p.layer, p.done, p.total]
        for p in progress(cohort)
    ]
    return header, rows


def responses_table(assignment: CohortAssignment, zone_name: str = DEFAULT_ZONE) -> Table:
    """Per-response rows for recalibration elsewhere; people appear as numeric ids, not names."""
    users = [m.user for m in assignment.cohort.memberships]
    attempts = [a for lst in member_attempts(assignment, users).values() for a in lst if a.status == "graded"]
    header = ["person_id", "attempt_id", "assessment", "position", "item_id", "param_version", "score", "pilot", "answer", time_column("answered_at", zone_name)]  # fmt: skip
    if not attempts:
        return header, []
    stmt = (
        select(Response)
        .where(Response.attempt_id.in_([a.id for a in attempts]))
        .order_by(Response.attempt_id, Response.position)
    )
    by_id = {a.id: a for a in attempts}
    rows = []
    for r in db.session.scalars(stmt):
        answer = (r.answer or {}).get("value")
        if isinstance(answer, list):
            answer = "|".join(str(v) for v in answer)
        rows.append(
            [
                by_id[r.attempt_id].user_id,
                r.attempt_id,
                assignment.assessment.code,
                r.position,
                r.item_code,
                r.param_version,
                r.score,
                int(r.pilot),
                None if answer is None else str(answer),
                local_iso(r.answered_at, zone_name),
            ]
        )
    return header, rows
